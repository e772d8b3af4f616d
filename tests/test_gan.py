"""GANTrainer: fit updates both networks, validation, extra losses, distribution, the artifact."""

import os
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import colorzoo
from colorzoo.gan import GANTrainer, pix2pix_trainer, pretrain_generator
from colorzoo.models.pix2pix import patchgan_discriminator
from tests.conftest import sample_batch

SIZE = 32
WIDTH = 0.125
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_dataset(count=2):
    luminance, ab = sample_batch(SIZE, count=count)
    return tf.data.Dataset.from_tensor_slices((luminance, ab)).batch(1)


@pytest.fixture(scope="module")
def trained():
    """A tiny pix2pix trainer, its weights before, and the history of 3 GAN steps."""
    trainer = pix2pix_trainer(image_size=SIZE, width=WIDTH)
    # Trainable weights only: BatchNorm's moving statistics change in any forward pass, updated or not.
    networks = (trainer.generator, trainer.discriminator)
    before = tuple([weight.numpy().copy() for weight in network.trainable_weights] for network in networks)
    history = trainer.fit(tiny_dataset().repeat(), steps_per_epoch=3, epochs=1, shuffle=False, verbose=0)
    return trainer, before, history.history


def test_fit_gives_finite_losses(trained):
    _, _, history = trained
    assert set(history) == {"d_loss", "g_loss", "g_adversarial", "l1"}
    assert all(np.isfinite(values).all() for values in history.values())


def test_fit_changes_generator_and_discriminator(trained):
    trainer, (generator_before, discriminator_before), _ = trained
    for before, after in ((generator_before, trainer.generator), (discriminator_before, trainer.discriminator)):
        assert all(not np.allclose(old, new.numpy()) for old, new in zip(before, after.trainable_weights, strict=True))


def test_generator_is_the_artifact(trained, tmp_path):
    trainer, _, _ = trained
    luminance, _ = sample_batch(SIZE)
    path = str(tmp_path / "pix2pix.keras")
    trainer.generator.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    assert restored.name == "pix2pix"
    expected = trainer(luminance, training=False)
    np.testing.assert_allclose(restored.predict(luminance, verbose=0), expected, atol=1e-5)


def test_backup_and_restore_resumes_both_optimizers_without_warnings(tmp_path):
    backup = str(tmp_path / "backup")
    first = pix2pix_trainer(image_size=SIZE, width=WIDTH)
    first.fit(
        tiny_dataset(), epochs=1, shuffle=False, verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)],
    )
    resumed = pix2pix_trainer(image_size=SIZE, width=WIDTH)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = resumed.fit(
            tiny_dataset(), epochs=2, shuffle=False, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup)]
        )
    assert not [str(warning.message) for warning in caught if "optimizer" in str(warning.message)]
    assert len(history.history["g_loss"]) == 1  # epoch 1 came from the backup
    assert int(resumed.generator_optimizer.iterations) == int(resumed.discriminator_optimizer.iterations) == 4


def test_evaluate_reports_l1_of_the_generator(trained):
    trainer, _, _ = trained
    luminance, ab = sample_batch(SIZE)
    logs = trainer.evaluate(tiny_dataset(), return_dict=True, verbose=0)
    expected_l1 = np.abs(ab - trainer.generator.predict(luminance, verbose=0)).mean()
    assert logs["l1"] == pytest.approx(expected_l1, rel=1e-4)
    assert logs["g_loss"] == pytest.approx(logs["g_adversarial"] + 100.0 * logs["l1"], rel=1e-5)


def test_sample_weights_are_refused_not_ignored(trained):
    trainer, _, _ = trained
    luminance, ab = sample_batch(SIZE, count=2)
    with pytest.raises(ValueError, match="does not weight samples"):
        trainer.evaluate(luminance, ab, sample_weight=np.array([1.0, 0.0]), verbose=0)
    with pytest.raises(ValueError, match="does not weight samples"):
        trainer.fit(luminance, ab, sample_weight=np.array([1.0, 0.0]), epochs=1, verbose=0)


def test_report_defaults():
    trainer = pix2pix_trainer(image_size=SIZE, width=WIDTH)
    assert trainer.l1_weight == 100.0 and trainer.adversarial_weight == 1.0
    for optimizer in (trainer.generator_optimizer, trainer.discriminator_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam) and optimizer.beta_1 == 0.5
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
    assert trainer.discriminator.name == "patchgan"
    assert trainer.discriminator.get_layer("block1_conv").filters == trainer.generator.get_layer("enc1_conv").filters


def test_registry_recipe_names_the_trainer():
    generator = colorzoo.build_model("pix2pix", image_size=SIZE, width=WIDTH)
    trainer = colorzoo.model_info("pix2pix").recipe["trainer"](generator, learning_rate=1e-4)
    assert isinstance(trainer, GANTrainer) and trainer.generator is generator
    assert float(trainer.generator_optimizer.learning_rate) == pytest.approx(1e-4)


def test_extra_generator_losses_are_weighted_into_the_generator_loss():
    def mean_chroma(ab_true, ab_pred, luminance):
        return keras.ops.mean(keras.ops.abs(ab_pred))

    trainer = pix2pix_trainer(
        image_size=SIZE, width=WIDTH, l1_weight=10.0, extra_generator_losses={"chroma": (2.0, mean_chroma)}
    )
    logs = trainer.evaluate(tiny_dataset(), return_dict=True, verbose=0)
    assert logs["g_loss"] == pytest.approx(logs["g_adversarial"] + 10.0 * logs["l1"] + 2.0 * logs["chroma"], rel=1e-5)


def test_extra_losses_may_not_shadow_the_built_in_ones():
    generator = colorzoo.build_model("pix2pix", image_size=SIZE, width=WIDTH)
    with pytest.raises(ValueError, match="reuse"):
        GANTrainer(generator, patchgan_discriminator(SIZE, WIDTH), extra_generator_losses={"l1": (1.0, None)})


def test_pretrain_generator_is_the_l1_stage():
    generator = colorzoo.build_model("pix2pix", image_size=SIZE, width=WIDTH)
    history = pretrain_generator(generator, tiny_dataset(), epochs=1, verbose=0)
    assert generator.loss == "mae" and generator.optimizer.beta_1 == 0.5
    assert np.isfinite(history.history["loss"]).all()


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from colorzoo.gan import GANTrainer
    from colorzoo.losses import ChromaShortfallLoss, ColourfulnessLoss, with_luminance

    def train(strategy, luminance, ab):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            inputs = keras.Input((8, 8, 1))
            generator = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(inputs))
            pair = [keras.Input((8, 8, 1)), keras.Input((8, 8, 2))]
            discriminator = keras.Model(pair, keras.layers.Conv2D(1, 3)(keras.layers.Concatenate()(pair)))
            extra = {
                "mean_ab": (3.0, lambda true, pred, lum: keras.ops.mean(pred)),  # a scalar: every image's
                "chroma_shortfall": (2.0, with_luminance(ChromaShortfallLoss())),  # Keras losses: per image
                "colourfulness": (0.5, with_luminance(ColourfulnessLoss())),
            }
            trainer = GANTrainer(generator, discriminator, extra_generator_losses=extra)
            trainer.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        data = tf.data.Dataset.from_tensor_slices((luminance, ab)).batch(4)
        logs = trainer.fit(data, epochs=1, verbose=0).history
        return generator.get_weights() + discriminator.get_weights(), logs

    rng = np.random.default_rng(0)
    luminance = rng.uniform(size=(7, 8, 8, 1)).astype("float32")  # batches of 4 and 3: replicas of 2 + 2, 2 + 1
    ab = rng.uniform(-1, 1, size=(7, 8, 8, 2)).astype("float32")
    single, single_logs = train(tf.distribute.get_strategy(), luminance, ab)
    mirrored, mirrored_logs = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), luminance, ab)
    assert max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored)) < 1e-5
    for name, values in single_logs.items():
        np.testing.assert_allclose(mirrored_logs[name], values, rtol=1e-5)
    print("MIRRORED_OK")
    """
)


@pytest.mark.slow
def test_mirrored_strategy_step_equals_single_device_step():
    """Two SGD steps on global batches of 4 and 3 over 2 replicas equal the same steps on one device,
    with extra losses that are Keras losses (which scale themselves for distribution when called).

    SGD (not Adam, whose first step ignores the gradient scale) shows any wrong loss scaling;
    before, the Keras-loss extras weighed half (1 / replicas^2) and logged half, and a batch split
    2 + 1 stepped 1-2 % off.
    """
    python_path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": python_path, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], env=environment, capture_output=True, text=True, timeout=300
    )
    assert "MIRRORED_OK" in result.stdout, result.stderr[-3000:]


def test_gan_trainer_refuses_wrong_weights_networks_and_sizes_when_made():
    """Before: a str weight failed inside the train step ("Expected float32"), a bare loss function
    with "cannot unpack", and networks of two sizes in fit."""
    from colorzoo.losses import ColourfulnessLoss, with_luminance

    generator = colorzoo.build_model("pix2pix", image_size=32, width=0.125)
    discriminator = patchgan_discriminator(32, 0.125)
    for wrong in ("100", float("nan"), -1.0):
        with pytest.raises(ValueError, match="l1_weight must be a weight of at least 0"):
            GANTrainer(generator, discriminator, l1_weight=wrong)
    with pytest.raises(ValueError, match=r"colourfulness \(extra_generator_losses: name -> \(weight, fn\)\) must be a weight"):
        GANTrainer(generator, discriminator, extra_generator_losses={"colourfulness": with_luminance(ColourfulnessLoss())})
    with pytest.raises(ValueError, match="the generator and the discriminator take other image sizes"):
        GANTrainer(generator, patchgan_discriminator(64, 0.125))
    with pytest.raises(TypeError, match="GANTrainer's discriminator must be a built keras.Model, got None"):
        GANTrainer(generator, None)
    with pytest.raises(TypeError, match="pix2pix_trainer's generator must be a built keras.Model or None, got 'pix2pix'"):
        pix2pix_trainer("pix2pix")
