"""Studies: a tiny real study runs every member as an ordinary run, its results agree with the
members' own records, and a study killed halfway continues without repeating finished members."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from dae_core.analysis import stats
from dae_core.settings import PROJECT_ROOT
from dae_core.store.runs import Run, list_runs
from dae_core.studies import designs, evidence, runner, store

TINY = dict(seeds=2, budgets=(100, 300), arms=("scratch", "random-init"), epochs_scale=0.1, steps_per_epoch=5)
TINY_ARGS = ["--seeds", "2", "--budgets", "100,300", "--arms", "scratch,random-init", "--epochs-scale", "0.1",
             "--steps-per-epoch", "5"]


def test_the_design_gives_every_arm_the_same_subsets_and_a_fixed_step_budget():
    design = designs.label_efficiency()
    assert len(design.members) == 1 + 6 * 3 * 4 and design.members[0].key == "pretrain"
    by_key = {m.key: m for m in design.members}
    for arm in designs.LABEL_ARMS:
        member = by_key[f"{arm}/labels=100/seed=1"]
        assert (member.config["train_size"], member.config["seed"]) == (100, 1)
        assert member.config["epochs"] * member.config["steps_per_epoch"] == 1000  # steps, not epochs
    assert by_key["random-init/labels=100/seed=0"].config["encoder_weights"] == "random"
    assert by_key["fashion-ae/labels=100/seed=0"].needs == "pretrain"
    assert by_key["scratch/labels=48000/seed=0"].config["train_size"] is None


def test_a_tiny_study_records_every_member_and_summarises_them(data_dir, tmp_path):
    design = designs.label_efficiency(data_dir=str(data_dir), **TINY)
    study = store.Study.open(design, runs_dir=tmp_path)
    assert runner.run_locally(study, verbose=False) == []
    table = evidence.results(study)
    assert len(table) == 8 and len(list_runs(tmp_path)) == 8 and runner.progress(study) == (8, 8)
    for _, row in table.iterrows():  # every figure is the member's own record
        assert Run(tmp_path / row["run"]).status()["test"]["accuracy"] == row["accuracy"]
    summary = evidence.summary(table, design.axis)
    scratch_100 = table[(table.arm == "scratch") & (table.labels == 100)]["accuracy"]
    row = summary[(summary.arm == "scratch") & (summary.labels == 100)].iloc[0]
    expected = stats.mean_interval(scratch_100)
    assert (row["n"], row["mean"], row["low"]) == (2, pytest.approx(expected.mean), pytest.approx(expected.low))
    assert len(evidence.findings(table, design.axis)) == 2  # random-init against scratch, at each budget
    with pytest.raises(store.JobError, match="other settings"):
        store.Study.open(designs.label_efficiency(data_dir=str(data_dir), **{**TINY, "seeds": 3}),
                           runs_dir=tmp_path)


def test_a_study_killed_halfway_continues_without_repeating_finished_members(data_dir, tmp_path):
    command = [sys.executable, "-m", "dae_core", "study", "label-efficiency", *TINY_ARGS,
               "--runs-dir", str(tmp_path), "--data-dir", str(data_dir)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    study_file = tmp_path / "studies" / "label-efficiency" / "study.json"
    deadline = time.time() + 300
    while len(completed(tmp_path)) < 3:  # kill it (not politely) once a few members are done
        assert proc.poll() is None and time.time() < deadline, "the study ended or stalled early"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = completed(tmp_path)
    assert 3 <= len(before) < 8
    rerun = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = completed(tmp_path)
    assert len(after) == 8 and before <= after  # the finished runs were kept, not redone
    assert f": {len(before) + 1} of 8" in rerun.stdout  # the rerun names the member it starts at
    members = json.loads(study_file.read_text())["runs"]
    assert set(members.values()) == after


def completed(runs_dir) -> set[str]:
    return {r.id for r in list_runs(runs_dir) if r.status().get("state") == "completed"}


PRETRAINING_TINY = dict(seeds=2, budgets=(100,), epochs_scale=0.1, steps_per_epoch=5, pretrain_epochs=10,
                        pretrain_size=1000, arms=("probe:fashion-mae", "probe:random", "head:mnist-ae",
                                                  "head:random", "mlp:fashion-ae", "mlp:random"))


def test_a_tiny_pretraining_study_pretrains_then_gives_gains_and_a_headline(data_dir, tmp_path):
    design = designs.pretraining_study(data_dir=str(data_dir), **PRETRAINING_TINY)
    study = store.Study.open(design, runs_dir=tmp_path)
    assert runner.run_locally(study, verbose=False) == []
    assert runner.progress(study) == (14, 14)
    masked = study.run_of("pretrain/fashion-mae")
    assert (masked.config()["noise_kind"], masked.config()["noise_level"]) == ("patches", 0.75)
    probe = study.run_of("probe:fashion-mae/labels=100/seed=1")
    assert probe.config()["encoder_from"] == str(masked.model_path)  # the member's own model
    table = evidence.results(study)
    assert len(table) == 12 and set(table.architecture) == {"probe", "head", "mlp"}
    for _, row in table.iterrows():  # every figure is the member's own record
        assert Run(tmp_path / row["run"]).status()["test"]["accuracy"] == row["accuracy"]
    gains = evidence.pretraining_gains(table)
    assert len(gains) == 3 and set(gains.n) == {2}
    pair = table[table.architecture == "probe"].pivot_table(index="seed", columns="pretraining", values="accuracy")
    row = gains[gains.architecture == "probe"].iloc[0]
    assert row["mean"] == pytest.approx((pair["fashion-mae"] - pair["random"]).mean())
    assert evidence.pretraining_headline(gains).startswith("With 2 seeds per pair there is no interval yet")
