"""The Runs page: every run with its configuration and its headline figure named with its unit;
filters; study members grouped under their study, folded away; tags and a note; archive; delete
after a confirmation (never an active run); curves overlaid; two classifiers opened in Compare.
Study members and archived runs stay out of the model pickers, the sidebar's count and the
Overview's cards. Runs folders in tmp_path ($DAE_RUNS_DIR), the shipped seed models."""

import json
import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dae_core.store.runs import Run
from dae_core.training.config import make_config

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def runs_dir(models_dir, tmp_path) -> Path:
    return tmp_path / "runs"


def finished(runs_dir: Path, task: str = "task2", test: dict | None = None, model: Path | None = None,
             state: str = "completed", **config) -> Run:
    run = Run.create(make_config(task, "seed", epochs=3, **config).to_dict(), runs_dir)
    metric = "mse" if task == "task1" else "accuracy"
    for epoch in (1, 2, 3):
        run.append_metric({"kind": "epoch", "epoch": epoch, "loss": 1 / epoch, "val_loss": 1.1 / epoch,
                           metric: 0.5 + epoch / 10, f"val_{metric}": 0.45 + epoch / 10})
    if model:
        shutil.copy2(model, run.model_path)
    else:
        run.model_path.write_bytes(b"never loaded by these pages")
    run.set_status(state, epoch=3, epochs=3, started=1000.0, finished=1075.0,
                   test=test or {"accuracy": 0.8125, "loss": 0.5})
    return run


def open_page(page: str = "pages/runs.py") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page(page)
    return at.run()


def table(at: AppTest):
    """The table of the runs of no study (drawn first; each study's is in its expander)."""
    return at.dataframe[0].value


def said(at: AppTest) -> list[str]:
    return [e.value for e in (*at.success, *at.error, *at.warning, *at.info)]


def test_an_empty_runs_folder_says_how_to_start_a_run(runs_dir):
    at = open_page()
    assert not at.exception
    assert at.title[0].value == "Runs"
    assert [i.value for i in at.info] == [f"No runs yet in `{runs_dir}`: start one on the Train page, or "
                                          "`python -m dae_core train task2`."]


def test_each_run_shows_its_settings_and_its_headline_with_its_unit(runs_dir):
    autoencoder = finished(runs_dir, "task1", {"psnr_denoised": 16.028951136390585, "psnr_noisy": 9.4},
                           train_size=1000, seed=3)
    classifier = finished(runs_dir, "task3", encoder_from=str(autoencoder.model_path))
    at = open_page()
    assert not at.exception and not at.error
    rows = {row["run"]: row for row in table(at).to_dict("records")}
    assert {k: rows[autoencoder.id][k] for k in ("task", "state", "epochs", "batch", "images", "noise", "seed",
                                                 "duration", "test")} == {
        "task": "task1", "state": "completed", "epochs": "3/3", "batch": 1000, "images": 1000,
        "noise": "gaussian 0.5", "seed": 3, "duration": "1:15", "test": "PSNR 16.03 dB"}
    assert (rows[classifier.id]["test"], rows[classifier.id]["start weights"]) == \
        ("accuracy 81.25 %", f"encoder of {autoencoder.id}")
    assert any(b.proto.label == "Download runs.csv" for b in at.get("download_button"))


def test_an_active_run_shows_the_state_and_epochs_of_the_live_view(runs_dir):
    run = finished(runs_dir)
    run.set_status("running", epoch=1, epochs=3, pid=os.getpid(), test=None, finished=None)
    at = open_page()
    [row] = table(at).to_dict("records")
    assert (row["state"], row["epochs"], row["test"]) == ("running", "1/3", "")


def test_study_members_are_grouped_under_their_study_and_folded_away(runs_dir):
    plain, member, other = finished(runs_dir), finished(runs_dir), finished(runs_dir)
    member.update_meta(study="label-efficiency")
    other.update_meta(study="label-efficiency")
    at = open_page()
    assert list(table(at)["run"]) == [plain.id]
    [expander] = at.expander
    assert expander.label == "Study label-efficiency: 2 runs, 2 completed" and not expander.proto.expanded
    assert set(expander.dataframe[0].value["run"]) == {member.id, other.id}


def test_members_of_a_study_recorded_before_are_found_through_its_study_file(runs_dir):
    member = finished(runs_dir)
    (runs_dir / "studies" / "old").mkdir(parents=True)
    (runs_dir / "studies" / "old" / "study.json").write_text(json.dumps(
        {"design": {"name": "old", "question": "?", "members": [], "axis": None, "value": "accuracy"},
         "runs": {"a": member.id}}))
    at = open_page()
    assert [e.label for e in at.expander] == ["Study old: 1 run, 1 completed"]
    assert member.meta().study == "old"


def test_filters_by_task_state_and_tag_and_archived_runs_only_when_asked(runs_dir):
    autoencoder = finished(runs_dir, "task1", {"psnr_denoised": 19.0})
    tagged, stopped, archived = finished(runs_dir), finished(runs_dir, state="stopped"), finished(runs_dir)
    tagged.update_meta(tags=["keep", "lr"])
    archived.update_meta(archived=True, tags=["keep"])
    at = open_page()
    assert set(table(at)["run"]) == {autoencoder.id, tagged.id, stopped.id}
    at.multiselect(key="runs_task").set_value(["task2"]).run()
    assert set(table(at)["run"]) == {tagged.id, stopped.id}
    at.multiselect(key="runs_state").set_value(["stopped"]).run()
    assert list(table(at)["run"]) == [stopped.id]
    at.multiselect(key="runs_state").set_value([]).run()
    at.multiselect(key="runs_tag").set_value(["keep"]).run()
    assert list(table(at)["run"]) == [tagged.id]
    at.toggle(key="runs_archived").set_value(True).run()
    assert set(table(at)["run"]) == {tagged.id, archived.id}
    at.multiselect(key="runs_state").set_value(["failed"]).run()
    assert "No run matches these filters." in said(at)


def test_tags_and_a_note_are_saved_and_a_tag_that_cannot_be_one_is_refused(runs_dir):
    run = finished(runs_dir)
    at = open_page()
    at.multiselect(key="runs_selected").set_value([run.id]).run()
    at.text_input(key=f"runs_tags_{run.id}").set_value("baseline, lr sweep, baseline")
    at.text_area(key=f"runs_note_{run.id}").set_value("the first try")
    at.button(key="runs_save").click().run()
    assert not at.exception
    assert said(at) == [f"Saved the tags and note of {run.id}."]
    assert (run.meta().tags, run.meta().note) == (("baseline", "lr sweep"), "the first try")
    assert table(at).to_dict("records")[0]["tags"] == "baseline, lr sweep"
    at.text_input(key=f"runs_tags_{run.id}").set_value("a\tb")
    at.button(key="runs_save").click().run()
    assert at.error and at.error[0].value.startswith("Not saved: tag 'a\\tb'")
    assert run.meta().tags == ("baseline", "lr sweep")


def test_a_damaged_meta_is_named_and_the_page_goes_on(runs_dir):
    run = finished(runs_dir)
    run.meta_path.write_bytes(b"\x00{cut")
    at = open_page()
    assert not at.exception and list(table(at)["run"]) == [run.id]
    at.multiselect(key="runs_selected").set_value([run.id]).run()
    assert str(run.meta_path) in at.warning[0].value and "Fix:" in at.warning[0].value


def test_archive_hides_a_run_and_bring_back_returns_it(runs_dir):
    keep, old = finished(runs_dir), finished(runs_dir)
    at = open_page()
    at.multiselect(key="runs_selected").set_value([old.id]).run()
    at.button(key="runs_archive").click().run()
    assert old.meta().archived and list(table(at)["run"]) == [keep.id]
    assert at.multiselect(key="runs_selected").value == []
    at.toggle(key="runs_archived").set_value(True).run()
    at.multiselect(key="runs_selected").set_value([old.id]).run()
    assert at.button(key="runs_archive").label == "Bring back"
    at.button(key="runs_archive").click().run()
    assert not old.meta().archived


def test_delete_asks_first_and_cancel_keeps_the_run(runs_dir):
    keep, gone = finished(runs_dir), finished(runs_dir)
    at = open_page()
    at.multiselect(key="runs_selected").set_value([gone.id]).run()
    at.button(key="runs_delete").click().run()
    assert "cannot be undone" in at.warning[0].value and gone.path.exists()
    at.button(key="runs_delete_no").click().run()
    assert gone.path.exists() and not [b for b in at.button if b.key == "runs_delete_yes"]
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_yes").click().run()
    assert not at.exception
    assert not gone.path.exists() and keep.path.exists()
    assert said(at) == [f"Deleted {gone.id}."] and list(table(at)["run"]) == [keep.id]
    assert at.multiselect(key="runs_selected").value == []


def test_an_active_run_cannot_be_deleted(runs_dir):
    run = finished(runs_dir)
    run.set_status("running", pid=os.getpid())
    at = open_page()
    at.multiselect(key="runs_selected").set_value([run.id]).run()
    assert at.button(key="runs_delete").disabled and at.button(key="runs_delete").proto.help == "Stop it first."


def test_selected_runs_overlay_their_curves(runs_dir):
    autoencoder, classifier = finished(runs_dir, "task1", {"psnr_denoised": 19.0}), finished(runs_dir)
    at = open_page()
    at.multiselect(key="runs_selected").set_value([classifier.id, autoencoder.id]).run()
    charts = {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    assert set(charts) == {"runs_overlay_loss", "runs_overlay_accuracy", "runs_overlay_mse"}
    loss = {trace["name"] for trace in charts["runs_overlay_loss"]["data"]}
    assert any(classifier.id in name for name in loss) and any(autoencoder.id in name for name in loss)
    assert all(autoencoder.id not in trace["name"] for trace in charts["runs_overlay_accuracy"]["data"])
    assert at.button(key="runs_compare").disabled  # not a Task 2 and a Task 3 model


def test_members_and_archived_runs_stay_out_of_the_model_lists_and_the_overview(runs_dir, models_dir):
    plain, member, archived = finished(runs_dir), finished(runs_dir), finished(runs_dir)
    member.update_meta(study="seeds")
    archived.update_meta(archived=True)
    shipped = len(json.loads((models_dir / "manifest.json").read_text())["models"])
    overview = open_page("pages/overview.py")
    assert f"Models: {shipped + 1}" in [c.value for c in overview.sidebar.caption]
    cards = " ".join(m.value for m in overview.markdown)
    assert f"**{plain.id}**" in cards and member.id not in cards and archived.id not in cards
    train = open_page("pages/train.py")
    train.selectbox(key="train_task").set_value("task2").run()  # the runs' task (the page opens on Task 1)
    options = train.selectbox(key="train_start_from_task2_seed").options
    assert any(plain.id in o for o in options)
    assert not any(member.id in o or archived.id in o for o in options)
    assert list(train.dataframe[0].value["run"]) == [plain.id]


def test_the_overview_shows_the_newest_runs_only(runs_dir):
    made = [finished(runs_dir) for _ in range(8)]
    at = open_page("pages/overview.py")
    cards = " ".join(m.value for m in at.markdown)
    newest = sorted(r.id for r in made)[::-1]
    assert all(f"**{rid}**" in cards for rid in newest[:6]) and not any(f"**{rid}**" in cards for rid in newest[6:])
    assert any("The newest 6 of 8 finished runs" in c.value for c in at.caption)


def test_a_task2_and_a_task3_run_open_in_compare(runs_dir, models_dir):
    task2 = finished(runs_dir, "task2", model=models_dir / "task2-seed.keras")
    task3 = finished(runs_dir, "task3", model=models_dir / "task3-seed.keras")
    task3.update_meta(study="seeds")  # a study member: Compare's picker offers it once chosen
    at = open_page()
    at.multiselect(key="runs_selected").set_value([task3.id, task2.id]).run()
    at.button(key="runs_compare").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Task 2 against Task 3"
    assert at.selectbox(key="compare_model_a").value == f"{task2.id} (run)"
    assert at.selectbox(key="compare_model_b").value == f"{task3.id} (run)"
