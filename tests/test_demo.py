"""The shipped weights and `colorzoo demo`, as a fresh clone has them."""

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import numpy as np
import pytest
from PIL import Image

import colorzoo
from colorzoo import demo, hub, metrics


def test_every_shipped_file_loads_with_its_hash_and_is_registered():
    shipped = hub.shipped_weights()
    assert shipped, "weights/manifest.json lists no model"
    for name in shipped:
        model = colorzoo.build_model(name, weights="colorzoo")
        assert model.name == name
        size = shipped[name].get("run_size", shipped[name]["image_size"])  # run_size: chosen on validation
        assert model.input_shape[1:] == (size, size, 1)
        assert os.path.getsize(os.path.join(hub.WEIGHTS_DIR, shipped[name]["file"])) < 50_000_000


def test_weights_colorzoo_refuses_other_options():
    name = next(iter(hub.shipped_weights()))
    with pytest.raises(ValueError, match="drop image_size"):
        colorzoo.build_model(name, weights="colorzoo", image_size=64)


@pytest.mark.slow
def test_demo_writes_full_resolution_photos_and_the_grid(tmp_path, capsys):
    assert demo.run_demo(str(tmp_path)) == 0
    out = capsys.readouterr().out
    for name in demo.DEMO_PHOTOS:
        colorized = np.asarray(Image.open(tmp_path / "colorized" / f"{name}.png"))
        gray = np.asarray(Image.open(tmp_path / "gray" / f"{name}.png"))
        assert colorized.shape == (*gray.shape, 3)
        assert metrics.colorfulness(colorized) > 1  # colour, not the gray input saved again
        assert name in out
    assert (tmp_path / "comparison.png").exists()
    assert "PSNR" in out


def test_demo_never_replaces_a_file_it_did_not_write(tmp_path, capsys):
    mine = tmp_path / "colorized" / "astronaut.png"
    mine.parent.mkdir()
    mine.write_bytes(b"my own picture")
    assert demo.run_demo(str(tmp_path)) == 1
    assert "colorized/astronaut.png was not written by colorzoo demo" in capsys.readouterr().err
    assert mine.read_bytes() == b"my own picture"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["astronaut.png", "colorized"]  # nothing written


def test_demo_replaces_its_own_outputs_while_unchanged(tmp_path):
    outputs = demo.DemoOutputs(str(tmp_path))
    written = outputs.write("gray/astronaut.png", lambda handle: handle.write(b"demo output"))
    assert demo.DemoOutputs(str(tmp_path)).foreign() == []  # a re-run may replace it
    with open(written, "ab") as handle:
        handle.write(b", edited by the user")
    assert demo.DemoOutputs(str(tmp_path)).foreign() == [written]


@pytest.mark.parametrize("record", ["{'astronaut': 1", '["gray/astronaut.png"]', '{"gray/astronaut.png": 3}'])
def test_a_damaged_demo_record_is_refused_naming_it(tmp_path, record):
    """Before: a bare JSON error without the file's name, or a TypeError after the first output was written."""
    (tmp_path / demo.RECORD).write_text(record)
    with pytest.raises(ValueError, match=rf"{demo.RECORD}: damaged .*remove it and the demo outputs beside it"):
        demo.DemoOutputs(str(tmp_path))


@pytest.mark.slow
def test_a_wheel_install_carries_the_shipped_weights(tmp_path):
    # pip install git+... or a wheel copies no checkout: the weights travel as data files
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "colorzoo", "weights"):
        copy = shutil.copytree if os.path.isdir(os.path.join(root, name)) else shutil.copy
        copy(os.path.join(root, name), source / name)
    run = functools.partial(subprocess.run, check=True, capture_output=True, text=True, cwd=tmp_path)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", "dist", str(source)])
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    site_packages = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    with open(os.path.join(site_packages, "dependencies.pth"), "w") as file:  # TensorFlow & co. of this environment
        file.write(sysconfig.get_path("purelib") + "\n")
    wheel = next((tmp_path / "dist").glob("colorzoo-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert any(name.endswith(".dist-info/LICENSE") for name in archive.namelist())
    outside = {**os.environ, "PYTHONPATH": ""}  # not this checkout: pip would take it for an installed colorzoo
    install = ["install", "--quiet", "--no-deps", "--no-index", "--ignore-installed"]
    run([sys.executable, "-m", "pip", "--python", python, *install, str(wheel)], env=outside)
    script = ("import colorzoo, sys; from colorzoo import hub; print(hub.WEIGHTS_DIR); "
              "print(colorzoo.pretrained('resnet18_decoder').name); print(colorzoo.__file__)")
    lines = run([python, "-c", script], env=outside).stdout.split()
    assert lines[0] == str(venv / "share" / "colorzoo" / "weights")
    assert lines[1] == "resnet18_decoder" and lines[2].startswith(site_packages)
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "setup.cfg").write_text("[metadata]\nname = a_project\n")  # before: taken for a checkout
    run([sys.executable, "-m", "pip", *install, "--target", "target", str(wheel)], env=outside)  # share/ lands beside the package
    found = run([sys.executable, "-c", "from colorzoo import hub; print(hub.WEIGHTS_DIR)"],
                env={**os.environ, "PYTHONPATH": str(tmp_path / "target")}).stdout.split()
    assert found == [str(tmp_path / "target" / "share" / "colorzoo" / "weights")]
    # and this environment's own colorzoo is untouched (pip uninstalls an installed colorzoo it sees)
    run([sys.executable, "-c", "import colorzoo"], env=outside)
