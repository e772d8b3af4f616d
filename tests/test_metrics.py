"""Metrics against hand-computed values, and ``evaluate`` with its gray baseline."""

import csv
import json
import math
import os

import numpy as np
import pytest
import skimage.color
import skimage.data
import tensorflow as tf
from PIL import Image

import colorzoo
from colorzoo import metrics
from tests.conftest import sample_batch, sample_rgb


def red_blue():
    """Left half pure red, right half pure blue."""
    image = np.zeros((4, 6, 3), np.uint8)
    image[:, :3, 0] = 255
    image[:, 3:, 2] = 255
    return image


def test_psnr_of_a_constant_difference():
    truth = np.full((2, 16, 16, 3), 0.5, np.float32)
    # MSE = 0.1^2 = 0.01, PSNR = 10 log10(1 / 0.01) = 20 dB
    np.testing.assert_allclose(metrics.psnr(truth, truth + 0.1), [20.0, 20.0], atol=1e-3)
    assert math.isinf(float(metrics.psnr(truth[0], truth[0])))


def test_ssim_identical_is_one_and_uint8_equals_float():
    rgb = sample_rgb(32, count=2)
    np.testing.assert_allclose(metrics.ssim(rgb, rgb), [1.0, 1.0], atol=1e-6)
    as_uint8 = (rgb * 255).round().astype(np.uint8)
    dimmed = (as_uint8 * 0.8).astype(np.uint8)
    as_float = metrics.ssim(as_uint8 / 255.0, dimmed / 255.0)
    np.testing.assert_allclose(metrics.ssim(as_uint8, dimmed), as_float, atol=1e-5)
    assert (metrics.ssim(as_uint8, dimmed).numpy() < 1.0).all()


@pytest.mark.parametrize(
    "score, true_rgb, pred_rgb, message",
    [
        (metrics.psnr, np.zeros((16, 16, 3), np.int64), np.zeros((16, 16, 3), np.int64),
         r"true_rgb must be uint8, uint16 or float in \[0, 1\], got int64"),
        (metrics.psnr, np.zeros((16, 16, 3), np.uint8), np.zeros((16, 20, 3), np.uint8),
         r"one shape, got \(16, 16, 3\) and \(16, 20, 3\)"),
        (metrics.psnr, np.zeros((16, 16), np.uint8), np.zeros((16, 16), np.uint8),
         r"true_rgb must be RGB images \(..., H, W, 3\), got shape \(16, 16\)"),
        (metrics.ssim, np.zeros((5, 5, 3), np.uint8), np.zeros((5, 5, 3), np.uint8),
         r"at least 11 pixels on each side, got \(5, 5, 3\)"),
        (metrics.ssim, np.zeros((16, 16, 3), np.float32), np.full((16, 16, 3), 255.0, np.float32),
         r"pred_rgb \(float\) must be in \[0, 1\], got values from 255 to 255"),
        (metrics.delta_colorfulness, np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16, 3), np.int32),
         "got int32"),
        (metrics.delta_colorfulness, np.zeros((3, 16, 16), np.uint8), np.zeros((3, 16, 16), np.uint8),
         r"got shape \(3, 16, 16\)"),
        (metrics.psnr, np.full((12, 12, 3), np.nan), np.zeros((12, 12, 3)),
         r"true_rgb \(float\) must be numbers in \[0, 1\]: 432 are NaN or infinite"),  # before: nan
        (metrics.delta_colorfulness, np.zeros((12, 12, 3)), np.full((12, 12, 3), np.inf), "432 are NaN or infinite"),
        (metrics.delta_colorfulness, np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0, 3), np.uint8),
         r"rgb must hold at least one pixel, got shape \(0, 0, 3\)"),  # before: nan and numpy warnings
    ],
)
def test_scores_refuse_what_they_would_misread(score, true_rgb, pred_rgb, message):
    with pytest.raises(ValueError, match=message):
        score(true_rgb, pred_rgb)


def test_floats_slightly_outside_the_unit_range_are_clipped_as_the_pipeline_clips_them():
    truth = sample_rgb(16, count=1)[0]
    overshoot = truth.copy()
    overshoot[0, 0], overshoot[1, 1] = 1.05, -0.05  # resampling overshoot, within color.FLOAT_SLACK
    clipped = np.clip(overshoot, 0.0, 1.0)
    for score in (metrics.psnr, metrics.ssim, metrics.delta_colorfulness):
        assert np.allclose(score(truth, overshoot), score(truth, clipped), rtol=0, atol=1e-6), score.__name__
    assert metrics.image_scores(truth, overshoot) == metrics.image_scores(truth, clipped)


def test_psnr_still_traces_inside_a_tf_function():
    traced = tf.function(lambda a, b: metrics.psnr(a, b))
    value = traced(tf.zeros((1, 16, 16, 3)), tf.fill((1, 16, 16, 3), 0.5))
    np.testing.assert_allclose(value.numpy(), [6.0206], atol=1e-3)


def test_ab_errors():
    truth = np.zeros((2, 4, 4, 2))
    prediction = np.broadcast_to(np.array([3.0, -4.0]), truth.shape)
    np.testing.assert_allclose(metrics.ab_l1(truth, prediction), [3.5, 3.5])  # (3 + 4) / 2
    np.testing.assert_allclose(metrics.ab_mse(truth, prediction), [12.5, 12.5])  # (9 + 16) / 2


@pytest.mark.parametrize("form", metrics.COLORFULNESS_FORMS)
def test_gray_image_has_no_colourfulness(form):
    gray = np.random.default_rng(0).uniform(size=(16, 16, 1)).repeat(3, axis=-1)
    assert metrics.colorfulness(gray, form) == pytest.approx(0.0, abs=1e-9)


def test_colourfulness_of_a_two_colour_image():
    # Red (255, 0, 0): rg = 255, yb = 127.5.  Blue (0, 0, 255): rg = 0, yb = -255.  Half each.
    # Signed: rg mean 127.5 std 127.5; yb mean -63.75 std 191.25.
    hasler = math.sqrt(127.5**2 + 191.25**2) + 0.3 * math.sqrt(127.5**2 + 63.75**2)
    # Absolute: |yb| is 127.5 or 255: mean 191.25 std 63.75.
    absolute = math.sqrt(127.5**2 + 63.75**2) + 0.3 * math.sqrt(127.5**2 + 191.25**2)
    image = red_blue()
    assert metrics.colorfulness(image) == pytest.approx(hasler)
    assert metrics.colorfulness(image, "absolute") == pytest.approx(absolute)
    assert metrics.colorfulness(image / 255.0, "absolute") == pytest.approx(absolute)
    np.testing.assert_allclose(metrics.colorfulness(np.stack([image, image])), [hasler, hasler])
    gray = np.full_like(image, 128)
    assert metrics.delta_colorfulness(gray, image) == pytest.approx(hasler)
    with pytest.raises(ValueError, match="form"):
        metrics.colorfulness(image, "signed")


def test_ciede2000_against_sharma_2005():
    # Pairs 1 and 7 of Sharma, Wu & Dalal (2005), "The CIEDE2000 colour-difference formula".
    first = np.array([[[50.0, 2.6772, -79.7751], [50.0, 0.0, 0.0]]])
    second = np.array([[[50.0, 0.0, -82.7485], [50.0, -1.0, 2.0]]])
    assert metrics.mean_ciede2000(first, second) == pytest.approx((2.0425 + 2.3669) / 2, abs=1e-4)
    assert metrics.mean_ciede2000(first, first) == pytest.approx(0.0)


def test_image_metrics_on_normalised_batches():
    luminance, chroma = sample_batch(32)
    same = metrics.image_metrics(luminance, chroma, chroma, "lab")
    assert float(same["ssim"]) == pytest.approx(1.0, abs=1e-6)
    gray = metrics.image_metrics(luminance, chroma, np.zeros_like(chroma), "lab")
    truth = colorzoo.color.model_output_to_rgb(luminance, chroma).numpy()
    flat = colorzoo.color.model_output_to_rgb(luminance, np.zeros_like(chroma)).numpy()
    by_hand = np.mean(10 * np.log10(1.0 / np.mean((truth - flat) ** 2, axis=(1, 2, 3))))
    assert float(gray["psnr"]) == pytest.approx(by_hand, abs=1e-3)
    assert float(gray["ssim"]) < 1.0
    yuv = metrics.image_metrics(*sample_batch(32, color_space="yuv"), np.zeros_like(chroma), "yuv")
    assert set(yuv) == {"images", "psnr", "ssim", "colourfulness", "true_colourfulness", "gray_psnr"}
    assert gray["gray_psnr"] == pytest.approx(gray["psnr"], abs=1e-5)
    assert set(metrics.image_metrics(luminance, chroma, chroma, "lab", reference=False)) == {"images", "psnr", "ssim", "colourfulness"}
    assert gray["colourfulness"] < 0.01  # on the 0-255 scale: float rounding of ab = 0
    assert same["colourfulness"] == same["true_colourfulness"] == pytest.approx(np.mean(metrics.colorfulness(truth)))


def test_image_metrics_leave_out_grayscale_truths():
    luminance, chroma = sample_batch(32)
    prediction = 0.5 * chroma
    alone = metrics.image_metrics(luminance[:1], chroma[:1], prediction[:1], "lab")
    with_gray = metrics.image_metrics(luminance[:2], np.stack([chroma[0], np.zeros_like(chroma[1])]), prediction[:2], "lab")
    assert alone["images"] == with_gray["images"] == 1 and np.isfinite(with_gray["gray_psnr"])  # was inf
    assert {key: pytest.approx(value, rel=1e-6) for key, value in alone.items()} == with_gray
    assert metrics.image_metrics(luminance[:1], np.zeros_like(chroma[:1]), prediction[:1], "lab") == {"images": 0}


def test_image_scores_summed_over_strips_are_the_whole_image_scores(monkeypatch):
    import skimage.transform

    truth = (skimage.transform.resize(skimage.data.astronaut(), (70, 53)) * 255).astype(np.uint8)
    pred = truth.copy()
    pred[..., 1] //= 2
    pred[20:40] = 255 - pred[20:40]
    truth_lab, pred_lab = (skimage.color.rgb2lab(rgb) for rgb in (truth, pred))
    expected = {
        "psnr": float(metrics.psnr(truth, pred)), "ssim": float(metrics.ssim(truth, pred)),
        "ab_l1": float(metrics.ab_l1(truth_lab[..., 1:], pred_lab[..., 1:])),
        "ciede2000": float(metrics.mean_ciede2000(truth_lab, pred_lab)),
        "colorfulness_hasler": float(metrics.colorfulness(pred)),
        "delta_colorfulness_absolute": float(metrics.delta_colorfulness(pred, truth, "absolute")),
    }
    whole = metrics.image_scores(truth, pred)
    assert whole == pytest.approx({**whole, **expected}, rel=1e-5)
    monkeypatch.setattr(metrics, "SCORE_MIN_ROWS", 1)
    monkeypatch.setattr(metrics, "SCORE_STRIP_PIXELS", 53 * 3)  # 3-row strips: each SSIM window spans 4-5 of them
    assert metrics.image_scores(truth, pred) == pytest.approx(whole, rel=1e-9)
    monkeypatch.setattr(metrics, "SCORE_MIN_ROWS", 3)
    monkeypatch.setattr(metrics, "SCORE_STRIP_PIXELS", 4 * 3)  # a very wide photo's tiles: 3 rows x 4 columns
    assert metrics.image_scores(truth, pred) == pytest.approx(whole, rel=1e-9)


def test_a_very_wide_photo_is_scored_in_tiles_of_bounded_size(monkeypatch):
    rng = np.random.default_rng(0)
    truth, pred = (rng.integers(0, 256, (12, 2000, 3), dtype=np.uint8) for _ in range(2))
    whole = metrics.image_scores(truth, pred)
    monkeypatch.setattr(metrics, "SCORE_STRIP_PIXELS", 64 * 50)  # tiles of at most 64 rows x 50 columns
    ssim_map, sizes = metrics._ssim_map, []
    monkeypatch.setattr(metrics, "_ssim_map", lambda true, pred: sizes.append(true.shape[0] * true.shape[1]) or ssim_map(true, pred))
    assert metrics.image_scores(truth, pred) == pytest.approx(whole, rel=1e-9)
    # before: strips of one row and SSIM's 10 more, 22,000 pixels (7x the budget; a 10 x 8,000,000 photo 88 MP)
    assert max(sizes) == 12 * 60 and len(sizes) == 40


def test_evaluate_checks_its_arguments_and_times_after_tracing(tmp_path, monkeypatch):
    model = colorzoo.build_model("unet_sequential", image_size=64, width=0.125)
    for image_size, error in [(0, "image_size must be a whole number of pixels of at least 11"), (64.5, "got 64.5"),
                              (8, r"at least 11 \(SSIM's window\) or None, got 8")]:  # before 8: refused at the first photo
        with pytest.raises(ValueError, match=error):  # before 0: TensorFlow errors from the resize
            metrics.evaluate(model, tmp_path, image_size=image_size)
    with pytest.raises(TypeError, match="evaluate takes a built keras.Model .* got 'unet_sequential'"):
        metrics.evaluate("unet_sequential", tmp_path)  # before: AttributeError on .name
    for index, rgb in enumerate(sample_rgb(48, count=2)):
        Image.fromarray((rgb * 255).round().astype(np.uint8)).save(tmp_path / f"{index}.png")
    calls = []
    colorize = metrics.inference.colorize
    monkeypatch.setattr(metrics.inference, "colorize", lambda *args: calls.append(1) or colorize(*args))
    metrics.evaluate(model, tmp_path, progress=False)
    assert len(calls) == 3  # one untimed call for the one run shape, then one timed call per photo


def test_evaluate_with_gray_baseline(tmp_path, caplog):
    model = colorzoo.build_model("unet_sequential", image_size=64, width=0.125)
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, rgb in zip(("a.png", "b.jpg"), sample_rgb(48, count=2)):
        Image.fromarray((rgb * 255).round().astype(np.uint8)).save(photos / name)
    Image.fromarray(np.full((40, 30), 90, np.uint8)).save(photos / "c_gray.png")
    (photos / "d_broken.png").write_bytes(b"\x89PNG broken")

    result = metrics.evaluate(
        model, photos, image_size=32, csv_path=tmp_path / "s.csv", json_path=tmp_path / "s.json", progress=False
    )
    assert result["images"] == 2 and result["skipped"] == [str(photos / "d_broken.png")]
    assert result["grayscale"] == [str(photos / "c_gray.png")]  # no colour to score: its gray PSNR is inf
    assert any("d_broken.png" in record.getMessage() for record in caplog.records)
    assert len(result["rows"]) == 4 and set(result["means"]) == {model.name, "gray"}
    for row in result["rows"]:
        assert row["file"] != str(photos / "c_gray.png")
        if row["method"] == "gray":
            assert row["colorfulness_hasler"] == pytest.approx(0.0, abs=1e-6)
    model_means = result["means"][model.name]
    assert set(model_means) == set(metrics.SCORES) and np.isfinite(list(model_means.values())).all()

    table = metrics.format_table(result).splitlines()
    assert table[0].split() == ["method", *metrics.SCORES] and table[2].split()[0] == "gray"
    assert table[-1] == "2 images, 1 skipped, 1 grayscale left out"

    with open(tmp_path / "s.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and rows[-1]["file"] == "(mean)" and rows[-1]["method"] == "gray"
    assert json.loads((tmp_path / "s.json").read_text())["means"]["gray"]["ssim"] == pytest.approx(
        result["means"]["gray"]["ssim"]
    )


def test_evaluate_takes_bytes_paths_and_refuses_a_result_file_under_a_file_before_scoring(tmp_path, monkeypatch):
    model = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    Image.fromarray((sample_rgb(24)[0] * 255).round().astype(np.uint8)).save(tmp_path / "a.png")
    result = metrics.evaluate(model, [os.fsencode(tmp_path / "a.png")], json_path=os.fsencode(tmp_path / "s.json"),
                              progress=False)  # before: TypeError from JSON after the scoring
    assert result["rows"][0]["file"] == str(tmp_path / "a.png")
    assert json.loads((tmp_path / "s.json").read_text())["rows"][0]["file"] == str(tmp_path / "a.png")
    monkeypatch.setattr(metrics.inference, "colorize", lambda *args: pytest.fail("scored before refusing"))
    for path in (tmp_path / "a.png" / "s.csv", tmp_path / "a.png" / "new" / "s.csv"):
        with pytest.raises(NotADirectoryError, match=f"{path}: {tmp_path / 'a.png'} is not a folder"):
            metrics.evaluate(model, tmp_path, csv_path=path)  # before: FileExistsError after the scoring


def test_evaluate_never_replaces_a_result_file_unless_asked(tmp_path):
    model = colorzoo.build_model("unet_sequential", image_size=32, width=0.125)
    Image.fromarray((sample_rgb(24)[0] * 255).round().astype(np.uint8)).save(tmp_path / "a.png")
    mine = tmp_path / "scores.json"
    mine.write_text('{"mine": 1}')
    with pytest.raises(FileExistsError, match="scores.json: exists already; left alone"):
        metrics.evaluate(model, tmp_path / "a.png", json_path=mine, progress=False)  # before: replaced
    assert mine.read_text() == '{"mine": 1}'
    metrics.evaluate(model, tmp_path / "a.png", json_path=mine, progress=False, overwrite=True)
    assert json.loads(mine.read_text())["images"] == 1


def test_chroma_and_lab_scores_refuse_arrays_of_two_shapes():
    """Before: silently broadcast (one prediction against three truths) or a NumPy/skimage error."""
    for score, channels in ((metrics.ab_l1, 2), (metrics.ab_mse, 2), (metrics.mean_ciede2000, 3)):
        truth = np.zeros((3, 4, 5, channels))
        assert score(truth, truth).shape == (3,)
        for prediction in (np.ones((4, 5, channels)), np.ones((3, 4, 5, 4))):
            with pytest.raises(ValueError, match="must be two arrays of one shape"):
                score(truth, prediction)
    rgb = sample_rgb(16, count=1)[0]
    with pytest.raises(ValueError, match="one shape"):
        metrics.delta_colorfulness(np.stack([rgb, rgb]), rgb)
    with pytest.raises(ValueError, match=r"image_scores takes one \(H, W, 3\) image each"):
        metrics.image_scores(np.stack([rgb, rgb]), np.stack([rgb, rgb]))
    luminance, chroma = tf.random.uniform((2, 16, 16, 1)), tf.random.uniform((2, 16, 16, 2), -0.3, 0.3)
    with pytest.raises(ValueError, match="image_metrics takes luminance"):  # zhang's raw output is 1/4 size
        metrics.image_metrics(luminance, chroma, chroma[:, ::4, ::4])
