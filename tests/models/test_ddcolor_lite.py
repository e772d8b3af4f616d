"""ddcolor_lite: options, custom layers, ConvNeXt weights, recipe and the DDColor GAN trainer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorzoo import color
from colorzoo.encoders import VGG16_LAYER_NAMES
from colorzoo.models.ddcolor_lite import (
    ColorQueryFusion,
    LuminanceToGrayRGB,
    PixelShuffle,
    SinePositionEmbedding,
    colour_enhanced,
    ddcolor_lite,
    ddcolor_trainer,
    step_decay,
)
from colorzoo.models.zhang_classification import RebalancedL1
from colorzoo.training import compile_model
from tests.conftest import sample_batch

SIZE = 32
SMALL = dict(image_size=SIZE, preset="lite", num_queries=8, num_heads=2, embed_dim=16, num_groups=1, decoder_width=32)


def small(**overrides):
    return ddcolor_lite(**{**SMALL, **overrides})


# === Architecture and options ===


def test_failed_lite_setting_builds_and_trains():
    model = ddcolor_lite(image_size=SIZE, preset="lite", num_heads=2, embed_dim=50, num_groups=1)
    attention = model.get_layer("color1_1_cross_attention")
    assert (attention.num_heads, attention.key_dim) == (2, 25)
    assert model.get_layer("color_pos1").output.shape[-1] == 50
    compile_model(model, run_eagerly=True)  # tracing AdamW's update of 191 variables takes a minute on CPU
    luminance, chroma = sample_batch(SIZE)
    before = [weight.numpy().copy() for weight in model.trainable_weights]
    losses = model.fit(luminance, chroma, batch_size=2, epochs=3, verbose=0).history["loss"]
    assert np.isfinite(losses).all()
    assert any(not np.allclose(old, new.numpy()) for old, new in zip(before, model.trainable_weights))


def test_pixel_decoder_and_colour_decoder_scales():
    model = small()
    assert model.get_layer("encoder_norm3").output.shape == (None, 1, 1, 256)
    assert [model.get_layer(f"dec{index}_bn").output.shape[1] for index in (1, 2, 3)] == [2, 4, 8]
    assert model.get_layer("dec4_up_blur").output.shape == (None, SIZE, SIZE, 16)
    assert model.get_layer("color_tokens3").output.shape == (None, 64, 16)
    assert model.get_layer("fusion").output.shape == (None, SIZE, SIZE, 8)
    assert model.output.shape == (None, SIZE, SIZE, 2)
    assert model.get_layer("ab").activation is keras.activations.linear
    assert small(output_activation="tanh").get_layer("ab").activation is keras.activations.tanh


def test_query_count_adds_queries_positions_and_refine_weights():
    # 8 more queries: 2 x 8 x 16 query weights, and 8 more input channels x 2 outputs of the 1x1 `ab` conv.
    assert small(num_queries=16).count_params() - small().count_params() == 2 * 8 * 16 + 8 * 2


def test_num_groups_adds_three_decoder_layers_per_group():
    # One layer: cross- and self-attention (4 x (16 x 16 + 16) each), FFN 16-128-16, three LayerNorms.
    layer = 2 * 4 * (16 * 16 + 16) + (16 * 128 + 128 + 128 * 16 + 16) + 3 * 2 * 16
    assert small(num_groups=2).count_params() - small().count_params() == 3 * layer
    assert "color2_3_ffn_norm" in {layer.name for layer in small(num_groups=2).layers}


def test_num_heads_splits_embed_dim_without_changing_parameters():
    two, four = small(num_heads=2), small(num_heads=4)
    assert two.count_params() == four.count_params()
    assert two.get_layer("color1_2_self_attention").key_dim == 8
    assert four.get_layer("color1_2_self_attention").key_dim == 4
    assert small(embed_dim=32).count_params() > two.count_params()


def test_presets_take_the_convnext_depths_and_widths():
    lite = ddcolor_lite(image_size=SIZE, preset="lite")
    assert lite.get_layer("convnext_stage_2_block_1_layer_scale").output.shape[-1] == 128
    assert "convnext_stage_2_block_2_add" not in {layer.name for layer in lite.layers}
    assert lite.get_layer("color3_3_ffn_norm").output.shape == (None, 100, 64)


def test_frozen_encoder_is_really_frozen():
    model = small(freeze_encoder=True)
    trunk = [layer for layer in model.layers if layer.name.startswith("convnext") and layer.weights]
    assert trunk and not any(layer.trainable_weights for layer in trunk)
    frozen = {id(weight) for layer in trunk for weight in layer.weights}
    assert not frozen & {id(weight) for weight in model.trainable_weights}
    assert model.get_layer("color_queries").trainable_weights


def test_vgg16_backbone_reads_four_strides_of_the_frozen_hed_trunk(tmp_path):
    model = small(backbone="vgg16", encoder_weights="hed", freeze_encoder=True)
    strides = [SIZE // model.get_layer(f"encoder_norm{stage}").output.shape[1] for stage in range(4)]
    assert strides == [4, 8, 16, 32]
    assert [model.get_layer(f"encoder_norm{stage}").output.shape[-1] for stage in range(4)] == [256, 512, 512, 512]
    assert not any(layer.name.startswith("convnext") for layer in model.layers)
    hed = small(backbone="vgg16", encoder_weights="hed")
    for name in VGG16_LAYER_NAMES:
        assert not model.get_layer(name).trainable_weights and hed.get_layer(name).trainable_weights
        np.testing.assert_array_equal(model.get_layer(name).get_weights()[0], hed.get_layer(name).get_weights()[0])
    path = str(tmp_path / "ddcolor_vgg.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    luminance, _ = sample_batch(SIZE)
    np.testing.assert_allclose(reloaded.predict(luminance, verbose=0), model.predict(luminance, verbose=0), atol=1e-5)


def test_resnet18_backbone_reads_its_four_stages_and_saves(tmp_path):
    model = small(backbone="resnet18")
    strides = [SIZE // model.get_layer(f"encoder_norm{stage}").output.shape[1] for stage in range(4)]
    assert strides == [4, 8, 16, 32]
    assert [model.get_layer(f"encoder_norm{stage}").output.shape[-1] for stage in range(4)] == [64, 128, 256, 512]
    assert model.get_layer("resnet_layer4_1_out") and not any(layer.name.startswith("convnext") for layer in model.layers)
    path = str(tmp_path / "ddcolor_resnet18.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    luminance, _ = sample_batch(SIZE)
    np.testing.assert_allclose(reloaded.predict(luminance, verbose=0), model.predict(luminance, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"image_size": 48}, "multiple of 32"),
        ({"preset": "large"}, "preset"),
        ({"embed_dim": 50, "num_heads": 4}, "must divide"),
        ({"num_queries": 0}, "positive"),
        ({"num_queries": 2.5}, r"num_queries must be a whole number, positive; got 2.5"),  # before: a Keras shape error
        ({"decoder_width": 1}, "decoder_width must be a whole number, at least 2"),  # before: Keras filters=0
        ({"output_activation": "sigmoid"}, "output_activation"),
        ({"encoder_weights": "imagenet"}, "preset='tiny'"),
        ({"backbone": "resnet50"}, "backbone must be one of"),
        ({"backbone": "resnet18", "encoder_weights": "imagenet"}, "the ResNet-18 backbone has no pretrained weights"),
        ({"backbone": "resnet18", "freeze_encoder": True}, "use encoder_weights=None and freeze_encoder=False"),
        ({"backbone": "vgg16", "encoder_weights": "vgg19"}, "encoder_weights must be one of"),
    ],
)
def test_invalid_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        small(**options)


# === Custom layers ===


def test_pixel_shuffle_is_depth_to_space():
    x = np.random.default_rng(0).random((2, 3, 5, 32)).astype("float32")
    for scale in (2, 4):
        np.testing.assert_array_equal(PixelShuffle(scale)(x), tf.nn.depth_to_space(x, scale))


def test_luminance_to_gray_rgb_matches_lab_to_rgb():
    luminance = np.linspace(0, 1, 101, dtype="float32").reshape(1, 101, 1, 1)
    expected = color.model_output_to_rgb(luminance, np.zeros((1, 101, 1, 2), "float32"))
    np.testing.assert_allclose(LuminanceToGrayRGB()(luminance), expected, atol=1e-4)


def test_sine_position_embedding_by_hand_with_odd_halves():
    positions = SinePositionEmbedding(6, temperature=100.0)(np.zeros((2, 2, 3, 4), "float32")).numpy()
    assert positions.shape == (2, 6, 6)
    row, column = 1, 2  # token 5; rows get 3 channels, columns 3
    y, x = (row + 1) / 2 * 2 * np.pi, (column + 1) / 3 * 2 * np.pi
    periods = 100.0 ** (np.array([0, 0, 2]) / 3)
    expected = [np.sin(y / periods[0]), np.cos(y / periods[1]), np.sin(y / periods[2])]
    expected += [np.sin(x / periods[0]), np.cos(x / periods[1]), np.sin(x / periods[2])]
    np.testing.assert_allclose(positions[1, row * 3 + column], expected, atol=1e-5)


def test_fusion_is_a_per_pixel_dot_product():
    rng = np.random.default_rng(1)
    pixels, queries = rng.random((2, 4, 4, 5)).astype("float32"), rng.random((2, 3, 5)).astype("float32")
    expected = np.einsum("bhwc,bqc->bhwq", pixels, queries)
    np.testing.assert_allclose(ColorQueryFusion()([pixels, queries]), expected, rtol=1e-5)


# === Encoder weights ===


def test_imagenet_weights_offline_say_what_to_do(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(keras.applications, "ConvNeXtTiny", offline)
    with pytest.raises(RuntimeError, match="convnext_tiny_notop.h5"):
        ddcolor_lite(image_size=SIZE, encoder_weights="imagenet")


@pytest.mark.slow
def test_convnext_tiny_weights_from_a_file_reproduce_keras_applications(tmp_path):
    reference = keras.applications.ConvNeXtTiny(
        include_top=False, weights=None, input_shape=(SIZE, SIZE, 3), include_preprocessing=False
    )
    rng = np.random.default_rng(2)
    for weight in reference.weights:  # layer scales of 1e-6 would hide a wrong block
        weight.assign(rng.normal(0.5 if "layer_scale" in weight.path else 0.0, 0.05, weight.shape))
    path = str(tmp_path / "convnext_tiny.weights.h5")
    reference.save_weights(path)
    model = ddcolor_lite(image_size=SIZE, num_queries=8, num_groups=1, encoder_weights=path)
    outputs = [model.get_layer(name).output for name in ("imagenet_normalization", "convnext_stage_3_block_2_add")]
    probe = keras.Model(model.input, outputs)
    rgb, stage_3 = probe.predict(sample_batch(SIZE)[0], verbose=0)
    expected = keras.Model(reference.input, reference.layers[-1].input).predict(rgb, verbose=0)
    np.testing.assert_allclose(stage_3, expected, atol=1e-4 * np.abs(expected).max())


# === Training ===


def test_recipe_is_adamw_with_step_decay():
    model = compile_model(small())
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.weight_decay) == (0.9, 0.99, 0.01)
    assert optimizer.get_config()["learning_rate"]["class_name"] == "PiecewiseConstantDecay"
    schedule = step_decay(1e-4)
    for step, rate in ((0, 1e-4), (80_000, 1e-4), (80_001, 5e-5), (400_000, 1e-4 / 256)):
        np.testing.assert_allclose(float(schedule(step)), rate, rtol=1e-6)


def test_ddcolor_trainer_weights_and_two_steps():
    trainer = ddcolor_trainer(small(), perceptual_weights=None, discriminator_width=0.125)
    assert trainer.l1_weight == pytest.approx(12.8)  # DDColor's 0.1 on raw ab
    assert {name: weight for name, (weight, _) in trainer.extra_generator_losses.items()} == {
        "perceptual": 5.0,
        "colourfulness": 0.5,
    }
    assert trainer.adversarial_weight == 1.0
    assert isinstance(trainer.generator_optimizer, keras.optimizers.AdamW)
    trainer.run_eagerly = True  # as above: tracing both updates costs more than these steps
    luminance, chroma = sample_batch(SIZE)
    before = trainer.generator.get_layer("color_queries").get_weights()[0].copy()
    history = trainer.fit(luminance, chroma, batch_size=1, epochs=1, verbose=0).history
    assert {"d_loss", "g_loss", "l1", "perceptual", "colourfulness"} <= set(history)
    assert all(np.isfinite(values).all() for values in history.values())
    assert not np.allclose(before, trainer.generator.get_layer("color_queries").get_weights()[0])


def test_colour_enhancement_moves_rgb_away_from_its_gray_as_ddcolor():
    """DDColor's color_enhacne_blend: gray * (1 - f) + rgb * f, clipped, with Rec. 601 luma."""
    rgb = np.array([[[[0.6, 0.4, 0.3], [0.2, 0.5, 0.7], [0.5, 0.5, 0.5]]]], np.float32)
    luminance, ab = color.rgb_to_model_input(rgb)
    gray = (rgb * [0.299, 0.587, 0.114]).sum(-1, keepdims=True)
    expected = color.rgb_to_model_input(np.clip(gray * -0.2 + rgb * 1.2, 0, 1))[1]
    np.testing.assert_allclose(colour_enhanced(luminance, ab, 1.2), expected, atol=2e-3)
    np.testing.assert_allclose(colour_enhanced(luminance, ab, 1.0), ab, atol=2e-3)
    chroma = np.linalg.norm(colour_enhanced(luminance, ab, 1.2), axis=-1)
    assert (chroma[..., :2] > 1.1 * np.linalg.norm(ab, axis=-1)[..., :2]).all() and chroma[..., 2] < 1e-3


def test_ddcolor_trainer_shows_the_discriminator_and_perceptual_loss_the_enhanced_truth(monkeypatch):
    import colorzoo.models.ddcolor_lite as ddcolor

    seen = []
    monkeypatch.setattr(ddcolor, "colour_enhanced", lambda luminance, ab, factor: seen.append(factor) or ab * 0.0)
    trainer = ddcolor_trainer(small(), perceptual_weights=None, discriminator_width=0.125)
    luminance, chroma = (tf.constant(batch[:1]) for batch in sample_batch(SIZE))
    losses = trainer._gan_losses(luminance, chroma, training=False)
    assert seen == [1.2, 1.2]  # the discriminator's real sample and the perceptual loss's truth
    plain = ddcolor_trainer(trainer.generator, trainer.discriminator, perceptual_weights=None, enhance_factor=1)
    assert plain.real_chroma is None
    plain_losses = plain._gan_losses(luminance, chroma, training=False)
    assert seen == [1.2, 1.2]  # enhance_factor=1: DDColor's enhancement off
    for name in ("d_loss", "perceptual"):  # both compare with the (stand-in) enhanced truth ...
        assert float(plain_losses[name][0]) != pytest.approx(float(losses[name][0])), name
    assert float(plain_losses["l1"][0]) == pytest.approx(float(losses["l1"][0]))  # ... the pixel L1 with the truth
    for wrong in (0.8, float("nan"), float("inf"), "1.2"):
        with pytest.raises(ValueError, match="enhance_factor must be a number of at least 1"):
            ddcolor_trainer(trainer.generator, trainer.discriminator, perceptual_weights=None, enhance_factor=wrong)


def test_ddcolor_trainer_chroma_weight_adds_the_chroma_shortfall():
    trainer = ddcolor_trainer(small(), perceptual_weights=None, discriminator_width=0.125, chroma_weight=3.0)
    assert trainer.extra_generator_losses["chroma_shortfall"][0] == 3.0


def test_ddcolor_trainer_rebalancing_replaces_the_pixel_l1(tmp_path):
    weights = np.linspace(0.5, 2.0, 313).astype("float32")
    np.save(tmp_path / "weights.npy", weights)
    trainer = ddcolor_trainer(
        small(), perceptual_weights=None, discriminator_width=0.125, rebalancing=str(tmp_path / "weights.npy")
    )
    assert trainer.l1_weight == 0.0 and trainer.extra_generator_losses["rebalanced_l1"][0] == pytest.approx(12.8)
    luminance, chroma = sample_batch(SIZE)
    fake = np.zeros_like(chroma)
    losses = trainer.extra_generator_losses
    expected = RebalancedL1(weights)(chroma, fake)
    per_image = losses["rebalanced_l1"][1](chroma, fake, luminance)  # the trainer averages over the global batch
    np.testing.assert_allclose(np.mean(per_image), expected, rtol=1e-6)
    trainer.run_eagerly = True
    history = trainer.fit(luminance, chroma, batch_size=1, epochs=1, verbose=0).history
    assert np.isfinite(history["rebalanced_l1"]).all() and np.isfinite(history["l1"]).all()
    with pytest.raises(FileNotFoundError, match="scripts/rebalancing_weights.py"):
        ddcolor_trainer(small(), perceptual_weights=None, rebalancing=str(tmp_path / "missing.npy"))
    (tmp_path / "notes.txt").write_text("not weights")
    with pytest.raises(ValueError, match="is not a .npy file of weights"):
        ddcolor_trainer(small(), perceptual_weights=None, rebalancing=str(tmp_path / "notes.txt"))
