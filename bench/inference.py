"""Inference speed and memory: every model at its native size, and full-resolution colorize().

Part 1, per model (each in a fresh Python process, random weights): the forward pass at the
model's native size through a ``tf.function`` with a fixed input signature (``colorize`` runs
most models through one traced at any size, at the same speed), plain graph and XLA-compiled: single-image latency
(median and 90th percentile of ``--latency-runs`` calls) and batch throughput (images/s at
``--batch-size``), the first call (tracing, compilation) timed apart; achieved GFLOP/s of the
batch runs; peak RSS of the process.

Part 2, ``colorzoo.inference.colorize`` on photos of 0.3, 1, 4 and 12 megapixels (a
scikit-image photo resized to 4:3 and saved as a JPEG), one fresh process per size, split into
its stages: JPEG decode (``load_image``), full-resolution luminance (``luminance_of``),
antialiased downsampling to the model's run shape for the photo (``inference.run_size``: its
pixel count, the photo's aspect ratio), the model at that shape, bilinear upsampling
of the chroma to full resolution, and recombination with the original luminance
(``recombine``). The model stage costs the same at every size; the others grow with the pixel
count. The whole ``colorize()`` call is timed too (its time should match the stages' sum), and
once more the first call on the photo turned 90° (a new run shape: what a folder of landscape
and portrait photos pays once per shape; since session 26 a call of the graph traced at any size
for most models, a rebuild and a trace for the others, ``bench/run_shapes.py``).
Memory, in a second fresh process per size run with a fixed 64 KiB glibc mmap threshold (so
freed arrays go back to the kernel and a warm-up does not hide later allocations): after a
warm-up call at the same size, the peak RSS above the RSS before the whole ``colorize()``
call and before each stage (the kernel's peak counter is reset before each). Bytes per pixel
show that memory grows with the photo only through a few full-resolution arrays, never with
the model. The recombination's time depends on how many predicted colours fall outside the
sRGB gamut (they are desaturated by bisection), so that share is shown: random weights (the
default) give more than a trained model (``--weights``).

Usage:

    .venv/bin/python bench/inference.py --json inference.json          # every model, 4 photo sizes
    .venv/bin/python bench/inference.py --models resnet18_decoder --megapixels 1,12
    .venv/bin/python bench/inference.py --skip-models                  # the colorize() part alone
    .venv/bin/python bench/inference.py --quick                        # smoke test, ~2 min
"""

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

QUICK_MODELS = ("resnet18_decoder", "pix2pix")


def build(name, image_size=None, small=False):
    from colorzoo.models import build_model, model_info

    info = model_info(name)
    kwargs = {**(info.small if small else {}), "encoder_weights": None}
    kwargs["image_size"] = image_size or (kwargs.get("image_size") if small else info.native_size)
    return build_model(name, **kwargs)


def predictor(model, jit_compile):
    """``model(x, training=False)`` in a ``tf.function`` with a fixed signature."""
    import tensorflow as tf

    signature = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    return tf.function(lambda x: model(x, training=False), input_signature=[signature], jit_compile=jit_compile)


# === Part 1: the models ===


def model_worker(spec):
    common.set_threads(spec["threads"])
    import numpy as np
    import tensorflow as tf

    model = build(spec["model"], spec["image_size"], spec["small"])
    size = model.input_shape[1]
    rng = np.random.default_rng(0)
    single = tf.constant(rng.random((1, size, size, 1), dtype=np.float32))
    batch = tf.constant(rng.random((spec["batch_size"], size, size, 1), dtype=np.float32))
    result = {**spec, "image_size": size, "parameters": model.count_params(),
              "forward_flops_per_image": common.forward_flops(model, size)}
    for mode, jit in (("graph", False), ("xla", True)):
        predict = predictor(model, jit)
        start = time.perf_counter()
        predict(single).numpy()
        first = time.perf_counter() - start
        latency = common.timed_runs(lambda: predict(single).numpy(), spec["latency_runs"], warmup=2)["wall"]
        throughput = common.timed_runs(lambda: predict(batch).numpy(), spec["runs"], warmup=1)
        images_per_second, low_high = common.rate(spec["batch_size"], throughput["wall"])
        result[mode] = {
            "first_call_seconds": first,
            "latency_seconds": statistics.median(latency),
            "latency_p90_seconds": float(np.percentile(latency, 90)),
            "images_per_second": images_per_second,
            "images_per_second_range": low_high,
            "cpu_seconds_per_image": statistics.median(throughput["cpu"]) / spec["batch_size"],
        }
    result["peak_rss_mib"] = common.peak_rss_mib()
    return result


def model_table(results):
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["model"], "", "", f"failed: {' '.join(r['error'].replace('|', '/').split())[-100:]}"]
                        + [""] * 8)
            continue
        graph, xla = r["graph"], r["xla"]
        rows.append([
            r["model"], r["image_size"], f"{r['parameters'] / 1e6:.2f} M", f"{r['forward_flops_per_image'] / 1e9:.2f}",
            f"{1e3 * graph['latency_seconds']:.1f} / {1e3 * graph['latency_p90_seconds']:.1f}",
            f"{1e3 * xla['latency_seconds']:.1f} / {1e3 * xla['latency_p90_seconds']:.1f}",
            f"{graph['images_per_second']:.2f} {common.spread(graph['images_per_second_range'], graph['images_per_second'])}",
            f"{xla['images_per_second']:.2f} {common.spread(xla['images_per_second_range'], xla['images_per_second'])}",
            f"{xla['images_per_second'] / graph['images_per_second']:.2f}x",
            f"{r['forward_flops_per_image'] * graph['images_per_second'] / 1e9:.1f}",
            f"{graph['first_call_seconds']:.1f} / {xla['first_call_seconds']:.1f}",
            f"{r['peak_rss_mib']:.0f}",
        ])
    return common.markdown_table(
        ["model", "px", "params", "GFLOP/img", "latency ms graph (p50 / p90)", "latency ms XLA (p50 / p90)",
         "img/s graph (batch)", "img/s XLA (batch)", "XLA speed-up", "GFLOP/s graph", "1st call s graph / XLA",
         "peak RSS MiB"],
        rows,
    )


# === Part 2: full-resolution colorize() ===

STAGES = ("decode", "luminance", "downsample", "model", "upsample", "recombine")


def colorize_stages(model, path, predict, run_size):
    """The stages of ``colorize(model, path)``, as functions chained through a dict of results;
    ``predict`` runs the model at ``run_size`` (the photo's :func:`colorzoo.inference.run_size`)."""
    import tensorflow as tf

    from colorzoo import inference

    color_space = inference.model_spec(model).color_space

    def upsample(state):
        height, width = state["luminance"].shape
        return tf.image.resize(tf.cast(state["model"], tf.float32)[0], (height, width), method="bilinear").numpy()

    return {
        "decode": lambda state: inference.load_image(path),
        "luminance": lambda state: inference.luminance_of(state["decode"], color_space),
        "downsample": lambda state: tf.image.resize(state["luminance"][None, :, :, None], run_size, antialias=True),
        "model": lambda state: predict(state["downsample"]).numpy(),
        "upsample": upsample,
        "recombine": lambda state: inference.recombine(state["luminance"], state["upsample"], color_space),
    }


def out_of_gamut_fraction(luminance, chroma, color_space):
    """Share of pixels whose colour ``recombine`` must desaturate (its cost grows with it)."""
    import numpy as np

    from colorzoo import color, inference

    luminance = luminance.reshape(-1, 1)
    rgb = color.model_output_to_rgb(luminance, chroma.reshape(-1, 2), color_space)
    change = np.abs(color.rgb_to_luminance(rgb, color_space).numpy() - luminance)
    return float((change > inference.GAMUT_TOLERANCE).mean())


def colorize_worker(spec):
    """Times (``spec["measure"] == "time"``) or peak memory (``"memory"``, run with
    :data:`common.EXACT_PEAK_ENV`) of colorize() and its stages at one photo size."""
    common.set_threads(spec["threads"])
    from PIL import Image

    from colorzoo import inference
    from colorzoo.hub import load_model

    model = load_model(spec["weights"]) if spec["weights"] else build(spec["model"], small=spec["small"])
    if inference.model_spec(model).output != "ab":
        raise SystemExit("the colorize benchmark splits the stages of models predicting ab, not ab bins")
    folder = tempfile.mkdtemp(prefix="colorzoo-bench-")
    path = os.path.join(folder, "photo.jpg")
    photo = common.photo(spec["megapixels"])
    Image.fromarray(photo).save(path, quality=95)
    run_size = inference.run_size(model, image_shape=photo.shape[:2])
    predict = inference.predictor_at(model, run_size)  # what colorize runs

    def chain(record=None, memory=None):
        """Run the stages in order, dropping what colorize() would no longer hold."""
        stages, state = colorize_stages(model, path, predict, run_size), {}
        for name in STAGES:
            before = common.current_rss_mib()
            if memory is not None:
                common.reset_peak_rss()
            start = time.perf_counter()
            state[name] = stages[name](state)
            if record is not None:
                record[name].append(time.perf_counter() - start)
            if memory is not None:
                memory[name] = common.peak_rss_mib() - before
            if name == "luminance":
                del state["decode"]
        return state

    state = chain()  # warm-up: traces the model's function, compiles the colour blocks of this size
    direct = inference.colorize(model, path)
    result = {**spec, "height": state["luminance"].shape[0], "width": state["luminance"].shape[1],
              "run_size": list(run_size)}
    if spec["measure"] == "memory":
        del state, direct
        baseline = common.current_rss_mib()
        stage_memory = {}
        common.reset_peak_rss()
        chain(memory=stage_memory)
        result["stage_peak_mib"] = stage_memory
        common.reset_peak_rss()
        inference.colorize(model, path)
        result["colorize_peak_mib"] = common.peak_rss_mib() - baseline
        result["baseline_rss_mib"] = baseline
        result["peak_reset_worked"] = common.reset_peak_rss()
    else:
        result["stages_match_colorize"] = bool((abs(direct.astype(int) - state["recombine"].astype(int)) <= 1).all())
        color_space = inference.model_spec(model).color_space
        result["out_of_gamut_fraction"] = out_of_gamut_fraction(state["luminance"], state["upsample"], color_space)
        del state, direct
        record = {name: [] for name in STAGES}
        for _ in range(spec["runs"]):
            chain(record)
        total = common.timed_runs(lambda: inference.colorize(model, path), spec["runs"], warmup=0)["wall"]
        result["seconds"] = {name: statistics.median(record[name]) for name in STAGES}
        result["colorize_seconds"] = statistics.median(total)
        result["colorize_seconds_range"] = [min(total), max(total)]
        turned = photo.transpose(1, 0, 2).copy()  # the same pixels in a new run shape
        start = time.perf_counter()
        inference.colorize(model, turned)
        result["turned_first_seconds"] = time.perf_counter() - start
    os.remove(path)
    os.rmdir(folder)
    return result


def colorize_table(results):
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["megapixels"], f"failed: {' '.join(r['error'].replace('|', '/').split())[-100:]}"]
                        + [""] * 12)
            continue
        seconds = r["seconds"]
        pixels = r["height"] * r["width"]
        rows.append(
            [f"{pixels / 1e6:.2f} ({r['width']} x {r['height']})"]
            + [f"{1e3 * seconds[name]:.1f}" for name in STAGES]
            + [f"{1e3 * sum(seconds.values()):.1f}", f"{1e3 * r['colorize_seconds']:.1f}",
               f"{1e3 * r['turned_first_seconds']:.0f}",
               f"{1e9 * (sum(seconds.values()) - seconds['model']) / pixels:.0f}",
               f"{100 * r['out_of_gamut_fraction']:.0f}%",
               f"{r['colorize_peak_mib']:.0f}", f"{r['colorize_peak_mib'] * 2**20 / pixels:.0f}"]
        )
    return common.markdown_table(
        ["megapixels", *(f"{name} ms" for name in STAGES), "sum ms", "colorize() ms", "turned 90°, 1st call ms",
         "ns/pixel outside the model", "out of gamut", "peak MiB above baseline", "bytes/pixel"],
        rows,
    )


def stage_memory_table(results):
    rows = [[f"{r['height'] * r['width'] / 1e6:.2f}"] + [f"{r['stage_peak_mib'][name]:.1f}" for name in STAGES]
            for r in results if "error" not in r]
    return common.markdown_table(["megapixels", *(f"{name} MiB" for name in STAGES)], rows)


def _megapixels(text):
    """argparse type of ``--megapixels``: comma-separated numbers above 0, or empty."""
    for value in text.split(","):
        if value:
            common.positive_float(value)
    return text


def main(argv=None):
    spec = common.worker_spec(argv)
    if spec is not None:
        common.report_result(model_worker(spec) if spec["part"] == "models" else colorize_worker(spec))
        return 0
    parser = common.model_bench_parser(
        __doc__.splitlines()[0],
        quick_help="smoke test: resnet18_decoder and pix2pix small builds, batch 2, photos of 0.1 and 0.3 MP",
        models_help="comma-separated registry names for part 1 (default: every model)",
    )
    parser.add_argument("--skip-models", action="store_true", help="run part 2 (colorize) only")
    parser.add_argument("--batch-size", type=common.positive_int, default=8)
    parser.add_argument("--latency-runs", type=common.positive_int, default=20, help="single-image calls timed")
    parser.add_argument("--runs", type=common.positive_int, default=5, help="timed batch runs / colorize runs per size")
    parser.add_argument("--colorize-model", default="resnet18_decoder")
    parser.add_argument("--weights", help="a trained .keras file for part 2 instead of random weights (the share of "
                        "out-of-gamut colours, which recombine() desaturates, depends on the weights)")
    parser.add_argument("--megapixels", type=_megapixels, help="photo sizes for part 2 (default 0.3,1,4,12); empty to skip it")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.latency_runs, args.runs, args.small = 2, 5, 2, True
        args.megapixels = "0.1,0.3" if args.megapixels is None else args.megapixels
    elif args.megapixels is None:
        args.megapixels = "0.3,1,4,12"

    common.set_threads(args.threads)
    from colorzoo.models import list_models

    machine = common.machine()
    common.print_machine(machine, args.threads)
    script = os.path.abspath(__file__)
    output = {"machine": machine, "args": vars(args), "models": [], "colorize": []}
    if not args.skip_models:
        names = args.models.split(",") if args.models else (QUICK_MODELS if args.quick else list_models())
        for name in names:
            print(f"  {name} ...", end=" ", flush=True, file=sys.stderr)
            spec = {"part": "models", "model": name, "image_size": None, "small": args.small,
                    "batch_size": args.batch_size, "latency_runs": args.latency_runs, "runs": args.runs,
                    "threads": args.threads}
            result = {**spec, **common.run_worker(script, spec, timeout=args.timeout)}
            output["models"].append(result)
            print(result.get("error") or "done", file=sys.stderr, flush=True)
        print(f"\nForward pass at native size, batch {args.batch_size} for img/s:\n")
        print(model_table(output["models"]))
    megapixels = [common.positive_float(value) for value in args.megapixels.split(",") if value]
    for value in megapixels:
        print(f"  colorize {value} MP ...", end=" ", flush=True, file=sys.stderr)
        spec = {"part": "colorize", "model": args.colorize_model, "weights": args.weights,
                "megapixels": value, "small": args.small, "runs": args.runs, "threads": args.threads}
        timing = common.run_worker(script, {**spec, "measure": "time"}, timeout=args.timeout)
        memory = common.run_worker(script, {**spec, "measure": "memory"}, timeout=args.timeout,
                                   env=common.EXACT_PEAK_ENV)
        error = " / ".join(part["error"] for part in (timing, memory) if "error" in part)
        result = {**spec, **timing, **memory, **({"error": error} if error else {})}
        output["colorize"].append(result)
        print(error or "done", file=sys.stderr, flush=True)
    if megapixels:
        done = [r for r in output["colorize"] if "error" not in r]
        run_size = done[0]["run_size"] if done else "?"
        model = args.weights or args.colorize_model
        print(f"\ncolorize() with {model} (model at {run_size}), stages in ms (median of {args.runs}):\n")
        print(colorize_table(output["colorize"]))
        print("\nPeak RSS above the RSS before each stage, MiB, in the first pass at that size:\n")
        print(stage_memory_table(output["colorize"]))
        if done and not all(r["stages_match_colorize"] for r in done):
            print("note: the stages' output differs from colorize()'s by more than 1 level somewhere")
    print(f"\nLoad average now {os.getloadavg()[0]:.2f}.")
    common.write_json(args.json, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
