"""colorzoo.color against scikit-image, on random colours and on the sRGB cube's corners and edges."""

import itertools

import numpy as np
import pytest
import skimage.color
import tensorflow as tf

from colorzoo import color


def cube_corners_and_edges(steps=17):
    """The 8 corners and 12 edges of the sRGB cube, ``steps`` points per edge."""
    ramp = np.linspace(0.0, 1.0, steps)
    points = []
    for axis in range(3):
        for fixed in itertools.product((0.0, 1.0), repeat=2):
            edge = np.zeros((steps, 3))
            edge[:, axis] = ramp
            edge[:, [a for a in range(3) if a != axis]] = fixed
            points.append(edge)
    return np.concatenate(points).astype(np.float32)


def test_cube_edges_cover_corners():
    points = cube_corners_and_edges()
    corners = {tuple(c) for c in itertools.product((0.0, 1.0), repeat=3)}
    assert corners <= {tuple(p) for p in points}


@pytest.mark.parametrize("name", ["random", "cube"])
def test_rgb_to_lab_matches_skimage(name):
    rgb = np.random.default_rng(0).random((4096, 3), np.float32) if name == "random" else cube_corners_and_edges()
    expected = skimage.color.rgb2lab(rgb.astype(np.float64))
    actual = color.rgb_to_lab(rgb).numpy()
    assert actual.dtype == np.float32
    assert np.abs(actual[:, 0] - expected[:, 0]).max() <= 0.05
    assert np.abs(actual[:, 1:] - expected[:, 1:]).max() <= 0.1


def test_every_uint8_level_matches_skimage():
    """uint8 input takes a lookup table, not the float curve: each channel's 256 levels, and gray."""
    ramps = np.zeros((4, 256, 3), np.uint8)
    for channel in range(3):
        ramps[channel, :, channel] = np.arange(256)
    ramps[3] = np.arange(256)[:, None]
    expected = skimage.color.rgb2lab(ramps / 255.0)
    actual = color.rgb_to_lab(ramps).numpy()
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, atol=2e-3)
    np.testing.assert_allclose(actual, color.rgb_to_lab(ramps / np.float32(255.0)).numpy(), atol=2e-3)


def test_integer_and_double_inputs_are_read_as_what_they_are():
    rgb8 = np.random.default_rng(2).integers(0, 256, (64, 3), dtype=np.uint8)
    unit = rgb8 / 255.0
    for same in (rgb8, tf.constant(rgb8), (rgb8.astype(np.uint16) * 257), unit, tf.constant(unit)):
        np.testing.assert_allclose(color.rgb_to_lab(same).numpy(), color.rgb_to_lab(unit.astype(np.float32)), atol=1e-3)
        np.testing.assert_allclose(color.rgb_to_yuv(same).numpy(), color.rgb_to_yuv(unit.astype(np.float32)), atol=1e-6)
    # before: numpy uint8 was read as floats clipped to 1 (mid gray: L = 100), tensors of uint8 or float64 refused
    assert color.rgb_to_lab(np.full(3, 128, np.uint8)).numpy()[0] == pytest.approx(53.585, abs=0.01)
    lab = tf.constant(color.rgb_to_lab(unit).numpy(), tf.float64)
    np.testing.assert_allclose(color.lab_to_rgb(lab).numpy(), unit, atol=2e-3)
    with pytest.raises(ValueError, match="sRGB values other than uint8 and uint16 must be floats, got int32"):
        color.rgb_to_lab([[128, 128, 128]])
    with pytest.raises(ValueError, match="Lab values must be floats, got int64"):
        color.lab_to_rgb(np.zeros((2, 3), np.int64))


def test_lab_to_rgb_matches_skimage_in_gamut():
    rgb = np.random.default_rng(1).random((4096, 3), np.float32)
    lab = skimage.color.rgb2lab(rgb.astype(np.float64))
    np.testing.assert_allclose(color.lab_to_rgb(lab.astype(np.float32)).numpy(), rgb, atol=2e-3)
    np.testing.assert_allclose(color.lab_to_rgb(lab.astype(np.float32)).numpy(), skimage.color.lab2rgb(lab), atol=2e-3)


def test_lab_to_rgb_clips_out_of_gamut():
    lab = np.array([[50.0, 120.0, -120.0], [100.0, -128.0, 127.0], [0.0, 127.0, 127.0], [120.0, 0.0, 0.0]], np.float32)
    rgb = color.lab_to_rgb(lab).numpy()
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    with np.errstate(all="ignore"), pytest.warns(UserWarning, match="negative Z values"):
        np.testing.assert_allclose(rgb, np.clip(skimage.color.lab2rgb(lab.astype(np.float64)), 0, 1), atol=2e-3)


def test_yuv_matches_tf_image():
    rgb = np.random.default_rng(2).random((16, 8, 3), np.float32)
    np.testing.assert_allclose(color.rgb_to_yuv(rgb).numpy(), tf.image.rgb_to_yuv(rgb).numpy(), atol=1e-6)
    np.testing.assert_allclose(color.yuv_to_rgb(color.rgb_to_yuv(rgb)).numpy(), rgb, atol=1e-5)


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 6, 3), (2, 2, 4, 6, 3)])
def test_any_leading_dimensions(shape):
    rgb = np.random.default_rng(3).random(shape, np.float32)
    lab = color.rgb_to_lab(rgb)
    assert lab.shape == shape
    np.testing.assert_allclose(color.lab_to_rgb(lab).numpy(), rgb, atol=2e-3)


@pytest.mark.parametrize("space", color.COLOR_SPACES)
def test_model_normalisation_ranges_and_round_trip(space):
    rgb = np.concatenate([cube_corners_and_edges(), np.random.default_rng(4).random((1000, 3), np.float32)])
    luminance, chroma = color.rgb_to_model_input(rgb, space)
    assert luminance.shape == (len(rgb), 1) and chroma.shape == (len(rgb), 2)
    assert luminance.numpy().min() >= -1e-4 and luminance.numpy().max() <= 1.0 + 1e-4
    assert np.abs(chroma.numpy()).max() <= 1.0 + 1e-4
    np.testing.assert_allclose(color.model_output_to_rgb(luminance, chroma, space).numpy(), rgb, atol=2e-3)
    np.testing.assert_allclose(color.rgb_to_luminance(rgb, space).numpy(), luminance.numpy(), atol=1e-6)


def test_gray_has_zero_chroma():
    gray = np.repeat(np.linspace(0, 1, 11, dtype=np.float32)[:, None], 3, axis=1)
    for space in color.COLOR_SPACES:
        _, chroma = color.rgb_to_model_input(gray, space)
        assert np.abs(chroma.numpy()).max() < 1e-3


def test_works_in_tf_function_and_dataset():
    rgb = np.random.default_rng(5).random((4, 8, 8, 3), np.float32)
    eager = color.rgb_to_lab(rgb).numpy()
    np.testing.assert_allclose(tf.function(color.rgb_to_lab)(rgb).numpy(), eager, atol=1e-3)
    batches = tf.data.Dataset.from_tensor_slices(rgb).batch(2).map(color.rgb_to_lab)
    np.testing.assert_allclose(np.concatenate([b.numpy() for b in batches]), eager, atol=1e-3)


def test_unknown_color_space_is_refused():
    with pytest.raises(ValueError, match="color_space"):
        color.rgb_to_model_input(np.zeros((1, 3), np.float32), "hsv")


@pytest.mark.parametrize("space", color.COLOR_SPACES)
def test_clipped_luminance_is_the_luminance_of_the_clipped_colour(space):
    rng = np.random.default_rng(3)
    luminance = rng.uniform(0.0, 1.0, (4096, 1)).astype(np.float32)
    chroma = rng.normal(0.0, 0.6, (4096, 2)).astype(np.float32)  # most of these are out of gamut
    expected = color.rgb_to_luminance(color.model_output_to_rgb(luminance, chroma, space), space)
    clipped = color.clipped_luminance(luminance, chroma, space)
    assert np.mean(np.abs(expected.numpy() - luminance) > 0.01) > 0.3
    np.testing.assert_allclose(clipped, expected, atol=2e-5)


def test_float_rgb_outside_the_unit_range_and_wrong_channel_counts_are_refused():
    """Before: 0-255 floats came out white (Lab) or unscaled (YUV), and an (H, W, 1) array failed
    inside TensorFlow ("Incompatible shapes")."""
    for convert in (color.rgb_to_lab, color.rgb_to_yuv):
        with pytest.raises(ValueError, match="0-255 data: divide by 255"):
            convert(np.array([[[200.0, 100.0, 50.0]]]))
        with pytest.raises(ValueError, match=r"sRGB must hold 3 channels on the last axis, got shape \(4, 5, 1\)"):
            convert(np.full((4, 5, 1), 0.5))
    with pytest.raises(ValueError, match="Lab must hold 3 channels"):
        color.lab_to_rgb(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="chroma must hold 2 channels"):
        color.model_output_to_rgb(np.full((2, 2, 1), 0.5), np.zeros((2, 2, 3)))
    traced = tf.function(color.rgb_to_lab)  # inside a graph (tf.data) only the shape is checked, at trace time
    np.testing.assert_allclose(traced(tf.fill((2, 2, 3), 0.5)), color.rgb_to_lab(np.full((2, 2, 3), 0.5)), atol=1e-5)
