"""The Studies page: shipped results as chart, table and sentences; a demo study started from the
page runs for real and the page follows it to the end."""

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.analysis import robustness, stats

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "studies.py")


def open_page(name: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.segmented_control(key="studies_name").set_value(name).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.RUNS_DIR_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "studies"))
    return tmp_path


def test_shipped_robustness_results_show_with_their_command(monkeypatch):
    monkeypatch.delenv(settings.STUDIES_DIR_ENV, raising=False)  # the project's own studies/
    at = open_page("robustness")
    assert "Shipped results" in [s.value for s in at.subheader]
    about = json.loads((settings.PROJECT_ROOT / "studies" / "robustness" / "about.json").read_text())
    assert f"Made by `python -m dae_core study robustness` ({about['seconds'] / 60:.0f} min on a 2-core CPU, " \
           f"{about['finished']})." in [c.value for c in at.caption]
    shipped = pd.read_csv(settings.PROJECT_ROOT / "studies" / "robustness" / "results.csv")
    assert "\n".join(f"- {note}" for note in robustness.findings(shipped)) in [m.value for m in at.markdown]
    # the README's figure: at gaussian noise 0.3 Task 3 (seed) keeps 0.639 of its accuracy, Task 2 0.422
    table = at.dataframe[-1].value.set_index(["model", "noise", "level"])["accuracy"]
    assert (table["task3-seed", "gaussian", 0.3], table["task2-seed", "gaussian", 0.3]) == (0.6388, 0.422)


def test_shipped_label_efficiency_results_give_means_intervals_and_sentences(folders):
    rows = [{"arm": arm, "labels": labels, "seed": seed, "accuracy": base + step * seed + 0.1 * (labels > 100)}
            for arm, base, step in (("scratch", 0.60, 0.01), ("mnist-ae", 0.55, 0.02))
            for labels in (100, 1000) for seed in range(3)]
    (folders / "studies" / "label-efficiency").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folders / "studies" / "label-efficiency" / "results.csv", index=False)
    at = open_page("label-efficiency")
    summary = at.dataframe[0].value
    scratch = summary[(summary.arm == "scratch") & (summary.labels == 100)].iloc[0]
    assert scratch["mean"] == pytest.approx(stats.mean_interval([0.60, 0.61, 0.62]).mean)
    sentences = [m.value for m in at.markdown if "MNIST encoder beat a CNN from scratch" in m.value]
    assert sentences and "scratch is ahead by 4.0 points" in sentences[0]


@pytest.mark.data
def test_a_demo_study_started_on_the_page_runs_to_the_end(folders, data_dir, monkeypatch):
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(data_dir))
    at = open_page("label-efficiency")
    at.button(key="studies_start_demo").click().run()
    assert not at.exception and not at.error
    deadline = time.time() + 400
    while "8/8" not in progress_text(at):
        assert time.time() < deadline, f"the demo study did not finish: {progress_text(at)}"
        time.sleep(3)
        at.run()
    members = at.dataframe[-1].value
    assert len(members) == 8 and set(members["arm"]) == {"scratch", "random-init"}


def progress_text(at: AppTest) -> str:
    return " ".join(str(p.proto.text) for p in at.get("progress"))
