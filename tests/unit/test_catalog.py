"""The catalog lists finished runs, and sees a run that changed since it was last read."""

import json

import pytest

from dae_core.models import catalog
from dae_core.store.runs import Run


def finished_run(root, accuracy: float) -> Run:
    run = Run.create({"task": "task2", "preset": "seed"}, root)
    run.model_path.write_bytes(b"not read by the catalog")
    run.append_metric({"kind": "epoch", "epoch": 1, "accuracy": accuracy, "loss": 1.0})
    run.set_status("completed", test={"accuracy": accuracy})
    return run


def test_lists_only_finished_runs_with_a_model(tmp_path):
    done = finished_run(tmp_path, 0.5)
    Run.create({"task": "task2", "preset": "seed"}, tmp_path).set_status("running")
    entries = catalog.run_models(tmp_path)
    assert [e.name for e in entries] == [done.id]
    assert entries[0].history == [{"epoch": 1, "accuracy": 0.5, "loss": 1.0}]


def test_a_resumed_run_is_read_afresh(tmp_path):
    run = finished_run(tmp_path, 0.5)
    assert catalog.run_models(tmp_path)[0].test == {"accuracy": 0.5}
    assert catalog.run_models(tmp_path)[0] is catalog.run_models(tmp_path)[0]  # cached
    run.set_status("running")
    assert catalog.run_models(tmp_path) == []
    run.append_metric({"kind": "epoch", "epoch": 2, "accuracy": 0.7, "loss": 0.5})
    run.set_status("completed", test={"accuracy": 0.7})
    entry = catalog.run_models(tmp_path)[0]
    assert entry.test == {"accuracy": 0.7} and len(entry.history) == 2


@pytest.mark.parametrize("text", ['{"no models": []}', '{"models": "abc"}', "{not json", '[1, 2]'])
def test_a_damaged_manifest_lists_nothing_and_says_how_to_fix(tmp_path, text):
    (tmp_path / "manifest.json").write_text(text)
    assert catalog.shipped_models(tmp_path) == []
    (problem,) = catalog.manifest_problems(tmp_path)
    assert str(tmp_path / "manifest.json") in problem and "git checkout models/" in problem


def test_a_bad_entry_costs_only_itself(tmp_path):
    good = {"name": "task2-seed", "task": "task2", "preset": "seed", "file": "task2-seed.keras"}
    bad = [{"name": "x"}, "abc", {**good, "task": "task9"}, {**good, "file": 3}]
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [*bad, good]}))
    assert [e.name for e in catalog.shipped_models(tmp_path)] == ["task2-seed"]
    problems = catalog.manifest_problems(tmp_path)
    assert [p.split(", model ")[1].split(":")[0] for p in problems] == ["1", "2", "3", "4"]
    assert "task 'task9'" in problems[2]


