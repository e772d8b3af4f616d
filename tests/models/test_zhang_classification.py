"""zhang_classification: gamut bins, soft encoding, rebalancing, loss, annealed-mean decoding."""

import keras
import numpy as np
import pytest
import skimage.color
import tensorflow as tf
from keras import ops

from colorzoo.models import zhang_classification as zhang
from tests.conftest import sample_batch

SIZE = 32


def tiny(**kwargs):
    return zhang.zhang_classification(**{"image_size": SIZE, "width": 0.125, **kwargs})


def random_logits(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# === Bins ===


def test_exactly_313_bins_on_the_10_grid():
    bins = zhang.gamut_bins()
    assert bins.shape == (313, 2)
    assert len({tuple(b) for b in bins}) == 313
    np.testing.assert_array_equal(bins % 10, 0)
    assert bins[:, 0].min() == -90 and bins[:, 0].max() == 100
    assert bins[:, 1].min() == -110 and bins[:, 1].max() == 100
    # Spot checks against the authors' pts_in_hull.npy: same set, same order (a, then b).
    np.testing.assert_array_equal(bins[:5], [[-90, 50], [-90, 60], [-90, 70], [-90, 80], [-90, 90]])
    np.testing.assert_array_equal(bins[-1], [100, 0])
    assert [0, 0] in bins.tolist() and [-50, 100] in bins.tolist() and [60, -110] in bins.tolist()


def test_bins_cover_the_gamut_and_stay_near_it():
    # The surface of the sRGB cube holds the most saturated colours: a 65 x 65 grid on each face.
    levels = np.linspace(0.0, 1.0, 65)
    u, v = (grid.ravel() for grid in np.meshgrid(levels, levels, indexing="ij"))
    faces = [
        np.roll(np.stack([np.full_like(u, side), u, v], -1), shift, axis=-1) for side in (0, 1) for shift in range(3)
    ]
    ab = skimage.color.rgb2lab(np.concatenate(faces)[None])[0, :, 1:]
    bins = {tuple(b) for b in zhang.gamut_bins().astype(int)}
    # Every reachable colour falls in the 10 x 10 cell of a bin ...
    assert {tuple(c) for c in (np.round(ab / 10) * 10).astype(int)} <= bins
    # ... and every bin is within 13 Lab units (per axis) of a reachable colour.
    distance = np.abs(zhang.gamut_bins()[:, None, :] - ab[None]).max(-1).min(1)
    assert distance.max() < 13.5


# === Soft encoding ===


def test_soft_encoding_sums_to_one_on_five_bins():
    _, chroma = sample_batch(16)
    targets = np.asarray(zhang.soft_encode(chroma))
    assert targets.shape == (2, 16, 16, 313)
    np.testing.assert_allclose(targets.sum(-1), 1.0, atol=1e-5)
    assert ((targets > 0).sum(-1) == 5).all()
    nearest = np.linalg.norm(chroma[..., None, :] * 128 - zhang.gamut_bins(), axis=-1).argmin(-1)
    np.testing.assert_array_equal(targets.argmax(-1), nearest)


def test_soft_encoding_of_a_bin_centre_by_hand():
    targets = np.asarray(zhang.soft_encode(np.array([[0.0, 0.0]], "float32")))[0]
    centre = 1.0 / (1.0 + 4.0 * np.exp(-100.0 / 50.0))  # four neighbours at 10, sigma 5
    index = zhang.gamut_bins().tolist().index([0, 0])
    np.testing.assert_allclose(targets[index], centre, rtol=1e-5)
    np.testing.assert_allclose(np.sort(targets)[-5:-1], (1.0 - centre) / 4.0, rtol=1e-5)


# === Rebalancing ===


def test_uniform_prior_gives_unit_weights():
    weights = zhang.rebalancing_weights(np.full(313, 1.0 / 313))
    assert weights.shape == (313,) and weights.dtype == np.float32
    np.testing.assert_allclose(weights, 1.0, rtol=1e-5)


def test_rebalancing_weights_by_hand():
    # Two far-apart bins (no smoothing between them), prior (3/4, 1/4), lambda 1/2:
    # mixture (5/8, 3/8), inverse (8/5, 8/3), E = 3/4 * 8/5 + 1/4 * 8/3 = 28/15 -> (6/7, 10/7).
    bins = [[0.0, 0.0], [100.0, 0.0]]
    for sigma in (0, 5):
        weights = zhang.rebalancing_weights([0.75, 0.25], sigma=sigma, bins=bins)
        np.testing.assert_allclose(weights, [6 / 7, 10 / 7], rtol=1e-6)


def test_rebalancing_weights_have_unit_expectation_and_favour_rare_bins():
    prior = np.random.default_rng(1).random(313) ** 4
    prior /= prior.sum()
    weights = zhang.rebalancing_weights(prior, sigma=0)
    np.testing.assert_allclose(prior @ weights, 1.0, rtol=1e-5)
    assert weights[prior.argmin()] > 1.0 > weights[prior.argmax()]
    smoothed = zhang.rebalancing_weights(prior)
    assert np.ptp(smoothed) < np.ptp(weights)


def test_ab_prior_counts_nearest_bins_from_arrays_and_batches():
    bins = zhang.gamut_bins().tolist()
    chroma = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [31.0, -42.0]], "float32") / 128
    prior = zhang.ab_prior(chroma)
    assert prior.shape == (313,) and prior.sum() == pytest.approx(1.0)
    assert prior[bins.index([0, 0])] == pytest.approx(0.75) and prior[bins.index([30, -40])] == pytest.approx(0.25)
    np.testing.assert_allclose(zhang.ab_prior([chroma[:3], chroma[3:]]), prior)
    dataset = tf.data.Dataset.from_tensor_slices((np.zeros((4, 1), "float32"), chroma)).batch(3)  # (L, ab) batches
    np.testing.assert_allclose(zhang.ab_prior(dataset), prior)


# === Loss ===


def test_loss_is_cross_entropy_against_pooled_soft_targets():
    _, chroma = sample_batch(SIZE)
    logits = random_logits((2, SIZE // 4, SIZE // 4, 313))
    pooled = chroma.reshape(2, SIZE // 4, 4, SIZE // 4, 4, 2).mean((2, 4))
    targets = np.asarray(zhang.soft_encode(pooled))
    log_probs = np.asarray(ops.log_softmax(logits, axis=-1))
    expected = -(targets * log_probs).sum(-1).mean()
    np.testing.assert_allclose(float(zhang.RebalancedCrossEntropy()(chroma, logits)), expected, rtol=1e-5)
    doubled = zhang.RebalancedCrossEntropy(weights=np.full(313, 2.0))
    np.testing.assert_allclose(float(doubled(chroma, logits)), 2 * expected, rtol=1e-5)


def test_loss_compiles_under_xla_with_the_same_value():
    _, chroma = sample_batch(SIZE)
    logits = random_logits((2, SIZE // 4, SIZE // 4, 313))
    loss = zhang.RebalancedCrossEntropy()
    compiled = tf.function(loss, jit_compile=True)  # its area resize of the target did not compile
    np.testing.assert_allclose(float(compiled(chroma, logits)), float(loss(chroma, logits)), rtol=1e-5)


def test_target_is_area_averaged_by_pooling_or_resizing():
    chroma = np.random.default_rng(0).uniform(-1, 1, (2, 12, 20, 2)).astype("float32")
    resized = np.asarray(tf.image.resize(chroma, (3, 5), method="area"))
    np.testing.assert_allclose(np.asarray(zhang._area_downsampled(chroma, (3, 5))), resized, atol=1e-6)  # pooled
    uneven = np.asarray(tf.image.resize(chroma, (5, 7), method="area"))
    np.testing.assert_allclose(np.asarray(zhang._area_downsampled(chroma, (5, 7))), uneven, atol=1e-6)  # resized


def test_loss_weights_each_pixel_by_its_nearest_bin():
    chroma = np.zeros((1, 4, 4, 2), "float32")
    chroma[0, :2] = [30 / 128, -40 / 128]  # half the pixels on bin (30, -40), half on (0, 0)
    bins = zhang.gamut_bins().tolist()
    weights = np.ones(313, "float32")
    weights[bins.index([30, -40])] = 3.0
    logits = random_logits((1, 4, 4, 313))
    per_pixel = zhang.RebalancedCrossEntropy(reduction=None)(chroma, logits)
    weighted = zhang.RebalancedCrossEntropy(weights=weights, reduction=None)(chroma, logits)
    np.testing.assert_allclose(np.asarray(weighted)[0, :2], 3 * np.asarray(per_pixel)[0, :2], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(weighted)[0, 2:], np.asarray(per_pixel)[0, 2:], rtol=1e-5)


def test_loss_config_round_trip():
    loss = zhang.RebalancedCrossEntropy(weights=zhang.rebalancing_weights(np.full(313, 1 / 313)), sigma=4.0)
    config = loss.get_config()
    assert {"bins", "weights", "sigma"} <= set(config) and len(config["weights"]) == 313
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, zhang.RebalancedCrossEntropy) and restored.get_config() == config
    _, chroma = sample_batch(SIZE)
    logits = random_logits((2, SIZE // 4, SIZE // 4, 313))
    assert float(restored(chroma, logits)) == pytest.approx(float(loss(chroma, logits)))


def test_meda64_rejects_weights():
    with pytest.raises(ValueError, match="meda64"):
        zhang.RebalancedCrossEntropy(bins="meda64", weights=np.ones(128))
    _, chroma = sample_batch(SIZE)
    logits = tf.zeros((*chroma.shape[:3], 128))
    with pytest.raises(ValueError, match="bins='meda64' takes no rebalancing weights"):  # bins told by the logits
        zhang.RebalancedCrossEntropy(weights=np.ones(313))(chroma, logits)  # before: the weights were dropped


def test_the_recipe_loss_of_a_meda64_model_is_unweighted(tmp_path):
    """train() asks the recipe for the loss of its model: a meda64 model's takes no prior."""
    luminance, chroma = sample_batch(SIZE)
    dataset = tf.data.Dataset.from_tensor_slices((luminance, chroma)).batch(1)
    meda = zhang.rebalanced_loss_from_data(dataset, tiny(bins="meda64"))
    assert meda.bins == "meda64" and meda.weights is None
    gamut = zhang.rebalanced_loss_from_data(dataset, tiny())
    assert gamut.bins is None and len(gamut.weights) == 313


def test_rebalanced_l1_weights_each_pixel_by_its_true_colours_bin():
    ab_true = np.zeros((2, 4, 4, 2), "float32")
    ab_true[0, :2] = [30 / 128, -40 / 128]  # half of image 0 on bin (30, -40), the rest on (0, 0)
    ab_pred = np.random.default_rng(0).uniform(-0.5, 0.5, ab_true.shape).astype("float32")
    weights = np.ones(313, "float32")
    weights[zhang.gamut_bins().tolist().index([30, -40])] = 3.0
    error = np.abs(ab_true - ab_pred)
    np.testing.assert_allclose(zhang.RebalancedL1(np.ones(313))(ab_true, ab_pred), error.mean(), rtol=1e-5)
    per_image = zhang.RebalancedL1(weights, reduction=None)(ab_true, ab_pred)
    expected = [(3 * error[0, :2].sum() + error[0, 2:].sum()) / error[0].size, error[1].mean()]
    np.testing.assert_allclose(per_image, expected, rtol=1e-5)


def test_rebalanced_l1_config_round_trip_and_refusals():
    loss = zhang.RebalancedL1(zhang.rebalancing_weights(np.linspace(1, 2, 313)))
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, zhang.RebalancedL1) and restored.get_config() == loss.get_config()
    _, chroma = sample_batch(SIZE)
    assert float(restored(chroma, 0 * chroma)) == pytest.approx(float(loss(chroma, 0 * chroma)))
    with pytest.raises(ValueError, match="got 312 weights for 313 bins"):
        zhang.RebalancedL1(np.ones(312))
    with pytest.raises(ValueError, match="bins must be"):
        zhang.RebalancedL1(np.ones(128), bins="meda64")


def test_rebalanced_cross_entropy_takes_centre_arrays_and_checks_its_weights():
    _, chroma = sample_batch(SIZE)
    logits = tf.random.stateless_normal((*chroma.shape[:3], 313), seed=(0, 1))
    by_name = zhang.RebalancedCrossEntropy(bins="gamut313")(chroma, logits)
    by_array = zhang.RebalancedCrossEntropy(bins=zhang.bin_centres("gamut313"))(chroma, logits)
    assert float(by_array) == pytest.approx(float(by_name), rel=1e-6)
    with pytest.raises(ValueError, match="got 10 weights for 313 bins"):
        zhang.RebalancedCrossEntropy(bins="gamut313", weights=np.ones(10))
    with pytest.raises(ValueError, match="got 10 weights for 313 bins"):  # bins told by the logits
        zhang.RebalancedCrossEntropy(weights=np.ones(10))(chroma, logits)
    with pytest.raises(ValueError, match="non-negative bin frequencies with a positive sum"):
        zhang.rebalancing_weights(np.zeros(313))  # was 313 NaNs


def test_rebalancing_weights_from_data_estimate_the_prior_of_its_batches():
    chroma = np.zeros((4, 8, 8, 2), "float32")
    chroma[:2] = [30 / 128, -40 / 128]  # the first two batches of one image each: a second colour
    dataset = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 1), "float32"), chroma)).batch(1)
    np.testing.assert_allclose(
        zhang.rebalancing_weights_from_data(dataset, batches=3),
        zhang.rebalancing_weights(zhang.ab_prior(chroma[:3])),
    )


# === Decoding ===


@pytest.mark.parametrize("index", [0, 150, 312])
def test_one_hot_logit_at_low_temperature_decodes_to_its_bin(index):
    logits = np.zeros((1, 1, 1, 313), "float32")
    logits[..., index] = 1.0
    ab = np.asarray(zhang.decode_ab(logits, temperature=1e-3))
    np.testing.assert_allclose(ab[0, 0, 0], zhang.gamut_bins()[index] / 128, atol=1e-6)


def test_annealed_mean_at_temperature_one_is_the_mean():
    logits = random_logits((2, 3, 3, 313))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    layer = zhang.AnnealedMeanDecode("gamut313", temperature=1.0)
    np.testing.assert_allclose(np.asarray(layer(logits)), probs @ zhang.gamut_bins() / 128, atol=1e-6)
    # Lower temperatures sharpen towards the mode: more saturated than the mean here.
    annealed = np.asarray(zhang.decode_ab(logits, temperature=0.38))
    assert np.abs(annealed).mean() > np.abs(np.asarray(layer(logits))).mean()


def test_meda64_decoding_per_channel():
    logits = np.full((1, 1, 1, 128), -1e4, "float32")
    logits[..., 10] = logits[..., 64 + 50] = 0.0
    centres = zhang.meda_bin_centres()
    decoded = np.asarray(zhang.decode_ab(logits, temperature=1.0))[0, 0, 0]
    np.testing.assert_allclose(decoded, centres[[10, 50]], atol=1e-6)
    uniform = np.zeros((1, 1, 1, 128), "float32")
    np.testing.assert_allclose(np.asarray(zhang.decode_ab(uniform, temperature=1.0)), 0.0, atol=1e-6)
    # By default the meda64 bins are decoded by their expectation (T = 1), the gamut bins at 0.38.
    spread = random_logits((1, 2, 2, 128))
    np.testing.assert_array_equal(zhang.decode_ab(spread), zhang.decode_ab(spread, temperature=1.0))
    gamut = random_logits((1, 2, 2, 313))
    np.testing.assert_array_equal(zhang.decode_ab(gamut), zhang.decode_ab(gamut, temperature=0.38))
    assert zhang.to_ab_model(tiny(bins="meda64")).get_layer("ab_decode").temperature == 1.0


def test_decode_ab_takes_explicit_centres():
    logits = random_logits((1, 2, 2, 313))
    np.testing.assert_array_equal(zhang.decode_ab(logits, bins=zhang.gamut_bins()), zhang.decode_ab(logits))


def test_decode_ab_resizes_bilinearly():
    logits = random_logits((2, 8, 8, 313))
    ab = np.asarray(zhang.decode_ab(logits, size=(32, 32)))
    assert ab.shape == (2, 32, 32, 2)
    bilinear = tf.image.resize(zhang.decode_ab(logits), (32, 32), method="bilinear")
    np.testing.assert_allclose(ab, np.asarray(bilinear), atol=1e-6)
    nearest = tf.image.resize(zhang.decode_ab(logits), (32, 32), method="nearest")
    assert np.abs(ab - np.asarray(nearest)).max() > 1e-2  # the check tells the two apart


def test_to_ab_model_saves_and_loads(tmp_path):
    model = tiny()
    luminance, _ = sample_batch(SIZE)
    ab_model = zhang.to_ab_model(model)
    expected = ab_model.predict(luminance, verbose=0)
    assert expected.shape == (2, SIZE, SIZE, 2) and ab_model.name == "zhang_classification_ab"
    np.testing.assert_allclose(
        expected, np.asarray(zhang.decode_ab(model.predict(luminance, verbose=0), size=(SIZE, SIZE))), atol=1e-5
    )
    path = str(tmp_path / "zhang_ab.keras")
    ab_model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored.predict(luminance, verbose=0), expected, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_compiled_weighted_loss_survives_save(tmp_path):
    model = tiny()
    weights = zhang.rebalancing_weights(zhang.ab_prior(sample_batch(SIZE)[1]))
    model.compile("adam", zhang.RebalancedCrossEntropy(weights=weights))
    path = str(tmp_path / "zhang.keras")
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored.loss.weights, weights, rtol=1e-6)


# === Model ===


def test_architecture_strides_and_dilations():
    model = tiny()
    assert model.output.shape == (None, SIZE // 4, SIZE // 4, 313)
    assert model.get_layer("conv7_norm").output.shape[1] == SIZE // 8
    assert [model.get_layer(f"conv{b}_1").dilation_rate for b in (4, 5, 6, 7)] == [(1, 1), (2, 2), (2, 2), (1, 1)]
    assert isinstance(model.get_layer("conv8_1"), keras.layers.Conv2DTranspose)


def test_parameter_count_at_native_size():
    assert zhang.zhang_classification().count_params() == 32_240_377


@pytest.mark.slow
def test_meda64_builds_and_trains():
    keras.utils.set_random_seed(0)
    model = tiny(bins="meda64")
    assert model.output.shape == (None, SIZE // 4, SIZE // 4, 128)
    luminance, chroma = sample_batch(SIZE)
    model.compile(keras.optimizers.Adam(1e-3), zhang.RebalancedCrossEntropy())  # bins inferred: meda64
    losses = model.fit(luminance, chroma, batch_size=2, epochs=15, verbose=0).history["loss"]
    assert losses[0] == pytest.approx(2 * np.log(64), rel=0.1)
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_size": 60}, "multiple of 8"),
        ({"bins": "q256"}, "bins"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kwargs)
