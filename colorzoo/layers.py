"""Custom layers shared by several architectures, written with ``keras.ops``.

Every layer is registered as serializable, so models holding them save to ``.keras``
and load with ``safe_mode=True`` once ``colorzoo`` is imported.
"""

import keras
from keras import ops

# ImageNet BGR channel means of the Caffe VGG16 ("caffe" preprocessing of keras.applications).
VGG_BGR_MEANS = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="colorzoo")
class GrayToVGGInput(keras.layers.Layer):
    """Normalised luminance (L / 100 or Y, in [0, 1]) -> VGG16 "caffe" input.

    The normalised luminance is scaled linearly to [0, 255], replicated to three BGR channels
    and the ImageNet channel means are subtracted, as ``keras.applications.vgg16.preprocess_input``
    does for a gray RGB image. For Lab the linear scale is not the sRGB gray of that lightness
    (L* 50: 127.5 against 118.9; :class:`colorzoo.models.ddcolor_lite.LuminanceToGrayRGB` gives that): the shipped models
    were trained with this layer, so it stays as it is.

    Example:

    >>> vgg_input = GrayToVGGInput()(keras.Input((224, 224, 1)))
    """

    def call(self, luminance):
        gray = ops.cast(luminance, self.compute_dtype) * 255.0
        means = ops.convert_to_tensor(VGG_BGR_MEANS, dtype=self.compute_dtype)
        return ops.concatenate([gray, gray, gray], axis=-1) - means

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


@keras.saving.register_keras_serializable(package="colorzoo")
class ScaleLuminance(keras.layers.Layer):
    """Scale and shift the input by constants (e.g. L / 100 -> L - 50 centred, or [0, 1] -> [-1, 1]).

    ``output = input * scale + offset``. Used where an architecture expects its input on a
    different scale than colorzoo's normalised L.

    Example:

    >>> centred = ScaleLuminance(scale=2.0, offset=-1.0)(keras.Input((64, 64, 1)))
    """

    def __init__(self, scale=1.0, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs):
        return ops.cast(inputs, self.compute_dtype) * self.scale + self.offset

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
