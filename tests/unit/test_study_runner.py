"""A study on this machine, without training: whether it is running (also when started on the
command line), how long what is left will take, and the demo in a runs folder of its own that one
call clears (never while it runs, nothing outside it)."""

import json
import os

import pytest

from dae_core.errors import JobError
from dae_core.models import catalog
from dae_core.store.runs import Run, list_runs
from dae_core.studies import designs, runner, store

TINY = dict(seeds=2, budgets=(100,), arms=("scratch", "random-init"))


def finished(study: store.Study, member: store.Member, seconds: float) -> Run:
    """Record ``member`` as a completed run whose epochs took ``seconds`` in all."""
    run = Run.create(member.config, study.runs_root)
    run.append_metric({"kind": "epoch", "epoch": 1, "seconds": seconds / 2})
    run.append_metric({"kind": "epoch", "epoch": 2, "seconds": seconds / 2})
    run.set_status("completed", test={"accuracy": 0.5})
    study.record(member.key, run)
    return run


def test_the_estimate_is_the_finished_members_pace_times_those_left(tmp_path):
    design = designs.label_efficiency(**TINY)
    study = store.Study.open(design, runs_dir=tmp_path)
    finished(study, design.members[0], 30.0)
    finished(study, design.members[1], 50.0)
    estimate = runner.estimate(design, study)
    assert (estimate.left, estimate.total) == (2, 4) and estimate.seconds == pytest.approx(2 * 40.0)
    assert estimate.basis == "the pace of the 2 members finished here"


def test_without_finished_members_the_estimate_says_what_figure_it_rests_on(tmp_path):
    design = designs.label_efficiency(**TINY)
    shipped = runner.estimate(design, None, per_member=47.0)
    assert shipped.seconds == pytest.approx(4 * 47.0) and shipped.basis == "the shipped results' pace of 47 s per member"
    rough = runner.estimate(design, store.Study(tmp_path / "studies" / "none"))
    assert rough.seconds == 4 * runner.ROUGH_MEMBER_SECONDS and rough.basis.startswith("a rough figure of 60 s")


def test_a_prerequisite_member_is_not_paced_by_the_arms(tmp_path):
    design = designs.label_efficiency(seeds=1, budgets=(100, 300), arms=("scratch", "fashion-ae"))
    study = store.Study.open(design, runs_dir=tmp_path)
    assert design.members[0].arm == "pretrain"
    finished(study, design.members[1], 10.0)  # an arm member, not the autoencoder
    estimate = runner.estimate(design, study, per_member=600.0)
    assert estimate.seconds == pytest.approx(600.0 + 3 * 10.0)
    assert estimate.basis == "the pace of the 1 member finished here, the shipped results' pace of 10 min per " \
                             "member for the others"


def test_a_study_started_on_the_command_line_counts_as_running_and_is_not_started_twice(tmp_path):
    design = designs.label_efficiency(**TINY)
    study = store.Study.open(design, runs_dir=tmp_path)
    assert not runner.study_active(study.path)
    run = Run.create(design.members[0].config, tmp_path)
    study.record(design.members[0].key, run)
    run.set_status("running", pid=os.getpid())  # no process.json: the CLI trains in its own process
    assert runner.study_active(study.path)
    with pytest.raises(JobError, match="already running"):
        runner.start_study("label-efficiency", [], runs_dir=tmp_path)
    run.set_status("completed")
    assert not runner.study_active(study.path)


def demo_with_a_run(runs: os.PathLike) -> Run:
    demo = runner.demo_runs_dir(runs)
    design = designs.label_efficiency(**TINY)
    study = store.Study.open(design, "label-efficiency-demo", demo)
    return finished(study, design.members[0], 1.0)


def test_the_demos_runs_stay_out_of_the_ordinary_runs_and_one_call_clears_them(tmp_path):
    ordinary = Run.create(designs.label_efficiency(**TINY).members[0].config, tmp_path)
    demo_run = demo_with_a_run(tmp_path)
    assert demo_run.path.parent == tmp_path / "demo"
    assert [r.id for r in list_runs(tmp_path)] == [ordinary.id]  # not in the sidebar, Overview, pickers
    assert demo_run.id not in {e.name for e in catalog.run_models(tmp_path)}
    (tmp_path / "studies").mkdir()
    assert runner.clear_demo(tmp_path) is True
    assert not (tmp_path / "demo").exists()
    assert ordinary.exists() and (tmp_path / "studies").is_dir()  # nothing outside the demo's folder
    assert runner.clear_demo(tmp_path) is False  # nothing left to clear


def test_the_demo_is_not_cleared_while_it_runs_nor_through_a_link(tmp_path):
    demo_run = demo_with_a_run(tmp_path)
    demo_run.set_status("running", pid=os.getpid())
    with pytest.raises(JobError, match="still running"):
        runner.clear_demo(tmp_path)
    assert demo_run.exists()
    demo_run.set_status("completed")
    folder = runner.demo_runs_dir(tmp_path) / "studies" / "label-efficiency-demo"
    (folder / store.PROCESS_FILE).write_text(json.dumps({"pid": os.getpid()}))  # its process alive
    with pytest.raises(JobError, match="still running"):
        runner.clear_demo(tmp_path)
    (folder / store.PROCESS_FILE).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    other = tmp_path / "other-runs"
    other.mkdir()
    (other / "demo").symlink_to(elsewhere)
    with pytest.raises(JobError, match="not the demo's folder"):
        runner.clear_demo(other)
    assert (elsewhere / "keep.txt").read_text() == "mine"
