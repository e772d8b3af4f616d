"""What the colorzoo benchmarks share: timing, fresh-process workers, FLOP counting, tables.

Conventions every benchmark follows:

- work is warmed up first (the first call traces and compiles), then timed in several runs;
  the median is quoted, with the spread of the runs beside it;
- ratios compare numbers measured in the same invocation, never across runs;
- peak memory is read in a fresh process per configuration (``run_worker``), so one
  configuration's peak never hides in another's;
- nothing asserts a timing: on a shared machine the numbers are reported, with the load
  average before and after, and the CPU time the process used (steadier than the wall clock
  when other processes compete for the cores).
"""

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SHARED_PHOTOS = os.path.join(ROOT, "..", "shared", "data", "train", "imagenette")


# === Threads and machine ===


def set_threads(threads):
    """Use ``threads`` intra-op threads (and as many inter-op ones) in TensorFlow; ``None`` keeps
    TensorFlow's default (every core). Call before TensorFlow runs any op."""
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def machine():
    """What the numbers were measured on: CPU model, cores, versions, load average now."""
    import keras
    import tensorflow as tf

    model = platform.processor() or "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as file:
            names = re.findall(r"^model name\s*:\s*(.+)$", file.read(), re.MULTILINE)
        model = names[0] if names else model
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "load_average_1min": os.getloadavg()[0],
    }


def print_machine(info, threads):
    print(
        f"{info['cpu']}, {info['cores']} cores, TensorFlow {info['tensorflow']}, Keras {info['keras']}, "
        f"threads: {threads or 'TensorFlow default'}; 1-minute load average {info['load_average_1min']:.2f}"
    )
    warn_if_busy(info["load_average_1min"])


def warn_if_busy(load):
    if load > 0.5:
        print(f"warning: the load average is {load:.2f} before this benchmark starts: other processes use the CPU, "
              "so the timings below are contaminated; rerun on a quiet machine.")


def model_names(text):
    """argparse type of ``--models``: comma-separated registry names, each checked before any work."""
    from colorzoo.models import list_models

    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in list_models()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown models {unknown or [text]}; known: {', '.join(list_models())}")
    return ",".join(names)


def new_json_path(text):
    """argparse type of ``--json``: a file that does not exist yet, in an existing folder, so that
    neither a user's file is replaced nor an hour of measurements lost at the end."""
    if os.path.lexists(text):
        raise argparse.ArgumentTypeError(f"{text} exists; remove it or choose another file")
    folder = os.path.dirname(text) or "."
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"{folder}: no such folder")
    return text


def positive_int(text):
    """argparse type: a whole number from 1."""
    return _positive(text, int, "a whole number")


def positive_float(text):
    """argparse type: a number above 0."""
    return _positive(text, float, "a number")


def _positive(text, kind, what):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def model_bench_parser(description, quick_help, models_help="comma-separated registry names (default: every model)",
                       timeout_help="seconds per worker process"):
    """The arguments every benchmark that runs models in worker processes takes: ``--models``,
    ``--threads``, ``--small``, ``--timeout``, ``--quick`` (its smoke mode, ``quick_help``) and
    ``--json``; the caller adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--models", type=model_names, help=models_help)
    parser.add_argument("--threads", type=positive_int, help="TensorFlow intra/inter-op threads (default: TensorFlow's)")
    parser.add_argument("--small", action="store_true", help="build models with their registry 'small' kwargs")
    parser.add_argument("--timeout", type=positive_float, default=3600, help=timeout_help)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", type=new_json_path, help="write every measurement to this file (a new one)")
    return parser


# === Timing ===


def timed_runs(step, runs, repeats=1, warmup=1):
    """Call ``step()`` ``warmup`` times untimed, then ``runs`` times ``repeats`` calls timed.

    Returns a dict of per-call ``wall`` and ``cpu`` seconds for each run (lists of length
    ``runs``) and ``warmup_seconds`` (wall time of the warm-up calls: tracing and compilation).
    ``step`` must block until its work is done (e.g. convert its result to numpy).
    """
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    warmup_seconds = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            step()
        wall.append((time.perf_counter() - start) / repeats)
        cpu.append((time.process_time() - start_cpu) / repeats)
    return {"wall": wall, "cpu": cpu, "warmup_seconds": warmup_seconds}


def timed_fit(trainable, data, runs, steps, warmup_steps=1):
    """One ``trainable.fit`` of ``warmup_steps + runs * steps`` steps, timed step by step.

    A callback reads the clocks after every step (a step's function call returns when its work
    is done), so ``fit``'s own start-up (iterator, callbacks) and the warm-up steps (a new
    input pipeline filling its buffers) stay out of the ``runs`` windows of ``steps`` steps.
    Returns ``{"wall": [...], "cpu": [...]}``, seconds per window.
    """
    import keras

    class StepClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wall, self.cpu = [], []

        def on_train_batch_end(self, batch, logs=None):
            self.wall.append(time.perf_counter())
            self.cpu.append(time.process_time())

    clock = StepClock()
    trainable.fit(data, epochs=1, steps_per_epoch=warmup_steps + runs * steps, callbacks=[clock], shuffle=False,
                  verbose=0)
    marks = [warmup_steps - 1 + run * steps for run in range(runs + 1)]
    return {key: [values[b] - values[a] for a, b in zip(marks, marks[1:])]
            for key, values in (("wall", clock.wall), ("cpu", clock.cpu))}


def rate(items, seconds):
    """Median items per second over runs of ``seconds`` per call, and the (min, max) rates."""
    rates = [items / value for value in seconds]
    return statistics.median(rates), (min(rates), max(rates))


def spread(low_high, median):
    """The runs' range as a percentage of the median: ``±4%``."""
    low, high = low_high
    return f"±{50 * (high - low) / median:.0f}%" if median else "-"


# === Memory ===


def _status_mib(field):
    """A memory field of ``/proc/self/status`` (``VmHWM``, ``VmRSS``) in MiB; ``None`` without /proc."""
    if os.path.exists("/proc/self/status"):
        with open("/proc/self/status") as file:
            match = re.search(rf"^{field}:\s*(\d+) kB", file.read(), re.MULTILINE)
        if match:
            return int(match.group(1)) / 1024
    return None


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    peak = _status_mib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mib():
    """Resident set size of this process now, in MiB (NaN without /proc)."""
    current = _status_mib("VmRSS")
    return current if current is not None else float("nan")


# glibc keeps freed blocks below its (adaptive, up to 32 MiB) mmap threshold for reuse, so after
# a warm-up the RSS no longer rises for arrays of the same size; with a fixed 64 KiB threshold
# every larger block is returned to the kernel on free, and a peak over a step is that step's.
EXACT_PEAK_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def reset_peak_rss():
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0); returns whether it could."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


# === Fresh-process workers ===

WORKER_FLAG = "--worker"


def run_worker(script, spec, timeout=None, env=None):
    """Run ``script --worker '<spec as JSON>'`` in a fresh Python and return the dict it prints.

    ``env``: variables added to this process's environment for the worker.

    The worker prints one line ``RESULT <json>``; everything else it prints (TensorFlow's logs)
    is dropped unless it fails. A failure returns ``{"error": <last lines of its stderr>}``
    rather than stopping the whole benchmark.
    """
    command = [sys.executable, script, WORKER_FLAG, json.dumps(spec)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})}
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"error": " | ".join(tail) or f"exit code {done.returncode}"}


def worker_spec(argv):
    """The spec dict if this process was started by :func:`run_worker`, else ``None``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == WORKER_FLAG:
        return json.loads(argv[1])
    return None


def report_result(result):
    """Print a worker's result for :func:`run_worker` to read."""
    print("RESULT " + json.dumps(result), flush=True)


# === Peak and FLOPs ===


def matmul_peak(size=4096, runs=5):
    """This machine's dense float32 matmul rates in FLOP/s, ``{"tensorflow": ..., "numpy": ...}``:
    median of ``runs`` ``size``^3 products by ``tf.linalg.matmul`` and by NumPy's BLAS. Their
    maximum is the reference peak: on some CPUs one library is 2x slower than the other (on an AMD
    EPYC without AVX-512, TensorFlow's 90 GFLOP/s against NumPy's 173, while TensorFlow's
    convolutions reached 148)."""
    import numpy as np

    a, b = np.random.default_rng(0).random((2, size, size), dtype=np.float32)
    return {"tensorflow": tensorflow_matmul_rate(size, runs=runs),
            "numpy": _median_rate(lambda: np.matmul(a, b), size, runs)}


def tensorflow_matmul_rate(size=4096, dtype="float32", runs=5):
    """FLOP/s of ``tf.linalg.matmul`` on two ``size``^3 matrices of ``dtype``: the median of ``runs``."""
    import tensorflow as tf

    a = tf.random.uniform((size, size), dtype=dtype)
    b = tf.random.uniform((size, size), dtype=dtype)
    product = tf.function(tf.linalg.matmul)
    return _median_rate(lambda: product(a, b).numpy(), size, runs)


def _median_rate(run, size, runs):
    timing = timed_runs(run, runs=runs, warmup=1)
    return statistics.median(2 * size**3 / value for value in timing["wall"])


def _shape(tensor):
    dims = tensor.shape.as_list() if tensor.shape.rank is not None else None
    if dims is None or None in dims:
        raise ValueError(f"{tensor.name} has no static shape: {tensor.shape}")
    return dims


def _product(values):
    result = 1
    for value in values:
        result *= value
    return result


def _einsum_flops(op):
    """2 x the product of every index's size, for a two-operand einsum (ellipsis allowed)."""
    equation = op.get_attr("equation").decode()
    if len(op.inputs) != 2:
        return 0
    sizes = {}
    for letters, tensor in zip(equation.split("->")[0].split(","), op.inputs):
        dims = _shape(tensor)
        before, _, after = letters.partition("...")
        broadcast = len(dims) - len(before) - len(after)  # dims the ellipsis stands for
        labels = list(before) + [f"...{broadcast - i}" for i in range(broadcast)] + list(after)
        for label, size in zip(labels, dims):
            sizes[label] = max(size, sizes.get(label, 1))
    return 2 * _product(sizes.values())


def _op_flops(op):
    """Multiply-add FLOPs (2 per MAC) of one graph op; 0 for ops that are not contractions."""
    kind = op.type
    if kind in ("Conv2D", "Conv2DBackpropFilter"):
        # forward: output (N, Ho, Wo, Co) x filter (kh, kw, Ci, Co); filter gradient: the same MACs
        out = _shape(op.outputs[0] if kind == "Conv2D" else op.inputs[2])
        kernel = _shape(op.inputs[1] if kind == "Conv2D" else op.outputs[0])
        return 2 * _product(out) * kernel[0] * kernel[1] * kernel[2]
    if kind == "Conv2DBackpropInput":  # transposed convolution, or a convolution's input gradient
        out_backprop = _shape(op.inputs[2])  # (N, H, W, C_out of the forward conv)
        kernel = _shape(op.inputs[1])  # (kh, kw, C_in, C_out)
        return 2 * _product(out_backprop) * kernel[0] * kernel[1] * kernel[2]
    if kind in ("DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"):
        out = _shape(op.outputs[0] if kind == "DepthwiseConv2dNative" else op.inputs[2])
        kernel = _shape(op.outputs[0] if kind == "DepthwiseConv2dNativeBackpropFilter" else op.inputs[1])
        return 2 * _product(out) * kernel[0] * kernel[1]
    if kind in ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "BatchMatMul"):
        a = _shape(op.inputs[0])
        adjoint = op.get_attr("transpose_a" if kind == "MatMul" else "adj_x")
        inner = a[-2] if adjoint else a[-1]
        return 2 * _product(_shape(op.outputs[0])) * inner
    if kind == "Einsum":
        return _einsum_flops(op)
    return 0


CONTRACTIONS = (
    "Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "DepthwiseConv2dNative",
    "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter",
    "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum",
)
CALLS = ("PartitionedCall", "StatefulPartitionedCall")


def _live_ops(graph):
    """Ops whose results reach the graph's outputs or a stateful op (a variable update):
    gradients nobody uses (e.g. through a frozen encoder) are traced but pruned at run time."""
    roots = [tensor.op for tensor in getattr(graph, "outputs", [])] + list(getattr(graph, "control_outputs", []))
    roots += [op for op in graph.get_operations() if op.op_def.is_stateful]
    live, stack = set(), list(roots)
    while stack:
        op = stack.pop()
        if op.name not in live:
            live.add(op.name)
            stack.extend(tensor.op for tensor in op.inputs)
            stack.extend(op.control_inputs)
    return live


def graph_flops(graph):
    """FLOPs of the convolutions, matrix products and einsums of a ``tf.Graph`` (2 per
    multiply-add), with static shapes; elementwise work (activations, norms, optimizer updates)
    is not counted, as is usual. Ops whose results are never used are left out; nested function
    calls are counted.

    Returns ``(flops, {op type: flops})``.
    """
    total, by_type = 0, {}
    live = _live_ops(graph)
    for op in graph.get_operations():
        if op.name not in live:
            continue
        if op.type in CALLS:
            nested = graph._get_function(op.get_attr("f").name)  # noqa: SLF001 - the call's body
            inner, inner_types = graph_flops(nested.graph)
            total += inner
            for key, value in inner_types.items():
                by_type[key] = by_type.get(key, 0) + value
        elif op.type in CONTRACTIONS:
            flops = _op_flops(op)
            total += flops
            by_type[op.type] = by_type.get(op.type, 0) + flops
    return total, by_type


def forward_flops(model, image_size, batch_size=1):
    """FLOPs per image of ``model(x, training=False)`` on ``(batch_size, S, S, C)`` inputs."""
    import tensorflow as tf

    spec = tf.TensorSpec((batch_size, image_size, image_size, model.input_shape[-1]), tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    return graph_flops(concrete.graph)[0] / batch_size


def train_step_flops(trainable, x, y):
    """FLOPs per image of one ``trainable.train_step((x, y))`` as traced (forward, backward and
    the optimizer's update, of which only the contractions count); nothing is executed."""
    import tensorflow as tf

    specs = (tf.TensorSpec(x.shape, tf.float32), tf.TensorSpec(y.shape, tf.float32))
    concrete = tf.function(lambda a, b: trainable.train_step((a, b))).get_concrete_function(*specs)
    return graph_flops(concrete.graph)[0] / int(x.shape[0])


# === Photos ===


def photo(megapixels=None, name="astronaut", aspect=4 / 3):
    """A scikit-image colour photo as RGB uint8, resized to about ``megapixels`` (4:3 by default)."""
    import numpy as np
    import skimage.data
    from PIL import Image

    image = getattr(skimage.data, name)()
    if megapixels is None:
        return image
    height = int(round((megapixels * 1e6 / aspect) ** 0.5))
    width = int(round(height * aspect))
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BICUBIC))


def photo_batches(image_size, batch_size, count, color_space="lab", seed=0):
    """``count`` numpy ``(luminance, chroma)`` batches cut from scikit-image's colour photos."""
    import numpy as np

    from colorzoo.data import make_dataset

    crops = np.stack(list(_photo_crops(batch_size * count, image_size, seed)))
    dataset = make_dataset(crops, image_size, batch_size, color_space=color_space, shuffle=False, drop_grayscale=False)
    return [(luminance.numpy(), chroma.numpy()) for luminance, chroma in dataset]


def generated_photo_folder(folder, count, size=224, seed=0):
    """Write ``count`` JPEG crops (``size`` px) of scikit-image's colour photos into ``folder``."""
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    for index, crop in enumerate(_photo_crops(count, size, seed, min_side=size // 2)):
        Image.fromarray(crop).save(os.path.join(folder, f"photo_{index:05d}.jpg"), quality=90)
    return folder


def _photo_crops(count, size, seed, min_side=None):
    """``count`` random square crops of scikit-image's colour photos (in turn), resized to ``size``
    px; a crop's side is at least ``min_side`` (default: half the photo's shorter side)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    photos = [photo(name=name) for name in ("astronaut", "coffee", "chelsea", "rocket")]
    for index in range(count):
        image = photos[index % len(photos)]
        shorter = min(image.shape[:2])
        side = int(rng.integers(shorter // 2 if min_side is None else min_side, shorter + 1))
        top = int(rng.integers(0, image.shape[0] - side + 1))
        left = int(rng.integers(0, image.shape[1] - side + 1))
        crop = Image.fromarray(image[top : top + side, left : left + side])
        yield np.asarray(crop.resize((size, size), Image.BILINEAR))


# === Output ===


def markdown_table(headers, rows):
    """A GitHub markdown table, every cell padded to its column's width."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(header)), *(len(row[i]) for row in rows)) if rows else len(str(header))
              for i, header in enumerate(headers)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |",
             "| " + " | ".join("-" * w for w in widths) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
    return "\n".join(lines)


def write_json(path, data):
    if path:
        with open(path, "x") as file:  # exclusive: a file that appeared during the run is not replaced
            json.dump(data, file, indent=2)
        print(f"wrote {path}")
