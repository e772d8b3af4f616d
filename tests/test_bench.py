"""bench/: every benchmark runs end to end at a toy size (one small model, 32 px, one timed run).

The numbers are not checked (timings are never asserted); what is checked is that each script
exits cleanly, that none of its worker processes reported an error and that it writes its
tables, so a change to colorzoo's API cannot leave a benchmark broken until someone reruns it.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.photos import write_photo_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY_MODEL = ["--models", "resnet18_decoder", "--small"]

BENCHMARKS = {
    "train_throughput": TOY_MODEL
    + ["--sizes", "32", "--jit", "off", "--batch-size", "2", "--steps", "1", "--runs", "1", "--matmul-size", "128",
       "--dtype-policies", "float32,mixed_bfloat16", "--option", "width=0.125"],
    "inference": TOY_MODEL + ["--batch-size", "2", "--latency-runs", "1", "--runs", "1", "--megapixels", "0.05"],
    "pipeline_vs_models": TOY_MODEL
    + ["--data", "{photos}", "--files", "8", "--image-size", "32", "--batch-size", "2", "--runs", "1", "--steps", "1"],
    "validation_scoring": TOY_MODEL + ["--image-size", "32", "--batch-size", "2", "--batches", "1", "--runs", "1"],
}
# What each script prints once its measurements are done (torch_pix2pix: not known without torch).
LAST_WORDS = {
    "train_throughput": "Dtype policy against float32, same run:",
    "inference": "| 0.05 (",
    "pipeline_vs_models": "| resnet18_decoder | lab ",
    "validation_scoring": "| resnet18_decoder |",
    "pipeline": "colorzoo vs skimage:",
    "hypercolumn_memory": "1 steps:",
    "scoring_memory": "| 0.01 ",
    "run_shapes": "| unet_sequential | 13 ",
}


def _errors(result):
    """Every ``"error"`` value anywhere in a benchmark's JSON output."""
    if isinstance(result, dict):
        found = [result["error"]] if "error" in result else []
        return found + [error for value in result.values() for error in _errors(value)]
    if isinstance(result, list):
        return [error for value in result for error in _errors(value)]
    return []


def _run(script, args):
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", f"{script}.py"), *args],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert LAST_WORDS.get(script, "") in done.stdout, done.stdout[-3000:]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench_photos")
    write_photo_folder(str(folder), size=48, count=8)
    return str(folder)


@pytest.mark.parametrize("script", sorted(BENCHMARKS))
def test_model_benchmark_runs_and_reports_no_worker_error(script, photos, tmp_path):
    output = tmp_path / "result.json"
    args = [arg.format(photos=photos) for arg in BENCHMARKS[script]]
    _run(script, [*args, "--json", str(output)])
    result = json.loads(output.read_text())
    assert result["machine"]["cores"] == os.cpu_count()
    assert _errors(result) == []
    if script == "train_throughput":  # one configuration per policy, each built with --option
        assert [(r["dtype_policy"], r["options"]) for r in result["results"]] == [
            ("float32", {"width": 0.125}), ("mixed_bfloat16", {"width": 0.125})
        ]
        import colorzoo

        built = colorzoo.build_model("resnet18_decoder", image_size=32, width=0.125)
        assert {r["parameters"] for r in result["results"]} == {built.count_params()}


def test_pipeline_benchmark_runs(photos):
    _run("pipeline", ["--data", photos, "--files", "8", "--image-size", "32", "--batch-size", "2", "--runs", "1"])


def test_hypercolumn_memory_benchmark_runs():
    _run("hypercolumn_memory", ["--image-size", "32", "--batch-size", "1", "--steps", "1"])


def test_scoring_memory_benchmark_runs():
    _run("scoring_memory", ["--megapixels", "0.01", "--runs", "1"])


def test_run_shapes_benchmark_runs():
    _run("run_shapes", ["--models", "unet_sequential"])


def test_torch_pix2pix_benchmark_runs(tmp_path):
    pytest.importorskip("torch", reason="bench/torch_pix2pix.py compares against PyTorch, not installed here")
    output = tmp_path / "result.json"
    _run("torch_pix2pix", ["--quick", "--json", str(output)])
    assert _errors(json.loads(output.read_text())) == []


def _bench_module(name, monkeypatch):
    import importlib.util

    monkeypatch.syspath_prepend(os.path.join(ROOT, "bench"))  # they import bench/common.py
    spec = importlib.util.spec_from_file_location(f"bench_{name}", os.path.join(ROOT, "bench", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "script, arguments, message",
    [  # before: a replaced file, a traceback after the whole run, or exit 0 with nothing measured
        ("inference", ["--json", "{mine}"], "mine.json exists; remove it or choose another file"),
        ("inference", ["--json", "{tmp}/nowhere/x.json"], "nowhere: no such folder"),
        ("inference", ["--models", "nosuch"], "unknown models ['nosuch']"),
        ("inference", ["--megapixels", "abc"], "expected a number, got 'abc'"),
        ("train_throughput", ["--jit", "maybe"], "expected off, on or off,on"),
        ("train_throughput", ["--runs", "0"], "must be above 0, got 0"),
        ("train_throughput", ["--sizes", "abc"], "expected a whole number, got 'abc'"),
        ("train_throughput", ["--dtype-policies", "float16"], "expected some of float32,mixed_float16,mixed_bfloat16"),
        ("train_throughput", ["--option", "width"], "--option width: expected KEY=VALUE"),
        ("pipeline", ["--files", "0"], "must be at least 1, got 0"),
        ("pipeline", ["--data", "{tmp}/nowhere"], "nowhere: no such folder"),
        ("hypercolumn_memory", ["--image-size", "30"], "image_size must be a multiple of 8"),
        ("validation_scoring", ["--models", "nosuch"], "unknown models ['nosuch']"),
        ("scoring_memory", ["--megapixels", "abc"], "expected a number, got 'abc'"),
        ("run_shapes", ["--models", "nosuch"], "unknown models ['nosuch']"),
        ("torch_pix2pix", ["--json", "{mine}"], "mine.json exists"),
    ],
)
def test_benchmarks_refuse_bad_arguments_before_any_work(script, arguments, message, tmp_path, capsys, monkeypatch):
    mine = tmp_path / "mine.json"
    mine.write_text("a user's results")
    module = _bench_module(script, monkeypatch)
    with pytest.raises(SystemExit) as exit_:
        module.main([argument.format(tmp=tmp_path, mine=mine) for argument in arguments])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert mine.read_text() == "a user's results"
