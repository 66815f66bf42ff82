"""The Latent space page: map, interpolation, neighbours and probe from dae_core.analysis.latent, the digit
from the Denoise page as a star, and what to do without a model. (Selecting points on the map
needs a browser: tests/e2e/test_latent_map.py.)"""

import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from dae_core.data import datasets
from dae_core.models import catalog

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "latent.py")


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=180).run()


def captions(at: AppTest) -> list[str]:
    return [c for image in at.image for c in image.captions]


def chart(at: AppTest, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key)).proto.spec)


def test_page_shows_the_pca_map_interpolation_and_neighbours(models_dir):
    at = open_page()
    assert not at.exception, at.exception
    assert at.selectbox(key="latent_model").value == "task1-seed (shipped)"
    assert at.segmented_control(key="latent_method").value == "pca"
    for key in ("latent_from", "latent_to", "latent_neighbours_of"):
        assert at.number_input(key=key).value is not None, key
    y = datasets.load_test_set("mnist").y
    assert y[at.number_input(key="latent_from").value] != y[at.number_input(key="latent_to").value]
    assert any("decoded along the straight line" in c for c in captions(at))
    assert sum("nearest of the 10,000 test digits" in c for c in captions(at)) == 2
    assert at.get("plotly_chart")  # the map; its points are checked in tests/unit/test_latent.py
    assert not any(c.proto.id.endswith("latent_probe_chart") for c in at.get("plotly_chart"))


def test_tsne_map_and_the_digit_from_the_denoise_page_as_a_star(models_dir):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["denoise_digit"] = datasets.load_test_set("mnist").x[3, ..., 0]
    at.run()
    assert any("★" in c.value for c in at.caption)
    at.segmented_control(key="latent_method").set_value("tsne").run()
    assert not at.exception, at.exception
    names = [trace.get("name") for trace in chart(at, "latent_map_tsne")["data"]]
    assert names[-1] == "your digit" and sorted(names[:-1]) == [str(d) for d in range(10)]


def test_changing_the_digits_changes_the_strips(models_dir):
    at = open_page()
    before = [c for c in captions(at) if "From a" in c]
    at.number_input(key="latent_to").set_value(int(np.argmax(datasets.load_test_set("mnist").y == 0))).run()
    assert not at.exception
    after = [c for c in captions(at) if "From a" in c]
    assert after != before and after[0].endswith("(below)") and "to a 0" in after[0]


def test_the_probe_runs_on_demand_and_shows_chart_and_table(models_dir):
    at = open_page()
    at.button(key="latent_probe").click().run()
    assert not at.exception, at.exception
    lines = [trace["name"] for trace in chart(at, "latent_probe_chart")["data"]]
    assert lines == ["MNIST: codes", "MNIST: pixels", "Fashion-MNIST: codes", "Fashion-MNIST: pixels"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["dataset", "n_train", "codes", "pixels", "codes - pixels"]
    assert len(table) == 8 and table["codes"].between(0.1, 1).all()


def test_no_model_says_what_to_do(use_models, tmp_path):
    use_models(tmp_path / "empty")
    at = open_page()
    assert not at.exception
    assert at.warning[0].value == catalog.missing_model_hint("task1")
