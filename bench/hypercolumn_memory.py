"""Does the hypercolumn model train at 224 px and batch 8 on a CPU? Peak memory and time per step.

The report could not run its hypercolumn model for lack of memory; colorzoo's version applies
the hypercolumn's first 1x1 convolution to each VGG16 tap before upsampling (see
``colorzoo/models/hypercolumn.py``). This trains it for a few steps on random data with the
registry recipe and prints the peak resident memory of the process and the seconds per step
(the first step, which traces the graph, is timed apart).

Usage:

    .venv/bin/python bench/hypercolumn_memory.py               # 224 px, batch 8, 5 steps
    .venv/bin/python bench/hypercolumn_memory.py --steps 2 --image-size 128
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads)
import numpy as np  # noqa: E402

from colorzoo.cli import positive_int  # noqa: E402
from colorzoo.models import build_model  # noqa: E402
from colorzoo.training import compile_model  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=positive_int, default=224)
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--steps", type=positive_int, default=5, help="timed steps after the first")
    args = parser.parse_args(argv)
    try:
        model = build_model("hypercolumn", image_size=args.image_size, encoder_weights=None)  # random: same cost
    except ValueError as error:  # e.g. a size off the stride
        parser.error(f"--image-size: {error}")
    compile_model(model)
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.image_size, args.image_size)
    luminance = rng.random((*shape, 1), dtype=np.float32)
    chroma = rng.uniform(-0.5, 0.5, (*shape, 2)).astype(np.float32)
    print(f"hypercolumn at {args.image_size} px, batch {args.batch_size}: {model.count_params():,} parameters")
    print(f"peak RSS after building: {common.peak_rss_mib() / 1024:.2f} GiB")

    start = time.perf_counter()
    model.train_on_batch(luminance, chroma)
    print(f"first step (traces the graph): {time.perf_counter() - start:.1f} s, peak RSS {common.peak_rss_mib() / 1024:.2f} GiB")

    start = time.perf_counter()
    for _ in range(args.steps):
        loss = model.train_on_batch(luminance, chroma)
    seconds = (time.perf_counter() - start) / args.steps
    print(f"{args.steps} steps: {seconds:.2f} s/step, loss {float(loss):.4f}, peak RSS {common.peak_rss_mib() / 1024:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
