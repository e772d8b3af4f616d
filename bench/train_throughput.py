"""Training throughput of every registered model: images/s, achieved FLOP/s, peak memory.

Each configuration (model x image size x XLA on/off) runs in a fresh Python process: it builds
the model with random weights (``encoder_weights=None``; pretrained weights cost the same),
compiles it with the registry recipe (``colorzoo.training.compile_model``; pix2pix and
ddcolor_lite get their recipe's GAN trainer, generator and discriminator, via
``make_trainable``), and trains it with ``fit`` on one fixed batch held in memory
(``Dataset.from_tensors(batch).repeat()``: no input pipeline, ``bench/pipeline_vs_models.py``
compares that). ``fit`` rather than ``train_on_batch``, so that a callback can time each step
inside one call, as training runs. The first one-step ``fit`` (tracing,
and XLA compilation when on) is timed apart, and a second one estimates the step time; then one
``fit`` of 1 + ``--runs`` x ``steps`` steps is timed step by step (a callback reads the clock
after each step), and the median images/s of the ``--runs`` windows is quoted with their spread.
``steps`` is ``--steps``, or fewer (at least 1) when that would take longer than ``--budget``
seconds (ddcolor_lite at 256 px: one step is tens of seconds).

FLOPs: the convolutions, matrix products and einsums of the traced graphs, counted from their
static shapes (2 per multiply-add): the forward pass ``model(x)`` and the whole training step
(forward, backward, GAN discriminator, perceptual loss), leaving out gradients nobody uses, as
TensorFlow prunes them (a frozen VGG16 encoder costs its forward pass only, so the usual
"training = 3 x forward" would overstate those models' work about 2.5-fold). Achieved FLOP/s
is training FLOPs per image x images/s, shown as a fraction of this machine's dense float32
matmul rate, measured in the same run before and after the models: the highest median of 4096^3
products by TensorFlow and by NumPy's BLAS.

Peak memory: the worker process's peak resident set size (``VmHWM``), which includes
TensorFlow itself (shown apart as the RSS after building the model) and any XLA compilation.

Usage:

    .venv/bin/python bench/train_throughput.py --json train_throughput.json       # all models, 1-2 h
    .venv/bin/python bench/train_throughput.py --models resnet18_decoder,pix2pix --sizes 128 --jit off
    .venv/bin/python bench/train_throughput.py --quick                            # smoke test, 3-5 min
    .venv/bin/python bench/train_throughput.py --sizes 128 --jit off --dtype-policies float32,mixed_bfloat16

``--dtype-policies`` builds and trains each configuration under each Keras dtype policy (the
model, a GAN's discriminator and the perceptual loss's VGG16); FLOPs and "of peak" stay float32
counts against the float32 matmul rate, so a mixed policy can exceed 100 %.
"""

import argparse
import itertools
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

# Options of the recipes' GAN trainers that keep them offline (random VGG16 weights for
# DDColor's perceptual loss cost the same as ImageNet ones).
TRAINER_KWARGS = {"ddcolor_lite": {"perceptual_weights": None}}
QUICK_MODELS = ("resnet18_decoder", "pix2pix")


def build_trainable(name, image_size, jit_compile, small=False, generator_only=False, options=None):
    """``(model, trainable)``: the registered model with random weights (and builder ``options``),
    and what its recipe trains (the model compiled, or its GAN trainer) with XLA on or off."""
    from colorzoo.models import build_model, model_info
    from colorzoo.training import compile_model, make_trainable

    info = model_info(name)
    kwargs = {**(info.small if small else {}), **(options or {}), "image_size": image_size, "encoder_weights": None}
    model = build_model(name, **kwargs)
    if "trainer" in info.recipe and not generator_only:
        trainable = make_trainable(model, **TRAINER_KWARGS.get(name, {}))
        trainable.jit_compile = jit_compile  # read when the train function is first made
    else:
        trainable = compile_model(model, jit_compile=jit_compile)
    return model, trainable


def random_batch(model, batch_size, seed=0):
    """One batch of normalised luminance in [0, 1] and chroma in [-0.5, 0.5], as tensors."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    height, width = model.input_shape[1:3]
    luminance = rng.random((batch_size, height, width, 1), dtype=np.float32)
    chroma = rng.uniform(-0.5, 0.5, (batch_size, height, width, 2)).astype(np.float32)
    return tf.constant(luminance), tf.constant(chroma)


def worker(spec):
    """One configuration, in this fresh process: returns the measurements as a dict."""
    common.set_threads(spec["threads"])
    import keras
    import numpy as np
    import tensorflow as tf

    keras.config.set_dtype_policy(spec["dtype_policy"])

    after_import = common.current_rss_mib()
    model, trainable = build_trainable(
        spec["model"], spec["image_size"], spec["jit"], spec["small"], spec["generator_only"], spec["options"]
    )
    x, y = random_batch(model, spec["batch_size"])
    after_build = common.current_rss_mib()

    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    start = time.perf_counter()
    trainable.fit(data, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)
    first_step = time.perf_counter() - start
    start = time.perf_counter()
    trainable.fit(data, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)
    # Fewer steps per window for slow configurations, to keep each within its time budget.
    steps = max(1, min(spec["steps"], int(spec["budget"] / (spec["runs"] * (time.perf_counter() - start)))))
    timing = common.timed_fit(trainable, data, spec["runs"], steps, warmup_steps=1)
    peak = common.peak_rss_mib()
    history = trainable.fit(data, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0).history
    finite = all(np.isfinite(values[-1]) for values in history.values())

    images = spec["batch_size"] * steps
    images_per_second, low_high = common.rate(images, timing["wall"])
    return {
        **spec,
        "jit_effective": bool(trainable.jit_compile),
        "trains": "GAN trainer" if trainable is not model else "model",
        "steps_timed": steps,
        "parameters": model.count_params(),
        "trainable_parameters": int(sum(np.prod(v.shape) for v in model.trainable_variables)),
        "first_step_seconds": first_step,
        "run_seconds": timing["wall"],
        "run_cpu_seconds": timing["cpu"],
        "images_per_second": images_per_second,
        "images_per_second_range": low_high,
        "cpu_seconds_per_image": statistics.median(timing["cpu"]) / images,
        "forward_flops_per_image": common.forward_flops(model, spec["image_size"]),
        "train_flops_per_image": common.train_step_flops(trainable, x, y),
        "rss_after_import_mib": after_import,
        "rss_after_build_mib": after_build,
        "peak_rss_mib": peak,
        "losses_finite": bool(finite),
    }


def _sizes(text):
    """argparse type of ``--sizes``: comma-separated sizes, each a whole number from 1 or ``native``."""
    sizes = [size for size in text.split(",") if size]
    for size in sizes:
        if size != "native":
            common.positive_int(size)
    if not sizes:
        raise argparse.ArgumentTypeError("expected sizes such as 128,native")
    return ",".join(sizes)


def _jit(text):
    """argparse type of ``--jit``: ``off``, ``on`` or both, comma-separated."""
    if not text or any(value not in ("off", "on") for value in text.split(",")):
        raise argparse.ArgumentTypeError(f"expected off, on or off,on; got {text!r}")
    return text


def _option(text):
    """argparse type of ``--option``: ``KEY=VALUE`` -> ``(key, value)``, as ``colorzoo train --option`` reads it."""
    from colorzoo.cli import UsageError, key_value_options

    try:
        return next(iter(key_value_options([text]).items()))
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _policies(text):
    """argparse type of ``--dtype-policies``: comma-separated Keras dtype policies colorzoo trains under."""
    from colorzoo.training import DTYPE_POLICIES

    allowed = [policy for policy in DTYPE_POLICIES if policy != "auto"]
    if not text or any(policy not in allowed for policy in text.split(",")):
        raise argparse.ArgumentTypeError(f"expected some of {','.join(allowed)}, comma-separated; got {text!r}")
    return text


def configurations(args, list_models, model_info):
    names = args.models.split(",") if args.models else (QUICK_MODELS if args.quick else list_models())
    for name in names:
        sizes = []
        for size in args.sizes.split(","):
            value = model_info(name).native_size if size == "native" else int(size)
            if value not in sizes:
                sizes.append(value)
        for size in sizes:
            batch = args.batch_size or (8 if size <= 128 else 4)
            for jit, policy in itertools.product(args.jit.split(","), args.dtype_policies.split(",")):
                yield {
                    "model": name, "image_size": size, "batch_size": batch, "jit": jit == "on", "dtype_policy": policy,
                    "steps": args.steps, "runs": args.runs, "threads": args.threads, "budget": args.budget,
                    "small": args.small, "generator_only": args.generator_only, "options": dict(args.option),
                }


def _rates(rates):
    return ", ".join(f"{library} {rate / 1e9:.1f} GFLOP/s" for library, rate in rates.items())


def table(results, peak_flops):
    rows = []
    for r in results:
        if "error" in r:
            error = " ".join(r["error"].replace("|", "/").split())
            rows.append([r["model"], r["image_size"], r["batch_size"], "on" if r["jit"] else "off", r["dtype_policy"],
                         f"failed: {error[-100:]}"] + [""] * 9)
            continue
        achieved = r["train_flops_per_image"] * r["images_per_second"]
        rows.append([
            r["model"] + (" (GAN)" if r["trains"] == "GAN trainer" else ""), r["image_size"], r["batch_size"],
            "on" if r["jit_effective"] else "off", r["dtype_policy"],
            f"{r['parameters'] / 1e6:.2f} M",
            f"{r['forward_flops_per_image'] / 1e9:.2f}", f"{r['train_flops_per_image'] / 1e9:.2f}",
            f"{r['images_per_second']:.2f}",
            f"{r['runs']}x{r['steps_timed']} {common.spread(r['images_per_second_range'], r['images_per_second'])}",
            f"{r['cpu_seconds_per_image']:.3f}",
            f"{achieved / 1e9:.1f}", f"{100 * achieved / peak_flops:.0f}%",
            f"{r['first_step_seconds']:.1f}",
            f"{r['peak_rss_mib']:.0f} ({r['rss_after_build_mib']:.0f})",
        ])
    return common.markdown_table(
        ["model", "px", "batch", "XLA", "policy", "params", "fwd GFLOP/img", "train GFLOP/img", "img/s", "windows x steps",
         "CPU s/img", "GFLOP/s", "of peak", "1st step s", "peak RSS MiB (after build)"],
        rows,
    )


SETTINGS = ("jit_effective", "dtype_policy")  # what a speed-up table compares


def speedup_table(results, setting, baseline, label):
    """Speed-up of each configuration of this run over the same one with ``setting`` (one of
    ``SETTINGS``) at ``baseline``; ``label(value)`` names that setting's value in the header."""
    def key(r, **changed):
        return (r["model"], r["image_size"], *(changed.get(name, r[name]) for name in SETTINGS))

    by_key = {key(r): r for r in results if "error" not in r}
    rows = []
    for other in by_key.values():
        base = by_key.get(key(other, **{setting: baseline}))
        if other[setting] != baseline and base:
            rows.append([other["model"], other["image_size"], "on" if other["jit_effective"] else "off",
                         other["dtype_policy"], f"{base['images_per_second']:.2f}", f"{other['images_per_second']:.2f}",
                         f"{other['images_per_second'] / base['images_per_second']:.2f}x",
                         f"{other['peak_rss_mib'] / base['peak_rss_mib']:.2f}x"])
    return common.markdown_table(
        ["model", "px", "XLA", "policy", f"img/s with {label(baseline)}", "img/s", "speed-up", "peak RSS ratio"], rows
    )


def main(argv=None):
    spec = common.worker_spec(argv)
    if spec is not None:
        common.report_result(worker(spec))
        return 0
    parser = common.model_bench_parser(
        __doc__.splitlines()[0],
        quick_help="smoke test: resnet18_decoder and pix2pix, small builds at 64 px, batch 2, 2 runs of 2 steps",
        timeout_help="seconds per configuration",
    )
    parser.add_argument("--sizes", type=_sizes, default="128,native", help="comma-separated sizes; 'native' is each model's own")
    parser.add_argument("--jit", type=_jit, default="off,on", help="'off', 'on' or 'off,on': XLA compilation of the train step")
    parser.add_argument("--batch-size", type=common.positive_int, help="default: 8 up to 128 px, 4 above")
    parser.add_argument("--steps", type=common.positive_int, default=5, help="train steps per timed window (at most)")
    parser.add_argument("--budget", type=common.positive_float, default=120,
                        help="seconds of timed steps per configuration: slow ones time fewer steps per window")
    parser.add_argument("--runs", type=common.positive_int, default=5, help="timed runs; the median is quoted")
    parser.add_argument("--generator-only", action="store_true",
                        help="GAN models: time the generator alone with the recipe's L1 (pretraining stage)")
    parser.add_argument("--dtype-policies", type=_policies, default="float32",
                        help="comma-separated Keras dtype policies to train under, e.g. float32,mixed_bfloat16")
    parser.add_argument("--option", type=_option, action="append", default=[], metavar="KEY=VALUE",
                        help="a builder option for every model of the run, e.g. --models ddcolor_lite --option preset=lite")
    parser.add_argument("--matmul-size", type=common.positive_int, default=4096)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.batch_size, args.steps, args.runs = "64", args.batch_size or 2, 2, 2
        args.small, args.matmul_size = True, 1024

    common.set_threads(args.threads)
    from colorzoo.models import list_models, model_info

    machine = common.machine()
    common.print_machine(machine, args.threads)
    peaks = [common.matmul_peak(args.matmul_size)]
    print(f"dense float32 matmul ({args.matmul_size}^3): {_rates(peaks[0])}", flush=True)
    bfloat16_rate = None
    if "bfloat16" in args.dtype_policies:
        bfloat16_rate = common.tensorflow_matmul_rate(args.matmul_size, "bfloat16")
        print(f"dense bfloat16 matmul ({args.matmul_size}^3): tensorflow {bfloat16_rate / 1e9:.1f} GFLOP/s", flush=True)
    results = []
    for config in configurations(args, list_models, model_info):
        label = (f"{config['model']} {config['image_size']} px batch {config['batch_size']} XLA {config['jit']} "
                 f"{config['dtype_policy']}")
        print(f"  {label} ...", end=" ", flush=True, file=sys.stderr)
        result = common.run_worker(os.path.abspath(__file__), config, timeout=args.timeout)
        results.append({**config, **result})
        print(result.get("error") or f"{result['images_per_second']:.2f} img/s", file=sys.stderr, flush=True)
    peaks.append(common.matmul_peak(args.matmul_size))
    peak = max(rate for rates in peaks for rate in rates.values())
    load_after = os.getloadavg()[0]
    print(f"dense float32 matmul after the models: {_rates(peaks[1])}; "
          f"'of peak' uses the highest, {peak / 1e9:.1f} GFLOP/s. Load average now {load_after:.2f}.\n")
    print(table(results, peak))
    if any(r.get("jit_effective") for r in results):
        print("\nXLA on / off, same run:\n")
        print(speedup_table(results, "jit_effective", False, lambda jit: f"XLA {'on' if jit else 'off'}"))
    if any(r["dtype_policy"] != "float32" for r in results):
        print("\nDtype policy against float32, same run:\n")
        print(speedup_table(results, "dtype_policy", "float32", str))
    common.write_json(args.json, {"machine": machine, "matmul_flops": peaks, "bfloat16_matmul_flops": bfloat16_rate,
                                  "load_average_after": load_after,
                                  "args": vars(args), "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
