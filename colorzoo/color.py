"""Colour spaces in TensorFlow ops: sRGB <-> CIELAB (D65) and sRGB <-> YUV.

All functions take float tensors (float64 is cast to float32; uint8 and uint16 RGB
are scaled to [0, 1], other integers refused) with any number of leading batch
dimensions and a last axis of 3 channels, work inside ``tf.function`` and ``tf.data``, and
match ``skimage.color.rgb2lab`` / ``lab2rgb`` (sRGB, D65 white, 2 degree
observer). RGB values are in [0, 1].

The normalisation every model uses is defined once here:

- Lab: ``L / L_SCALE`` in [0, 1] and ``ab / AB_SCALE`` in about [-1, 1].
- YUV: ``Y`` in [0, 1] and ``U / U_MAX``, ``V / V_MAX`` in [-1, 1].

Example:

>>> rgb = tf.random.uniform((2, 64, 64, 3))
>>> l_norm, ab_norm = rgb_to_model_input(rgb, "lab")
>>> restored = model_output_to_rgb(l_norm, ab_norm, "lab")
"""

import numpy as np
import tensorflow as tf

L_SCALE = 100.0
AB_SCALE = 128.0
U_MAX = 0.436
V_MAX = 0.615
COLOR_SPACES = ("lab", "yuv")
FLOAT_SLACK = 0.1  # float pixels this far outside [0, 1] (resampling overshoot) are clipped, not refused

# skimage.color: sRGB (linear) -> XYZ, and the D65 / 2 degree reference white.
_XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
# Row-vector form with the white point folded in: xyz_n = rgb_linear @ M.
_RGB_TO_XYZN = (_XYZ_FROM_RGB / _D65_WHITE[:, None]).T.astype(np.float32)
_XYZN_TO_RGB = np.linalg.inv(_XYZ_FROM_RGB / _D65_WHITE[:, None]).T.astype(np.float32)

# (fx, fy, fz) -> (L, a, b) is linear: L = 116 fy - 16, a = 500 (fx - fy), b = 200 (fy - fz).
_F_TO_LAB = np.array([[0.0, 500.0, 0.0], [116.0, -500.0, 200.0], [0.0, 0.0, -200.0]], np.float32)
_LAB_OFFSET = np.array([-16.0, 0.0, 0.0], np.float32)
_LAB_TO_F = np.linalg.inv(_F_TO_LAB).astype(np.float32)

_EPSILON = 0.008856  # (6/29)^3 as skimage writes it
_KAPPA = 7.787
_F_EPSILON = 0.2068966  # cube root of _EPSILON, as skimage writes it

_RGB_TO_YUV = np.array(
    [[0.299, -0.14714119, 0.61497538], [0.587, -0.28886916, -0.51496512], [0.114, 0.43601035, -0.10001026]],
    np.float32,
)
_YUV_TO_RGB = np.linalg.inv(_RGB_TO_YUV).astype(np.float32)


# Speed (CPU): tf.pow, tf.where and per-channel slicing are each several times slower than
# exp(log) and a 0/1 mask blend; see BENCHMARKS.md ("Data pipeline").


def _apply_matrix(x, matrix):
    """Multiply the last (channel) axis of ``x`` by a 3x3 matrix (row vectors).

    Written as three broadcast multiply-adds, not ``tf.tensordot``: tensordot's reshapes went
    wrong for batches of another size than the traced one inside the XLA-compiled converter.
    """
    m = tf.constant(matrix, dtype=x.dtype)
    return x[..., 0:1] * m[0] + x[..., 1:2] * m[1] + x[..., 2:3] * m[2]


def _power(x, exponent):
    """``x ** exponent`` for positive ``x``, as ``exp(exponent * log(x))``."""
    return tf.exp(exponent * tf.math.log(x))


def _select(condition, if_true, if_false):
    """``tf.where`` for two finite branches, as an arithmetic blend."""
    return if_false + tf.cast(condition, if_true.dtype) * (if_true - if_false)


def _srgb_to_linear(rgb):
    rgb = tf.minimum(tf.maximum(rgb, 0.0), 1.0)
    return _select(rgb > 0.04045, _power((rgb + 0.055) / 1.055, 2.4), rgb / 12.92)


def _linear_to_srgb(linear):
    linear = tf.maximum(linear, 0.0)
    curve = 1.055 * _power(tf.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055
    return tf.clip_by_value(_select(linear > 0.0031308, curve, linear * 12.92), 0.0, 1.0)


def _lab_f(xyz):
    """CIELAB's companding function of white-normalised X, Y or Z."""
    cube_root = _power(tf.maximum(xyz, _EPSILON), 1.0 / 3.0)
    return _select(xyz > _EPSILON, cube_root, _KAPPA * xyz + 16.0 / 116.0)


def check_unit_floats(array, what):
    """Raise ``ValueError`` if float pixels are NaN or infinite, or lie outside [0, 1] by more than
    FLOAT_SLACK (0-255 data)."""
    low, high = float(array.min()), float(array.max())
    if not (np.isfinite(low) and np.isfinite(high)):  # NaN spreads to both, an infinity reaches one: no extra pass
        count = array.size - np.count_nonzero(np.isfinite(array))
        raise ValueError(f"{what} must be numbers in [0, 1]: {count} are NaN or infinite")
    if low < -FLOAT_SLACK or high > 1.0 + FLOAT_SLACK:
        raise ValueError(
            f"{what} must be in [0, 1], got values from {low:g} to {high:g} (0-255 data: divide by 255 or pass uint8)"
        )


def _check_channels(values, channels, what):
    """Raise ``ValueError`` unless the last axis of ``values`` holds ``channels`` (when known)."""
    if values.shape.rank == 0 or (values.shape.rank is not None and values.shape[-1] not in (None, channels)):
        raise ValueError(f"{what} must hold {channels} channels on the last axis, got shape {tuple(values.shape)}")


def _float32(values, what):
    """``values`` as a float32 tensor; float tensors of any precision are cast, integers refused."""
    values = tf.convert_to_tensor(values)
    if not values.dtype.is_floating:
        raise ValueError(f"{what} must be floats, got {values.dtype.name}")
    return tf.cast(values, tf.float32)


def _unit_rgb(rgb):
    """sRGB as float32 in [0, 1]: uint8 and uint16 are scaled by their largest value, floats cast
    (and, outside a traced function, checked: 0-255 floats would silently turn white)."""
    rgb = tf.convert_to_tensor(rgb)
    _check_channels(rgb, 3, "sRGB")
    if rgb.dtype in (tf.uint8, tf.uint16):
        return tf.image.convert_image_dtype(rgb, tf.float32)
    rgb = _float32(rgb, "sRGB values other than uint8 and uint16")
    if tf.executing_eagerly():
        check_unit_floats(rgb.numpy(), "sRGB floats")
    return rgb


_UINT8_LEVELS = np.arange(256) / 255.0
# Linear value of each uint8 sRGB level, computed in float64.
_UINT8_TO_LINEAR = np.where(
    _UINT8_LEVELS > 0.04045, ((_UINT8_LEVELS + 0.055) / 1.055) ** 2.4, _UINT8_LEVELS / 12.92
).astype(np.float32)


def _linear_rgb(rgb):
    """sRGB (floats in [0, 1], or uint8 / uint16) -> linear RGB in [0, 1].

    uint8 levels are looked up in a 256-entry table: a third cheaper per batch than the power
    curve the tf.data pipeline would otherwise run on every pixel (BENCHMARKS.md, "Data pipeline").
    """
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        _check_channels(rgb, 3, "sRGB")
        return tf.gather(tf.constant(_UINT8_TO_LINEAR), tf.cast(rgb, tf.int32))
    return _srgb_to_linear(_unit_rgb(rgb))


def rgb_to_lab(rgb):
    """sRGB (floats in [0, 1], or uint8 / uint16) -> CIELAB (L in [0, 100], a and b in about [-128, 127])."""
    xyz = _apply_matrix(_linear_rgb(rgb), _RGB_TO_XYZN)
    return _apply_matrix(_lab_f(xyz), _F_TO_LAB) + _LAB_OFFSET


def _lab_to_linear_rgb(lab):
    """CIELAB -> linear RGB, not clipped."""
    f = _apply_matrix(lab - _LAB_OFFSET, _LAB_TO_F)
    f = tf.concat([f[..., :2], tf.maximum(f[..., 2:], 0.0)], axis=-1)
    xyz = _select(f > _F_EPSILON, f * f * f, (f - 16.0 / 116.0) / _KAPPA)
    return _apply_matrix(xyz, _XYZN_TO_RGB)


def lab_to_rgb(lab):
    """CIELAB -> sRGB in [0, 1]; out-of-gamut colours are clipped to [0, 1]."""
    lab = _float32(lab, "Lab values")
    _check_channels(lab, 3, "Lab")
    return _linear_to_srgb(_lab_to_linear_rgb(lab))


def rgb_to_yuv(rgb):
    """sRGB (floats in [0, 1], or uint8 / uint16) -> YUV (Y in [0, 1], U in [-U_MAX, U_MAX], V in [-V_MAX, V_MAX])."""
    return _apply_matrix(_unit_rgb(rgb), _RGB_TO_YUV)


def yuv_to_rgb(yuv):
    """YUV -> sRGB, clipped to [0, 1]."""
    yuv = _float32(yuv, "YUV values")
    _check_channels(yuv, 3, "YUV")
    rgb = _apply_matrix(yuv, _YUV_TO_RGB)
    return tf.clip_by_value(rgb, 0.0, 1.0)


def check_color_space(color_space):
    """Raise ``ValueError`` unless ``color_space`` is one of :data:`COLOR_SPACES`."""
    if color_space not in COLOR_SPACES:
        raise ValueError(f"color_space must be one of {COLOR_SPACES}, got {color_space!r}")


def rgb_to_model_input(rgb, color_space="lab"):
    """sRGB (floats in [0, 1], or uint8 / uint16) -> ``(luminance, chroma)`` normalised as the models expect.

    Returns ``(L / L_SCALE, ab / AB_SCALE)`` for ``"lab"`` and ``(Y, UV / (U_MAX, V_MAX))``
    for ``"yuv"``; shapes ``(..., 1)`` and ``(..., 2)``.
    """
    check_color_space(color_space)
    if color_space == "lab":
        lab = rgb_to_lab(rgb)
        return lab[..., :1] / L_SCALE, lab[..., 1:] / AB_SCALE
    yuv = rgb_to_yuv(rgb)
    return yuv[..., :1], yuv[..., 1:] / tf.constant([U_MAX, V_MAX])


def model_output_to_rgb(luminance, chroma, color_space="lab"):
    """Inverse of :func:`rgb_to_model_input`: normalised luminance and chroma -> sRGB in [0, 1]."""
    check_color_space(color_space)
    luminance = _float32(luminance, "luminance")
    chroma = _float32(chroma, "chroma")
    _check_channels(luminance, 1, "luminance")
    _check_channels(chroma, 2, "chroma")
    if color_space == "lab":
        return lab_to_rgb(tf.concat([luminance * L_SCALE, chroma * AB_SCALE], axis=-1))
    return yuv_to_rgb(tf.concat([luminance, chroma * tf.constant([U_MAX, V_MAX])], axis=-1))


def clipped_luminance(luminance, chroma, color_space="lab"):
    """Normalised luminance of ``model_output_to_rgb(luminance, chroma)``: what is left of the
    luminance once the colour is clipped to the sRGB gamut, shape ``(..., 1)``.

    Equal to ``rgb_to_luminance(model_output_to_rgb(luminance, chroma))`` but about five times
    cheaper for Lab: clipping sRGB to [0, 1] is clipping linear RGB to [0, 1], so the sRGB
    transfer curve is skipped both ways.
    """
    check_color_space(color_space)
    if color_space == "yuv":
        return rgb_to_luminance(model_output_to_rgb(luminance, chroma, "yuv"), "yuv")
    lab = tf.concat([luminance * L_SCALE, chroma * AB_SCALE], axis=-1)
    linear = tf.clip_by_value(_lab_to_linear_rgb(lab), 0.0, 1.0)
    y = tf.reduce_sum(linear * _RGB_TO_XYZN[:, 1], axis=-1, keepdims=True)
    return (116.0 * _lab_f(y) - 16.0) / L_SCALE


def rgb_to_luminance(rgb, color_space="lab"):
    """The normalised luminance channel alone (L / L_SCALE or Y), shape ``(..., 1)``."""
    check_color_space(color_space)
    if color_space == "lab":
        return rgb_to_lab(rgb)[..., :1] / L_SCALE
    return rgb_to_yuv(rgb)[..., :1]
