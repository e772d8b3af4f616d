"""Recipes, atomic checkpoints, train() runs, kill-and-resume and MirroredStrategy."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

import colorzoo
from colorzoo import files, training
from tests.photos import write_photo_folder

TINY = {"width": 0.125}


def test_compile_model_uses_the_report_recipe():
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    training.compile_model(model)
    assert isinstance(model.optimizer, keras.optimizers.Adamax)
    training.compile_model(model, optimizer="rmsprop", learning_rate=0.01)
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_save_atomically_leaves_only_the_file(tmp_path):
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    path = tmp_path / "model.keras"
    training.save_atomically(model, str(path))
    assert os.listdir(tmp_path) == ["model.keras"]
    assert keras.models.load_model(path).count_params() == model.count_params()


def test_get_strategy_rejects_unknown_names():
    with pytest.raises(ValueError, match="strategy"):
        training.get_strategy("horovod")


def _log_epochs(out_dir):
    with open(os.path.join(out_dir, "log.csv")) as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


@pytest.mark.slow
def test_train_writes_checkpoints_logs_and_samples_then_resumes(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=6)
    val = write_photo_folder(str(tmp_path / "val"), size=40, count=2)
    out = str(tmp_path / "run")
    history = training.train(
        "unet_sequential", data, val=val, image_size=32, batch_size=2, epochs=2, out_dir=out,
        model_kwargs=TINY, verbose=0,
    )
    assert {"loss", "val_loss", "val_psnr", "val_ssim"} <= set(history.history)
    for name in ("best.keras", "last.keras", "log.csv", "run.json", "samples/epoch_002.png"):
        assert os.path.exists(os.path.join(out, name)), name
    assert _log_epochs(out) == [0, 1]
    assert colorzoo.hub.load_model(os.path.join(out, "best.keras")).name == "unet_sequential"
    with pytest.raises(FileExistsError):
        training.train("unet_sequential", data, image_size=32, batch_size=2, epochs=1, out_dir=out, model_kwargs=TINY)
    training.train(
        "unet_sequential", data, val=val, image_size=32, batch_size=2, epochs=3, out_dir=out, resume=True,
        model_kwargs=TINY, verbose=0,
    )
    assert _log_epochs(out) == [0, 1, 2]  # resuming a finished run continues after its last epoch


@pytest.mark.slow
def test_sigkill_during_training_resumes_without_repeating_epochs(tmp_path):
    write_photo_folder(str(tmp_path / "train"), size=40, count=8)
    out = str(tmp_path / "run")
    command = [
        sys.executable, "-m", "colorzoo.cli", "train", "--model", "unet_sequential", "--data", str(tmp_path / "train"),
        "--image-size", "32", "--batch-size", "2", "--epochs", "8", "--width", "0.125", "--out", out,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if os.path.exists(os.path.join(out, "log.csv")) and len(_log_epochs(out)) >= 2:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = _log_epochs(out)
    assert 2 <= len(finished) < 8
    result = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    epochs = _log_epochs(out)
    assert epochs == sorted(set(epochs)) and epochs[-1] == 7, epochs
    assert epochs[: len(finished)] == finished
    leftovers = [name for folder in (out, os.path.join(out, "backup")) for name in os.listdir(folder) if name.startswith(files.TEMPORARY_PREFIX)]
    assert not leftovers
    assert colorzoo.hub.load_model(os.path.join(out, "last.keras")).name == "unet_sequential"


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import sys, json
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np, colorzoo
    from colorzoo.training import compile_model
    from tests.conftest import sample_batch
    luminance, chroma = sample_batch(32, count=4)
    losses = {}
    for label, strategy in (("one", tf.distribute.get_strategy()), ("mirrored", tf.distribute.MirroredStrategy())):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
            compile_model(model, optimizer="sgd", learning_rate=0.05)
        data = tf.data.Dataset.from_tensor_slices((luminance, chroma)).batch(4)
        history = model.fit(data, epochs=5, verbose=0)
        losses[label] = history.history["loss"]
        losses[label + "_replicas"] = strategy.num_replicas_in_sync
    print(json.dumps(losses))
    """
)


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpus_matches_one_device():
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True, timeout=300,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    losses = json.loads(result.stdout.strip().splitlines()[-1])
    assert losses["mirrored_replicas"] == 2
    np.testing.assert_allclose(losses["mirrored"], losses["one"], rtol=1e-3)


@pytest.mark.slow
def test_train_gan_recipe_saves_the_generator_and_resumes(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=4)
    out = str(tmp_path / "run")
    history = training.train(
        "pix2pix", data, val=data, image_size=32, batch_size=2, epochs=1, out_dir=out, model_kwargs=TINY, verbose=0
    )
    assert {"d_loss", "g_loss", "val_l1", "val_psnr"} <= set(history.history)
    generator = colorzoo.hub.load_model(os.path.join(out, "best.keras"))
    assert generator.name == "pix2pix" and generator.output_shape == (None, 32, 32, 2)
    training.train(
        "pix2pix", data, val=data, image_size=32, batch_size=2, epochs=2, out_dir=out, resume=True,
        model_kwargs=TINY, verbose=0,
    )
    assert _log_epochs(out) == [0, 1]


def test_trainer_options_reach_the_gan_trainer_and_run_json(tmp_path):
    assert training.trainer_options("pix2pix") == (
        "l1_weight", "adversarial_weight", "chroma_weight", "discriminator_width"
    )
    assert "colourfulness_weight" in training.trainer_options("ddcolor_lite")
    assert training.trainer_options("unet_sequential") == ()
    generator = colorzoo.build_model("pix2pix", image_size=32, **TINY)
    trainer = training.make_trainable(generator, l1_weight=10.0, adversarial_weight=2.0)
    assert (trainer.l1_weight, trainer.adversarial_weight) == (10.0, 2.0)
    assert trainer.extra_generator_losses == {}  # the paper's generator loss: L1 + adversarial only
    colourful = training.make_trainable(generator, chroma_weight=30.0)
    assert colourful.extra_generator_losses["chroma_shortfall"][0] == 30.0

    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    out = str(tmp_path / "run")
    training.train(
        "pix2pix", data, image_size=32, batch_size=2, epochs=1, out_dir=out, model_kwargs=TINY,
        trainer_kwargs={"l1_weight": 10.0}, verbose=0,
    )
    with open(os.path.join(out, "run.json")) as handle:
        assert json.load(handle)["trainer_kwargs"] == {"l1_weight": 10.0}


@pytest.mark.parametrize(
    "name, adversarial, options, message",
    [
        ("pix2pix", True, {"perceptual_weight": 1.0}, "pix2pix's trainer has no option ['perceptual_weight']"),
        ("ddcolor_lite", False, {"pixel_weight": 1.0}, "its L1 stage (adversarial=False) has no GAN trainer"),
        ("resnet18_decoder", True, {"l1_weight": 1.0}, "it is not a GAN"),
    ],
)
def test_wrong_trainer_options_fail_before_the_run_starts(tmp_path, name, adversarial, options, message):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=re.escape(message)):
        training.train(name, str(tmp_path), out_dir=str(out), adversarial=adversarial, trainer_kwargs=options)
    assert not out.exists()


def test_validation_length_is_known_and_an_all_gray_folder_is_refused(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=4)
    val = tmp_path / "val"
    write_photo_folder(str(val), size=40, count=3)
    Image.fromarray(np.full((40, 40), 90, np.uint8)).save(val / "gray.png")  # dropped: 3 photos, 2 batches
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = training.train(
            "unet_sequential", data, val=str(val), image_size=32, batch_size=2, epochs=1, steps_per_epoch=2,
            out_dir=str(tmp_path / "run"), model_kwargs=TINY, verbose=0,
        )
    assert "val_loss" in history.history
    assert not [warning for warning in caught if "ran out of data" in str(warning.message)]

    gray_only = tmp_path / "gray_only"
    gray_only.mkdir()
    Image.fromarray(np.full((40, 40), 90, np.uint8)).save(gray_only / "gray.png")
    with pytest.raises(ValueError, match="no colour photos to validate on"):
        training.train("unet_sequential", data, val=str(gray_only), image_size=32, out_dir=str(tmp_path / "run2"))
