"""Conditional GAN training of a colorization generator, with ``fit`` (keras-io style).

The report's two-stage recipe for pix2pix:

1. L1 pretraining of the generator alone: :func:`pretrain_generator`, which is
   ``compile_model(generator); generator.fit(...)`` with the registry recipe (Adam 2e-4,
   beta_1 0.5, mean absolute error).
2. Adversarial training: :class:`GANTrainer` wraps the generator and a PatchGAN discriminator;
   its ``train_step`` updates both with two ``GradientTape`` s on the same batch.

The trainer is not the artifact: ``trainer.generator`` is the model to save.

Example:

>>> generator = build_model("pix2pix", image_size=256)
>>> pretrain_generator(generator, train_data, epochs=5)            # stage 1, L1 alone
>>> trainer = pix2pix_trainer(generator)                           # stage 2, Adam 2e-4 / 0.5 for both
>>> trainer.fit(train_data, validation_data=val_data, epochs=20)   # logs d_loss, g_loss, l1, ...
>>> trainer.generator.save("pix2pix.keras")
"""

import math
import numbers

import keras
import tensorflow as tf
from keras import ops

from colorzoo.models import build_model
from colorzoo.models.pix2pix import L1_WEIGHT, patchgan_discriminator
from colorzoo.training import compile_model, fit_dataset, loss_scaled

LEARNING_RATE = 2e-4
BETA_1 = 0.5


def _unweighted(data):
    """``(luminance, ab)`` of a batch; sample weights are refused rather than silently ignored."""
    luminance, ab, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if sample_weight is not None:
        raise ValueError("the GAN trainer does not weight samples: drop sample_weight (or the dataset's third element)")
    return luminance, ab


def _per_image(values):
    """The mean of ``values`` ``(B, ...)`` over all but the batch axis, shape ``(B,)``."""
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1) if len(values.shape) > 1 else values


def _check_weight(what, weight, given):
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0 <= weight < math.inf:
        raise ValueError(f"GANTrainer: {what} must be a weight of at least 0, got {given!r}")


class GANTrainer(keras.Model):
    """Trains ``generator`` (L -> ab) against a conditional ``discriminator`` ((L, ab) -> logits).

    The discriminator minimises the binary cross-entropy of its logits on real (L, ab) pairs
    (label 1) and on (L, G(L)) (label 0), halved as in the pix2pix paper. The generator
    minimises ``adversarial_weight * BCE(D(L, G(L)), 1) + l1_weight * |ab - G(L)|`` plus any
    extra weighted losses. Each replica sums its images' losses and divides by the global batch
    size (the images of all replicas), so under ``tf.distribute`` (whose optimizers sum gradients
    over replicas) each step follows the mean over the global batch, also when the replicas'
    shares differ.

    Logged: ``d_loss``, ``g_loss`` (the generator's total), ``g_adversarial``, ``l1`` and each
    extra loss by name; ``evaluate`` and validation report the same without updating (as
    ``val_l1``, ...).

    Args:
        generator: a functional model, normalised L (B, H, W, 1) -> normalised ab (B, H, W, 2).
        discriminator: a model taking ``[luminance, ab]`` and returning logits of any shape
            (one per image or per patch).
        l1_weight: weight of the L1 term (the paper's lambda = 100).
        extra_generator_losses: dict name -> ``(weight, fn)``, ``fn(ab_true, ab_pred, luminance)``
            returning the loss of each image, shape ``(B,)`` or ``(B, ...)`` (averaged per image;
            e.g. :func:`colorzoo.losses.with_luminance` of a perceptual or colourfulness loss);
            a scalar is taken as every image's loss.
        real_chroma: ``fn(luminance, ab)`` -> the ab the discriminator sees as real (e.g.
            DDColor's :func:`~colorzoo.models.ddcolor_lite.colour_enhanced`); default the true ab.

    Example:

    >>> trainer = GANTrainer(build_model("pix2pix"), patchgan_discriminator(256))
    >>> trainer.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    >>> trainer.fit(dataset_of_luminance_and_ab, epochs=10)
    """

    def __init__(self, generator, discriminator, l1_weight=L1_WEIGHT, extra_generator_losses=None, real_chroma=None,
                 **kwargs):
        super().__init__(**kwargs)
        for network, role in ((generator, "generator"), (discriminator, "discriminator")):
            if not isinstance(network, keras.Model):
                raise TypeError(f"GANTrainer's {role} must be a built keras.Model, got {network!r}")
        judged = discriminator.input_shape
        judged = judged[0] if isinstance(judged, list) else judged  # [luminance, ab]: the first
        sizes = {tuple(generator.input_shape[1:3]), tuple(judged[1:3])}
        if len(sizes) > 1 and all(None not in size for size in sizes):
            raise ValueError(f"the generator and the discriminator take other image sizes: {sorted(sizes)}")
        _check_weight("l1_weight", l1_weight, l1_weight)
        for name, entry in (extra_generator_losses or {}).items():
            weight = entry[0] if isinstance(entry, tuple) and len(entry) == 2 else None
            _check_weight(f"{name} (extra_generator_losses: name -> (weight, fn))", weight, entry)
        self.generator = generator
        self.discriminator = discriminator
        self.l1_weight = l1_weight
        self.extra_generator_losses = dict(extra_generator_losses or {})
        self.real_chroma = real_chroma
        names = ["d_loss", "g_loss", "g_adversarial", "l1", *self.extra_generator_losses]
        if len(set(names)) != len(names):
            raise ValueError(f"extra_generator_losses may not reuse the names {names[:4]}")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        # Both networks are built functional models, so the trainer is too: fit's callbacks
        # (BackupAndRestore) may save and restore it before the first step.
        self.built = True

    def compile(self, generator_optimizer, discriminator_optimizer, adversarial_weight=1.0, **kwargs):
        """Set both optimizers and the adversarial weight; other arguments go to ``Model.compile``.

        Where a network computes in float16 its optimizer is wrapped for loss scaling
        (:class:`colorzoo.training.ReplicaSafeLossScaleOptimizer`).
        Call it inside the strategy's scope when training distributed.
        """
        super().compile(**kwargs)
        # Model.optimizer never steps (train_step uses the two below). Built empty, it is saved
        # as such; left unbuilt, BackupAndRestore would build it over every variable on resume
        # and warn that the backup's does not match.
        self.optimizer.build([])
        optimizers = []
        for optimizer, model in ((generator_optimizer, self.generator), (discriminator_optimizer, self.discriminator)):
            optimizer = loss_scaled(optimizer, model)
            optimizer.build(model.trainable_variables)  # here, in the strategy's scope, not in a replica
            optimizers.append(optimizer)
        self.generator_optimizer, self.discriminator_optimizer = optimizers
        self.adversarial_weight = adversarial_weight

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, luminance, training=None):
        return self.generator(luminance, training=training)

    def _gan_losses(self, luminance, ab, training):
        """Every loss term of each image of this replica's batch, as a dict of ``(B,)`` tensors."""
        fake_ab = ops.cast(self.generator(luminance, training=training), "float32")
        real_ab = ab if self.real_chroma is None else self.real_chroma(luminance, ab)
        real_logits = ops.cast(self.discriminator([luminance, real_ab], training=training), "float32")
        fake_logits = ops.cast(self.discriminator([luminance, fake_ab], training=training), "float32")

        def cross_entropy(logits, label):
            return _per_image(ops.binary_crossentropy(ops.full_like(logits, label), logits, from_logits=True))

        losses = {
            "d_loss": 0.5 * (cross_entropy(real_logits, 1.0) + cross_entropy(fake_logits, 0.0)),
            "g_adversarial": cross_entropy(fake_logits, 1.0),
            "l1": _per_image(ops.abs(ops.cast(ab, "float32") - fake_ab)),
        }
        losses["g_loss"] = self.adversarial_weight * losses["g_adversarial"] + self.l1_weight * losses["l1"]
        images = ops.ones_like(losses["l1"])
        for name, (weight, loss_fn) in self.extra_generator_losses.items():
            values = ops.cast(loss_fn(ab, fake_ab, luminance), "float32")
            losses[name] = images * values if len(values.shape) == 0 else _per_image(values)
            losses["g_loss"] = losses["g_loss"] + weight * losses[name]
        return losses

    def _update_trackers(self, losses):
        for name, tracker in self.trackers.items():
            tracker.update_state(losses[name])  # means over the images of every replica
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        luminance, ab = _unweighted(data)
        # The optimizers sum the replicas' gradients: each replica's share of the global batch mean.
        global_batch = tf.distribute.get_replica_context().all_reduce("sum", ops.cast(ops.shape(luminance)[0], "float32"))
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            losses = self._gan_losses(luminance, ab, training=True)
            generator_loss = self.generator_optimizer.scale_loss(ops.sum(losses["g_loss"]) / global_batch)
            discriminator_loss = self.discriminator_optimizer.scale_loss(ops.sum(losses["d_loss"]) / global_batch)
        for tape, loss, model, optimizer in (
            (generator_tape, generator_loss, self.generator, self.generator_optimizer),
            (discriminator_tape, discriminator_loss, self.discriminator, self.discriminator_optimizer),
        ):
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return self._update_trackers(losses)

    def test_step(self, data):
        luminance, ab = _unweighted(data)
        return self._update_trackers(self._gan_losses(luminance, ab, training=False))


def pretrain_generator(generator, dataset, epochs=1, name=None, learning_rate=None, **fit_kwargs):
    """Stage 1 of the two-stage recipe: train ``generator`` alone with its registry recipe (L1).

    ``name`` picks another registry recipe (default: ``generator.name``); other keyword
    arguments go to ``fit`` (``validation_data``, ``callbacks``, ...). Returns the ``History``.

    Example:

    >>> pretrain_generator(build_model("pix2pix", backbone="resnet18"), train_data, epochs=5)
    """
    compile_model(generator, name=name, learning_rate=learning_rate)
    return fit_dataset(generator, dataset, epochs=epochs, **fit_kwargs)


def pix2pix_trainer(
    generator=None,
    image_size=256,
    backbone="unet",
    width=1.0,
    discriminator_width=None,
    learning_rate=None,
    l1_weight=L1_WEIGHT,
    adversarial_weight=1.0,
    extra_generator_losses=None,
    **generator_kwargs,
):
    """A compiled :class:`GANTrainer` with the report's optimizers (Adam 2e-4, beta_1 0.5, both).

    Args:
        generator: a built generator; ``None`` builds ``pix2pix(image_size, backbone, width,
            **generator_kwargs)``. A given generator fixes the image size.
        discriminator_width: width of the PatchGAN; ``None`` matches the generator (its first
            convolution's filters / 64).
        learning_rate: both optimizers' learning rate (default 2e-4).
        l1_weight, extra_generator_losses: as :class:`GANTrainer`.
        adversarial_weight: weight of the adversarial term (the paper's 1).

    Build it inside ``strategy.scope()`` to train distributed.

    Example:

    >>> trainer = pix2pix_trainer(image_size=128, width=0.5)
    >>> trainer.fit(train_data, epochs=10)
    >>> trainer.generator.save("pix2pix.keras")
    """
    if generator is None:
        generator = build_model("pix2pix", image_size=image_size, backbone=backbone, width=width, **generator_kwargs)
    elif not isinstance(generator, keras.Model):
        raise TypeError(f"pix2pix_trainer's generator must be a built keras.Model or None, got {generator!r}")
    if discriminator_width is None:
        first_conv = next(layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2D))
        discriminator_width = first_conv.filters / 64
    discriminator = patchgan_discriminator(generator.input_shape[1], width=discriminator_width)
    trainer = GANTrainer(generator, discriminator, l1_weight=l1_weight, extra_generator_losses=extra_generator_losses)
    learning_rate = LEARNING_RATE if learning_rate is None else learning_rate
    trainer.compile(
        keras.optimizers.Adam(learning_rate, beta_1=BETA_1, name="generator_adam"),
        keras.optimizers.Adam(learning_rate, beta_1=BETA_1, name="discriminator_adam"),
        adversarial_weight=adversarial_weight,
    )
    return trainer
