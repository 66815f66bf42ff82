"""Managing runs: tags, a note and an archived mark in meta.json (a damaged one reads as empty and
is named), deleting a run (never an active one, nothing outside the runs folder), study members
marked as such, the catalog leaving members and archived runs out, the runs table and ``runs``."""

import json
import os
import subprocess
import sys
import time

import pytest

from dae_core.cli.main import main
from dae_core.errors import JobError
from dae_core.models import catalog
from dae_core.store import runs
from dae_core.store.runs import Run, RunMeta, delete_run, list_runs, parse_tags
from dae_core.studies.store import Design, Member, Study, mark_members
from dae_core.training import jobs, run_table
from dae_core.training.config import make_config


def finished(root, task: str = "task2", test: dict | None = None, **config) -> Run:
    run = Run.create(make_config(task, "seed", epochs=3, **config).to_dict(), root)
    run.model_path.write_bytes(b"not read here")
    run.append_metric({"kind": "epoch", "epoch": 1, "loss": 1.0, "accuracy": 0.5})
    run.set_status("completed", epoch=3, epochs=3, started=1000.0, finished=1075.0,
                   test=test or {"accuracy": 0.8125, "loss": 0.5})
    return run


def dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


# --- meta.json ---------------------------------------------------------------------------------

def test_tags_note_and_archived_are_kept_and_merged(tmp_path):
    run = finished(tmp_path)
    assert run.meta() == RunMeta() and not run.meta_path.exists()
    run.update_meta(tags=["baseline", "lr sweep"], note="  first try  ")
    run.update_meta(archived=True)
    meta = run.meta()
    assert meta == RunMeta(("baseline", "lr sweep"), "first try", True, None)
    assert meta.hidden and not meta.damaged
    assert json.loads(run.meta_path.read_text()) == {"tags": ["baseline", "lr sweep"], "note": "first try",
                                                     "archived": True}
    run.update_meta(archived=False, tags=[])
    assert run.meta() == RunMeta((), "first try") and not run.meta().hidden
    assert not list(run.path.glob(".*.tmp"))  # written atomically


def test_parse_tags_splits_trims_and_drops_repeats():
    assert parse_tags(" baseline, lr sweep,,baseline ") == ("baseline", "lr sweep")
    assert parse_tags("") == ()


@pytest.mark.parametrize("fields", [{"tags": ["a\tb"]}, {"tags": ["x" * 41]}, {"tags": "baseline"},
                                    {"note": "n" * 2001}, {"archived": "yes"}, {"study": "../up"},
                                    {"colour": "red"}])
def test_a_value_that_cannot_be_kept_is_refused_and_nothing_is_written(tmp_path, fields):
    run = finished(tmp_path)
    with pytest.raises(ValueError):
        run.update_meta(**fields)
    assert not run.meta_path.exists()


@pytest.mark.parametrize("content", [b'{"tags": ["a"', bytes(range(256)), b"[1, 2]",
                                     b'{"tags": "baseline"}', b'{"archived": 1}', b'{"study": "../x"}'])
def test_a_damaged_meta_reads_as_empty_and_is_named(tmp_path, content):
    run = finished(tmp_path)
    run.meta_path.write_bytes(content)
    meta = run.meta()
    assert (meta.tags, meta.note, meta.archived, meta.study) == ((), "", False, None)
    assert str(run.meta_path) in meta.damaged and "Fix:" in meta.damaged
    assert [e.name for e in catalog.run_models(tmp_path)] == [run.id]  # listed, as if it had no meta
    run.update_meta(tags=["again"])  # replaced by a good one
    assert run.meta() == RunMeta(("again",))


# --- delete --------------------------------------------------------------------------------------

def test_delete_removes_an_ended_run_folder(tmp_path):
    keep, gone = finished(tmp_path), finished(tmp_path)
    delete_run(gone, tmp_path)
    assert not gone.path.exists() and [r.id for r in list_runs(tmp_path)] == [keep.id]


def test_delete_refuses_an_active_run(tmp_path):
    queued = Run.create(make_config("task2").to_dict(), tmp_path)  # no process yet: queued
    running = finished(tmp_path)
    running.set_status("running", pid=os.getpid())
    for run in (queued, running):
        with pytest.raises(JobError, match="stop it first"):
            delete_run(run, tmp_path)
        assert run.config_path.exists()
    running.set_status("running", pid=dead_pid())  # killed: failed, so it can go
    delete_run(running, tmp_path)
    assert not running.path.exists()


def test_delete_refuses_anything_but_a_run_folder_inside_the_runs_folder(tmp_path):
    root, elsewhere = tmp_path / "runs", tmp_path / "elsewhere"
    outside, inside = finished(elsewhere), finished(root)
    (root / "link-out").symlink_to(outside.path)
    (root / "link-in").symlink_to(inside.path)
    (root / "studies").mkdir()  # no config: no run
    for run in (outside, Run(root / "link-out"), Run(root / "link-in"), Run(root / "studies"),
                Run(root / ".." / "elsewhere" / outside.id)):
        with pytest.raises(JobError, match="nothing was deleted"):
            delete_run(run, root)
    assert outside.config_path.exists() and inside.config_path.exists() and (root / "studies").is_dir()
    assert (root / "link-out").is_symlink() and (root / "link-in").is_symlink()


# --- study members -------------------------------------------------------------------------------

def design() -> Design:
    config = make_config("task2", "seed", epochs=1, train_size=100).to_dict()
    return Design("tiny", "?", (Member("task2/seed=0", "task2", 0, config),
                                Member("task2/seed=1", "task2", 1, {**config, "seed": 1})))


def test_a_recorded_member_says_which_study_it_belongs_to(tmp_path):
    study = Study.open(design(), runs_dir=tmp_path)
    run = finished(tmp_path)
    study.record("task2/seed=0", run)
    assert run.meta().study == "tiny" and run.meta().hidden


def test_members_of_a_study_recorded_before_are_marked_once(tmp_path):
    study = Study.open(design(), runs_dir=tmp_path)
    first, second, damaged = finished(tmp_path), finished(tmp_path), finished(tmp_path)
    damaged.meta_path.write_text("{cut")
    state = json.loads(study.file.read_text())  # as an older lab wrote it: the runs' meta untouched
    state["runs"] = {"task2/seed=0": first.id, "task2/seed=1": second.id, "other": damaged.id,
                     "gone": "20200101-000000-task2-seed"}
    study.file.write_text(json.dumps(state))
    assert mark_members(tmp_path) == 2
    assert first.meta().study == second.meta().study == "tiny"
    assert damaged.meta_path.read_text() == "{cut"  # a damaged one is named, not overwritten
    assert mark_members(tmp_path) == 0  # study.json unchanged: not read again


def test_continuing_a_study_marks_its_members(tmp_path):
    study = Study.open(design(), runs_dir=tmp_path)
    run = finished(tmp_path)
    state = json.loads(study.file.read_text())
    state["runs"]["task2/seed=0"] = run.id
    study.file.write_text(json.dumps(state))
    Study.open(design(), runs_dir=tmp_path)
    assert run.meta().study == "tiny"


# --- the catalog ---------------------------------------------------------------------------------

def test_members_and_archived_runs_stay_out_of_the_model_lists_unless_asked_for(tmp_path):
    plain, member, archived = finished(tmp_path), finished(tmp_path), finished(tmp_path)
    assert {e.name for e in catalog.run_models(tmp_path)} == {plain.id, member.id, archived.id}
    member.update_meta(study="tiny")
    archived.update_meta(archived=True)  # the cache sees meta.json change
    assert [e.name for e in catalog.run_models(tmp_path)] == [plain.id]
    assert [e.name for e in catalog.all_models("task2", runs_dir=tmp_path, models_dir=tmp_path / "none")] == [plain.id]
    every = catalog.all_models(runs_dir=tmp_path, models_dir=tmp_path / "none", include_hidden=True)
    assert {e.name: e.hidden for e in every} == {plain.id: False, member.id: True, archived.id: True}
    assert catalog.resolve_model(member.id, tmp_path).name == member.id  # named, it is found
    archived.update_meta(archived=False)
    assert {e.name for e in catalog.run_models(tmp_path)} == {plain.id, archived.id}


# --- the runs table ------------------------------------------------------------------------------

def test_the_table_names_each_setting_and_the_headline_with_its_unit(tmp_path):
    autoencoder = finished(tmp_path, "task1", {"psnr_denoised": 16.028951136390585, "psnr_noisy": 9.4},
                           noise_kind="salt_pepper", noise_level=0.2, train_size=1000, seed=7)
    classifier = finished(tmp_path, "task3", encoder_from=str(autoencoder.model_path), learning_rate=2e-3)
    classifier.update_meta(tags=["a", "b"], note="why")
    rows = {row.id: row.as_row() for row in run_table.run_rows(tmp_path)}
    assert rows[autoencoder.id] == {
        "run": autoencoder.id, "task": "task1", "preset": "seed", "state": "completed", "epochs": "3/3",
        "batch": 1000, "learning rate": 0.001, "images": 1000, "noise": "salt_pepper 0.2",
        "start weights": "new", "seed": 7, "started": rows[autoencoder.id]["started"], "duration": "1:15",
        "test": "PSNR 16.03 dB", "trained on": "", "tags": "", "note": ""}
    assert (rows[classifier.id]["test"], rows[classifier.id]["noise"], rows[classifier.id]["images"]) == \
        ("accuracy 81.25 %", "", 48_000)
    assert rows[classifier.id]["start weights"] == f"encoder of {autoencoder.id}"
    assert (rows[classifier.id]["tags"], rows[classifier.id]["note"]) == ("a, b", "why")


def test_trained_on_names_the_device_and_for_a_ray_run_its_node_and_gpus():
    assert run_table.trained_on({}) == "" and run_table.trained_on({"device": "CPU (2 cores)"}) == "CPU (2 cores)"
    assert run_table.trained_on({"device": "1 x GPU (NVIDIA H100)", "node": "gpu1 (10.0.0.5)", "ray_gpus": "0"}) \
        == "1 x GPU (NVIDIA H100) on gpu1 (10.0.0.5), Ray GPU 0"


def test_start_weights_say_where_the_weights_came_from():
    assert run_table.start_weights({"task": "task2"}) == "new"
    assert run_table.start_weights({"task": "task2", "init_from": "models/task2-seed.keras"}) == "continued task2-seed"
    assert run_table.start_weights({"task": "task3", "preset": "improved"}) == "encoder of task1-improved"
    assert run_table.start_weights({"task": "task3", "encoder_weights": "random"}) == "random encoder"
    assert run_table.start_weights({"task": "mlp", "encoder_from": "member:mlp_ae/seed=0"}) == "encoder of mlp_ae/seed=0"


def test_the_state_and_epochs_are_those_of_the_live_view(tmp_path):
    """jobs.progress gives the Train page's state; every row says the same, damaged ones too."""
    completed = finished(tmp_path)
    running = finished(tmp_path)
    running.set_status("running", epoch=1, epochs=3, pid=os.getpid())
    killed = finished(tmp_path)
    killed.set_status("running", epoch=2, pid=dead_pid())
    stopped = finished(tmp_path)
    stopped.set_status("stopped", epoch=2)
    queued = Run.create(make_config("task2", epochs=8).to_dict(), tmp_path)
    bad_config, bad_status = finished(tmp_path), finished(tmp_path)
    bad_config.config_path.write_text("[]")
    bad_status.status_path.write_bytes(b"\x00\x01")
    rows = {row.id: row for row in run_table.run_rows(tmp_path)}
    for run in (completed, running, killed, stopped, queued, bad_config, bad_status):
        live = jobs.progress(run)
        assert (rows[run.id].state, rows[run.id].epoch, rows[run.id].epochs) == (live.state, live.epoch, live.epochs)
    assert [rows[r.id].state for r in (running, killed, queued, bad_config)] == ["running", "failed", "queued", "damaged"]
    assert rows[running.id].as_row()["epochs"] == "1/3" and rows[queued.id].as_row()["epochs"] == "0/8"
    assert rows[bad_config.id].problem and str(bad_config.config_path) in rows[bad_config.id].problem


def test_an_ended_row_is_read_again_once_its_folder_changes(tmp_path, monkeypatch):
    run = finished(tmp_path)
    monkeypatch.setattr(runs, "SETTLED_S", -1.0)  # keep rows however recent
    first = run_table.run_rows(tmp_path)[0]
    assert run_table.run_rows(tmp_path)[0] is first
    run.update_meta(tags=["new"])
    assert run_table.run_rows(tmp_path)[0].meta.tags == ("new",)


def test_filters_and_study_groups(tmp_path):
    a, b, c = finished(tmp_path, "task1", {"psnr_denoised": 19.0}), finished(tmp_path), finished(tmp_path)
    a.update_meta(tags=["x", "y"])
    b.update_meta(tags=["x"], study="tiny")
    c.update_meta(archived=True)
    rows = run_table.run_rows(tmp_path)
    ids = lambda rows: {r.id for r in rows}  # noqa: E731
    assert ids(run_table.select(rows)) == {a.id, b.id}
    assert ids(run_table.select(rows, archived=True)) == {a.id, b.id, c.id}
    assert ids(run_table.select(rows, tasks=["task2"])) == {b.id}
    assert ids(run_table.select(rows, tags=["x"])) == {a.id, b.id}
    assert ids(run_table.select(rows, tags=["x", "y"])) == {a.id}
    assert ids(run_table.select(rows, states=["failed"])) == set()
    ordinary, studies = run_table.by_study(run_table.select(rows))
    assert ids(ordinary) == {a.id} and {k: ids(v) for k, v in studies.items()} == {"tiny": {b.id}}
    assert run_table.all_tags(rows) == ["x", "y"]


# --- python -m dae_core runs ---------------------------------------------------------------------

def test_runs_prints_the_columns_with_units_and_filters_by_tag(tmp_path, capsys):
    autoencoder = finished(tmp_path, "task1", {"psnr_denoised": 16.028951136390585})
    classifier = finished(tmp_path)
    classifier.update_meta(tags=["keep"])
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split()[:6] == ["run", "task", "preset", "state", "epochs", "batch"]
    assert "PSNR 16.03 dB" in next(line for line in lines if line.startswith(autoencoder.id))
    assert "accuracy 81.25 %" in next(line for line in lines if line.startswith(classifier.id))
    assert main(["runs", "--runs-dir", str(tmp_path), "--tag", "keep"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == [classifier.id]


def test_runs_archives_and_lists_archived_runs_with_all(tmp_path, capsys):
    run = finished(tmp_path)
    assert main(["runs", "--runs-dir", str(tmp_path), "--archive", run.id]) == 0
    assert run.meta().archived
    main(["runs", "--runs-dir", str(tmp_path)])
    assert capsys.readouterr().out.splitlines()[-2:] == ["no runs", "(1 archived run left out: --all lists them)"]
    main(["runs", "--runs-dir", str(tmp_path), "--all"])
    assert run.id in capsys.readouterr().out
    assert main(["runs", "--runs-dir", str(tmp_path), "--unarchive", run.id]) == 0
    assert not run.meta().archived


def test_runs_delete_asks_first_and_never_deletes_an_active_run(tmp_path, capsys, monkeypatch):
    run, active = finished(tmp_path), Run.create(make_config("task2").to_dict(), tmp_path)
    monkeypatch.setattr("builtins.input", lambda question: "n")
    assert main(["runs", "--runs-dir", str(tmp_path), "--delete", run.id]) == 1
    assert run.path.exists() and "nothing deleted" in capsys.readouterr().out
    monkeypatch.setattr("builtins.input", lambda question: "y")
    assert main(["runs", "--runs-dir", str(tmp_path), "--delete", run.id]) == 0
    assert not run.path.exists()
    assert main(["runs", "--runs-dir", str(tmp_path), "--delete", active.id, "--yes"]) == 2
    assert active.path.exists() and "stop it first" in capsys.readouterr().err


def test_an_ended_run_is_not_read_again_to_find_the_active_ones_until_it_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "SETTLED_S", -1.0)
    run = finished(tmp_path)
    assert jobs.active_runs(tmp_path) == []
    monkeypatch.setattr(Run, "status", lambda self: pytest.fail("read again"))
    assert jobs.active_runs(tmp_path) == []  # its folder has not changed: no file read
    monkeypatch.undo()
    monkeypatch.setattr(runs, "SETTLED_S", -1.0)
    time.sleep(0.05)  # past the folder clock's tick
    run.set_status("queued")  # a resume
    assert [r.id for r in jobs.active_runs(tmp_path)] == [run.id]


def test_the_kept_listing_sees_runs_added_deleted_and_unpacked_late(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "SETTLED_S", -1.0)  # keep listings however recent
    first = finished(tmp_path)
    (tmp_path / "unpacking").mkdir()  # a run folder whose config is not there yet
    assert [r.id for r in list_runs(tmp_path)] == [first.id]
    time.sleep(0.05)
    second = finished(tmp_path)
    assert [r.id for r in list_runs(tmp_path)] == sorted([first.id, second.id], reverse=True)
    (tmp_path / "unpacking" / "config.json").write_text(json.dumps({"task": "task2"}))
    assert "unpacking" in [r.id for r in list_runs(tmp_path)]
    time.sleep(0.05)
    delete_run(first, tmp_path)
    assert first.id not in [r.id for r in list_runs(tmp_path)]
