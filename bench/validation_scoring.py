"""Time of the per-epoch validation scoring of ``colorzoo train`` (``ValidationImageMetrics``).

For each model (random weights, ``encoder_weights=None``) on the same in-memory batches of
scikit-image photo crops, per validation photo:

- ``eager``: the forward pass as an eager ``model(x, training=False)`` call per batch, which is
  how ``colorzoo.training.predict_batch_chroma`` (then ``predict_chroma``) ran the model before
  2026-11-28;
- ``traced``: the same through ``colorzoo.inference.traced_predictor`` (a ``tf.function``
  traced once), how it runs now;
- ``scoring``: the whole ``colorzoo.training.validation_scores`` (traced forward pass, RGB
  conversions, PSNR, SSIM, colourfulness), the reference scores measured beforehand as in
  every epoch after the first.

After one warm-up pass each (tracing), the passes are timed ``--runs`` times in rotating order;
medians are quoted. This machine's speed drifts (the same pass has taken 5.6 s and 10.9 s a
minute apart), so the eager / traced ratio is the median of each run's ratio: the two passes
of a run are seconds apart.

Usage:

    .venv/bin/python bench/validation_scoring.py                                   # every model, 128 px
    .venv/bin/python bench/validation_scoring.py --models ddcolor_lite --image-size 224 --runs 5
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def time_model(name, image_size, batch_size, batches, runs, small):
    """Median seconds per photo of the ``eager``, ``traced`` and ``scoring`` passes of one model,
    and ``speedup``, the median over runs of eager / traced."""
    import tensorflow as tf

    from colorzoo.inference import traced_predictor
    from colorzoo.models import build_model, model_info
    from colorzoo.training import validation_scores

    info = model_info(name)
    kwargs = {**(info.small if small else {}), "image_size": image_size, "encoder_weights": None}
    model = build_model(name, **kwargs)
    color_space = info.color_space
    data = common.photo_batches(image_size, batch_size, batches, color_space=color_space)
    dataset = tf.data.Dataset.from_tensor_slices(
        tuple(tf.concat([batch[i] for batch in data], 0) for i in range(2))
    ).batch(batch_size)
    _, reference = validation_scores(model, dataset, color_space)  # also traces the forward pass

    passes = {
        "eager": lambda: [model(luminance, training=False).numpy() for luminance, _ in data],
        "traced": lambda: [traced_predictor(model)(luminance).numpy() for luminance, _ in data],
        "scoring": lambda: validation_scores(model, dataset, color_space, reference),
    }
    for run_pass in passes.values():  # warm-up
        run_pass()
    seconds = {key: [] for key in passes}
    keys = list(passes)
    for run in range(runs):
        for key in keys[run % len(keys):] + keys[: run % len(keys)]:  # a rotating order
            run_pass = passes[key]
            start = time.perf_counter()
            run_pass()
            seconds[key].append(time.perf_counter() - start)
    photos = batch_size * batches
    result = {key: statistics.median(values) / photos for key, values in seconds.items()}
    result["speedup"] = statistics.median(e / t for e, t in zip(seconds["eager"], seconds["traced"]))
    return result


def main(argv=None):
    from colorzoo.models import list_models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=common.model_names, help="comma-separated registry names (default: every model)")
    parser.add_argument("--image-size", type=common.positive_int, default=128)
    parser.add_argument("--batch-size", type=common.positive_int, default=8)
    parser.add_argument("--batches", type=common.positive_int, default=8, help="validation batches per pass")
    parser.add_argument("--runs", type=common.positive_int, default=3)
    parser.add_argument("--small", action="store_true", help="build models with their registry 'small' kwargs")
    parser.add_argument("--json", type=common.new_json_path, help="write every measurement to this file (a new one)")
    args = parser.parse_args(argv)
    names = args.models.split(",") if args.models else list_models()
    info = common.machine()
    common.print_machine(info, None)
    results = {}
    for name in names:
        results[name] = time_model(name, args.image_size, args.batch_size, args.batches, args.runs, args.small)
        print(f"{name}: {results[name]}", flush=True)
    rows = [
        [name, f"{1e3 * r['eager']:.1f}", f"{1e3 * r['traced']:.1f}", f"{r['speedup']:.1f}x",
         f"{1e3 * r['scoring']:.1f}"]
        for name, r in results.items()
    ]
    print(f"\n{args.batch_size * args.batches} photos at {args.image_size} px, batch {args.batch_size}, "
          f"median of {args.runs} runs, ms per photo")
    print(common.markdown_table(["model", "eager forward", "traced forward", "eager / traced", "whole scoring"],
                                rows))
    common.write_json(args.json, {"machine": info, "args": vars(args), "results": results})


if __name__ == "__main__":
    main()
