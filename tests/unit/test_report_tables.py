"""Report tables: headline last-epoch figures, and our variants beside the assignment's."""

from pathlib import Path

import numpy as np
import pytest

from dae_core.analysis import assignment, metrics, report, stats
from dae_core.models.catalog import ModelEntry


def entry(name, task, test=None, history=None):
    return ModelEntry(name, task, "seed", Path(f"{name}.keras"), "run", test or {}, history or [])


def test_headline_takes_last_epoch_figures_from_the_history():
    y = np.arange(10)
    probs = np.full((10, 10), 0.01, np.float32)
    probs[y, y] = 0.91
    result = metrics.report_from_probs(probs, y)
    last = {"epoch": 2, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.4, "val_accuracy": 0.85}
    a = entry("a", "task2", history=[{"epoch": 1, "loss": 1.0}, last])
    comp = report.Comparison(a, entry("b", "task3"), result, result, stats.mcnemar(y, y, y))
    figures = dict(zip(comp.headline()["figure"], comp.headline()["a"]))
    assert figures["test accuracy"] == 1.0
    assert figures["train accuracy, last epoch"] == pytest.approx(0.9)
    assert figures["train loss, last epoch"] == pytest.approx(0.3)
    assert figures["validation accuracy, last epoch"] == pytest.approx(0.85)
    assert figures["validation loss, last epoch"] == pytest.approx(0.4)


def test_variants_table_lists_every_assignment_variant_with_our_models_beside_it():
    ours = [entry("frozen-1", "frozen_ae", {"loss": 0.40, "accuracy": 0.86}),
            entry("frozen-2", "frozen_ae", {"loss": 0.41, "accuracy": 0.85}),
            entry("t2", "task2", {"loss": 0.2, "accuracy": 0.9})]  # not a variant: left out
    table = report.variants_table(ours)
    assert list(table["model"]) == ["frozen-1", "frozen-2", "(none trained yet)", "(none trained yet)"]
    assert list(table["test accuracy"][:2]) == [0.86, 0.85]
    assert table["test loss"][2:].isna().all()
    assert list(table["assignment test accuracy"]) == [assignment.VARIANTS[t][1] for t in
                                                 ("frozen_ae", "frozen_ae", "unfrozen_ae", "frozen_ae_noisy")]
    assert list(table["assignment test loss"][2:]) == [assignment.VARIANTS["unfrozen_ae"][0],
                                                       assignment.VARIANTS["frozen_ae_noisy"][0]]
