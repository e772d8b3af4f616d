"""pix2pix: U-Net depth and dropout, the ResNet-18 backbone, the PatchGAN, the recipe."""

import keras
import numpy as np
import pytest

import colorzoo
from colorzoo.models.pix2pix import patchgan_discriminator, pix2pix
from colorzoo.training import compile_model
from tests.conftest import sample_batch
from tests.helpers import check_forward, check_save_load

SIZE = 32
WIDTH = 0.125


def tiny(**kwargs):
    return pix2pix(**{"image_size": SIZE, "width": WIDTH, **kwargs})


@pytest.mark.parametrize("image_size, depth", [(32, 5), (64, 6), (96, 5), (256, 8), (512, 8)])
def test_depth_follows_image_size(image_size, depth):
    model = pix2pix(image_size=image_size, width=0.0625)
    assert sum(layer.name.endswith("_conv") for layer in model.layers) == depth
    assert model.get_layer(f"enc{depth}_act").output.shape[1] == image_size // 2**depth
    assert model.output.shape == (None, image_size, image_size, 2)


@pytest.mark.parametrize("options, stride", [({"image_size": 64}, 64), ({"image_size": 96}, 32),
                                             ({"image_size": 64, "depth": 3}, 8), ({"backbone": "resnet18"}, 32)])
def test_stride_is_that_of_the_built_generator(options, stride):
    """The U-Net runs at multiples of 2**depth: a 64 px generator (depth 6) colorizes a 64 x 160
    photo at 64 x 128 (before: rounded to the registry's 32, 32 x 96 failed and it ran squashed at 64 x 64)."""
    from colorzoo.inference import model_stride, run_size

    generator = colorzoo.build_model("pix2pix", **{"image_size": 64, "width": 0.125, **options})
    assert model_stride(generator) == stride
    height, width = run_size(generator, image_shape=(64, 160))
    assert height % stride == 0 and width % stride == 0 and width > height
    if stride == 64:
        assert (height, width) == (64, 128)
        rgb = colorzoo.colorize(generator, np.random.default_rng(0).integers(0, 256, (64, 160, 3), dtype=np.uint8))
        assert rgb.shape == (64, 160, 3)


def test_unet_layout_of_the_paper():
    model = tiny(depth=5)
    assert [model.get_layer(f"enc{i}_conv").filters for i in range(1, 6)] == [8, 16, 32, 64, 64]
    assert all(model.get_layer(f"enc{i}_conv").kernel_size == (4, 4) for i in range(1, 6))
    batch_norms = {layer.name for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert {"enc1_bn", "enc5_bn"}.isdisjoint(batch_norms) and {"enc2_bn", "enc4_bn"} <= batch_norms
    assert model.get_layer("enc2_act").negative_slope == pytest.approx(0.2)
    # Each decoder block ends at its skip's resolution and concatenates it.
    assert model.get_layer("dec1_concat").output.shape == (None, 2, 2, 128)
    assert model.get_layer("dec4_concat").output.shape == (None, 16, 16, 16)
    assert model.get_layer("ab").activation.__name__ == "tanh"


def test_first_three_decoder_blocks_have_dropout():
    model = tiny(depth=5)
    dropouts = {layer.name: layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)}
    assert dropouts == {"dec1_dropout": 0.5, "dec2_dropout": 0.5, "dec3_dropout": 0.5}


def test_resnet18_backbone_builds_saves_and_loads(tmp_path):
    model = pix2pix(image_size=64, backbone="resnet18", width=WIDTH)
    assert model.get_layer("layer4_1_out").output.shape[1] == 64 // 32
    assert [model.get_layer(f"decoder_stage{s}_concat").output.shape[1] for s in range(1, 5)] == [4, 8, 16, 32]
    luminance, _ = sample_batch(64)
    check_forward(model, colorzoo.model_info("pix2pix"), luminance)
    check_save_load(model, luminance, str(tmp_path / "pix2pix_resnet18.keras"))


@pytest.mark.parametrize("image_size, grid", [(32, 2), (64, 6), (256, 30)])
def test_discriminator_returns_a_patch_grid(image_size, grid):
    discriminator = patchgan_discriminator(image_size, width=WIDTH)
    assert discriminator.name == "patchgan"
    assert discriminator.output.shape == (None, grid, grid, 1)
    luminance, ab = sample_batch(image_size)
    logits = discriminator.predict([luminance, ab], verbose=0)
    assert logits.shape == (2, grid, grid, 1) and np.isfinite(logits).all()


def test_discriminator_layout_at_full_width():
    discriminator = patchgan_discriminator(256)
    convs = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [conv.filters for conv in convs] == [64, 128, 256, 512, 1]
    assert [conv.strides for conv in convs] == [(2, 2)] * 3 + [(1, 1)] * 2
    assert all(conv.kernel_size == (4, 4) for conv in convs)


def test_weights_file_restores_the_generator(tmp_path):
    """The L1 stage's generator, saved with ``save_weights``, restores with ``build_model(weights=)``."""
    luminance, _ = sample_batch(SIZE)
    trained = tiny()
    path = str(tmp_path / "stage1.weights.h5")
    trained.save_weights(path)
    restored = colorzoo.build_model("pix2pix", image_size=SIZE, width=WIDTH, weights=path)
    np.testing.assert_allclose(restored.predict(luminance, verbose=0), trained.predict(luminance, verbose=0), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image_size": 48}, "multiple of 32"),
        ({"image_size": 64, "depth": 8}, "2\\*\\*depth"),
        ({"depth": 9}, "depth must be"),
        ({"backbone": "vgg16"}, "backbone"),
        ({"backbone": "resnet18", "depth": 5}, "U-Net backbone only"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny(**kwargs)


def test_discriminator_rejects_bad_sizes():
    with pytest.raises(ValueError, match="multiple of 8"):
        patchgan_discriminator(36)
    for width in (0, -1, "0.5", float("nan")):  # before: a 2-filter PatchGAN, or a TypeError from round()
        with pytest.raises(ValueError, match="the discriminator's width must be a positive number"):
            patchgan_discriminator(32, width=width)


def test_recipe_is_adam_2e4_beta_05_with_l1():
    model = compile_model(tiny())
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.beta_1 == 0.5
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-4)
    assert model.loss == "mae"
    info = colorzoo.model_info("pix2pix")
    assert (info.native_size, info.stride(tiny()), info.output, info.color_space) == (256, 32, "ab", "lab")
