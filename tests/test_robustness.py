"""Robustness and safety: messy folders, killed runs, strangers' model files, NaN (issue 8).

Every entry point meets the same bad-input corpus (``tests/badfiles.py``, written at test time).
Each file either works or is skipped / refused with a one-line message naming it, and the run
goes on with the rest. Exit codes: 0 all fine, 1 something failed (some files skipped by
``colorize`` or ``evaluate``, a refused model file, a diverged training), 2 a usage error.

The matrix (``MATRIX`` below is its executable form; docs/robustness.md has the same table).
works: used as is; converted: used after a mode conversion; skipped: left out with a one-line
message naming the file, the run goes on; refused: the call raises a one-line error.

    file               make_dataset, train    colorize()           colorzoo colorize,    colorzoo evaluate
                       (data.scan_files)      (one file)           colorize_files
    good.jpg           works                  works                works                 works
    truncated.jpg      skipped T              refused T            skipped T             skipped T
    corrupt_inside.jpg skipped B *            refused B            skipped B             skipped B
    corrupt_inside.png skipped C *            refused G            skipped G             skipped G
    empty.jpg          skipped E              refused U            skipped U             skipped U
    text.jpg           skipped N              refused U            skipped U             skipped U
    cmyk.jpg           converted (PIL)        converted            converted             converted
    rgb16.png          works (16 -> 8 bit)    converted (8 bit)    converted             converted
    rgba.png           works (alpha dropped)  converted            converted             converted
    palette.png        works                  converted            converted             converted
    animated.gif       works (1st frame)      converted (1st fr.)  converted             converted
    one_pixel.png      works (upscaled)       works (1 x 1)        works                 skipped S *
    strip.jpg (3x500)  works (3 x 3 crop)     works (500 x 3)      works                 skipped S *
    exif_rotated.jpg   converted (rotated)    works (rotated)      works (rotated)       works (rotated)
    caf\xe9 \xff.jpg   works                  works                works (name kept)     works (CSV escaped) *
    bomb.png 20000^2   skipped P              refused P            skipped P             skipped P
    big.png 10000^2    skipped L              refused L *          skipped L *           skipped L *
    x.jpg/ (a folder)  skipped D; walked in   refused D            walked into           walked into
    unreadable.jpg     skipped R              refused R            skipped R             skipped R
    fifo.jpg           skipped F              refused F *          skipped F *           skipped F *
    dangling.jpg       skipped O              refused O            skipped O; named: 2   skipped O *
    exit code          0 (a warning lists     raises               1 (11 written,        1 (9 scored,
                       each skipped file)                          10 failed)            12 skipped)

    T  "image file is truncated (58 bytes not processed)"; scan_files: "cannot decode (OSError: ...)"
    B  "broken data stream when reading image file"; scan_files: "cannot decode (OSError: ...)"
    C  scan_files: "cannot decode (SyntaxError: broken PNG file (bad header checksum in b'IDAT'))"
    G  "unrecognized data stream contents when reading image file"
    E  "empty file"                          U  "cannot identify image file '<path>'"
    N  "not an image PIL knows"              S  "1x1 pixels, too small to score (SSIM needs 11 on a side)"
    P  "Image size (400000000 pixels) exceeds limit of 178956970 pixels, could be decompression bomb ..."
    L  "10000x10000 pixels, over the limit of 89478485"                 D  "is a directory"
    R  "no read permission"; PIL: "[Errno 13] Permission denied: '<path>'"
    F  "not a regular file"                  O  "No such file or directory"; named on the command line: exit 2
    *  fixed with these tests: corrupt_inside.jpg passed the scan and was dropped inside tf.data, uncounted
       (corrupt_inside.png was caught only by a full decode PIL's getexif made; now by chunk checksums);
       big.png was decoded (60 s, GBs of memory), a FIFO hung forever, a dangling
       link ended `colorzoo evaluate`, 1x1 and 3x500 images crashed it in SSIM, a non-UTF-8 name its --csv.

Unreadable files: we run as root, for whom chmod 000 blocks nothing, so in-process tests refuse
``open`` for that one path (``badfiles.deny_reads``; PIL and ``scan_files`` both open through
it). A subprocess test with a real chmod 000 is written but skipped as root.

Also here: SIGKILL at random points of training (resume repeats no finished epoch; checkpoints
stay loadable) and of batch colorization (``--skip-existing`` finishes; no output is partial);
untrusted ``.keras`` files (Lambda code never runs, unknown or foreign classes refused, wrong
architectures named, shipped weights sha256-checked); output safety; NaN / inf inputs, NaN
models and NaN losses.
"""

import functools
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from PIL import Image

import colorzoo
from colorzoo import data, files, hub, inference, training
from colorzoo.cli import main
from tests import badfiles
from tests.photos import photo_array, write_photo_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASET, COLORIZE, FILES, EVALUATE = range(4)
UNIDENTIFIED = "cannot identify image file"

# name -> verdict of (make_dataset / train, colorize(), colorize_files / colorzoo colorize,
# colorzoo evaluate): "works", "converted", or "skipped: ..." / "refused: ..." with a part of
# the message that must name the problem.
MATRIX = {
    "good.jpg": ("works",) * 4,
    "truncated.jpg": (
        "skipped: image file is truncated", "refused: image file is truncated",
        "skipped: image file is truncated", "skipped: image file is truncated",
    ),
    "corrupt_inside.jpg": ("skipped: broken data stream", "refused: broken data stream",
                           *["skipped: broken data stream"] * 2),
    "corrupt_inside.png": ("skipped: broken PNG file", "refused: unrecognized data stream",
                           *["skipped: unrecognized data stream"] * 2),
    "empty.jpg": ("skipped: empty file", f"refused: {UNIDENTIFIED}", *[f"skipped: {UNIDENTIFIED}"] * 2),
    "text.jpg": ("skipped: not an image PIL knows", f"refused: {UNIDENTIFIED}", *[f"skipped: {UNIDENTIFIED}"] * 2),
    "cmyk.jpg": ("converted",) * 4,
    "rgb16.png": ("works", "converted", "converted", "converted"),
    "rgba.png": ("works", "converted", "converted", "converted"),
    "palette.png": ("works", "converted", "converted", "converted"),
    "animated.gif": ("works", "converted", "converted", "converted"),
    "one_pixel.png": ("works", "works", "works", "skipped: 1x1 pixels, too small to score (SSIM needs 11"),
    "strip.jpg": ("works", "works", "works", "skipped: 3x500 pixels, too small to score"),
    "exif_rotated.jpg": ("converted", "works", "works", "works"),
    "non_utf8": ("works",) * 4,
    "bomb.png": (
        "skipped: exceeds limit of 178956970 pixels", "refused: exceeds limit of 178956970 pixels",
        "skipped: exceeds limit of 178956970 pixels", "skipped: exceeds limit of 178956970 pixels",
    ),
    "big.png": (
        "skipped: 10000x10000 pixels, over the limit of 89478485", "refused: 10000x10000 pixels, over the limit",
        "skipped: 10000x10000 pixels, over the limit", "skipped: 10000x10000 pixels, over the limit",
    ),
    "x.jpg": ("skipped: is a directory", "refused: is a directory", "works", "works"),  # a folder: its photo
    "unreadable.jpg": (
        "skipped: no read permission", "refused: Permission denied", *["skipped: Permission denied"] * 2,
    ),
    "fifo.jpg": ("skipped: not a regular file", "refused: not a regular file", *["skipped: not a regular file"] * 2),
    "dangling.jpg": (
        "skipped: cannot open (No such file or directory)", "refused: No such file or directory",
        *["skipped: No such file or directory"] * 2,
    ),
}
# (height, width) of what colorize() returns for each entry that works
SHAPES = {
    "good.jpg": (48, 64), "one_pixel.png": (1, 1), "strip.jpg": (500, 3), "exif_rotated.jpg": (60, 40),
    "x.jpg": (32, 32),
}


def verdict(name, column):
    """``(kind, message part)`` of ``MATRIX[name][column]``."""
    kind, _, message = MATRIX[name][column].partition(": ")
    return kind, message


def shape_of(name):
    return SHAPES.get(name, (40, 40))


def used(column):
    return [name for name in MATRIX if verdict(name, column)[0] in ("works", "converted")]


def dropped(column):
    return [name for name in MATRIX if verdict(name, column)[0] in ("skipped", "refused")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """``(root, paths)``: every entry of badfiles.ENTRIES in one folder."""
    root = str(tmp_path_factory.mktemp("messy photos ü"))
    return root, badfiles.write_corpus(root)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A tiny trained-nowhere ``unet_sequential`` ``.keras`` file (32 px, 97,532 parameters)."""
    path = str(tmp_path_factory.mktemp("weights") / "tiny.keras")
    badfiles.tiny_model(path)
    return path


@pytest.fixture(scope="module")
def model(weights):
    return hub.load_model(weights)


def single_line_records(caplog, logger_name):
    records = [record.getMessage() for record in caplog.records if record.name == logger_name]
    assert all("\n" not in message for message in records), records
    return records


def assert_named_once(messages, path, part):
    """Exactly one message names ``path`` and it says ``part``."""
    naming = [message for message in messages if path in message]
    assert len(naming) == 1 and part in naming[0], (path, part, naming)


def files_under(folder):
    return sorted(
        os.path.relpath(os.path.join(top, name), folder) for top, _, names in os.walk(folder) for name in names
    )


# === The matrix: one test per entry point ===


def test_corpus_is_complete(corpus):
    root, paths = corpus
    assert set(MATRIX) == set(badfiles.ENTRIES) == set(paths)
    assert os.path.getsize(paths["bomb.png"]) < 100_000
    assert os.fsencode(paths["non_utf8"]) == os.path.join(os.fsencode(root), badfiles.NON_UTF8_NAME)


def test_make_dataset_matrix(corpus):
    root, paths = corpus
    with badfiles.deny_reads(paths["unreadable.jpg"]):
        entries, skipped = data._scan(list(paths.values()))
        routes, reasons = dict(entries), dict(skipped)
        for name, path in paths.items():
            kind, message = verdict(name, DATASET)
            if kind == "skipped":
                assert message in reasons[path], (name, reasons.get(path))
            else:
                assert routes[path] == (data._CONVERTED if kind == "converted" else data._NATIVE), name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset = data.make_dataset(root, 32, 4, shuffle=False)  # the folder: x.jpg/ is walked into
    [warning] = [str(w.message) for w in caught if "colorzoo.data: skipped" in str(w.message)]
    lines = warning.splitlines()[1:]
    for name in dropped(DATASET):
        if name != "x.jpg":
            assert_named_once(lines, data._printable(paths[name]), verdict(name, DATASET)[1])
    images = sum(int(luminance.shape[0]) for luminance, _ in dataset)
    assert images == len(used(DATASET)) + 1  # + x.jpg/inside.png


@pytest.mark.parametrize("name", list(MATRIX))
def test_colorize_matrix(corpus, model, name):
    _, paths = corpus
    kind, message = verdict(name, COLORIZE)
    with badfiles.deny_reads(paths["unreadable.jpg"]):
        if kind == "refused":
            with pytest.raises(inference.LOAD_ERRORS, match=message.replace("(", r"\(")) as raised:
                inference.colorize(model, paths[name])
            assert "\n" not in inference.error_line(raised.value)
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                output = inference.colorize(model, paths[name])
            assert output.dtype == np.uint8 and output.shape == (*shape_of(name), 3)
            frames = [str(warning.message) for warning in caught if "frames or pages" in str(warning.message)]
            assert len(frames) == (name == "animated.gif")  # the one file of several frames says so


def test_colorize_cli_matrix(corpus, weights, tmp_path, caplog, capsys):
    root, paths = corpus
    before = {name: os.path.getsize(path) for name, path in paths.items() if os.path.isfile(path)}
    out = tmp_path / "out put é" / "new"
    with badfiles.deny_reads(paths["unreadable.jpg"]):
        code = main(["colorize", root, "-o", str(out), "--weights", weights])
    assert code == 1
    written, failed = len(used(FILES)), len(dropped(FILES))
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"{written} written, 0 skipped, {failed} failed -> {out}"
    messages = single_line_records(caplog, "colorzoo.inference")
    for name in dropped(FILES):
        assert_named_once(messages, paths[name], verdict(name, FILES)[1])
    outputs = files_under(out)
    assert len(outputs) == written and os.path.join("x.jpg", "inside.png") in outputs
    for name in used(FILES):
        relative = os.path.join("x.jpg", "inside.png") if name == "x.jpg" else os.path.relpath(paths[name], root)
        output = Image.open(out / (os.path.splitext(relative)[0] + ".png"))
        assert output.size[::-1] == shape_of(name)
    assert before == {name: os.path.getsize(path) for name, path in paths.items() if os.path.isfile(path)}


def test_evaluate_cli_matrix(corpus, weights, tmp_path, caplog, capsys):
    root, paths = corpus
    csv_path, json_path = tmp_path / "scores ü" / "all.csv", tmp_path / "scores.json"
    with badfiles.deny_reads(paths["unreadable.jpg"]):
        code = main([
            "evaluate", "--data", root, "--weights", weights, "--csv", str(csv_path), "--json", str(json_path),
        ])
    assert code == 1
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary == f"{len(used(EVALUATE))} images, {len(dropped(EVALUATE))} skipped, 0 grayscale left out"
    messages = single_line_records(caplog, "colorzoo.metrics")
    for name in dropped(EVALUATE):
        assert_named_once(messages, paths[name], verdict(name, EVALUATE)[1])
    text = csv_path.read_bytes().decode("utf-8")  # valid UTF-8 even with a non-UTF-8 file name
    assert data._printable(paths["non_utf8"]) in text and text.count("(mean)") == 2
    result = json.loads(json_path.read_text())
    scored = {os.fsencode(row["file"]) for row in result["rows"]}  # the exact bytes come back
    expected = {os.fsencode(paths[name]) for name in used(EVALUATE) if name != "x.jpg"}
    assert scored == expected | {os.fsencode(os.path.join(paths["x.jpg"], "inside.png"))}


@pytest.mark.slow
def test_train_cli_matrix(corpus, tmp_path, capsys):
    root, paths = corpus
    run = tmp_path / "run"
    with badfiles.deny_reads(paths["unreadable.jpg"]):
        code = main([
            "train", "--model", "unet_sequential", "--data", root, "--image-size", "32", "--width", "0.125",
            "--batch-size", "2", "--epochs", "1", "--out", str(run),
        ])
    assert code == 0  # skipped training files are a warning, not a failure: the model was trained
    err = capsys.readouterr().err.splitlines()
    [start] = [index for index, line in enumerate(err) if line.startswith("colorzoo: warning: colorzoo.data: skipped")]
    lines = list(itertools.takewhile(lambda line: line.startswith("  "), err[start + 1:]))  # one line per file
    assert len(lines) == len(dropped(DATASET)) - 1  # x.jpg/ is a folder here, walked into
    for name in dropped(DATASET):
        if name != "x.jpg":
            assert_named_once(lines, data._printable(paths[name]), verdict(name, DATASET)[1])
    assert hub.load_model(run / "best.keras").name == "unet_sequential"


def test_explicit_missing_or_dangling_input_is_a_usage_error(corpus, weights, tmp_path, capsys):
    _, paths = corpus
    code = main(["colorize", paths["good.jpg"], paths["dangling.jpg"], "-o", str(tmp_path), "--weights", weights])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"colorzoo: error: {paths['dangling.jpg']}: no such file or folder"
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode")
def test_chmod_000_file_in_a_subprocess(corpus, weights, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(corpus[1]["good.jpg"], folder / "good.jpg")
    locked = folder / "locked.jpg"
    shutil.copy(corpus[1]["good.jpg"], locked)
    os.chmod(locked, 0)
    result = subprocess.run(
        [sys.executable, "-m", "colorzoo.cli", "colorize", str(folder), "-o", str(tmp_path / "out"), "--weights",
         weights],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert result.returncode == 1 and f"skipping {locked}: " in result.stderr and "Permission denied" in result.stderr
    assert os.listdir(tmp_path / "out") == ["good.png"]


# === Interrupted work ===


def _log_epochs(out_dir):
    path = os.path.join(out_dir, "log.csv")
    if not os.path.exists(path):
        return []
    with open(path) as file:
        return [int(line.split(",")[0]) for line in file.read().splitlines()[1:] if line]


def _temporaries(*folders):
    existing = [folder for folder in folders if os.path.isdir(folder)]
    return [name for folder in existing for name in os.listdir(folder) if name.startswith(files.TEMPORARY_PREFIX)]


def _assert_checkpoints_load(out_dir):
    """Every checkpoint under its final name is whole: the .keras files and the backup weights."""
    for name in ("last.keras", "best.keras"):
        if os.path.exists(os.path.join(out_dir, name)):
            assert hub.load_model(os.path.join(out_dir, name)).name == "unet_sequential"
    backup = os.path.join(out_dir, "backup")  # (a temporary .weights.h5 a kill interrupted may be partial)
    if os.path.exists(os.path.join(backup, "latest.weights.h5")):
        fresh = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
        training.compile_model(fresh)
        fresh.optimizer.build(fresh.trainable_variables)
        fresh.load_weights(os.path.join(backup, "latest.weights.h5"))
    if os.path.exists(os.path.join(backup, "training_metadata.json")):
        assert json.load(open(os.path.join(backup, "training_metadata.json")))["epoch"] >= 1


@pytest.mark.slow
def test_sigkill_training_at_random_points(tmp_path):
    """Three SIGKILLs, each 1-8 s after the (resumed) run finished an epoch of its own, so any
    moment may be hit: mid-batch, mid-checkpoint, mid-backup, mid-log. Then a resume that trains
    two or three more epochs to the end."""
    write_photo_folder(str(tmp_path / "train"), size=40, count=4)
    out = str(tmp_path / "run")
    command = [
        sys.executable, "-m", "colorzoo.cli", "train", "--model", "unet_sequential", "--data", str(tmp_path / "train"),
        "--image-size", "32", "--batch-size", "2", "--width", "0.125", "--out", out,
    ]
    delays, finished = [], []
    for trial in range(4):
        last = trial == 3
        epochs = finished[-1] + 3 if last else 1000  # killed runs never end by themselves
        output = tmp_path / f"output_{trial}.txt"
        with open(output, "wb") as stdout:
            process = subprocess.Popen(
                [*command, "--epochs", str(epochs), *(["--resume"] if trial else [])],
                stdout=stdout, stderr=subprocess.STDOUT, cwd=ROOT,
            )
            if not last:
                deadline = time.time() + 240
                while process.poll() is None and len(_log_epochs(out)) <= len(finished) and time.time() < deadline:
                    time.sleep(0.1)
                delays.append(round(random.uniform(1.0, 8.0), 2))
                time.sleep(delays[-1])
                process.send_signal(signal.SIGKILL)
            code = process.wait(timeout=300)
        logged = _log_epochs(out)
        context = f"delays {delays}, epochs {logged}, exit {code}, output {output.read_bytes()[-600:]!r}"
        assert code == (0 if last else -signal.SIGKILL), context
        assert logged[: len(finished)] == finished and len(logged) > len(finished), context  # nothing lost
        assert logged == sorted(set(logged)), context  # no finished epoch repeated
        finished = logged
        _assert_checkpoints_load(out)
    assert finished[-1] == epochs - 1, context
    assert not _temporaries(out, os.path.join(out, "backup")), context


@pytest.mark.slow
def test_sigkill_during_batch_colorize_then_skip_existing(weights, tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    sizes = {}
    for index in range(20):
        width, height = 480 + 8 * index, 360
        photo = photo_array(width, height, ("astronaut", "coffee", "chelsea")[index % 3])
        Image.fromarray(photo).save(inputs / f"{index:02d}.jpg")
        sizes[f"{index:02d}.png"] = (width, height)
    command = [sys.executable, "-m", "colorzoo.cli", "colorize", str(inputs), "-o", str(out), "--weights", weights]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.time() + 240
    while process.poll() is None and not (out.is_dir() and any(name.endswith(".png") for name in os.listdir(out))):
        assert time.time() < deadline, "no output appeared"
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 0.2))
    process.send_signal(signal.SIGKILL)
    process.wait()

    def finals():
        return sorted(name for name in os.listdir(out) if not name.startswith("."))

    first = finals()
    assert len(first) < len(sizes), "the kill came after the last image"
    for name in first:  # every output under its final name decodes completely
        with Image.open(out / name) as image:
            image.load()
            assert image.size == sizes[name]
    stamps = {name: os.stat(out / name).st_mtime_ns for name in first}
    assert main(["colorize", str(inputs), "-o", str(out), "--weights", weights, "--skip-existing"]) == 0
    assert finals() == sorted(sizes)  # temporaries never became outputs
    assert all(os.stat(out / name).st_mtime_ns == stamps[name] for name in first)  # kept, not redone
    for name in sizes:
        with Image.open(out / name) as image:
            image.load()
            assert image.size == sizes[name]
    # A write the kill interrupted leaves its hidden temporary (.colorzoo-tmp-<pid>-x1y2z3), never
    # an output; the rerun removes it because its writer is gone.
    assert [name for name in os.listdir(out) if name.startswith(".")] == []


# === Untrusted model files ===


@pytest.fixture
def bad_models(weights, tmp_path):
    """name -> (path, part of the ModelFileError message)."""
    source = weights
    marker = tmp_path / "lambda_ran"
    models = {
        "lambda": (badfiles.lambda_model(str(tmp_path / "evil lambda.keras"), marker), "refused: the file holds code"),
        "unknown class": (
            badfiles.unknown_class_model(source, str(tmp_path / "unknown.keras")), "does not know: NoSuchLayer"
        ),
        "os.system": (badfiles.foreign_function_model(source, str(tmp_path / "system.keras")), "does not know: system"),
        "foreign module": (badfiles.foreign_module_model(source, str(tmp_path / "module.keras")), "does not know"),
        "truncated": (badfiles.truncated_archive(source, str(tmp_path / "half.keras")), "not a .keras model archive"),
        "text": (str(tmp_path / "notes.keras"), "not a .keras model archive"),
        "rgb input": (badfiles.rgb_input_model(str(tmp_path / "rgb.keras")), "not a colorization model: its input"),
        "rgb output": (badfiles.rgb_output_model(str(tmp_path / "rgb_out.keras")), "not a colorization model: its output"),
        "missing": (str(tmp_path / "nowhere.keras"), "no such model file"),
        "newer keras": (badfiles.newer_keras_model(source, str(tmp_path / "future.keras")),
                        "it was saved by Keras 99.1.0 and this is Keras 3."),
        "folder": (str(tmp_path / "a_folder"), "a folder, not a .keras model file"),
        "saved model": (str(tmp_path / "exported"), "a TensorFlow SavedModel, e.g. from model.export"),
    }
    open(models["text"][0], "w").write("not a model\n")
    os.makedirs(models["folder"][0])
    os.makedirs(models["saved model"][0])
    open(os.path.join(models["saved model"][0], "saved_model.pb"), "wb").close()
    return models, marker


@pytest.mark.parametrize(
    "case",
    ["lambda", "unknown class", "os.system", "foreign module", "truncated", "text", "rgb input", "rgb output", "missing",
     "folder", "saved model", "newer keras"],  # before, both folders: "no such model file"
)
def test_untrusted_model_files_are_refused(bad_models, case):
    models, marker = bad_models
    path, message = models[case]
    already_imported = "this" in sys.modules
    with pytest.raises(hub.ModelFileError) as raised:
        hub.load_model(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text, text
    assert not marker.exists()  # the Lambda's code never ran
    assert already_imported or "this" not in sys.modules  # nor did a foreign module's import


def test_cli_refuses_a_lambda_model_without_running_it(bad_models, corpus, tmp_path, capsys):
    models, marker = bad_models
    path = models["lambda"][0]
    assert main(["colorize", corpus[1]["good.jpg"], "-o", str(tmp_path / "out"), "--weights", path]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"colorzoo: error: {path}: refused") and "\n" not in err
    assert main(["evaluate", "--data", corpus[0], "--weights", path]) == 1
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_wrong_architecture_or_shape_names_both_models(weights, tmp_path):
    wide = str(tmp_path / "wide.keras")
    badfiles.tiny_model(wide, width=0.25)
    other = str(tmp_path / "other.keras")
    colorzoo.build_model("resnet18_decoder", image_size=32, width=0.25).save(other)
    target = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    with pytest.raises(ValueError) as raised:
        training._load_weights_from(target, wide)
    text = str(raised.value)
    assert f"{wide}: holds unet_sequential with 389,318 parameters" in text and "unet_sequential with 97,532" in text
    assert "weight shape (3, 3, 1, 8) is not compatible with provided weight shape (3, 3, 1, 16)" in text
    with pytest.raises(ValueError) as raised:
        training._load_weights_from(target, other)
    text = str(raised.value)
    assert f"{other}: holds resnet18_decoder" in text and "does not fit unet_sequential" in text
    assert "was expecting 26 weights" in text and "\n" not in text


def test_init_takes_a_weights_h5_file_of_the_same_architecture(tmp_path):
    """``--init`` / ``initial_weights`` restore ``save_weights`` files too (what ``encoder_weights=<file>``
    once did for models without a pretrained encoder); one of another width is refused naming it."""
    source = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    rng = np.random.default_rng(0)
    source.set_weights([rng.normal(size=w.shape).astype("float32") for w in source.get_weights()])
    source.save_weights(tmp_path / "saved.weights.h5")
    target = colorzoo.build_model("unet_sequential", image_size=64, width=0.125)
    training._load_weights_from(target, str(tmp_path / "saved.weights.h5"))
    for expected, actual in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(actual, expected)
    wider = colorzoo.build_model("unet_sequential", image_size=32, width=0.25)
    with pytest.raises(hub.ModelFileError, match="saved.weights.h5: its weights do not fit unet_sequential"):
        training._load_weights_from(wider, str(tmp_path / "saved.weights.h5"))


@pytest.mark.slow
def test_train_init_with_the_wrong_architecture_exits_1(tmp_path, capsys):
    data_folder = write_photo_folder(str(tmp_path / "train"), size=40, count=2)
    other = str(tmp_path / "other.keras")
    colorzoo.build_model("resnet18_decoder", image_size=32, width=0.25).save(other)
    code = main([
        "train", "--model", "unet_sequential", "--data", os.path.dirname(data_folder[0]), "--image-size", "32",
        "--width", "0.125", "--batch-size", "2", "--epochs", "1", "--init", other, "--out", str(tmp_path / "run"),
    ])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith(f"colorzoo: error: {other}: holds resnet18_decoder") and "\n" not in err
    assert not (tmp_path / "run" / "last.keras").exists()


def test_shipped_weights_are_sha256_checked(weights, tmp_path, monkeypatch, corpus, capsys):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(weights, shipped / "unet_sequential.keras")
    entry = {"file": "unet_sequential.keras", "sha256": hub.sha256_of(weights), "image_size": 32}
    manifest = {"unet_sequential": entry}
    (shipped / hub.MANIFEST).write_text(json.dumps(manifest))
    assert hub.pretrained("unet_sequential", weights_dir=str(shipped)).count_params() == 97_532

    with open(shipped / "unet_sequential.keras", "r+b") as file:  # one flipped byte deep inside
        file.seek(os.path.getsize(weights) // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(hub.ModelFileError, match=r"unet_sequential.keras: sha256 [0-9a-f]{12}\.\.\. does not match"):
        hub.pretrained("unet_sequential", weights_dir=str(shipped))
    monkeypatch.setattr(hub, "pretrained", functools.partial(hub.pretrained, weights_dir=str(shipped)))
    assert main(["colorize", corpus[1]["good.jpg"], "-o", str(tmp_path / "out"), "--model", "unet_sequential"]) == 1
    error = capsys.readouterr().err
    assert "does not match the manifest" in error and "git checkout weights/" in error
    os.remove(shipped / "unet_sequential.keras")
    with pytest.raises(hub.ModelFileError, match="shipped weights file is missing"):
        hub.pretrained("unet_sequential")
    with pytest.raises(hub.ModelFileError, match="no shipped weights for 'hypercolumn'"):
        hub.pretrained("hypercolumn")
    with pytest.raises(hub.ModelFileError, match=f"{tmp_path / 'nowhere' / hub.MANIFEST}: no such manifest"):
        hub.pretrained("unet_sequential", weights_dir=str(tmp_path / "nowhere"))  # was "(shipped: none yet)"


def test_a_truncated_trained_layers_archive_is_a_model_file_error(tmp_path):
    np.savez(tmp_path / "layers.npz", **{"decoder/0": np.zeros(3)})
    with open(tmp_path / "layers.npz", "r+b") as file:
        file.truncate(40)
    with pytest.raises(hub.ModelFileError, match="layers.npz: not a readable .npz archive"):  # was zipfile.BadZipFile
        hub._rebuild_with_trained_layers("unet_sequential", {"image_size": 32, "width": 0.125}, str(tmp_path / "layers.npz"))


def test_a_trained_layers_archive_missing_or_damaging_a_layer_is_a_model_file_error(tmp_path):
    """Before: a layer left out of the archive kept its random weights without a word; a damaged
    member or a wrong shape raised a bare BadZipFile / Keras ValueError."""
    options = {"image_size": 32, "width": 0.125}
    model = colorzoo.build_model("unet_sequential", **options)
    layers = [layer.name for layer in model.layers if layer.weights]
    path = str(tmp_path / "layers.npz")
    hub.save_trained_layers(model, path, frozen_layers=[layers[-1]])
    with pytest.raises(hub.ModelFileError, match=rf"layers.npz: lacks the trained layers \['{layers[-1]}'\]"):
        hub._rebuild_with_trained_layers("unet_sequential", options, path)

    arrays = {f"{layer.name}/{index}": weight for layer in model.layers for index, weight in enumerate(layer.get_weights())}
    first = f"{layers[0]}/0"
    np.savez(path, **{**arrays, first: np.zeros((1, 1, 1, 1), "float32")})
    with pytest.raises(hub.ModelFileError, match=f"layers.npz: layer {layers[0]}: "):
        hub._rebuild_with_trained_layers("unet_sequential", options, path)

    np.savez(path, **arrays)
    data = bytearray(open(path, "rb").read())
    start = data.index(b"\x93NUMPY", data.index(f"{layers[1]}/0.npy".encode())) + 200  # inside that kernel's values
    data[start] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(hub.ModelFileError, match=f"layers.npz: layer {layers[1]}: Bad CRC-32"):
        hub._rebuild_with_trained_layers("unet_sequential", options, path)


# === Output safety ===


def test_cli_output_safety(weights, tmp_path, capsys):
    folder = tmp_path / "mes photos ü"
    folder.mkdir()
    Image.fromarray(photo_array(40, 32)).save(folder / "a b.png")
    Image.new("L", (24, 20), 0).save(folder / "black.png")
    Image.new("L", (24, 20), 255).save(folder / "white.png")
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    args = ["--weights", weights]
    # an output folder that is the input folder: a later run would colorize its outputs; refused
    assert main(["colorize", str(folder), "-o", str(folder), *args]) == 1
    assert "the output folder is the input folder" in capsys.readouterr().err
    # an output that would replace an input file: refused before any work
    assert main(["colorize", str(folder / "a b.png"), "-o", str(folder), *args]) == 1
    assert "refusing to overwrite the input" in capsys.readouterr().err
    # an output "folder" that is an input file
    assert main(["colorize", str(folder / "a b.png"), "-o", str(folder / "a b.png"), *args]) == 2
    assert "is an existing file" in capsys.readouterr().err
    assert before == {path.name: path.read_bytes() for path in folder.iterdir()}
    # missing output folders are created; spaces and non-ASCII names work
    out = tmp_path / "sortie é" / "deux niveaux"
    assert main(["colorize", str(folder), "-o", str(out), *args]) == 0
    assert sorted(os.listdir(out)) == ["a b.png", "black.png", "white.png"]
    for name, value in (("black.png", 0), ("white.png", 255)):  # no NaN turned into odd colours
        assert np.abs(np.asarray(Image.open(out / name), int) - value).max() <= 3  # gamut tolerance
    assert before == {path.name: path.read_bytes() for path in folder.iterdir()}


def test_output_folder_around_the_inputs_and_unwritable_outputs(weights, tmp_path, capsys):
    scans = tmp_path / "scans"
    (scans / "originals").mkdir(parents=True)
    Image.fromarray(photo_array(40, 32)).save(scans / "originals" / "a.jpg")
    Image.fromarray(photo_array(40, 32, "coffee")).save(scans / "originals" / "b.tif")
    Image.fromarray(photo_array(2, 300)).save(scans / "originals" / "strip.png")  # 2 wide, 300 tall
    args = ["--weights", weights]
    # the output folder is the parent of the input folder: every photo is an input, TIFF included
    assert main(["colorize", str(scans / "originals"), "-o", str(scans), *args]) == 0
    assert "3 written, 0 skipped, 0 failed" in capsys.readouterr().out
    assert sorted(name for name in os.listdir(scans) if name.endswith(".png")) == ["a.png", "b.png", "strip.png"]
    # an output subfolder of the input folder: earlier outputs there are not taken as inputs
    inner = scans / "originals" / "colorized"
    for _ in range(2):
        assert main(["colorize", str(scans / "originals"), "-o", str(inner), "--skip-existing", *args]) == 0
    assert files_under(inner) == ["a.png", "b.png", "strip.png"]
    # a compare figure of a 2 x 300 strip keeps a bounded size (it was 1200 x 60,000 pixels)
    out = tmp_path / "out"
    assert main(["colorize", str(scans / "originals" / "strip.png"), "-o", str(out), "--compare", *args]) == 0
    width, height = Image.open(out / "strip_compare.png").size
    assert width == 1200 and height <= 100 * (4 * inference.MAX_ASPECT + 0.5)
    # an existing output stops the run before any work unless --skip-existing or --overwrite says what to do
    photos = [str(scans / "originals" / "a.jpg"), str(scans / "originals" / "b.tif")]
    (out / "b.png").write_bytes(b"the user's own file")
    assert main(["colorize", *photos, "-o", str(out), *args]) == 1
    assert "1 output(s) already exist, e.g. " in capsys.readouterr().err
    assert (out / "b.png").read_bytes() == b"the user's own file" and not (out / "a.png").exists()
    assert main(["colorize", *photos, "-o", str(out), "--skip-existing", *args]) == 0
    assert (out / "b.png").read_bytes() == b"the user's own file" and (out / "a.png").is_file()
    os.remove(out / "a.png")
    # an output name taken by a folder: that photo fails with one line, the others are written
    (out / "a.png").mkdir()
    code = main(["colorize", *photos, "-o", str(out), "--overwrite", *args])
    captured = capsys.readouterr()
    assert code == 1 and "1 written, 0 skipped, 1 failed" in captured.out and "Traceback" not in captured.err
    assert Image.open(out / "b.png").size == (40, 32) and (out / "a.png").is_dir()


def test_evaluate_never_writes_scores_over_a_photo_or_into_a_folder(weights, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(photo_array(40, 32)).save(folder / "keep.jpg")
    before = (folder / "keep.jpg").read_bytes()
    args = ["evaluate", "--data", str(folder), "--weights", weights]
    assert main([*args, "--csv", str(folder / "keep.jpg")]) == 1
    assert "refusing to overwrite the photo" in capsys.readouterr().err
    assert main([*args, "--json", str(folder / "keep.jpg")]) == 1
    assert (folder / "keep.jpg").read_bytes() == before
    (tmp_path / "scores").mkdir()
    assert main([*args, "--csv", str(tmp_path / "scores")]) == 1
    captured = capsys.readouterr()
    assert "is a folder" in captured.err and "Traceback" not in captured.err and "psnr" not in captured.out
    assert main([*args, "--csv", str(tmp_path / "s.json"), "--json", str(tmp_path / "s.json")]) == 1
    assert "would be the same file" in capsys.readouterr().err
    assert main([*args, "--csv", str(tmp_path / "s.csv")]) == 0


def test_evaluate_with_nothing_to_score_exits_1(weights, tmp_path, capsys):
    folder = tmp_path / "gray and broken"
    folder.mkdir()
    Image.new("L", (24, 20), 90).save(folder / "gray.png")
    (folder / "empty.jpg").write_bytes(b"")
    assert main(["evaluate", "--data", str(folder), "--weights", weights]) == 1
    captured = capsys.readouterr()
    assert "0 images, 1 skipped, 1 grayscale left out" in captured.out
    assert "no colour photo could be scored" in captured.err and "Traceback" not in captured.err


# === Numerical safety ===


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused(model, bad):
    image = np.full((20, 30, 3), 0.5, np.float32)
    image[3, 4, 1] = bad
    with pytest.raises(ValueError, match=r"float pixels must be numbers in \[0, 1\]: 1 are NaN or infinite"):
        inference.colorize(model, image)
    with pytest.raises(ValueError, match="a float image array must be numbers in .*: 1 are NaN or infinite"):
        data.make_dataset(image[None], 16, 1)


def test_float_pixels_outside_0_1_are_refused_not_clipped(model):
    photo = photo_array(20, 16).astype(np.float64)
    message = rf"float pixels must be in \[0, 1\], got values from 0 to {photo.max():g} .*divide by 255"
    with pytest.raises(ValueError, match=message):
        inference.colorize(model, photo)
    overshoot = np.full((20, 16, 3), 1.05, np.float32)  # resampling overshoot is clipped
    assert inference.colorize(model, overshoot).min() >= 252
    with pytest.raises(ValueError, match="size must be positive and at most .* pixels in all, got 0"):
        inference.colorize(model, overshoot, size=0)


@pytest.mark.parametrize("image", [np.zeros((21, 13), np.float32), np.ones((21, 13, 3), np.float64),
                                   np.zeros((21, 13), np.uint16), np.full((21, 13), 65535, np.uint16)])
def test_black_and_white_float_and_16_bit_images(model, image):
    output = inference.colorize(model, image).astype(int)
    expected = 255 if image.max() > 0 else 0
    assert output.shape == (21, 13, 3) and np.abs(output - expected).max() <= 3  # black or white, no NaN colours


def test_a_model_predicting_nan_is_refused(tmp_path, corpus, capsys):
    path = badfiles.nan_model(str(tmp_path / "diverged.keras"))
    with pytest.raises(ValueError, match="predicted NaN or infinite colours"):
        inference.colorize(hub.load_model(path), np.full((8, 8), 128, np.uint8))
    out = tmp_path / "out"
    assert main(["colorize", corpus[1]["good.jpg"], "-o", str(out), "--weights", path]) == 1
    assert "predicted NaN" in capsys.readouterr().err
    assert not out.exists() or os.listdir(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unet_sequential", "pix2pix"])  # a GAN trainer logs g_loss and d_loss, no loss
def test_train_from_nan_weights_stops_and_exits_1(name, tmp_path, capsys):
    folder = os.path.dirname(write_photo_folder(str(tmp_path / "train"), size=40, count=4)[0])
    model = colorzoo.build_model(name, image_size=32, width=0.125)
    nan_weights = badfiles.nan_model(str(tmp_path / "diverged.keras"), model)
    run = tmp_path / "run"
    code = main([
        "train", "--model", name, "--data", folder, "--image-size", "32", "--width", "0.125",
        "--batch-size", "2", "--epochs", "3", "--init", nan_weights, "--out", str(run),
    ])
    captured = capsys.readouterr()
    assert code == 1 and "training diverged (loss became NaN)" in captured.err
    assert "Batch 0: NaN or infinite" in captured.out and "stopping" in captured.out  # after the first batch
    assert "Epoch 2/3" not in captured.out
    assert not (run / "last.keras").exists() and not (run / "best.keras").exists()  # nothing NaN saved


@pytest.mark.slow
def test_nan_loss_keeps_the_last_good_checkpoint_and_backup(tmp_path, monkeypatch, capsys):
    folder = os.path.dirname(write_photo_folder(str(tmp_path / "train"), size=40, count=4)[0])
    run = tmp_path / "run"
    argv = ["train", "--model", "unet_sequential", "--data", folder, "--image-size", "32", "--width", "0.125",
            "--batch-size", "2", "--out", str(run)]
    assert main([*argv, "--epochs", "1"]) == 0
    saved = {name: (run / name).read_bytes() for name in ("last.keras", "best.keras", "backup/training_metadata.json")}
    saved_weights = (run / "backup" / "latest.weights.h5").read_bytes()
    real = data.make_dataset
    poisoned = lambda *args, **kwargs: real(*args, **kwargs).map(lambda l, c: (l, c * np.float32("nan")))  # noqa: E731
    monkeypatch.setattr(data, "make_dataset", poisoned)
    assert main([*argv, "--epochs", "3", "--resume"]) == 1
    assert "training diverged" in capsys.readouterr().err
    assert saved == {name: (run / name).read_bytes() for name in saved}
    assert saved_weights == (run / "backup" / "latest.weights.h5").read_bytes()
    monkeypatch.setattr(data, "make_dataset", real)
    assert main([*argv, "--epochs", "2", "--resume"]) == 0  # resumes from the last good epoch
    assert np.isfinite(hub.load_model(run / "last.keras").get_weights()[0]).all()
