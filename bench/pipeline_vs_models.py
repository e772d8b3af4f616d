"""Is the data pipeline ever the bottleneck? make_dataset's images/s against each model's training.

Three numbers per model, at the same image size (128 px) and batch size:

- ``pipeline``: images/s of ``colorzoo.data.make_dataset`` alone, with ``train()``'s settings
  (shuffle, flips, center crop, grayscale filter, the model's colour space), over a folder of
  JPEGs: the shared Imagenette photos if present, else generated crops of scikit-image photos.
  One warm-up pass (which also fills the page cache), then ``--runs`` timed passes; median.
- ``model``: images/s the model's recipe trains at on a batch already in memory, taken from
  ``bench/train_throughput.py --json`` output when given (``--train-json``; its XLA-off
  configurations at this size), else measured here the same way.
- ``fit``: images/s of the recipe's ``fit`` fed by ``make_dataset`` itself, against ``fit`` on
  an in-memory batch, in the same process, in alternating runs (``fit`` calls of 3 + ``--steps``
  steps, the first 3 untimed: a fresh iterator fills its buffers, which a real run's single
  iterator does once). Both share the machine's
  cores, so this ratio, not the first, is the slowdown a user sees; ``pipeline / model``
  alone says how much headroom the pipeline has (a ratio of r costs about 1 / (1 + r) of the
  cores it shares).

Usage:

    .venv/bin/python bench/pipeline_vs_models.py --train-json train_throughput.json --json pipeline_vs_models.json
    .venv/bin/python bench/pipeline_vs_models.py --models resnet18_decoder --data photos/ --files 2000
    .venv/bin/python bench/pipeline_vs_models.py --quick
"""

import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
import train_throughput  # noqa: E402

QUICK_MODELS = ("resnet18_decoder", "pix2pix")
WARMUP_STEPS = 3  # steps of each fit left out of its timing: a new input pipeline fills its buffers


def training_dataset(files, image_size, batch_size, color_space, repeat=False):
    """``make_dataset`` as ``colorzoo.training.train`` calls it for training data."""
    from colorzoo.data import make_dataset

    return make_dataset(files, image_size, batch_size, color_space=color_space, shuffle=True, augment=True,
                        repeat=repeat, seed=0)


def pipeline_worker(spec):
    """Images/s of one pass over the files, median of runs after a warm-up pass."""
    common.set_threads(spec["threads"])
    dataset = training_dataset(spec["files"], spec["image_size"], spec["batch_size"], spec["color_space"])

    def one_pass():
        return sum(int(luminance.shape[0]) for luminance, _ in dataset)

    images = one_pass()  # warm-up: traces the maps, reads the files into the page cache
    timing = common.timed_runs(one_pass, spec["runs"], warmup=0)
    images_per_second, low_high = common.rate(images, timing["wall"])
    return {**spec, "files": len(spec["files"]), "images": images, "images_per_second": images_per_second,
            "images_per_second_range": low_high,
            "cpu_seconds_per_image": statistics.median(timing["cpu"]) / images,
            "peak_rss_mib": common.peak_rss_mib()}


def fit_worker(spec):
    """``fit`` from make_dataset against ``fit`` from an in-memory batch, alternating runs."""
    common.set_threads(spec["threads"])
    import tensorflow as tf

    from colorzoo.models import model_info

    model, trainable = train_throughput.build_trainable(spec["model"], spec["image_size"], False, spec["small"])
    color_space = model_info(spec["model"]).color_space
    from_files = training_dataset(spec["files"], spec["image_size"], spec["batch_size"], color_space, repeat=True)
    batch = next(iter(from_files))
    in_memory = tf.data.Dataset.from_tensors(batch).repeat()
    steps = spec["steps"]

    trainable.fit(in_memory, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)  # traces the train step
    seconds = {"files": [], "memory": []}
    for index in range(spec["runs"] + 1):  # the first round warms both up
        for name, data in (("files", from_files), ("memory", in_memory)):
            window = common.timed_fit(trainable, data, runs=1, steps=steps, warmup_steps=WARMUP_STEPS)["wall"]
            if index:
                seconds[name] += window
    images = steps * spec["batch_size"]
    result = {**spec, "files": len(spec["files"])}
    for name, values in seconds.items():
        result[f"{name}_images_per_second"], result[f"{name}_range"] = common.rate(images, values)
    return result


def model_rates(args, names, script):
    """``{model: images/s}`` from ``--train-json`` where it has the model, else measured."""
    rates, source = {}, {}
    if args.train_json:
        with open(args.train_json) as file:
            for r in json.load(file)["results"]:
                if ("error" not in r and r["image_size"] == args.image_size and not r["jit_effective"]
                        and r["batch_size"] == args.batch_size and r.get("small") == args.small
                        and r["model"] in names and not r.get("generator_only")):
                    rates[r["model"]], source[r["model"]] = r["images_per_second"], os.path.basename(args.train_json)
    for name in names:
        if name not in rates:
            print(f"  training {name} at {args.image_size} px ...", end=" ", flush=True, file=sys.stderr)
            spec = {"model": name, "image_size": args.image_size, "batch_size": args.batch_size, "jit": False,
                    "steps": args.steps, "runs": args.runs, "threads": args.threads, "small": args.small,
                    "generator_only": False, "budget": 120}
            result = common.run_worker(os.path.join(os.path.dirname(script), "train_throughput.py"), spec,
                                       timeout=args.timeout)
            print(result.get("error") or f"{result['images_per_second']:.2f} img/s", file=sys.stderr, flush=True)
            rates[name], source[name] = result.get("images_per_second"), "measured"
    return rates, source


def photo_files(args, folder):
    from colorzoo.data import image_files

    if args.data:
        source = args.data
    elif os.path.isdir(common.SHARED_PHOTOS) and not args.quick:
        source = common.SHARED_PHOTOS
    else:
        source = common.generated_photo_folder(folder, args.files)
    files = image_files(source)[: args.files]
    if not files:
        raise SystemExit(f"no image files in {source}")
    return files, os.path.normpath(source)


def main(argv=None):
    spec = common.worker_spec(argv)
    if spec is not None:
        common.report_result(pipeline_worker(spec) if spec["part"] == "pipeline" else fit_worker(spec))
        return 0
    parser = common.model_bench_parser(
        __doc__.splitlines()[0],
        quick_help="smoke test: resnet18_decoder and pix2pix small builds, 64 generated photos at 64 px, batch 2, 2 runs",
    )
    parser.add_argument("--data", help="folder of photos (default: the shared Imagenette photos, else generated JPEGs)")
    parser.add_argument("--files", type=common.positive_int, default=1024, help="photos per pipeline pass")
    parser.add_argument("--image-size", type=common.positive_int, default=128)
    parser.add_argument("--batch-size", type=common.positive_int, default=8)
    parser.add_argument("--runs", type=common.positive_int, default=5)
    parser.add_argument("--steps", type=common.positive_int, default=10, help="train steps per timed fit run")
    parser.add_argument("--train-json", help="output of bench/train_throughput.py --json to take the models' rates from")
    parser.add_argument("--no-fit", action="store_true", help="skip the fit-from-files against fit-from-memory runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.image_size, args.batch_size, args.runs, args.steps, args.small = 64, 64, 2, 2, 2, True

    common.set_threads(args.threads)
    from colorzoo.models import list_models, model_info

    machine = common.machine()
    common.print_machine(machine, args.threads)
    script = os.path.abspath(__file__)
    names = args.models.split(",") if args.models else (QUICK_MODELS if args.quick else list_models())
    folder = tempfile.mkdtemp(prefix="colorzoo-bench-photos-")
    try:
        files, source = photo_files(args, folder)
        print(f"{len(files)} photos from {source}")
        pipelines = {}
        for color_space in sorted({model_info(name).color_space for name in names}):
            print(f"  make_dataset ({color_space}) ...", end=" ", flush=True, file=sys.stderr)
            spec = {"part": "pipeline", "files": files, "image_size": args.image_size,
                    "batch_size": args.batch_size, "color_space": color_space, "runs": args.runs,
                    "threads": args.threads}
            pipelines[color_space] = common.run_worker(script, spec, timeout=args.timeout)
            result = pipelines[color_space]
            print(result.get("error") or f"{result['images_per_second']:.1f} img/s", file=sys.stderr, flush=True)
        rates, source = model_rates(args, names, script)
        fits = {}
        if not args.no_fit:
            for name in names:
                print(f"  fit {name} from files / from memory ...", end=" ", flush=True, file=sys.stderr)
                spec = {"part": "fit", "model": name, "files": files, "image_size": args.image_size,
                        "batch_size": args.batch_size, "steps": args.steps, "runs": args.runs,
                        "threads": args.threads, "small": args.small}
                fits[name] = common.run_worker(script, spec, timeout=args.timeout)
                print(fits[name].get("error") or "done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    rows = []
    for name in names:
        space = model_info(name).color_space
        pipeline, rate, fit = pipelines[space], rates.get(name), fits.get(name, {})
        pipeline_rate = pipeline.get("images_per_second")
        row = [name, space,
               f"{pipeline_rate:.1f} {common.spread(pipeline['images_per_second_range'], pipeline_rate)}"
               if pipeline_rate else "failed",
               f"{rate:.2f} ({source[name]})" if rate else "failed",
               f"{pipeline_rate / rate:.1f}x" if rate and pipeline_rate else "-",
               f"{1e3 * pipeline['cpu_seconds_per_image']:.1f}" if pipeline_rate else "-"]
        if "files_images_per_second" in fit:
            row += [f"{fit['files_images_per_second']:.2f}", f"{fit['memory_images_per_second']:.2f}",
                    f"{fit['files_images_per_second'] / fit['memory_images_per_second']:.2f}"]
        elif not args.no_fit:
            row += [f"failed: {' '.join(fit.get('error', '').replace('|', '/').split())[-80:]}", "", ""]
        rows.append(row)
    headers = ["model", "colour", "pipeline img/s", "model trains img/s", "pipeline / model", "pipeline CPU ms/img"]
    if not args.no_fit:
        headers += ["fit from files img/s", "fit from memory img/s", "files / memory"]
    print(f"\n{args.image_size} px, batch {args.batch_size}:\n")
    print(common.markdown_table(headers, rows))
    print(f"\nLoad average now {os.getloadavg()[0]:.2f}.")
    common.write_json(args.json, {"machine": machine, "args": vars(args), "pipelines": pipelines,
                                  "model_rates": rates, "model_rate_source": source, "fits": fits})
    return 0


if __name__ == "__main__":
    sys.exit(main())
