"""Recipes, atomic checkpoints, train() runs, kill-and-resume and MirroredStrategy."""

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
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


def test_compile_model_takes_any_loss_compile_takes():
    """A loss function or lambda is the loss itself (before: called with no arguments, a TypeError)."""
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    for loss in (keras.losses.mean_absolute_error, lambda true, pred: keras.ops.mean(abs(true - pred)), "mae",
                 keras.losses.MeanAbsoluteError()):
        training.compile_model(model, loss=loss)
        assert model.loss is loss
    with pytest.raises(ValueError, match="give the learning rate to the optimizer instance"):
        training.compile_model(model, optimizer=keras.optimizers.SGD(0.1), learning_rate=0.01)


def test_save_atomically_leaves_only_the_file(tmp_path):
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    path = tmp_path / "model.keras"
    training.save_atomically(model, str(path))
    assert os.listdir(tmp_path) == ["model.keras"]
    assert keras.models.load_model(path).count_params() == model.count_params()


def test_get_strategy_rejects_unknown_names():
    with pytest.raises(ValueError, match="strategy"):
        training.get_strategy("horovod")


def test_tpu_strategy_without_a_tpu_says_what_to_do(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.setattr(training, "tpu_attached", lambda: False)
    with pytest.raises(ValueError, match="found no TPU .*Please provide a TPU Name.*Colab.*'mirrored'"):
        training.get_strategy("tpu")


class _FakeTPUClusterResolver:
    """Stands in for TensorFlow's: a Cloud TPU name is needed unless the TPU is ``"local"``."""

    made = []

    def __init__(self, tpu=None):
        if tpu is None:
            raise ValueError("Please provide a TPU Name to connect to.")
        self.made.append(tpu)


def test_tpu_strategy_on_a_tpu_vm_uses_the_attached_tpu_once(monkeypatch):
    """Colab's TPU runtime is a TPU VM: no TPU name, the TPU is local (before: "found no TPU")."""
    import tensorflow as tf

    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.setattr(training, "_STRATEGIES", {})
    monkeypatch.setattr(training, "tpu_attached", lambda: True)
    monkeypatch.setattr(_FakeTPUClusterResolver, "made", [])
    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", _FakeTPUClusterResolver)
    initialised = []
    monkeypatch.setattr(tf.config, "experimental_connect_to_cluster", lambda resolver: None)
    monkeypatch.setattr(tf.tpu.experimental, "initialize_tpu_system", initialised.append)
    monkeypatch.setattr(tf.distribute, "TPUStrategy", lambda resolver: ("tpu strategy", resolver))
    strategy = training.get_strategy("tpu")
    assert _FakeTPUClusterResolver.made == ["local"] and strategy[1] is initialised[0]
    assert training.get_strategy("tpu") is strategy and len(initialised) == 1  # a second init would lose variables


def test_a_named_strategy_is_made_once_per_process(monkeypatch):
    """Two MirroredStrategy objects in one process mix up their collective ops: a name gives one."""
    import tensorflow as tf

    monkeypatch.setattr(training, "_STRATEGIES", {})
    made = []
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", lambda: made.append(object()) or made[-1])
    assert training.get_strategy("mirrored") is training.get_strategy("mirrored") is made[0]
    assert len(made) == 1


def _log_epochs(out_dir):
    with open(os.path.join(out_dir, "log.csv")) as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


@pytest.mark.slow
def test_train_writes_checkpoints_logs_and_samples_then_resumes(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=6)
    val = write_photo_folder(str(tmp_path / "val"), size=40, count=2)
    out = str(tmp_path / "run")
    seen = []
    history = training.train(
        "unet_sequential", data, val=val, image_size=32, batch_size=2, epochs=2, out_dir=out,
        model_kwargs=TINY, keep_epochs=True, verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(sorted(logs)))],
    )
    assert len(seen) == 2 and "val_psnr_over_gray" in seen[0]  # a user's callback sees colorzoo's scores
    assert {"loss", "val_loss", "val_psnr", "val_ssim", "val_psnr_over_gray", "val_colourfulness_ratio"} <= set(
        history.history
    )
    for name in ("best.keras", "last.keras", "log.csv", "run.json", "samples/epoch_002.png", "epochs/epoch_002.keras"):
        assert os.path.exists(os.path.join(out, name)), name
    np.testing.assert_array_equal(
        colorzoo.hub.load_model(training.epoch_checkpoint(out, 2)).get_weights()[0],
        colorzoo.hub.load_model(os.path.join(out, "last.keras")).get_weights()[0],
    )
    assert _log_epochs(out) == [0, 1]
    assert colorzoo.hub.load_model(os.path.join(out, "best.keras")).name == "unet_sequential"
    with pytest.raises(FileExistsError):
        training.train("unet_sequential", data, image_size=32, batch_size=2, epochs=1, out_dir=out, model_kwargs=TINY)
    recorded = open(os.path.join(out, "run.json")).read()
    changed = "changed: image_size 32 -> 256, model_kwargs {'width': 0.125} -> {'width': 0.25}"
    message = re.escape(f"{out}: resume=True (--resume) continues the run with its own settings; {changed}")
    with pytest.raises(ValueError, match=message):
        training.train("unet_sequential", data, epochs=3, out_dir=out, resume=True, model_kwargs={"width": 0.25})
    assert open(os.path.join(out, "run.json")).read() == recorded
    training.train(
        "unet_sequential", data, val=val, image_size=32, batch_size=2, epochs=3, out_dir=out, resume=True,
        model_kwargs=TINY, verbose=0,
    )
    assert _log_epochs(out) == [0, 1, 2]  # resuming a finished run continues after its last epoch
    for changes, change in [
        ({"val": None}, "validation True -> False"),  # best.keras was chosen on validation
        ({"learning_rate": 0.5}, "learning_rate None -> 0.5"),  # the backup restores the optimizer's
    ]:
        options = {"val": val, "image_size": 32, "model_kwargs": TINY, **changes}
        with pytest.raises(ValueError, match=f"changed: {re.escape(change)}$"):
            training.train("unet_sequential", data, epochs=4, out_dir=out, resume=True, **options)


@pytest.mark.slow
def test_a_seeded_run_is_repeatable_and_records_its_seed_and_versions(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=6)
    options = dict(image_size=32, batch_size=2, epochs=2, steps_per_epoch=2, model_kwargs=TINY, verbose=0)

    def run(name, seed):
        keras.utils.set_random_seed(100 + len(os.listdir(tmp_path)))  # whatever came before does not matter
        out = str(tmp_path / name)
        training.train("unet_sequential", data, out_dir=out, seed=seed, **options)
        recorded = json.load(open(os.path.join(out, "run.json")))
        weights = colorzoo.hub.load_model(os.path.join(out, "last.keras")).get_weights()
        return recorded, weights, open(os.path.join(out, "log.csv")).read()

    runs = {"a": run("a", 3), "b": run("b", 3), "drawn": run("drawn", None)}
    runs["again"] = run("again", runs["drawn"][0]["seed"])  # a run given no seed records the one it drew
    for first, second in [("a", "b"), ("drawn", "again")]:  # before: no seed, every tensor differed (by up to 0.9)
        for tensor, other in zip(runs[first][1], runs[second][1]):
            np.testing.assert_array_equal(tensor, other)
        assert runs[first][2] == runs[second][2]  # log.csv
    assert any(not np.array_equal(tensor, other) for tensor, other in zip(runs["a"][1], runs["drawn"][1]))
    assert runs["a"][0]["seed"] == 3 and runs["a"][0]["versions"]["keras"] == keras.__version__
    out = str(tmp_path / "a")
    with pytest.raises(ValueError, match=r"changed: seed 3 -> 5$"):
        training.train("unet_sequential", data, out_dir=out, resume=True, seed=5, **{**options, "epochs": 3})
    training.train("unet_sequential", data, out_dir=out, resume=True, **{**options, "epochs": 3})  # keeps seed 3
    assert json.load(open(os.path.join(out, "run.json")))["seed"] == 3
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed must be a whole number from 0, or None"):
            training.train("unet_sequential", data, out_dir=str(tmp_path / "bad"), seed=bad, **options)


@pytest.mark.slow
@pytest.mark.parametrize("name, options, steps", [
    ("unet_sequential", TINY, 2),  # one stream of batches over the epochs: read past
    ("unet_sequential", TINY, None),  # a pass per epoch: its shuffle and flips follow the passes before
    ("pix2pix", TINY, 2),  # Dropout's generators, which save_weights leaves out
    ("zhang_classification", {"width": 0.25}, 2),  # whose loss is estimated from the data first
])
def test_a_resumed_run_ends_bit_for_bit_where_an_uninterrupted_one_does(tmp_path, name, options, steps):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=6)
    settings = dict(image_size=32, batch_size=2, steps_per_epoch=steps, model_kwargs=options, verbose=0, seed=0)
    training.train(name, data, out_dir=str(tmp_path / "whole"), epochs=3, **settings)
    training.train(name, data, out_dir=str(tmp_path / "resumed"), epochs=2, **settings)  # as if stopped there
    training.train(name, data, out_dir=str(tmp_path / "resumed"), epochs=3, resume=True, **settings)
    runs = [str(tmp_path / run) for run in ("whole", "resumed")]
    whole, resumed = (colorzoo.hub.load_model(os.path.join(run, "last.keras")).get_weights() for run in runs)
    for tensor, other in zip(whole, resumed):  # before: 1e-3 to 3.5e-2 apart, the data order restarted
        np.testing.assert_array_equal(tensor, other)
    logs = [open(os.path.join(run, "log.csv")).read() for run in runs]
    assert logs[0] == logs[1]


def test_best_checkpoint_is_the_epoch_with_the_best_monitored_score(tmp_path):
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    checkpoint = training.AtomicCheckpoint(str(tmp_path), keep_epochs=True)
    checkpoint.set_model(model)
    for epoch, val_loss in enumerate([0.5, 0.7, 0.6]):  # the first is best, not the last
        model.set_weights([weight + 1.0 for weight in model.get_weights()])
        checkpoint.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
    best = colorzoo.hub.load_model(os.path.join(tmp_path, "best.keras")).get_weights()
    for epoch, same in ((1, True), (3, False)):
        kept = colorzoo.hub.load_model(training.epoch_checkpoint(str(tmp_path), epoch)).get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(best, kept)) is same
    assert json.loads((tmp_path / "checkpoint_state.json").read_text())["epoch"] == 1


def test_resume_under_another_dtype_policy_is_refused_saying_why(tmp_path):
    """A mixed_float16 run (GPU) resumed in float32 (CPU, TPU) would drop its optimizer state."""
    settings = {"model": "unet_sequential", "image_size": 32, "dtype_policy": "mixed_float16"}
    (tmp_path / "run.json").write_text(json.dumps(settings))
    message = "changed: dtype_policy 'mixed_float16' -> 'float32'; its optimizer state loads only under the same policy"
    with pytest.raises(ValueError, match=re.escape(message)):
        training._check_same_run(str(tmp_path), {**settings, "dtype_policy": "float32"})


def test_an_out_dir_that_is_a_file_or_a_refused_build_leaves_nothing(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(NotADirectoryError, match="notes.txt: a file, not a folder"):  # before: [Errno 17] File exists
        training.train("unet_sequential", data, image_size=32, out_dir=str(tmp_path / "notes.txt"), model_kwargs=TINY)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError):
        training.train("vgg16_autoencoder", data, image_size=32, out_dir=str(tmp_path / "run"),
                       model_kwargs={"encoder_weights": str(tmp_path / "notes.txt")})
    assert not (tmp_path / "run").exists()  # before: an empty folder left behind


def test_a_short_training_set_under_dropped_remainders_is_refused(tmp_path):
    """With several replicas the last short batch is dropped: fewer photos than a batch would
    train nothing and still save a "best" model (before: 0.0 losses, exit 0)."""
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=3)
    options = {"image_size": 32, "epochs": 1, "model_kwargs": TINY, "verbose": 0}
    with pytest.raises(ValueError, match="fewer colour photos than one batch of 4, and the last short batch is dropped"):
        training.train("unet_sequential", data, batch_size=4, out_dir=str(tmp_path / "a"),
                       data_kwargs={"drop_remainder": True}, **options)
    history = training.train("unet_sequential", data, batch_size=2, out_dir=str(tmp_path / "b"),
                             data_kwargs={"drop_remainder": True}, **options)
    assert np.isfinite(history.history["loss"]).all()


def test_a_resumed_run_keeps_the_loss_it_estimated_from_the_data(tmp_path, monkeypatch):
    """zhang_classification's rebalancing weights come from shuffled batches: a resumed run reads
    them from loss.json instead of estimating others."""
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=4)
    out = str(tmp_path / "run")
    options = {"image_size": 32, "batch_size": 2, "out_dir": out, "model_kwargs": TINY, "verbose": 0}
    training.train("zhang_classification", data, epochs=1, **options)
    path = os.path.join(out, training.LOSS_FILE)
    recorded = json.loads(open(path).read())
    weights = recorded["config"]["weights"]
    assert len(weights) == 313 and min(weights) != max(weights)
    recorded["config"]["weights"] = [2.0] * 313  # a value no estimate gives
    open(path, "w").write(json.dumps(recorded))
    used = []
    make_trainable = training.make_trainable

    def recording_make_trainable(*args, loss=None, **kwargs):
        used.append(loss)
        return make_trainable(*args, loss=loss, **kwargs)

    monkeypatch.setattr(training, "make_trainable", recording_make_trainable)
    training.train("zhang_classification", data, epochs=2, resume=True, **options)
    assert used[0].weights == [2.0] * 313
    assert _log_epochs(out) == [0, 1]


def test_a_run_older_than_a_trainer_option_resumes_with_the_value_it_trained_with(tmp_path):
    """ddcolor_lite's enhance_factor (default 1.2) came after runs that trained without it (1)."""
    recorded = {"model": "ddcolor_lite", "adversarial": True, "trainer_kwargs": {"chroma_weight": 20}}
    record = training._trainer_kwargs_to_record
    assert record("ddcolor_lite", {}, recorded) == {"enhance_factor": 1}  # before: resumed at 1.2, silently
    assert record("ddcolor_lite", {}, {}) == {"enhance_factor": 1.2}  # a new run records the default
    assert record("ddcolor_lite", {}, {**recorded, "trainer_kwargs": {"enhance_factor": 1.2}}) == {"enhance_factor": 1.2}
    assert record("pix2pix", {"l1_weight": 10}, {}) == {"l1_weight": 10}
    (tmp_path / "run.json").write_text(json.dumps(recorded))
    settings = {"model": "ddcolor_lite", "adversarial": True, "trainer_kwargs": {"chroma_weight": 20, "enhance_factor": 1}}
    training._check_same_run(str(tmp_path), settings)  # train_zoo.sh's explicit enhance_factor=1 is the same run
    with pytest.raises(ValueError, match="changed: trainer_kwargs"):
        training._check_same_run(str(tmp_path), {**settings, "trainer_kwargs": {"chroma_weight": 20, "enhance_factor": 1.2}})


def test_resume_compares_settings_as_run_json_holds_them(tmp_path):
    """hypercolumn's documented ``hidden=(128, 64)`` is a list in run.json; the same tuple resumes."""
    settings = {"model": "hypercolumn", "model_kwargs": {"hidden": (128, 64)}, "image_size": 32}
    (tmp_path / "run.json").write_text(json.dumps(settings))
    training._check_same_run(str(tmp_path), settings)  # before: "changed: model_kwargs ... [128, 64] -> (128, 64)"
    with pytest.raises(ValueError, match=re.escape("changed: model_kwargs {'hidden': [128, 64]} -> {'hidden': (64,)}")):
        training._check_same_run(str(tmp_path), {**settings, "model_kwargs": {"hidden": (64,)}})


def test_resuming_the_l1_stage_as_the_gan_stage_is_refused(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    out = str(tmp_path / "l1")
    options = {"image_size": 32, "batch_size": 2, "out_dir": out, "model_kwargs": {"width": 0.125}, "verbose": 0}
    training.train("pix2pix", data, epochs=1, adversarial=False, **options)
    recorded = open(os.path.join(out, "run.json")).read()
    with pytest.raises(ValueError, match="changed: adversarial False -> True$"):
        training.train("pix2pix", data, epochs=2, resume=True, **options)
    assert open(os.path.join(out, "run.json")).read() == recorded


def test_resume_takes_the_runs_initial_weights_and_refuses_other_trainer_options(tmp_path, monkeypatch):
    """A GAN stage started from the L1 stage (``--init``) and killed before its first backup
    resumes from those weights, not from random ones; run.json keeps them (before: ``null``)."""
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    options = {"image_size": 32, "batch_size": 2, "model_kwargs": TINY, "verbose": 0}
    l1 = str(tmp_path / "l1")
    training.train("pix2pix", data, epochs=1, adversarial=False, out_dir=l1, **options)
    init = os.path.join(l1, "best.keras")
    out = str(tmp_path / "gan")
    training.train("pix2pix", data, epochs=1, out_dir=out, initial_weights=init, **options)
    # As if killed while writing its first backup: only the temporary weights file is there.
    backup = os.path.join(out, "backup")
    assert training.AtomicBackupAndRestore(backup)._weights_path == os.path.join(backup, training.BACKUP_WEIGHTS)
    shutil.rmtree(backup)
    os.makedirs(backup)
    open(os.path.join(backup, f"{files.TEMPORARY_PREFIX}123-abc.weights.h5"), "wb").close()
    loaded = []
    load = training._load_weights_from
    monkeypatch.setattr(training, "_load_weights_from", lambda model, path: loaded.append(path) or load(model, path))
    training.train("pix2pix", data, epochs=1, out_dir=out, resume=True, **options)
    assert loaded == [init] and json.loads(open(os.path.join(out, "run.json")).read())["initial_weights"] == init
    training.train("pix2pix", data, epochs=2, out_dir=out, resume=True, **options)
    assert loaded == [init]  # the backup holds the weights: the initial ones are not read again
    recorded = open(os.path.join(out, "run.json")).read()
    for changes, change in [
        ({"trainer_kwargs": {"l1_weight": 50}}, "trainer_kwargs {} -> {'l1_weight': 50}"),  # before: accepted
        ({"initial_weights": os.path.join(l1, "last.keras")}, f"initial_weights {init!r} -> "),
    ]:
        with pytest.raises(ValueError, match=f"changed: {re.escape(change)}"):
            training.train("pix2pix", data, epochs=3, out_dir=out, resume=True, **options, **changes)
    assert open(os.path.join(out, "run.json")).read() == recorded


def test_resuming_with_a_built_model_of_another_architecture_is_refused(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    out = str(tmp_path / "built")
    options = {"batch_size": 2, "out_dir": out, "verbose": 0}
    training.train(colorzoo.build_model("unet_sequential", image_size=32, width=0.125), data, epochs=1, **options)
    recorded = open(os.path.join(out, "run.json")).read()
    wider = colorzoo.build_model("unet_sequential", image_size=32, width=0.25)
    # before: 14 Keras warnings, then "A total of 14 objects could not be loaded", and run.json rewritten
    with pytest.raises(ValueError, match=r"changed: parameters \d+ -> \d+$"):
        training.train(wider, data, epochs=2, resume=True, **options)
    assert open(os.path.join(out, "run.json")).read() == recorded


def test_a_model_built_outside_the_strategy_scope_is_refused_before_any_work(tmp_path):
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    built = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    out = tmp_path / "run"
    # before: Keras's "Need to be inside strategy.scope()" after the data scan, and run.json, log.csv left behind
    with pytest.raises(ValueError, match="unet_sequential was built outside the strategy's scope"):
        training.train(built, str(tmp_path / "no_photos_needed"), strategy=strategy, out_dir=str(out))
    assert not out.exists()


def test_validation_metrics_score_gray_and_true_predictions(tmp_path, monkeypatch):
    from colorzoo.data import make_dataset

    photos = write_photo_folder(str(tmp_path / "val"), size=40, count=3)
    dataset = make_dataset(photos, 32, 2, shuffle=False).cache()
    truths = {luminance.numpy().tobytes(): chroma for luminance, chroma in dataset}
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    model.set_weights([np.zeros_like(weight) for weight in model.get_weights()])  # tanh(0): ab = 0, gray
    callback = training.ValidationImageMetrics(dataset)
    callback.set_model(model)
    gray = {}
    callback.on_epoch_end(0, gray)
    assert gray["val_psnr_over_gray"] == pytest.approx(0.0, abs=1e-6) and gray["val_colourfulness_ratio"] < 1e-3

    for scale in (1.0, 0.5):
        monkeypatch.setattr(training, "predict_batch_chroma", lambda model, luminance: scale * truths[luminance.numpy().tobytes()])
        scores = {}
        callback.on_epoch_end(1, scores)
        if scale == 1.0:
            assert scores["val_colourfulness_ratio"] == pytest.approx(1.0, abs=1e-6)
    assert 0.3 < scores["val_colourfulness_ratio"] < 0.7 and scores["val_psnr_over_gray"] > 1.0
    assert scores["val_psnr"] - scores["val_psnr_over_gray"] == pytest.approx(gray["val_psnr"])  # gray measured once


def test_validation_scores_read_a_yuv_model_as_yuv_by_default(tmp_path):
    """Before: Lab by default, so a YUV model's scores were of its UV decoded as ab, without a word."""
    from colorzoo.data import make_dataset

    photos = write_photo_folder(str(tmp_path / "val"), size=40, count=2)
    dataset = make_dataset(photos, 32, 2, color_space="yuv", shuffle=False)
    model = colorzoo.build_model("residual_encoder", image_size=32, encoder_weights=None)
    assert training.validation_scores(model, dataset)[0] == training.validation_scores(model, dataset, "yuv")[0]
    assert training.validation_scores(model, dataset)[0] != training.validation_scores(model, dataset, "lab")[0]


def test_validation_scores_take_renamed_models_and_ensembles(tmp_path):
    """Before: ``Unknown model 'mine'`` at the end of the first epoch, for models colorize takes."""
    from colorzoo.data import make_dataset

    photos = write_photo_folder(str(tmp_path / "val"), size=40, count=2)
    dataset = make_dataset(photos, 32, 2, shuffle=False)
    model = colorzoo.build_model("zhang_classification", image_size=32, **TINY)
    renamed = keras.Model(model.inputs, model.outputs, name="mine")
    assert training.validation_scores(renamed, dataset)[0] == training.validation_scores(model, dataset)[0]
    member = colorzoo.build_model("resnet18_decoder", image_size=32, **TINY)
    ensemble = colorzoo.build_ensemble([member, member])
    assert training.validation_scores(ensemble, dataset)[0] == pytest.approx(training.validation_scores(member, dataset)[0])


def test_a_built_model_given_another_image_size_is_refused_before_the_run(tmp_path):
    """Before: Keras's input_spec error inside fit, with run.json written, so a retry was refused too."""
    from colorzoo.inference import at_input_size

    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"unet_sequential is built for 32 x 32 inputs, not image_size=16.*at_input_size"):
        training.train(model, data, image_size=16, out_dir=str(out))
    assert not out.exists()
    training.train(at_input_size(model, (16, 16)), data, image_size=16, batch_size=2, epochs=1, out_dir=str(out),
                   verbose=0)
    assert colorzoo.load_model(str(out / "best.keras")).input_shape == (None, 16, 16, 1)


def test_average_checkpoints_refuses_one_path_for_a_list(tmp_path):
    with pytest.raises(TypeError, match="takes a list of .keras files, got one path"):
        training.average_checkpoints(str(tmp_path / "best.keras"))  # before: "/: no such model file"


def test_validation_scores_reuse_the_reference_and_refuse_an_empty_set(tmp_path):
    from colorzoo.data import make_dataset

    photos = write_photo_folder(str(tmp_path / "val"), size=40, count=3)
    dataset = make_dataset(photos, 32, 2, shuffle=False).cache()
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    scores, reference = training.validation_scores(model, dataset)
    assert scores["val_psnr"] - scores["val_psnr_over_gray"] == pytest.approx(reference["gray_psnr"])
    again, same = training.validation_scores(model, dataset, reference=reference)
    assert same is reference and again == pytest.approx(scores)
    with pytest.raises(ValueError, match="no colour validation photos"):
        training.validation_scores(model, dataset.take(0))


def test_average_checkpoints_means_every_weight_and_refuses_other_architectures(tmp_path):
    paths = []
    for value in (1.0, 2.0, 6.0):
        model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
        model.set_weights([np.full_like(weight, value) for weight in model.get_weights()])
        paths.append(str(tmp_path / f"epoch_{value:g}.keras"))
        model.save(paths[-1])
    averaged = training.average_checkpoints(paths)
    assert all(np.allclose(weight, 3.0) for weight in averaged.get_weights())
    averaged.save(tmp_path / "averaged.keras")
    reloaded = colorzoo.load_model(tmp_path / "averaged.keras")
    assert all(np.allclose(weight, 3.0) for weight in reloaded.get_weights())

    wider = colorzoo.build_model("unet_sequential", image_size=32, width=0.25)
    wider.save(tmp_path / "wider.keras")
    with pytest.raises(ValueError, match=r"wider\.keras: holds unet_sequential with .* cannot be averaged"):
        training.average_checkpoints([paths[0], tmp_path / "wider.keras"])
    with pytest.raises(ValueError, match="at least one"):
        training.average_checkpoints([])


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
    # 5 photos in batches of 4: the last photo alone would leave a replica without images (NaN or a
    # oneDNN error before); train() drops that batch under several replicas. The same strategy: two
    # MirroredStrategy objects in one process mix up their collective ops.
    from tests.photos import write_photo_folder
    photos = write_photo_folder(sys.argv[1] + "/photos", size=40, count=5)
    history = colorzoo.training.train("pix2pix", photos, image_size=32, batch_size=4, epochs=1, strategy=strategy,
                                      model_kwargs={"width": 0.125}, out_dir=sys.argv[1] + "/run", verbose=0)
    losses["gan"] = history.history["g_loss"]
    print(json.dumps(losses))
    """
)


@pytest.mark.slow
def test_predict_batch_chroma_traces_once_and_follows_the_weights_as_they_train():
    import tensorflow as tf

    from colorzoo.inference import traced_predictor

    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    luminance = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(training.predict_batch_chroma(model, luminance), model(luminance), atol=1e-6)
    model.set_weights([weight * 0.5 for weight in model.get_weights()])  # as an epoch of fit would
    np.testing.assert_allclose(training.predict_batch_chroma(model, luminance[:2]), model(luminance[:2]), atol=1e-6)
    as_float64 = tf.constant(luminance, tf.float64)  # a dataset's batch that eager calls accepted
    np.testing.assert_allclose(training.predict_batch_chroma(model, as_float64), model(luminance), atol=1e-6)
    assert traced_predictor(model).experimental_get_tracing_count() == 1


def test_predict_batch_chroma_of_a_flexible_model_that_cannot_be_traced_at_unknown_sizes():
    import keras

    inputs = keras.Input((None, None, 1))  # Keras's bilinear UpSampling2D needs known sizes in a graph
    x = keras.layers.UpSampling2D(2, interpolation="bilinear")(keras.layers.Conv2D(4, 3, strides=2, padding="same")(inputs))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same", name="ab")(x))
    for shape in [(32, 48), (48, 32)]:  # before: OperatorNotAllowedInGraphError from inside TensorFlow
        luminance = np.random.default_rng(0).uniform(-1, 1, (2, *shape, 1)).astype("float32")
        np.testing.assert_allclose(training.predict_batch_chroma(model, luminance), model(luminance), atol=1e-6)


def test_mirrored_strategy_on_two_cpus_matches_one_device(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=300,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    losses = json.loads(result.stdout.strip().splitlines()[-1])
    assert losses["mirrored_replicas"] == 2
    np.testing.assert_allclose(losses["mirrored"], losses["one"], rtol=1e-3)
    assert np.isfinite(losses["gan"]).all()


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


@pytest.mark.parametrize("name, jit_compile", [("zhang_classification", True), ("pix2pix", True), ("resnet18_decoder", False)])
def test_train_compiles_the_step_with_xla_when_asked(tmp_path, monkeypatch, name, jit_compile):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=4)
    # Keras' own choice ("auto") made the opposite one, so an ignored jit_compile shows
    monkeypatch.setattr(keras.Model, "_resolve_auto_jit_compile", lambda self: not jit_compile)
    seen = []

    class RecordJit(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(self.model.jit_compile)

    history = training.train(
        name, data, image_size=32, batch_size=2, epochs=1, steps_per_epoch=2, out_dir=str(tmp_path / "run"),
        model_kwargs=TINY, jit_compile=jit_compile, callbacks=[RecordJit()], verbose=0,
    )
    assert seen == [jit_compile] * 2 and np.isfinite(history.history["loss" if name != "pix2pix" else "g_loss"]).all()


@pytest.mark.parametrize("jit_compile, strategy, message", [
    ("yes", None, "jit_compile must be 'auto', True or False, got 'yes'"),
    (1, None, "jit_compile must be 'auto', True or False, got 1"),
    (True, "mirrored", "with a distribution strategy"),
])
def test_train_refuses_a_wrong_jit_compile(tmp_path, jit_compile, strategy, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        training.train("resnet18_decoder", str(tmp_path), out_dir=str(tmp_path / "run"), jit_compile=jit_compile,
                       strategy=strategy)
    assert not os.path.exists(tmp_path / "run")


def test_trainer_options_reach_the_gan_trainer_and_run_json(tmp_path):
    assert training.trainer_options("pix2pix") == (
        "l1_weight", "adversarial_weight", "chroma_weight", "chroma_per_pixel", "chroma_along_true_hue",
        "discriminator_width",
    )
    ddcolor_options = {"colourfulness_weight", "chroma_weight", "chroma_per_pixel", "chroma_along_true_hue", "rebalancing"}
    assert ddcolor_options <= set(training.trainer_options("ddcolor_lite"))
    assert training.trainer_options("unet_sequential") == ()
    generator = colorzoo.build_model("pix2pix", image_size=32, **TINY)
    trainer = training.make_trainable(generator, l1_weight=10.0, adversarial_weight=2.0)
    assert (trainer.l1_weight, trainer.adversarial_weight) == (10.0, 2.0)
    assert trainer.extra_generator_losses == {}  # the paper's generator loss: L1 + adversarial only

    ddcolor = colorzoo.build_model("ddcolor_lite", image_size=32, preset="lite")
    truth = np.tile(np.array([0.3, 0.4], "float32"), (1, 1, 2, 1))  # |ab| 0.5 at both pixels
    prediction = np.array([[[[0.0, 0.2], [-0.6, -0.8]]]], "float32")  # 0.2 (0.3 short) and 1.0 of the opposite hue
    for gan_generator, options in ((generator, {}), (ddcolor, {"perceptual_weights": None})):
        for chroma_options, shortfall in (({}, 0.0), ({"chroma_per_pixel": True}, 0.15),
                                          ({"chroma_along_true_hue": True}, (0.34 + 1.5) / 2)):
            trainer = training.make_trainable(gan_generator, chroma_weight=5.0, **chroma_options, **options)
            weight, loss = trainer.extra_generator_losses["chroma_shortfall"]
            assert weight == 5.0
            np.testing.assert_allclose(loss(truth, prediction, np.full((1, 1, 2, 1), 0.5)), shortfall, atol=1e-4)

    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    out = str(tmp_path / "run")
    history = training.train(
        "pix2pix", data, image_size=32, batch_size=2, epochs=1, out_dir=out, model_kwargs=TINY,
        trainer_kwargs={"l1_weight": 10.0}, verbose=0,
    )
    assert history.model.l1_weight == 10.0  # the trainer fit trained (default 100)
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


def test_train_takes_another_optimizer_by_name_records_it_and_keeps_it_on_resume(tmp_path):
    """The unet_sequential report's optimizer sweep as train() runs, resumable like any other."""
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    out = str(tmp_path / "run")
    settings = dict(image_size=32, batch_size=2, epochs=1, out_dir=out, model_kwargs=TINY, verbose=0)
    history = training.train("unet_sequential", data, optimizer="rmsprop", **settings)
    optimizer = history.model.optimizer
    assert type(optimizer).__name__ == "RMSprop" and np.isclose(float(optimizer.learning_rate), 1e-3)  # recipe's rate
    with open(os.path.join(out, "run.json")) as handle:
        assert json.load(handle)["optimizer"] == "rmsprop"
    with pytest.raises(ValueError, match=re.escape("changed: optimizer 'rmsprop' -> 'adam'")):
        training.train("unet_sequential", data, optimizer="adam", resume=True, **{**settings, "epochs": 2})


@pytest.mark.parametrize(
    "name, adversarial, optimizer, message",
    [
        ("pix2pix", True, "adam", "optimizer 'adam' given for pix2pix's GAN stage"),
        ("unet_sequential", True, "adamx", "optimizer 'adamx': not a Keras optimizer name"),
        ("unet_sequential", True, 0.001, "optimizer must be a Keras optimizer's name"),
    ],
)
def test_a_wrong_optimizer_fails_before_the_run_starts(tmp_path, name, adversarial, optimizer, message):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=re.escape(message)):
        training.train(name, str(tmp_path), out_dir=str(out), adversarial=adversarial, optimizer=optimizer)
    assert not out.exists()
    generator = colorzoo.build_model("pix2pix", image_size=32, **TINY)
    assert type(training.make_trainable(generator, adversarial=False, optimizer="rmsprop").optimizer).__name__ == "RMSprop"
    with pytest.raises(ValueError, match="GAN stage"):  # before: an optimizer instance was dropped without a word
        training.make_trainable(generator, optimizer=keras.optimizers.SGD(0.1))
    for name in ("optimizer", "lossscaleoptimizer"):  # before: TypeError / KeyError from Keras
        with pytest.raises(ValueError, match="not a Keras optimizer name"):
            training.check_optimizer("unet_sequential", False, name)


def test_validation_length_is_known_and_an_all_gray_folder_is_refused(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=4)
    val = tmp_path / "val"
    write_photo_folder(str(val), size=40, count=3)
    Image.fromarray(np.full((40, 40), 90, np.uint8)).save(val / "gray.png")  # dropped: 3 photos, 2 batches

    class CountValidationBatches(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.counts = []

        def on_test_begin(self, logs=None):
            self.counts.append(0)

        def on_test_batch_end(self, batch, logs=None):
            self.counts[-1] += 1

    for steps_per_epoch in (2, None):  # None: an epoch is one pass over the training photos
        counter = CountValidationBatches()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = training.train(
                "unet_sequential", data, val=str(val), image_size=32, batch_size=2, epochs=2,
                steps_per_epoch=steps_per_epoch, out_dir=str(tmp_path / f"run_{steps_per_epoch}"), model_kwargs=TINY,
                callbacks=[counter], verbose=0,
            )
        assert len(history.history["val_loss"]) == 2 and counter.counts == [2, 2]
        # train() silences Keras's "ran out of data" only for an epoch of one pass (None); with a
        # step count, an unknown validation length would warn
        if steps_per_epoch is not None:
            assert not [warning for warning in caught if "ran out of data" in str(warning.message)]

    gray_only = tmp_path / "gray_only"
    gray_only.mkdir()
    Image.fromarray(np.full((40, 40), 90, np.uint8)).save(gray_only / "gray.png")
    with pytest.raises(ValueError, match="no colour photos to validate on"):
        training.train("unet_sequential", data, val=str(gray_only), image_size=32, out_dir=str(tmp_path / "run2"))


def test_all_gray_training_photos_are_refused_instead_of_searched_forever(tmp_path):
    gray_only = tmp_path / "gray_only"
    gray_only.mkdir()
    for index in range(3):
        Image.fromarray(np.full((40, 40), 60 + 40 * index, np.uint8)).save(gray_only / f"gray{index}.png")
    for steps_per_epoch in (2, None):  # 2: the repeated dataset never yielded a batch; None: 0 steps, exit 0
        out = tmp_path / f"run_{steps_per_epoch}"
        with pytest.raises(ValueError, match=f"{gray_only}: no colour photos to train on"):
            training.train("unet_sequential", str(gray_only), image_size=32, batch_size=2, epochs=1,
                           steps_per_epoch=steps_per_epoch, out_dir=str(out), model_kwargs=TINY, verbose=0)
        assert not os.path.exists(out / "run.json")


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"epochs": 0}, "epochs must be a positive whole number, got 0"),
        ({"steps_per_epoch": -1}, "steps_per_epoch must be a positive whole number, got -1"),
        ({"batch_size": 0}, "batch_size must be a positive whole number, got 0"),
        ({"image_size": 0}, "image_size must be a positive whole number, got 0"),
    ],
)
def test_train_refuses_non_positive_counts(tmp_path, setting, message):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=message):
        training.train("unet_sequential", str(tmp_path), out_dir=str(out), **setting)
    assert not out.exists()


def test_train_never_writes_into_a_folder_of_other_files(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    mine = tmp_path / "my documents"
    mine.mkdir()
    (mine / "log.csv").write_text("my notes\n")
    with pytest.raises(FileExistsError, match=r"my documents is not empty \(log.csv, ...\).*choose a new or empty out_dir$"):
        training.train("unet_sequential", data, image_size=32, out_dir=str(mine), model_kwargs=TINY)
    assert os.listdir(mine) == ["log.csv"] and (mine / "log.csv").read_text() == "my notes\n"
    # resume=True, which the error once suggested: still no run to continue (before: trained into the folder)
    with pytest.raises(FileExistsError, match=r"my documents is not empty \(log.csv, ...\) and holds no run \(run.json\)"):
        training.train("unet_sequential", data, image_size=32, out_dir=str(mine), model_kwargs=TINY, resume=True)
    assert os.listdir(mine) == ["log.csv"] and (mine / "log.csv").read_text() == "my notes\n"
    interrupted = tmp_path / "killed in its first epoch"
    interrupted.mkdir()
    (interrupted / "run.json").write_text("{}")
    with pytest.raises(FileExistsError, match="killed in its first epoch holds an interrupted training run; continue it"):
        training.train("unet_sequential", data, image_size=32, out_dir=str(interrupted), model_kwargs=TINY)


def test_a_built_model_trains_at_its_own_input_size(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    training.train(model, data, batch_size=2, epochs=1, steps_per_epoch=1, out_dir=str(tmp_path / "run"), verbose=0)
    with open(tmp_path / "run" / "run.json") as handle:
        assert json.load(handle)["image_size"] == 32


@pytest.fixture
def mixed_float16():
    """The ``mixed_float16`` global policy, as ``use_mixed_precision_on_gpu`` sets it on a GPU."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unet_sequential", "pix2pix"])
def test_train_under_mixed_precision_scales_losses_and_saves_a_usable_model(tmp_path, mixed_float16, name):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=4)
    out = str(tmp_path / "run")
    history = training.train(
        name, data, val=data, image_size=32, batch_size=2, epochs=1, out_dir=out, model_kwargs=TINY, verbose=0
    )
    trainable = history.model
    gan = name == "pix2pix"
    optimizers = [trainable.generator_optimizer, trainable.discriminator_optimizer] if gan else [trainable.optimizer]
    assert all(isinstance(optimizer, keras.optimizers.LossScaleOptimizer) for optimizer in optimizers)
    assert {variable.dtype for variable in trainable.trainable_variables} == {"float32"}  # float16 compute only
    assert all(np.isfinite(values).all() for values in history.history.values()), history.history
    keras.mixed_precision.set_global_policy("float32")  # a user loading the file on a CPU
    saved = keras.models.load_model(os.path.join(out, "best.keras"), compile=False)
    model = colorzoo.hub.load_model(os.path.join(out, "best.keras"))
    assert "mixed_float16" in {layer.dtype_policy.name for layer in saved.layers}
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}  # no GPU: float32 compute
    luminance = np.random.default_rng(0).uniform(size=(1, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(luminance, verbose=0), saved.predict(luminance, verbose=0), atol=0.01)
    colorized = colorzoo.colorize(model, data[0])
    assert colorized.dtype == np.uint8 and colorized.shape == (40, 40, 3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unet_sequential", "zhang_classification", "pix2pix", "ddcolor_lite"])
def test_train_under_mixed_bfloat16_saves_a_model_that_colorizes_in_float32(tmp_path, name):
    """The policy `colorzoo train` suggests on an AMX CPU, for each kind of recipe: a plain loss,
    zhang's rebalanced classification, and the two GAN trainers (ddcolor_lite's perceptual loss)."""
    data = write_photo_folder(str(tmp_path / "train"), size=72, count=4)
    options = {key: value for key, value in colorzoo.model_info(name).small.items() if key != "image_size"}
    out = str(tmp_path / "run")
    history = training.train(
        name, data, val=data, image_size=64, batch_size=2, epochs=1, steps_per_epoch=2, out_dir=out,
        model_kwargs=options, dtype_policy="mixed_bfloat16", verbose=0,
        trainer_kwargs={"perceptual_weights": None} if name == "ddcolor_lite" else None,
    )
    assert all(np.isfinite(values).all() for values in history.history.values()), history.history
    trainable = history.model
    optimizers = [getattr(trainable, attribute, None) for attribute in ("optimizer", "generator_optimizer")]
    assert not any(isinstance(optimizer, keras.optimizers.LossScaleOptimizer) for optimizer in optimizers)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["dtype_policy"] == "mixed_bfloat16"
    saved = keras.models.load_model(os.path.join(out, "best.keras"), compile=False)
    assert training.compute_policy(saved) == "mixed_bfloat16"
    model = colorzoo.hub.load_model(os.path.join(out, "best.keras"))
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}  # no GPU: float32 compute
    colorized = colorzoo.colorize(model, data[0])
    assert colorized.dtype == np.uint8 and colorized.shape == (72, 72, 3)


def test_train_builds_the_model_before_reading_any_photo(tmp_path):
    empty = tmp_path / "no_photos"
    empty.mkdir()  # were the photos read first, this would fail with "no decodable images"
    with pytest.raises(ValueError, match="unet_sequential has no option 'bogus'"):
        training.train("unet_sequential", str(empty), image_size=32, out_dir=str(tmp_path / "run"),
                       model_kwargs={"bogus": 1})


def test_train_refuses_multiworker_naming_the_upstream_bug(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    with pytest.raises(ValueError, match=r"keras-team/keras#20585.*'mirrored'"):
        training.train("unet_sequential", data, image_size=32, out_dir=str(tmp_path / "run"), strategy="multiworker")
    assert not os.path.exists(tmp_path / "run")


MULTIWORKER_SCRIPT = textwrap.dedent(
    """
    import keras, numpy as np, tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
    data = tf.data.Dataset.from_tensor_slices((np.ones((64, 4), "float32"), np.ones((64, 1), "float32")))
    model.fit(data.batch(8), epochs=1, verbose=0)
    """
)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.slow
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="keras-team/keras#20585: when this passes, lift training.MULTIWORKER_BROKEN")
def test_keras_fit_runs_under_multiworker_strategy_on_two_local_workers():
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", MULTIWORKER_SCRIPT],
            env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for i in range(2)
    ]
    try:
        errors = [worker.communicate(timeout=300)[1] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()  # after a timeout; a no-op for a finished worker
    assert [worker.returncode for worker in workers] == [0, 0], errors[0][-2000:]


@pytest.mark.parametrize("options, error, message", [
    ({"callbacks": training.StopOnDivergence()}, TypeError, "callbacks must be a list of keras.callbacks.Callback"),
    ({"data_kwargs": {"shuffle": False}}, ValueError, r"data_kwargs may not set \['shuffle'\]"),
    ({"data_kwargs": {"batch_size": 4}}, ValueError, r"data_kwargs may not set \['batch_size'\]"),
    ({"model_kwargs": {"image_size": 32}}, ValueError, "model_kwargs may not hold image_size"),
])
def test_train_refuses_mistaken_arguments_before_the_run_starts(tmp_path, options, error, message):
    """Before: Python's signature errors or "object is not iterable", after run.json was written."""
    out = tmp_path / "run"
    with pytest.raises(error, match=message):
        training.train("unet_sequential", str(tmp_path), out_dir=str(out), **options)
    assert not out.exists()


def test_fit_dataset_fits_a_photo_pipeline_without_keras_warnings_that_do_not_apply(tmp_path):
    paths = write_photo_folder(tmp_path / "photos", size=32, count=5)
    Image.open(paths[0]).convert("L").save(paths[0])  # dropped by the pipeline: its length is unknown to Keras
    model = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    training.compile_model(model)
    dataset = colorzoo.data.make_dataset(str(tmp_path / "photos"), 32, 2, shuffle=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = training.fit_dataset(model, dataset, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert [str(warning.message) for warning in caught if "keras" in warning.filename] == []


def test_dtype_policy_auto_takes_the_runs_then_the_users_then_the_devices():
    device_default = "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"
    assert training.training_policy("auto", "unet_sequential", {}) == device_default
    assert training.training_policy("auto", "unet_sequential", {"dtype_policy": "mixed_float16"}) == "mixed_float16"
    assert training.training_policy("mixed_bfloat16", "unet_sequential", {"dtype_policy": "float32"}) == "mixed_bfloat16"
    keras.config.set_dtype_policy("mixed_bfloat16")  # a user's own choice is kept, not replaced by mixed_float16
    try:
        assert training.training_policy("auto", "unet_sequential", {}) == "mixed_bfloat16"
        built = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
    finally:
        keras.config.set_dtype_policy("float32")
    assert training.training_policy("auto", built, {}) == "mixed_bfloat16"
    with pytest.raises(ValueError, match="built to compute in mixed_bfloat16, not dtype_policy='float32'"):
        training.training_policy("float32", built, {})
    with pytest.raises(ValueError, match="dtype_policy must be one of"):
        training.train("unet_sequential", [], dtype_policy="float16", out_dir="never")
    # an input layer takes the global policy of the session loading it: a float32 model stays float32
    config = colorzoo.build_model("unet_sequential", image_size=32, **TINY).get_config()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        reloaded = keras.Model.from_config(config)
    finally:
        keras.config.set_dtype_policy("float32")
    assert training.compute_policy(reloaded) == "float32"


def test_a_mixed_model_loaded_in_a_float32_session_still_trains_with_loss_scaling(tmp_path):
    """Before: model.dtype_policy (the global policy at load: float32) decided, so the float16 layers
    trained without loss scaling (most small gradients underflow to 0) and run.json said float32."""
    keras.config.set_dtype_policy("mixed_float16")
    try:
        colorzoo.build_model("unet_sequential", image_size=32, **TINY).save(tmp_path / "mixed.keras")
    finally:
        keras.config.set_dtype_policy("float32")
    loaded = keras.models.load_model(tmp_path / "mixed.keras", compile=False)  # as on a GPU: no float32 rebuild
    assert loaded.dtype_policy.name == "float32" and training.compute_policy(loaded) == "mixed_float16"
    training.compile_model(loaded)
    assert isinstance(loaded.optimizer, training.ReplicaSafeLossScaleOptimizer)
    luminance = np.random.default_rng(0).uniform(size=(2, 32, 32, 1)).astype("float32")
    history = loaded.fit(luminance, np.zeros((2, 32, 32, 2), "float32"), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and int(loaded.optimizer.iterations) >= 1
    plain = training.compile_model(colorzoo.build_model("unet_sequential", image_size=32, **TINY))
    assert not isinstance(plain.optimizer, keras.optimizers.LossScaleOptimizer)


@pytest.mark.slow
def test_train_builds_under_its_dtype_policy_resumes_under_the_runs_and_leaves_the_global_one(tmp_path):
    data = write_photo_folder(str(tmp_path / "train"), size=40, count=4)
    out = str(tmp_path / "run")
    run = dict(image_size=32, batch_size=2, out_dir=out, model_kwargs=TINY, steps_per_epoch=1, verbose=0)
    history = training.train("unet_sequential", data, epochs=1, dtype_policy="mixed_float16", **run)
    assert isinstance(history.model.optimizer, training.ReplicaSafeLossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError):  # fails inside the policy's scope, which still ends
        training.train("unet_sequential", str(empty), epochs=1, dtype_policy="mixed_float16",
                       **{**run, "out_dir": str(tmp_path / "failed")})
    assert keras.config.dtype_policy().name == "float32"
    assert json.loads((tmp_path / "run" / "run.json").read_text())["dtype_policy"] == "mixed_float16"
    resumed = training.train("unet_sequential", data, epochs=2, resume=True, **run)  # auto: the run's own policy
    assert resumed.epoch == [1] and training.compute_policy(resumed.model) == "mixed_float16"


MIXED_MIRRORED_SCRIPT = textwrap.dedent(
    """
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from colorzoo.training import ReplicaSafeLossScaleOptimizer

    keras.config.set_dtype_policy("mixed_float16")
    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="ones")])
        model.compile(optimizer=ReplicaSafeLossScaleOptimizer(keras.optimizers.SGD()), loss="mse")
    # the second replica's half of the batch overflows float16 at the initial loss scale, the first's does not
    x = np.array([[1.0], [1.0], [1.0], [60.0]], "float32")
    model.fit(x, np.zeros((4, 1), "float32"), batch_size=4, shuffle=False, verbose=0)
    kernel, bias = (float(weight.numpy().ravel()[0]) for weight in model.weights)
    print("RESULT", kernel, bias, float(model.optimizer.dynamic_scale.numpy()))
    """
)


@pytest.mark.slow
def test_a_step_that_overflows_on_one_replica_is_skipped_on_every_replica():
    """Keras's LossScaleOptimizer applied it, summed with inf: weights [[-inf]] and the scale unchanged."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = {**os.environ, "PYTHONPATH": root, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", MIXED_MIRRORED_SCRIPT], env=environment,
                            capture_output=True, text=True, timeout=300)
    assert "RESULT" in result.stdout, result.stderr[-3000:]
    kernel, bias, scale = map(float, result.stdout.split("RESULT")[1].split())
    assert (kernel, bias) == (1.0, 0.0) and scale == 2.0**14  # step skipped everywhere, scale halved from 2**15


@pytest.mark.parametrize(
    "cpuinfo, has_amx",
    [
        ("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n", True),
        ("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n", False),  # an AMD EPYC without AVX-512
        ("processor\t: 0\nflags\t\t: fpu amx_bf16_x\n", False),  # a flag, not a substring
        (None, False),  # no /proc/cpuinfo: not Linux
    ],
)
def test_cpu_has_amx_reads_the_amx_bf16_flag(tmp_path, monkeypatch, cpuinfo, has_amx):
    flags_file = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        flags_file.write_text(cpuinfo)
    monkeypatch.setattr(training, "CPU_FLAGS_FILE", str(flags_file))
    assert training.cpu_has_amx() is has_amx
    hint = training.bfloat16_hint("float32")
    assert (hint is not None) == (has_amx and not tf.config.list_physical_devices("GPU"))
    assert training.bfloat16_hint("mixed_bfloat16") is None


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_a_mixed_model_file_loads_with_float32_compute_without_a_gpu(tmp_path, monkeypatch, policy):
    """Before: a mixed_bfloat16 file (a TPU run) kept 16-bit compute on a CPU: colours up to 60/255 off."""
    keras.config.set_dtype_policy(policy)
    try:
        model = colorzoo.build_model("unet_sequential", image_size=32, **TINY)
        model.save(tmp_path / "mixed.keras")
    finally:
        keras.config.set_dtype_policy("float32")
    loaded = colorzoo.hub.load_model(tmp_path / "mixed.keras")
    on_gpu = bool(tf.config.list_physical_devices("GPU"))  # a GPU computes both natively: nothing to change
    assert training.compute_policy(model) == policy and training.compute_policy(loaded) == (policy if on_gpu else "float32")
    monkeypatch.setattr(colorzoo.hub, "tpu_attached", lambda: True)  # a TPU VM keeps bfloat16, its TPU's own
    on_tpu_vm = colorzoo.hub.load_model(tmp_path / "mixed.keras")
    kept = policy if on_gpu or policy == "mixed_bfloat16" else "float32"
    assert training.compute_policy(on_tpu_vm) == kept
