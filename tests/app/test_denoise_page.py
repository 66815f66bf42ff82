"""The Denoise page shows what dae_core computes, takes uploads good and bad, and says what to
do when the model is missing."""

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from dae_core.analysis import classical, metrics
from dae_core.data import datasets
from dae_core.data.noise import LEVEL_NAMES, NOISE_KINDS, NoiseConfig, add_noise
from dae_core.images import imaging
from dae_core.models import catalog
from dae_core.models.builders import load_model
from dashboard import widgets

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "denoise.py")
GALLERY = f"Random test digits with {NoiseConfig('gaussian', 0.5).label()}: noisy above, denoised below"


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def captions(at: AppTest) -> list[str]:
    return [c for image in at.image for c in image.captions]


def metric_number(at: AppTest, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label).split()[0])


def digit_png() -> bytes:
    """An MNIST test digit printed black on white paper, 10x enlarged."""
    digit = datasets.load_bundled("mnist")[0][0]
    buffer = io.BytesIO()
    Image.fromarray(255 - digit).resize((280, 280)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_page_opens_on_the_canvas_with_gallery_and_chart(models_dir):
    at = open_page()
    assert not at.exception
    assert at.selectbox(key="denoise_model").value == "task1-seed (shipped)"
    assert "Trained on gaussian noise, level 0.5." in [c.value for c in at.caption]
    assert at.radio(key="denoise_source").value == "Draw"
    assert "Draw a digit" in at.info[0].value  # nothing drawn yet
    assert GALLERY in captions(at)
    # inline, never a /media/ URL: Streamlit deletes those once a later run replaces them
    assert all(url.startswith("data:image/") for image in at.image for url in image.value)


def test_metrics_equal_dae_core_for_the_same_model_and_input(models_dir, test_set):
    at = open_page()
    at.radio(key="denoise_source").set_value("MNIST test digit").run()
    at.slider(key="denoise_level_gaussian").set_value(0.3)
    at.number_input(key="denoise_digit_index").set_value(3)
    at.number_input(key="denoise_seed").set_value(7).run()
    assert not at.exception
    assert {"MNIST form", "Noisy", "Denoised"} <= set(captions(at))

    x_test = test_set("mnist").x
    clean = x_test[3:4]
    noisy = add_noise(clean, NoiseConfig("gaussian", 0.3), np.random.default_rng(7))
    denoised = metrics.predict(load_model(models_dir / "task1-seed.keras"), noisy)
    expected = {"PSNR noisy, dB": metrics.psnr(clean, noisy)[0],
                "PSNR denoised, dB": metrics.psnr(clean, denoised)[0],
                "SSIM noisy": metrics.ssim(clean, noisy)[0],
                "SSIM denoised": metrics.ssim(clean, denoised)[0]}
    for label, value in expected.items():
        places = 2 if label.startswith("PSNR") else 3  # as the page rounds them
        assert metric_number(at, label) == pytest.approx(value, abs=0.6 * 10 ** -places), label


def test_psnr_and_ssim_say_what_they_measure_and_what_a_good_value_is(models_dir):
    at = open_page()
    at.radio(key="denoise_source").set_value("MNIST test digit").run()
    helps = {m.label: m.help for m in at.metric}
    assert set(helps) == {"PSNR noisy, dB", "PSNR denoised, dB", "SSIM noisy", "SSIM denoised"}
    for label, text in helps.items():
        assert "clean digit" in text and "Higher is better" in text if "PSNR" in label else "up to 1" in text
        assert "on these digits" in text.lower(), label  # what a good value is, here
    assert "20 dB or more looks clean" in helps["PSNR denoised, dB"]
    assert "0.85 or more keeps the shape" in helps["SSIM denoised"]
    assert any("higher is better" in c.value for c in at.caption)
    assert all(" dB" not in m.value for m in at.metric)  # the unit is in the label: values stay short


def test_a_test_digit_gets_a_psnr_figure_from_every_classical_method(models_dir, test_set):
    at = open_page()
    at.radio(key="denoise_source").set_value("MNIST test digit").run()
    at.number_input(key="denoise_digit_index").set_value(5)
    at.number_input(key="denoise_seed").set_value(3).run()
    assert not at.exception

    clean = test_set("mnist").x[5:6]
    noisy = add_noise(clean, NoiseConfig("gaussian", 0.5), np.random.default_rng(3))
    shown = {c.split(": ")[0]: c.split(": ")[1] for c in captions(at) if c.endswith(" dB")}
    results = classical.run_all(noisy, "gaussian", 0.5)
    assert {r.method for r in results} == set(classical.METHODS)
    assert len(shown) == len(results)
    for result in results:
        assert shown[result.label] == f"{metrics.psnr(clean, result.images)[0]:.2f} dB", result.label
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    gaussian_lines = {trace["name"] for trace in chart["data"] if trace["meta"] == "gaussian"}
    assert {method.title for method in classical.METHODS.values()} <= gaussian_lines


def test_the_chart_has_a_panel_per_noise_kind_with_its_own_unit(models_dir):
    chart = json.loads(open_page().get("plotly_chart")[0].proto.spec)
    layout = chart["layout"]
    assert [a["text"] for a in layout["annotations"]] == list(NOISE_KINDS)
    axes = [layout["xaxis" + ("" if i == 0 else str(i + 1))]["title"]["text"] for i in range(len(NOISE_KINDS))]
    assert [axis.split()[0] for axis in axes] == [LEVEL_NAMES[kind] for kind in NOISE_KINDS]
    autoencoder = [trace for trace in chart["data"] if trace["name"] == "autoencoder, denoised"]
    assert [trace["meta"] for trace in autoencoder] == list(NOISE_KINDS)


def test_reshuffle_shows_other_digits(models_dir):
    at = open_page()
    gallery = lambda: next(i for i in at.image if "denoised below" in i.captions[0])  # noqa: E731
    before = gallery().value
    at.button(key="denoise_reshuffle").click().run()
    assert not at.exception and gallery().value != before


def test_uploaded_digit_is_shown_in_mnist_form_and_prepared_once(models_dir, monkeypatch):
    prepared = []
    real = imaging.prepare_upload
    monkeypatch.setattr(imaging, "prepare_upload", lambda *args: prepared.append(1) or real(*args))
    widgets.prepared_upload.clear()
    at = open_page()
    at.radio(key="denoise_source").set_value("Upload").run()
    at.file_uploader(key="denoise_upload").upload("seven.png", digit_png(), "image/png").run()
    assert not at.exception and not at.error
    assert {"MNIST form", "Noisy", "Denoised"} <= set(captions(at))
    # the picture as uploaded (upright, at most 280 px a side), beside its MNIST form
    (uploaded,) = next(image.value for image in at.image if image.captions == ["As uploaded"])
    assert uploaded.startswith("data:image/jpeg;base64,")
    thumbnail = Image.open(io.BytesIO(base64.b64decode(uploaded.split(",", 1)[1])))
    assert thumbnail.size == (280, 280)
    assert np.asarray(thumbnail.convert("L"))[0, 0] > 200  # white paper, as uploaded
    assert "Its MNIST form, 28 x 28" in captions(at)
    at.number_input(key="denoise_seed").set_value(5).run()  # a rerun with the same upload
    assert not at.exception and len(prepared) == 1


@pytest.mark.parametrize("content, words", [
    (b"\x00\x01 certainly not a picture", "not an image"),
    (digit_png()[:600], "truncated"),
])
def test_bad_upload_gets_one_message_and_the_page_goes_on(models_dir, content, words):
    at = open_page()
    at.radio(key="denoise_source").set_value("Upload").run()
    at.file_uploader(key="denoise_upload").upload("bad.png", content, "image/png").run()
    assert not at.exception
    assert len(at.error) == 1 and words in at.error[0].value
    assert GALLERY in captions(at)  # the rest still works


def test_no_model_says_what_to_do(use_models, tmp_path):
    use_models(tmp_path / "empty")
    at = open_page()
    assert not at.exception
    assert at.warning[0].value == catalog.missing_model_hint("task1")


def test_damaged_model_file_says_what_to_do(use_models, models_copy):
    damaged = use_models(models_copy()) / "task1-seed.keras"
    damaged.write_bytes(b"half a zip")
    at = open_page()
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith(f"{damaged} is damaged (")
    assert "half-written or corrupt" in at.error[0].value
    assert at.error[0].value.endswith("Fix: retrain it, or restore the shipped models with `git checkout models/`")
