"""Print docs/models.md: every registered model at its native size, built offline (encoder_weights=None)."""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import colorzoo  # noqa: E402
from colorzoo.inference import model_stride  # noqa: E402


def trainable_count(model):
    """The number of trainable parameters of ``model``."""
    return sum(int(w.numpy().size) for w in model.trainable_weights)


def main():
    print("# Models\n")
    print("Every model at its native size and default options (`encoder_weights=None`, so nothing is")
    print("downloaded). Regenerate with `.venv/bin/python scripts/models_table.py > docs/models.md`.\n")
    print("| name | parameters | trainable | native size | stride | colour space | output | report / paper |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- | --- |")
    for name in colorzoo.list_models():
        info = colorzoo.model_info(name)
        model = colorzoo.build_model(name, image_size=info.native_size, encoder_weights=None)
        print(
            f"| `{name}` | {model.count_params():,} | {trainable_count(model):,} | {info.native_size} "
            f"| {model_stride(model)} "
            f"| {info.color_space} | {info.output} | {info.paper} |"
        )
    print("\nThe stride is that of the model built with these options: a model runs at any multiple of it")
    print("(pix2pix's U-Net down-samples 2**depth, 256 at 256 px; its ResNet-18 backbone 32).")
    print("\nSmall presets used by the tests and smoke runs (`ModelInfo.small`):\n")
    for name in colorzoo.list_models():
        print(f"- `{name}`: `{colorzoo.model_info(name).small}`")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__).parse_args()  # --help, and no stray arguments
    main()
