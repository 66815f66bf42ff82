"""The Studies page reads like a paper's figure: a headline computed from the data, each arm's
difference from the reference arm in its band, a compact table, the sentences folded away, plain arm
names, no interval under 3 seeds; the full study asks first, with its time; the demo runs in a runs
folder of its own that one click clears; a running study (pretraining, the improved preset's seeds
study) shows its progress and results so far."""

import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dae_core import settings
from dae_core.analysis import robustness, stats
from dae_core.store.runs import Run, list_runs
from dae_core.studies import designs, evidence, runner, store
from dashboard import study_view

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "studies.py")
SHIPPED = settings.PROJECT_ROOT / "studies"


def open_page(name: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.segmented_control(key="studies_name").set_value(name).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest, tables=None) -> str:
    """Everything the page writes: markdown, captions, notes, table headers and cells (of ``tables``,
    default all), chart traces and titles."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error") for e in at.get(kind)]
    for table in at.dataframe if tables is None else tables:
        parts += [str(c) for c in table.value.columns] + [str(v) for v in table.value.to_numpy().ravel()]
    for chart in charts(at):
        parts += [str(t.get("name")) for t in chart["data"]] + [str(chart["layout"].get("title", ""))]
    return "\n".join(parts)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def internal_names(text: str) -> list[str]:
    return re.findall(r"random-init|mnist-ae|fashion-ae|(?<!from )\bscratch\b", text)


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """An empty runs folder, and an empty shipped-studies folder."""
    monkeypatch.setenv(settings.RUNS_DIR_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "studies"))
    return tmp_path


@pytest.fixture
def shipped_studies(tmp_path, monkeypatch):
    """The project's shipped study results, and an empty runs folder."""
    monkeypatch.setenv(settings.RUNS_DIR_ENV, str(tmp_path / "runs"))
    monkeypatch.delenv(settings.STUDIES_DIR_ENV, raising=False)
    return tmp_path / "runs"


@pytest.fixture
def started(monkeypatch):
    """``runner.start_study`` recorded instead of run: the calls, as (name, options, id, runs_dir)."""
    calls = []
    monkeypatch.setattr(runner, "start_study", lambda name, options, study_id=None, runs_dir=None:
                        calls.append((name, options, study_id, runs_dir)))
    return calls


def test_shipped_robustness_results_show_with_their_command_and_a_headline(shipped_studies):
    at = open_page("robustness")
    assert "Shipped results" in [s.value for s in at.subheader]
    about = json.loads((SHIPPED / "robustness" / "about.json").read_text())
    assert f"Made by `python -m dae_core study robustness` ({about['seconds'] / 60:.0f} min on {about['machine']}, " \
           f"{about['finished']})." in [c.value for c in at.caption]
    shipped = pd.read_csv(SHIPPED / "robustness" / "results.csv")
    markdown = [m.value for m in at.markdown]
    assert markdown[1] == f"**{robustness.headline(shipped)}**"  # first, under the study's description
    assert "\n".join(f"- {note}" for note in robustness.findings(shipped)) in markdown
    # the README's figure: at gaussian noise 0.3 Task 3 (seed) keeps 0.639 of its accuracy, Task 2 0.422
    table = at.dataframe[-1].value.set_index(["model", "noise", "level"])["accuracy"]
    assert (table["task3-seed", "gaussian", 0.3], table["task2-seed", "gaussian", 0.3]) == (0.6388, 0.422)


def test_label_efficiency_reads_like_a_figure_headline_difference_chart_compact_table(shipped_studies):
    at = open_page("label-efficiency")
    shipped = pd.read_csv(SHIPPED / "label-efficiency" / "results.csv")
    headline = evidence.headline("label-efficiency", shipped, "labels")
    assert [m.value for m in at.markdown][1] == f"**{headline}**"
    assert headline.startswith("Does the autoencoder's encoder help? No:") and "4.9 points at 100 labels" in headline
    chart = charts(at)[0]
    assert chart["layout"]["title"]["text"].startswith("Difference from Task 3 from random weights")
    lines = {t["name"]: t for t in chart["data"] if t.get("mode") == "lines+markers"}
    assert set(lines) == {designs.ARM_TITLES[a] for a in ("scratch", "mnist-ae", "fashion-ae")}
    assert sum(t.get("fill") == "toself" for t in chart["data"]) == 3  # a 95% band under each line
    compact = at.dataframe[0].value
    assert compact.shape == (6, 5) and compact.iloc[0, 1] == "73.0 ± 3.7"
    assert "Test accuracy in points: mean ± half-width of its 95% interval over seeds." in [c.value for c in at.caption]
    assert [e.label for e in at.expander][:2] == ["Every comparison in words (24)", "Every member (72 rows)"]
    assert "Task 2 CNN from scratch is ahead by 4.9 points" in at.expander[0].markdown[0].value
    # plain names everywhere but in the members' own table (its CSV keeps the data as recorded)
    assert internal_names(texts(at)) and not internal_names(texts(at, at.dataframe[:-1]))


def test_two_seeds_give_no_interval_anywhere_and_say_why(folders):
    rows = [{"arm": arm, "labels": labels, "seed": seed, "accuracy": base + step * seed + 0.1 * (labels > 100)}
            for arm, base, step in (("scratch", 0.3, 0.3), ("random-init", 0.2, 0.25)) for labels in (100, 300) for seed in range(2)]
    (folders / "studies" / "label-efficiency").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folders / "studies" / "label-efficiency" / "results.csv", index=False)
    at = open_page("label-efficiency")
    shown = texts(at)
    assert "CI" not in shown and "±" not in shown
    assert "Intervals need 3 seeds or more." in "\n".join(c.value for c in at.caption)
    assert at.markdown[1].value.startswith("**With 2 seeds per arm there is no interval yet")
    chart = charts(at)[0]
    assert not [t for t in chart["data"] if t.get("fill") == "toself"]  # no band from 2 seeds
    assert all(c[0] == "intervals need 3 seeds or more" for t in chart["data"] for c in t["customdata"])


def test_the_variants_one_seed_each_show_no_intervals(shipped_studies):
    at = open_page("variants")
    results = "\n".join(m.value for m in at.markdown[1:]) + "\n".join(
        str(v) for v in at.dataframe[0].value.to_numpy().ravel())
    assert "no 95% intervals" in at.markdown[1].value and "CI" not in results and "±" not in results
    assert at.dataframe[0].value["test accuracy, points"].tolist() == ["84.4 (n=1)", "90.6 (n=1)", "79.3 (n=1)"]


def test_the_full_study_asks_first_with_its_estimated_time(shipped_studies, started):
    at = open_page("label-efficiency")
    at.button(key="studies_start_full").click().run()
    assert not started  # nothing starts on one click
    about = json.loads((SHIPPED / "label-efficiency" / "about.json").read_text())
    minutes = round(about["seconds"] / 60)
    assert at.warning[0].value.startswith(f"This trains 73 of the study's 73 members: about {minutes} min of training")
    assert "the shipped results' pace of 47 s per member" in at.warning[0].value
    at.button(key="studies_confirm_cancel").click().run()
    assert not at.warning and not started
    at.button(key="studies_start_full").click().run()
    at.button(key="studies_confirm_start").click().run()
    assert started == [("label-efficiency", [], None, None)]
    at.segmented_control(key="studies_name").set_value("variants").run()
    at.button(key="studies_start_full").click().run()
    at.button(key="studies_confirm_start").click().run()
    assert started[-1] == ("variants", ["--seeds", "1"], None, None)  # as shipped: one seed


def complete(study: store.Study, member: store.Member, accuracy: float, seconds: float = 10.0) -> Run:
    run = Run.create(member.config, study.runs_root)
    run.append_metric({"kind": "epoch", "epoch": 1, "seconds": seconds})
    run.set_status("completed", test={"accuracy": accuracy})
    study.record(member.key, run)
    return run


def test_the_demo_starts_in_its_own_runs_folder_and_one_click_clears_it(folders, started):
    runs = folders / "runs"
    at = open_page("label-efficiency")
    at.button(key="studies_start_demo").click().run()
    assert started[0][:3] == ("label-efficiency", study_view.DEMO, "label-efficiency-demo")
    assert Path(started[0][3]) == runs / "demo"
    # the demo's members, as its process would leave them, beside an ordinary run
    ordinary = Run.create(designs.label_efficiency(seeds=1, budgets=(100,), arms=("scratch",)).members[0].config, runs)
    design = designs.label_efficiency(seeds=2, budgets=(100,), arms=("scratch", "random-init"))
    study = store.Study.open(design, "label-efficiency-demo", runs / "demo")
    demo_runs = [complete(study, m, 0.3 + 0.1 * i + 0.01 * i * i) for i, m in enumerate(design.members)]
    assert [r.id for r in list_runs(runs)] == [ordinary.id]
    demo_runs[-1].set_status("running", pid=os.getpid())
    at.run()
    assert at.button(key="studies_clear_demo").disabled  # never while it runs
    demo_runs[-1].set_status("completed")
    at.run()
    assert progress_text(at) == "4/4 members done"
    at.button(key="studies_clear_demo").click().run()
    assert not at.exception and not (runs / "demo").exists() and ordinary.exists()


def test_a_running_pretraining_study_shows_its_results_so_far(folders):
    runs = folders / "runs"
    design = designs.pretraining_study(seeds=3, budgets=(100, 300), arms=("probe:fashion-ae", "probe:random"))
    study = store.Study.open(design, runs_dir=runs)
    for member in design.members:
        if member.arm == "pretrain":
            complete(study, member, 0.0)
        elif (member.setting["labels"], member.seed) != (300, 2):
            complete(study, member, 0.6 + 0.01 * member.seed + 0.05 * (member.setting["pretraining"] != "random")
                     + 0.002 * (member.seed * len(member.arm) % 5))
    running = Run.create(design.members[-1].config, runs)
    study.record(design.members[-1].key, running)
    running.set_status("running", pid=os.getpid())
    at = open_page("pretraining")
    assert "will ship in `studies/pretraining/` when it finishes" in at.info[0].value
    assert progress_text(at) == f"{len(design.members) - 2}/{len(design.members)} members done"
    assert at.button(key="studies_start_full").disabled  # it is running: not started twice
    table = evidence.results(study)
    gains = evidence.pretraining_gains(table)
    assert f"**{evidence.pretraining_headline(gains)}**" in [m.value for m in at.markdown]
    chart = charts(at)[0]
    assert chart["layout"]["title"]["text"] == "Gain from pretraining over the same model from random weights"
    line = next(t for t in chart["data"] if t.get("mode") == "lines+markers")
    assert line["x"] == [100]  # 300 labels has 2 seeds of a pair so far: not charted yet


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
    assert not list_runs(folders / "runs")  # its runs stay in its own folder
    while at.button(key="studies_clear_demo").disabled:  # its process writes the results, then ends
        assert time.time() < deadline, "the demo's process did not end"
        time.sleep(1)
        at.run()
    at.button(key="studies_clear_demo").click().run()
    assert not (folders / "runs" / "demo").exists()


def progress_text(at: AppTest) -> str:
    return " ".join(str(p.proto.text) for p in at.get("progress"))


def test_a_seeds_study_of_two_presets_gets_a_figure_per_preset(folders):
    rows = [{"arm": arm, "seed": seed, "preset": preset, "accuracy": base + 0.002 * seed * (arm == "task2")}
            for preset, offset in (("seed", 0.0), ("improved", 0.03))
            for arm, base in (("task2", 0.92 + offset), ("task3", 0.90 + offset)) for seed in range(3)]
    (folders / "studies" / "seeds").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folders / "studies" / "seeds" / "results.csv", index=False)
    at = open_page("seeds")
    headlines = [m.value for m in at.markdown if m.value.startswith("**Over 3 seeds")]
    assert [h.split(",")[0] for h in headlines] == ["**Over 3 seeds at the seed preset",
                                                    "**Over 3 seeds at the improved preset"]
    ci = [stats.mean_interval([base + 0.002 * seed for seed in range(3)]) for base in (0.92, 0.95)]
    assert [t.value.iloc[0, 2] for t in at.dataframe if "seeds" in t.value.columns] == [
        f"{100 * c.mean:.1f} ± {100 * c.half_width:.1f}" for c in ci] == ["92.2 ± 0.5", "95.2 ± 0.5"]


def test_the_seeds_study_in_bfloat16_is_set_against_the_float32_one_arm_by_arm(folders):
    float32 = pd.read_csv(SHIPPED / "seeds" / "results.csv")
    bfloat16 = float32.assign(accuracy=float32.accuracy + 0.001)
    for name, table in (("seeds", float32), (study_view.PRECISION_STUDY, bfloat16)):
        (folders / "studies" / name).mkdir(parents=True)
        table.to_csv(folders / "studies" / name / "results.csv", index=False)
    at = open_page("seeds")
    check = next(m.value for m in at.markdown if m.value.startswith("- Task 2 CNN: "))
    task2 = float32[float32.arm == "task2"].accuracy
    assert f"{task2.mean() + 0.001:.4f} in bfloat16 against {task2.mean():.4f} in float32 over 3 seeds" in check
    assert "a difference of +0.10 points (95% CI +0.10 to +0.10), inside float32's interval" in check
    assert "##### The same study in mixed bfloat16" in [m.value for m in at.markdown]


def test_the_improved_presets_seeds_study_shows_under_the_seeds_study_with_its_own_figure(folders):
    seed = pd.read_csv(SHIPPED / "seeds" / "results.csv")
    improved = seed.assign(preset="improved", accuracy=seed.accuracy + 0.03)
    for name, table in (("seeds", seed), (store.SEEDS_STUDIES["improved"], improved)):
        (folders / "studies" / name).mkdir(parents=True)
        table.to_csv(folders / "studies" / name / "results.csv", index=False)
    at = open_page("seeds")
    assert not at.exception
    markdown = [m.value for m in at.markdown]
    assert "##### The improved preset" in markdown
    headlines = [m for m in markdown if m.startswith("**") and "Task 2" in m]
    assert len(headlines) == 2  # one per preset, each computed from its own rows
    task2 = improved[improved.arm == "task2"].accuracy.mean()
    assert f"{task2:.4f}" in headlines[1] and f"{task2:.4f}" not in headlines[0]


def test_the_improved_presets_seeds_study_running_here_shows_its_progress_under_the_seeds_study(folders):
    design = designs.seeds_study(preset="improved")
    study = store.Study.open(design, store.SEEDS_STUDIES["improved"], folders / "runs")
    for i, member in enumerate(design.members[:2]):
        complete(study, member, 0.94 + 0.001 * i)
    running = Run.create(design.members[2].config, folders / "runs")
    study.record(design.members[2].key, running)
    running.set_status("running", pid=os.getpid())
    at = open_page("seeds")
    assert not at.exception
    assert f"##### The improved preset (`{store.SEEDS_STUDIES['improved']}`)" in [m.value for m in at.markdown]
    assert progress_text(at) == f"2/{len(design.members)} members done"
    assert not progress_text(open_page("label-efficiency"))  # under the seeds study only
