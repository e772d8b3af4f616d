"""Throughput of colorzoo's data pipeline against two references, on the same files in one run.

- ``colorzoo``: ``colorzoo.data.make_dataset`` (decode, grayscale filter, crop and resize, batch,
  Lab conversion of each whole batch in one XLA-compiled call).
- ``skimage``: the same pipeline with ``skimage.color.rgb2lab`` on each batch through
  ``tf.numpy_function``.
- ``decode+resize``: decoding, cropping and resizing alone, batched: the limit.

Every pipeline reads the same files; after one warm-up pass each, the passes are timed in
rotating order and the median is reported as files per second. On a shared machine the wall
clock depends on the other processes, so the CPU time this process spends per file is reported
too: its ratios are the steadier comparison.

Usage:

    python bench/pipeline.py                       # shared Imagenette photos, or generated ones
    python bench/pipeline.py --data photos/ --files 2000 --runs 7
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (puts the checkout on sys.path, quiets TensorFlow's log)
import numpy as np  # noqa: E402
import skimage.color  # noqa: E402
import tensorflow as tf  # noqa: E402

from colorzoo import color, data  # noqa: E402
from colorzoo.cli import positive_int  # noqa: E402

AUTOTUNE = tf.data.AUTOTUNE


def decoded_images(files, image_size, drop_grayscale):
    """files -> uint8 images as make_dataset's own steps make them (no colour conversion)."""

    def prepare(path):
        image = data._decode(path, data._NATIVE, any_converted=False)
        fitted, content = data._fit(image, image_size, "center_crop")
        keep = data.grayscale_score(content) >= data.GRAYSCALE_THRESHOLD if drop_grayscale else True
        return fitted, keep

    paths = tf.data.Dataset.from_tensor_slices([os.fsencode(f) for f in files])
    images = paths.map(prepare, num_parallel_calls=AUTOTUNE)
    return images.filter(lambda image, keep: keep).map(lambda image, keep: image)


def skimage_lab(batch):
    lab = skimage.color.rgb2lab(batch.astype(np.float32) / 255.0).astype(np.float32)
    return lab[..., :1] / color.L_SCALE, lab[..., 1:] / color.AB_SCALE


def skimage_pipeline(files, image_size, batch_size):
    def convert(batch):
        luminance, chroma = tf.numpy_function(skimage_lab, [batch], (tf.float32, tf.float32), stateful=False)
        return tf.ensure_shape(luminance, [None, image_size, image_size, 1]), tf.ensure_shape(
            chroma, [None, image_size, image_size, 2]
        )

    batches = decoded_images(files, image_size, drop_grayscale=True).batch(batch_size)
    return batches.map(convert, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def limit_pipeline(files, image_size, batch_size):
    return decoded_images(files, image_size, drop_grayscale=False).batch(batch_size).prefetch(AUTOTUNE)


def one_pass(dataset):
    """``(wall seconds, CPU seconds of this process)`` for one pass over ``dataset``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in dataset:
        pass
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="folder of photos (default: shared Imagenette, else generated 224 px JPEGs)")
    parser.add_argument("--files", type=positive_int, default=1500)
    parser.add_argument("--image-size", type=positive_int, default=128)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--runs", type=positive_int, default=5)
    args = parser.parse_args(argv)
    if args.data is not None and not os.path.isdir(args.data):
        parser.error(f"--data {args.data}: no such folder")

    with tempfile.TemporaryDirectory() as scratch:
        shared = os.path.normpath(common.SHARED_PHOTOS)
        folder = args.data or (shared if os.path.isdir(shared) else None)
        if folder:
            files = data.image_files(folder)
            files = [files[i] for i in np.linspace(0, len(files) - 1, min(args.files, len(files))).astype(int)]
        else:
            folder = f"generated in {scratch}"
            files = data.image_files(common.generated_photo_folder(scratch, args.files))
        print(f"{len(files)} files from {folder} -> {args.image_size} px, batches of {args.batch_size}")
        print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

        start = time.perf_counter()
        data.scan_files(files)
        print(f"scan_files: {1e3 * (time.perf_counter() - start) / len(files):.2f} ms/file")
        ours = data.make_dataset(files, args.image_size, args.batch_size, shuffle=False)
        pipelines = {
            "colorzoo": ours,
            "skimage": skimage_pipeline(files, args.image_size, args.batch_size),
            "decode+resize": limit_pipeline(files, args.image_size, args.batch_size),
        }
        for dataset in pipelines.values():
            one_pass(dataset)
        times = {name: [] for name in pipelines}
        names = list(pipelines)
        for run in range(args.runs):
            for name in names[run % len(names) :] + names[: run % len(names)]:
                times[name].append(one_pass(pipelines[name]))
        rate = {name: len(files) / statistics.median(wall for wall, _ in runs) for name, runs in times.items()}
        cpu = {name: 1e3 * statistics.median(c for _, c in runs) / len(files) for name, runs in times.items()}
        for name in names:
            spread = ", ".join(f"{len(files) / wall:.0f}" for wall, _ in times[name])
            print(f"{name:>14}: {rate[name]:6.0f} files/s (runs: {spread}); {cpu[name]:.2f} CPU ms/file")
        # Ratios of the same round (each round runs every pipeline once, in a rotating order),
        # then their median: a machine whose speed jumps between levels shifts both sides of a
        # round's ratio, not one side of a ratio of two separate medians.
        for reference, goal in (("skimage", "goal >= 2x"), ("decode+resize", "goal >= 0.6x")):
            rounds = list(zip(times["colorzoo"], times[reference]))
            wall_ratio = statistics.median(theirs[0] / ours[0] for ours, theirs in rounds)
            cpu_ratio = statistics.median(theirs[1] / ours[1] for ours, theirs in rounds)
            print(f"colorzoo vs {reference}: {wall_ratio:.2f}x files/s, {cpu_ratio:.2f}x by CPU time  ({goal}; "
                  "medians of each round's ratio)")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
