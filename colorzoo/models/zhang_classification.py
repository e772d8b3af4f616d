"""Zhang, Isola & Efros, "Colorful Image Colorization" (ECCV 2016): ab as classification.

The network predicts, at 1/4 resolution, logits over ``Q = 313`` ab bins; training is a
class-rebalanced cross-entropy against soft-encoded targets, and colours are read back with
the annealed mean of the predicted distribution.

- **Bins** (:func:`gamut_bins`, computed, never downloaded): the points of the 10-grid in ab
  that are a corner of a 10 x 10 grid cell meeting the convex hull of the ab values of the
  sRGB cube (every L). Equivalently: ``(a, b)``, multiples of 10, such that the square
  ``[a - 10, a + 10] x [b - 10, b + 10]`` meets the hull. This gives exactly the 313 bins
  (and the order, a then b) of the authors' ``pts_in_hull.npy``; the nearest grid point
  outside the set misses by 0.09 Lab units, so the count does not depend on how densely the
  cube is sampled. Stricter criteria give fewer bins: nearest-centre hits of in-gamut colours
  261, centres in gamut 229, centres in the hull 233.
- **Soft encoding** (:func:`soft_encode`): each ab value spreads over its 5 nearest bins with
  Gaussian weights, sigma 5 in Lab units.
- **Rebalancing** (:func:`ab_prior`, :func:`rebalancing_weights`): ``w ∝ ((1 - λ) p̃ + λ / Q)^-1``
  with ``p̃`` the empirical bin distribution smoothed by a Gaussian (sigma 5 Lab units) and
  ``λ = 0.5``, normalised so that ``Σ p̃ w = 1``.
- **Decoding** (:func:`decode_ab`, :class:`AnnealedMeanDecode`): ``softmax(logits / T)``
  weighted mean of the bin centres, ``T = 0.38``.

Inference: a model registered with output ``"ab_bins"`` returns logits; turn them into
normalised ab at the input's resolution with ``decode_ab(logits, size=luminance.shape[1:3])``
(bins inferred from the channel count), or wrap the model once with :func:`to_ab_model`.

The ``bins="meda64"`` option is the Meda report's simplification: 64 equal-width bins per
channel over normalised ab in [-1, 1] (128 logits: a then b), loss ``CE(a) + CE(b)`` with hard
targets and no rebalancing, decoded by the annealed mean per channel (``T = 1``: the expectation).

Example:

>>> model = build_model("zhang_classification", image_size=64, width=0.125)
>>> compile_model(model)                             # Adam + RebalancedCrossEntropy()
>>> model.fit(luminance, chroma, epochs=5)           # chroma: normalised ab, full size
>>> ab = decode_ab(model.predict(luminance), size=(64, 64))
"""

import functools

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy.spatial import ConvexHull, cKDTree

from colorzoo import color
from colorzoo.layers import ScaleLuminance
from colorzoo.models.registry import register_model

GRID = 10.0  # ab bin spacing, Lab units
NEIGHBOURS = 5  # soft encoding: nearest bins
SIGMA = 5.0  # soft encoding and prior smoothing: Gaussian sigma, Lab units
LAMBDA = 0.5  # rebalancing: weight of the uniform distribution
PRIOR_BATCHES = 50  # batches of the training data that estimate the ab prior
TEMPERATURE = 0.38  # annealed mean
MEDA_TEMPERATURE = 1.0  # the "meda64" bins are decoded by their expectation
MEDA_BINS = 64  # bins per channel of the "meda64" option
BIN_SETS = ("gamut313", "meda64")
STRIDE = 8
L_CENTRE = 0.5  # the network sees (L - 50) / 100
# ECCV16 blocks conv1..conv7: (filters, convolutions, dilation, last convolution strided).
BLOCKS = (
    (64, 2, 1, True),
    (128, 2, 1, True),
    (256, 3, 1, True),
    (512, 3, 1, False),
    (512, 3, 2, False),
    (512, 3, 2, False),
    (512, 3, 1, False),
)
CONV8_FILTERS = 256


# === Bins ===


@functools.cache
def gamut_bins():
    """The 313 in-gamut ab bin centres in Lab units, shape ``(313, 2)``, sorted by a then b."""
    levels = np.linspace(0.0, 1.0, 33, dtype="float32")
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    with tf.init_scope():  # eager even when first needed inside a traced function (a loss under XLA)
        lab = np.asarray(color.rgb_to_lab(rgb))
    hull = ConvexHull(lab[:, 1:].astype("float64"))
    normals, offsets = hull.equations[:, :2], hull.equations[:, 2]
    axis = np.arange(-13, 14) * GRID
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    corners = grid[:, None, :] + np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]]) * GRID
    # Separating axes of a square and a convex polygon: the facet normals and the two axes.
    facet_gap = (corners @ normals.T + offsets).min(axis=1).max(axis=1)
    points = hull.points[hull.vertices]
    box_gap = np.maximum(points.min(0) - grid - GRID, grid - GRID - points.max(0)).max(axis=1)
    bins = grid[(facet_gap <= 0) & (box_gap <= 0)].astype("float32")
    bins.setflags(write=False)  # cached: shared by every caller
    return bins


def meda_bin_centres():
    """Centres of the ``"meda64"`` bins on normalised ab, shape ``(64,)``, in (-1, 1)."""
    return ((np.arange(MEDA_BINS) + 0.5) * 2.0 / MEDA_BINS - 1.0).astype("float32")


def bin_centres(bins="gamut313"):
    """2-D ab bin centres in Lab units: ``"gamut313"`` or an explicit ``(Q, 2)`` array-like."""
    if isinstance(bins, str):
        if bins == "gamut313":
            return gamut_bins()
        raise ValueError(f"bins must be 'gamut313' or a (Q, 2) array of ab centres here, got {bins!r}")
    centres = np.asarray(bins, "float32")
    if centres.ndim != 2 or centres.shape[1] != 2:
        raise ValueError(f"bins must have shape (Q, 2), got {centres.shape}")
    return centres


def _is_meda(bins):
    """Whether ``bins`` (a name or a ``(Q, 2)`` array) names the per-channel ``"meda64"`` bins."""
    return isinstance(bins, str) and bins == "meda64"


def logit_count(bins):
    """Number of logits a model with ``bins`` outputs (313 or 128)."""
    return 2 * MEDA_BINS if _is_meda(bins) else len(bin_centres(bins))


def _bins_for_logits(count):
    if count == 2 * MEDA_BINS:
        return "meda64"
    if count == len(gamut_bins()):
        return "gamut313"
    raise ValueError(f"Cannot tell the bins of {count} logits: expected {len(gamut_bins())} or {2 * MEDA_BINS}")


def _config_bins(bins):
    return bins if bins is None or isinstance(bins, str) else np.asarray(bins).tolist()


# === Targets and rebalancing ===


def _nearest_bins(ab_lab, centres, neighbours):
    """Squared distances and indices of the ``neighbours`` nearest centres, nearest first."""
    squared = (
        ops.sum(ab_lab * ab_lab, axis=-1, keepdims=True)
        - 2.0 * ops.einsum("...c,qc->...q", ab_lab, centres)
        + ops.sum(centres * centres, axis=-1)
    )
    negative, indices = ops.top_k(-ops.maximum(squared, 0.0), neighbours)
    return -negative, indices


def _soft_weights(squared, sigma):
    return ops.softmax(-squared / (2.0 * sigma**2), axis=-1)


def soft_encode(ab, bins="gamut313", neighbours=NEIGHBOURS, sigma=SIGMA):
    """Normalised ab ``(..., 2)`` -> soft targets ``(..., Q)``: Gaussian weights on the nearest bins.

    Example:

    >>> targets = soft_encode(chroma)                # (B, H, W, 313), each pixel sums to 1
    """
    centres = ops.convert_to_tensor(bin_centres(bins))
    squared, indices = _nearest_bins(ops.cast(ab, "float32") * color.AB_SCALE, centres, neighbours)
    one_hot = ops.one_hot(indices, centres.shape[0])
    return ops.sum(one_hot * _soft_weights(squared, sigma)[..., None], axis=-2)


def _chroma_arrays(data):
    if hasattr(data, "shape"):
        yield np.asarray(data)
        return
    for element in data:
        yield np.asarray(element[-1] if isinstance(element, (tuple, list)) else element)


def ab_prior(data, bins="gamut313"):
    """The empirical distribution of nearest ab bins over ``data``, shape ``(Q,)``, sums to 1.

    Args:
        data: normalised ab (ab / 128): one array ``(..., 2)``, an iterable of such arrays, or a
            ``tf.data.Dataset`` (or any iterable) of ``(luminance, ab)`` batches.
        bins: ``"gamut313"`` or explicit ``(Q, 2)`` centres in Lab units.

    Example:

    >>> prior = ab_prior(make_dataset("photos/", 256, 16))
    >>> loss = RebalancedCrossEntropy(weights=rebalancing_weights(prior))
    """
    centres = bin_centres(bins)
    tree = cKDTree(centres)
    counts = np.zeros(len(centres))
    for chroma in _chroma_arrays(data):
        _, nearest = tree.query(chroma.reshape(-1, 2).astype("float64") * color.AB_SCALE)
        counts += np.bincount(nearest, minlength=len(centres))
    if not counts.sum():
        raise ValueError("ab_prior got no ab values")
    return counts / counts.sum()


def rebalancing_weights(prior, lam=LAMBDA, sigma=SIGMA, bins="gamut313"):
    """Class-rebalancing weights ``w ∝ ((1 - lam) p̃ + lam / Q)^-1`` with ``Σ p̃ w = 1``.

    ``p̃`` is ``prior`` smoothed over the bin centres with a Gaussian of ``sigma`` Lab units
    (each bin takes the kernel-weighted average of its neighbours, so a uniform prior stays
    uniform; ``sigma=0`` disables smoothing) and renormalised.

    Example:

    >>> weights = rebalancing_weights(ab_prior(chroma_batches))   # (313,), float32
    """
    centres = bin_centres(bins).astype("float64")
    prior = np.asarray(prior, "float64").ravel()
    if prior.shape != (len(centres),):
        raise ValueError(f"prior must have {len(centres)} entries, got {prior.shape}")
    if not (np.isfinite(prior).all() and (prior >= 0).all() and prior.sum() > 0):
        raise ValueError("prior must be non-negative bin frequencies with a positive sum")
    if sigma > 0:
        squared = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        kernel = np.exp(-squared / (2.0 * sigma**2))
        prior = (kernel / kernel.sum(axis=1, keepdims=True)) @ prior
    smoothed = prior / prior.sum()
    weights = 1.0 / ((1.0 - lam) * smoothed + lam / len(centres))
    return (weights / (smoothed @ weights)).astype("float32")


# === Loss ===


def _area_downsampled(ab, size):
    """``ab`` averaged over blocks down to ``size`` (area interpolation): an average pooling where
    the factor is a whole number (the model's 4), which XLA compiles; its resize op does not."""
    factors = [
        None if None in (big, small) or big % small else big // small for big, small in zip(ab.shape[1:3], size)
    ]
    if None in factors:
        return ops.image.resize(ab, size, interpolation="area")
    return ops.average_pool(ab, factors, strides=factors, padding="valid")


@keras.saving.register_keras_serializable(package="colorzoo")
class RebalancedCrossEntropy(keras.losses.Loss):
    """Class-rebalanced cross-entropy of ab-bin logits against soft-encoded ab.

    ``y_true`` is normalised ab at full resolution ``(B, H, W, 2)`` (what the colorzoo data
    pipeline yields); ``y_pred`` the logits ``(B, h, w, Q)``. The ab is average-pooled to
    ``h x w`` (the authors' training net takes every 4th pixel instead; averaging mixes the colours
    of edges, slightly less saturated targets), soft-encoded on its ``neighbours`` nearest bins (Gaussian, ``sigma`` Lab units),
    and each pixel's cross-entropy is multiplied by the weight of its nearest bin.

    Args:
        bins: ``None`` (infer from the logits: 313 -> ``"gamut313"``, 128 -> ``"meda64"``),
            ``"gamut313"``, ``"meda64"`` (per-channel hard targets, ``CE(a) + CE(b)``, no
            weights) or explicit ``(Q, 2)`` centres in Lab units.
        weights: ``None`` (all 1) or the ``Q`` weights of :func:`rebalancing_weights`.

    Example:

    >>> prior = ab_prior(train_dataset)
    >>> model.compile("adam", RebalancedCrossEntropy(weights=rebalancing_weights(prior)))
    """

    def __init__(
        self, bins=None, weights=None, sigma=SIGMA, neighbours=NEIGHBOURS, name="rebalanced_cross_entropy", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        if _is_meda(bins) and weights is not None:
            raise ValueError("bins='meda64' takes no rebalancing weights")
        if isinstance(bins, str) and bins not in BIN_SETS:
            raise ValueError(f"bins must be None, one of {BIN_SETS} or (Q, 2) centres, got {bins!r}")
        self.bins = _config_bins(bins)
        self.weights = None if weights is None else np.asarray(weights, "float32").ravel().tolist()
        if self.weights is not None and self.bins is not None:
            _check_weight_count(self.weights, len(bin_centres(self.bins)))
        self.sigma = sigma
        self.neighbours = neighbours

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        bins = _bins_for_logits(logits.shape[-1]) if self.bins is None else self.bins
        ab = _area_downsampled(ops.cast(y_true, "float32"), logits.shape[1:3])
        if _is_meda(bins):
            if self.weights is not None:  # bins inferred from 128 logits: the weights would be dropped
                raise ValueError("bins='meda64' takes no rebalancing weights (128 logits: per-channel meda64 bins)")
            index = ops.cast(ops.clip(ops.floor((ab + 1.0) * MEDA_BINS / 2.0), 0, MEDA_BINS - 1), "int32")
            return sum(
                ops.sparse_categorical_crossentropy(index[..., channel], part, from_logits=True)
                for channel, part in enumerate((logits[..., :MEDA_BINS], logits[..., MEDA_BINS:]))
            )
        squared, indices = _nearest_bins(ab * color.AB_SCALE, ops.convert_to_tensor(bin_centres(bins)), self.neighbours)
        log_probs = ops.take_along_axis(ops.log_softmax(logits, axis=-1), indices, axis=-1)
        loss = -ops.sum(_soft_weights(squared, self.sigma) * log_probs, axis=-1)
        if self.weights is not None:
            _check_weight_count(self.weights, logits.shape[-1])
            loss = loss * ops.take(ops.convert_to_tensor(self.weights), indices[..., 0])
        return loss

    def get_config(self):
        return {
            **super().get_config(),
            "bins": self.bins,
            "weights": self.weights,
            "sigma": self.sigma,
            "neighbours": self.neighbours,
        }


@keras.saving.register_keras_serializable(package="colorzoo")
class RebalancedL1(keras.losses.Loss):
    """L1 on normalised ab with each pixel weighted by the rebalancing weight of its true colour.

    Zhang et al.'s class rebalancing for a model that regresses ab: the weight of a pixel is
    that of the bin nearest its true ab, so rare saturated colours count as much as the common
    near-gray ones the plain L1 settles on. With all weights 1 it is the mean L1.

    Args:
        weights: the ``Q`` weights of :func:`rebalancing_weights`.
        bins: ``"gamut313"`` or explicit ``(Q, 2)`` centres in Lab units.

    Example:

    >>> weights = rebalancing_weights_from_data(make_dataset("photos/", 128, 16))
    >>> model.compile("adam", RebalancedL1(weights))       # any L -> ab model
    """

    def __init__(self, weights, bins="gamut313", name="rebalanced_l1", **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(bins, str) and bins != "gamut313":
            raise ValueError(f"bins must be 'gamut313' or (Q, 2) centres, got {bins!r}")
        self.bins = _config_bins(bins)
        self.weights = np.asarray(weights, "float32").ravel().tolist()
        _check_weight_count(self.weights, len(bin_centres(self.bins)))

    def call(self, y_true, y_pred):
        ab_true = ops.cast(y_true, "float32")
        _, nearest = _nearest_bins(ab_true * color.AB_SCALE, ops.convert_to_tensor(bin_centres(self.bins)), 1)
        pixel_weights = ops.take(ops.convert_to_tensor(self.weights), nearest)  # (..., 1)
        return ops.mean(pixel_weights * ops.abs(ab_true - ops.cast(y_pred, "float32")), axis=(1, 2, 3))

    def get_config(self):
        return {**super().get_config(), "weights": self.weights, "bins": self.bins}


def rebalancing_weights_from_data(dataset, batches=PRIOR_BATCHES):
    """:func:`rebalancing_weights` of the ab prior of the first ``batches`` batches of ``dataset``.

    Example:

    >>> weights = rebalancing_weights_from_data(make_dataset("photos/", 128, 16))   # (313,)
    """
    return rebalancing_weights(ab_prior(dataset.take(batches)))


# === Decoding ===


def _check_weight_count(weights, bin_count):
    if len(weights) != bin_count:
        raise ValueError(f"got {len(weights)} weights for {bin_count} bins")


def _temperature(bins, temperature):
    """``temperature``, or by default the one of ``bins``: 0.38 (the paper), 1 for ``"meda64"``."""
    if temperature is None:
        return MEDA_TEMPERATURE if _is_meda(bins) else TEMPERATURE
    return temperature


def annealed_mean(logits, bins="gamut313", temperature=None):
    """Logits ``(..., Q)`` -> normalised ab ``(..., 2)``: the mean of ``softmax(logits / T)``.

    ``T = 1`` is the plain mean of the predicted distribution; ``T -> 0`` its mode. By default
    0.38 (the paper), and 1 for ``"meda64"`` (the Meda report decodes by the expectation).
    """
    temperature = _temperature(bins, temperature)
    scaled = ops.cast(logits, "float32") / temperature
    if _is_meda(bins):
        centres = ops.convert_to_tensor(meda_bin_centres())
        parts = (scaled[..., :MEDA_BINS], scaled[..., MEDA_BINS:])
        return ops.stack([ops.sum(ops.softmax(part, axis=-1) * centres, axis=-1) for part in parts], axis=-1)
    centres = ops.convert_to_tensor(bin_centres(bins) / color.AB_SCALE)
    return ops.einsum("...q,qc->...c", ops.softmax(scaled, axis=-1), centres)


@keras.saving.register_keras_serializable(package="colorzoo")
class AnnealedMeanDecode(keras.layers.Layer):
    """Bin logits ``(B, h, w, Q)`` -> normalised ab ``(B, h, w, 2)`` by the annealed mean.

    Args:
        bins: ``"gamut313"``, ``"meda64"`` or explicit ``(Q, 2)`` centres in Lab units.
        temperature: by default 0.38 (the paper) and 1 for ``"meda64"``; 1 gives the mean,
            values near 0 the mode.

    Example:

    >>> ab = AnnealedMeanDecode("gamut313", temperature=0.38)(logits)
    """

    def __init__(self, bins="gamut313", temperature=None, **kwargs):
        super().__init__(**kwargs)
        self.bins = _config_bins(bins)
        self.temperature = _temperature(self.bins, temperature)
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")

    def call(self, logits):
        return annealed_mean(logits, self.bins, self.temperature)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "temperature": self.temperature}


def decode_ab(logits, temperature=None, size=None, bins=None):
    """Logits of a ``"ab_bins"`` model -> normalised ab, bilinearly resized to ``size`` if given.

    ``bins`` defaults to what the channel count says (313 -> gamut, 128 -> meda64), and
    ``temperature`` to the bins' own (:func:`annealed_mean`).

    Example:

    >>> ab = decode_ab(model.predict(luminance), size=luminance.shape[1:3])   # (B, H, W, 2)
    """
    logits = ops.convert_to_tensor(logits)
    ab = annealed_mean(logits, bins if bins is not None else _bins_for_logits(logits.shape[-1]), temperature)
    if size is not None and tuple(size) != tuple(ab.shape[1:3]):
        ab = ops.image.resize(ab, tuple(size), interpolation="bilinear")
    return ab


def to_ab_model(model, temperature=None):
    """Wrap a logits model into a functional model luminance -> full-resolution normalised ab.

    The result (named ``<name>_ab``, sharing ``model``'s layers) decodes with
    :class:`AnnealedMeanDecode` and upsamples bilinearly; it saves to ``.keras`` and loads with
    ``safe_mode=True``.

    Example:

    >>> ab_model = to_ab_model(build_model("zhang_classification", image_size=64, width=0.125))
    >>> ab_model.save("zhang_ab.keras")
    """
    bins = _bins_for_logits(model.output.shape[-1])
    factor = model.input.shape[1] // model.output.shape[1]
    x = AnnealedMeanDecode(bins, temperature, name="ab_decode")(model.output)
    x = keras.layers.UpSampling2D(factor, interpolation="bilinear", name="ab_upsample")(x)
    return keras.Model(model.input, x, name=f"{model.name}_ab")


def rebalanced_loss_from_data(dataset, model, batches=PRIOR_BATCHES):
    """The recipe's loss for training ``model`` on ``dataset``: :class:`RebalancedCrossEntropy`
    weighted by the :func:`rebalancing_weights` of the ab prior of ``batches`` batches of
    ``dataset``; unweighted for a ``"meda64"`` model, whose per-channel bins take no weights.

    ``colorzoo.training.train`` calls it (the recipe's ``"loss_from_data"``) before ``fit``.

    Example:

    >>> loss = rebalanced_loss_from_data(make_dataset("photos/", 128, 16), model)
    >>> compile_model(model, loss=loss)
    """
    if model.output_shape[-1] == 2 * MEDA_BINS:
        return RebalancedCrossEntropy(bins="meda64")
    return RebalancedCrossEntropy(weights=rebalancing_weights_from_data(dataset, batches))


# === Model ===


@register_model(
    "zhang_classification",
    color_space="lab",
    output="ab_bins",
    native_size=256,
    stride=STRIDE,
    paper='R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016',
    # The paper: Adam 3e-5, betas (0.9, 0.99), weight decay 1e-3 (Caffe L2; Keras' is decoupled).
    # 1e-4 trains faster at the small batches of a CPU.
    recipe={
        "optimizer": "adam",
        "learning_rate": 1e-4,
        "optimizer_kwargs": {"beta_1": 0.9, "beta_2": 0.99, "weight_decay": 1e-3},
        "loss": RebalancedCrossEntropy,
        "loss_from_data": rebalanced_loss_from_data,
    },
    small={"image_size": 64, "width": 0.125},
)
def zhang_classification(image_size=256, width=1.0, bins="gamut313"):
    """Build the ECCV16 colorization network: luminance -> ab-bin logits at 1/4 resolution.

    Eight blocks: conv1-conv3 (64, 128, 256 filters) end with a stride-2 convolution, conv4
    512, conv5 and conv6 512 with dilation 2, conv7 512, each followed by batch norm; conv8
    upsamples with a 4 x 4 transposed convolution to 256 filters, then two 3 x 3 convolutions of
    256 (conv8_2, conv8_3), and a 1 x 1 convolution gives the logits. At 256 px and ``width=1``
    it has 32,240,377 parameters (incl. BN statistics).

    Args:
        image_size: input side; any multiple of 8.
        width: multiplies every filter count (1.0 is the paper's network); 0.125 for CPU tests.
        bins: ``"gamut313"`` (313 logits) or ``"meda64"`` (64 per channel, 128 logits).

    Example:

    >>> model = build_model("zhang_classification")       # (B, 256, 256, 1) -> (B, 64, 64, 313)
    >>> compile_model(model)                               # Adam + RebalancedCrossEntropy()
    >>> ab = decode_ab(model.predict(luminance), size=(256, 256))
    """
    if image_size % STRIDE:
        raise ValueError(f"image_size must be a multiple of {STRIDE}, got {image_size}")
    if bins not in BIN_SETS:
        raise ValueError(f"bins must be one of {BIN_SETS}, got {bins!r}")

    def filters(count):
        return max(2, int(round(count * width)))

    # === Layers ===
    inputs = keras.Input((image_size, image_size, 1), name="luminance")
    x = ScaleLuminance(offset=-L_CENTRE, name="luminance_centre")(inputs)
    for block, (count, convolutions, dilation, strided) in enumerate(BLOCKS, start=1):
        for index in range(1, convolutions + 1):
            stride = 2 if strided and index == convolutions else 1
            x = keras.layers.Conv2D(
                filters(count), 3, strides=stride, dilation_rate=dilation, padding="same", activation="relu",
                name=f"conv{block}_{index}",
            )(x)
        x = keras.layers.BatchNormalization(name=f"conv{block}_norm")(x)
    x = keras.layers.Conv2DTranspose(
        filters(CONV8_FILTERS), 4, strides=2, padding="same", activation="relu", name="conv8_1"
    )(x)
    for index in (2, 3):
        x = keras.layers.Conv2D(filters(CONV8_FILTERS), 3, padding="same", activation="relu", name=f"conv8_{index}")(x)
    logits = keras.layers.Conv2D(logit_count(bins), 1, name="ab_logits")(x)

    # === Functional Model ===
    model = keras.Model(inputs, logits, name="zhang_classification")
    return model
