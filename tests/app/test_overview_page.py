"""The Overview page says what is loaded and from where, with a card per model."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dae_core.models import catalog, device
from dashboard import runtime

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_overview() -> AppTest:
    return AppTest.from_file(APP, default_timeout=180).run()  # the default page


def test_overview_shows_sources_device_and_links(models_dir, data_dir):
    runtime.wait_for_tensorflow()
    at = open_overview()
    assert not at.exception
    assert at.title[0].value == "DAE Lab"
    status = next(m.value for m in at.markdown if "**Device:**" in m.value)
    assert f"**Device:** {device.device_description()}" in status
    assert f"3 shipped from `{models_dir}`" in status and "0 finished runs" in status
    assert f"**mnist:** full dataset, folder {data_dir}" in status
    assert f"**fashion-mnist:** full dataset, folder {data_dir}" in status
    assert {link.label for link in at.get("page_link")} == {"Train", "Denoise", "Latent space", "Compare", "Garment", "Studies"}


def test_a_card_per_model_with_its_recorded_test_figures(models_dir):
    at = open_overview()
    names = " ".join(m.value for m in at.markdown)
    values = [(m.label, m.value) for m in at.metric]
    for entry in catalog.all_models():
        assert f"**{entry.name}**" in names
        if entry.task == "task1":
            assert ("PSNR denoised, dB", f"{entry.test['psnr_denoised']:.2f}") in values
        else:
            assert ("Test accuracy", f"{entry.test['accuracy']:.4f}") in values
            assert ("Test loss", f"{entry.test['loss']:.4f}") in values


def test_without_models_the_page_says_how_to_get_them(use_models, tmp_path):
    use_models(tmp_path / "none")
    at = open_overview()
    assert not at.exception
    assert "git checkout models/" in at.warning[0].value


def test_a_damaged_manifest_is_reported_not_raised(use_models, tmp_path):
    (use_models(tmp_path) / "manifest.json").write_text("{not json")
    at = open_overview()
    assert not at.exception
    assert not at.error and len(at.sidebar.warning) == 1 and catalog.RESTORE_HINT in at.sidebar.warning[0].value
