"""Memory and time of scoring one full-resolution photo (``metrics.image_scores``, what ``evaluate``
runs twice per photo: the model's colorization and the gray baseline).

Each size runs in a fresh process with a fixed 64 KiB glibc mmap threshold (freed arrays go back
to the kernel): a scikit-image photo resized to ``--megapixels`` (4:3, or ``--aspect`` width /
height) and a "prediction" with
its chroma changed and a band inverted; the peak RSS above the RSS before the first call, and the
median wall time of ``--runs`` calls. ``image_scores`` works on strips of
``metrics.SCORE_STRIP_PIXELS`` pixels (tiles for a very wide photo), so the peak should stay flat
as the photo grows, whatever its aspect ratio.

Usage:

    .venv/bin/python bench/scoring_memory.py                        # 1, 4 and 12 megapixels
    .venv/bin/python bench/scoring_memory.py --megapixels 0.05 --runs 1
    .venv/bin/python bench/scoring_memory.py --megapixels 8 --aspect 60000 --runs 1   # 12 x 692,820
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads)
import numpy as np  # noqa: E402

from colorzoo import metrics  # noqa: E402


def scored(megapixels, runs, aspect):
    """``(peak MiB above the start, median seconds)`` of ``image_scores`` at ``megapixels``."""
    truth = common.photo(megapixels, aspect=aspect)
    prediction = truth.copy()
    prediction[..., :2] = prediction[..., :2] // 2 + 64
    band = slice(len(truth) // 3, len(truth) // 2)
    prediction[band] = 255 - prediction[band]
    start_rss = common.current_rss_mib()
    common.reset_peak_rss()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        metrics.image_scores(truth, prediction)
        seconds.append(time.perf_counter() - start)
    return common.peak_rss_mib() - start_rss, statistics.median(seconds)


def main(argv=None):
    spec = common.worker_spec(argv)
    if spec is not None:
        peak, seconds = scored(spec["megapixels"], spec["runs"], spec["aspect"])
        common.report_result({"peak_mib": peak, "seconds": seconds})
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", default="1,4,12", help="comma-separated photo sizes")
    parser.add_argument("--runs", type=common.positive_int, default=3, help="timed calls per size")
    parser.add_argument("--aspect", type=common.positive_float, default=4 / 3, help="width / height (default 4:3)")
    args = parser.parse_args(argv)
    try:
        sizes = [common.positive_float(text) for text in args.megapixels.split(",")]
    except argparse.ArgumentTypeError as error:
        parser.error(f"--megapixels: {error}")
    rows = []
    for megapixels in sizes:
        spec = {"megapixels": megapixels, "runs": args.runs, "aspect": args.aspect}
        result = common.run_worker(os.path.abspath(__file__), spec, env=common.EXACT_PEAK_ENV)
        if "error" in result:
            print(f"{megapixels:g} megapixels: {result['error']}", file=sys.stderr)
            return 1
        peak, seconds = result["peak_mib"], result["seconds"]
        rows.append([f"{megapixels:g}", f"{peak:.0f}", f"{peak * 2**20 / (megapixels * 1e6):.1f}", f"{seconds:.2f}"])
    print(common.markdown_table(["megapixels", "peak MiB above start", "bytes / pixel", "median s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
