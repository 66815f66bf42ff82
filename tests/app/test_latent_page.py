"""The Latent space page: map, interpolation, neighbours and probe from dae_core.analysis.latent, the digit
from the Denoise page as a star, and what to do without a model. (Selecting points on the map
needs a browser: tests/e2e/test_latent_map.py.)"""

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dae_core.analysis import latent
from dae_core.models import catalog
from dae_core.models.builders import load_model

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "latent.py")
SIZES = latent.PROBE_SIZES[:2]


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=180).run()


def captions(at: AppTest) -> list[str]:
    return [c for image in at.image for c in image.captions]


def chart(at: AppTest, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key)).proto.spec)


@pytest.fixture(scope="module")
def mnist(test_set):
    return test_set("mnist")


@pytest.fixture(scope="module")
def code_model(shipped_models):
    return latent.split_autoencoder(load_model(shipped_models / "task1-seed.keras"))


@pytest.fixture(scope="module")
def codes(code_model, mnist):
    return code_model.codes(mnist.x)


def test_page_shows_the_pca_map_interpolation_and_neighbours(models_dir, mnist, codes):
    at = open_page()
    assert not at.exception, at.exception
    assert at.selectbox(key="latent_model").value == "task1-seed (shipped)"
    assert at.segmented_control(key="latent_method").value == "pca"
    assert any(c.value.startswith(f"Codes: {codes.shape[1]:,} numbers per digit") for c in at.caption)
    traces = chart(at, "latent_map_pca")["data"]
    assert sorted(t["name"] for t in traces) == [str(d) for d in range(10)]
    assert sum(len(t["x"]) for t in traces) == 2000
    for trace in traces:  # each label's points are the test digits of that label
        ids = np.ravel(trace["customdata"]).astype(int)
        assert set(mnist.y[ids]) == {int(trace["name"])}
    first, other = 0, at.number_input(key="latent_to").value
    assert at.number_input(key="latent_from").value == first and mnist.y[other] != mnist.y[first]
    assert any(c.startswith(f"From a {mnist.y[0]} to a {mnist.y[other]}: decoded along") for c in captions(at))
    found = latent.neighbours(codes, mnist.x, 0, 8)
    for space, indices in (("code", found.code), ("pixel", found.pixel)):
        same = int((mnist.y[indices] == mnist.y[0]).sum())
        assert (f"The 8 nearest of the 10,000 test digits in {space} space: {same} of 8 are {mnist.y[0]}s"
                in captions(at))
    assert not any(c.proto.id.endswith("latent_probe_chart") for c in at.get("plotly_chart"))


def test_tsne_map_and_the_digit_from_the_denoise_page_as_a_star(models_dir, mnist, monkeypatch):
    monkeypatch.setattr(latent, "TSNE_ITERATIONS", 250)  # the fewest t-SNE takes: half the page's seconds
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["denoise_digit"] = mnist.x[3, ..., 0]
    at.run()
    assert "★ the digit from the Denoise page, placed by the PCA" in [c.value for c in at.caption]
    at.segmented_control(key="latent_method").set_value("tsne").run()
    assert not at.exception, at.exception
    assert f"★ the digit from the Denoise page, placed by its {latent.PLACE_K} nearest codes" in \
        [c.value for c in at.caption]
    names = [trace.get("name") for trace in chart(at, "latent_map_tsne")["data"]]
    assert names[-1] == "your digit" and sorted(names[:-1]) == [str(d) for d in range(10)]


def test_changing_the_digits_changes_the_strips(models_dir, mnist):
    at = open_page()
    zero = int(np.argmax(mnist.y == 0))
    at.number_input(key="latent_to").set_value(zero).run()
    assert not at.exception
    strip = [c for c in captions(at) if c.startswith("From a")]
    assert strip == [f"From a {mnist.y[0]} to a 0: decoded along the straight line between their codes "
                     "(above), the pixels cross-faded (below)"]


def test_the_probe_runs_on_demand_and_shows_chart_and_table(models_dir, mnist, codes, monkeypatch, test_set):
    # The two smallest probes: the page's four fit on up to 3,000 codes, ten seconds on two cores.
    monkeypatch.setattr(latent, "linear_probe", functools.partial(latent.linear_probe, sizes=SIZES))
    at = open_page()
    at.button(key="latent_probe").click().run()
    assert not at.exception, at.exception
    lines = [trace["name"] for trace in chart(at, "latent_probe_chart")["data"]]
    assert lines == ["MNIST: codes", "MNIST: pixels", "Fashion-MNIST: codes", "Fashion-MNIST: pixels"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["dataset", "n_train", "codes", "pixels", "codes - pixels"]
    assert list(table["n_train"]) == [*SIZES] * 2
    assert list(table["codes - pixels"]) == pytest.approx(list(table["codes"] - table["pixels"]))
    # the smallest probes, fitted again here: the same 100 images, scored on the same 2,000
    fashion = test_set("fashion-mnist")
    mnist_row, fashion_row = (table[(table.dataset == name) & (table.n_train == 100)].iloc[0]
                              for name in ("MNIST", "Fashion-MNIST"))
    assert mnist_row["codes"] == latent.probe_curve(codes, mnist.y, sizes=(100,))[0][1]
    assert mnist_row["pixels"] == latent.probe_curve(mnist.x.reshape(10_000, -1), mnist.y, sizes=(100,))[0][1]
    assert fashion_row["pixels"] == latent.probe_curve(fashion.x.reshape(10_000, -1), fashion.y,
                                                       sizes=(100,))[0][1]


def test_no_model_says_what_to_do(use_models, tmp_path):
    use_models(tmp_path / "empty")
    at = open_page()
    assert not at.exception
    assert at.warning[0].value == catalog.missing_model_hint("task1")
