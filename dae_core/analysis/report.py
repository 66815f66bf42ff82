"""Task 4: Task 2 against Task 3 on the same test images, beside the assignment's figures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dae_core.analysis import assignment, metrics, predictions, stats
from dae_core.models.catalog import ModelEntry
from dae_core.tasks import task_title

METRICS = ("precision", "recall", "f1")


@dataclass(frozen=True)
class Comparison:
    """Two classifiers on the same test images; tables name each model by its name."""

    a: ModelEntry  # the Task 2 side
    b: ModelEntry  # the Task 3 side
    report_a: metrics.ClassifierReport
    report_b: metrics.ClassifierReport
    mcnemar: stats.McNemarResult
    # A model that predicts the mean over each image and its mirror image: its classifier on the
    # image alone, as the assignment's models predict; None for a model that predicts so itself.
    one_view_a: metrics.ClassifierReport | None = None
    one_view_b: metrics.ClassifierReport | None = None

    def headline(self) -> pd.DataFrame:
        """Test and last-epoch figures of both models, and the assignment's for Task 2 and 3;
        with a mirror-averaging model, the test accuracy of the image alone under the test
        accuracy (the assignment's is of the image alone)."""
        rows = [{"figure": f.label, self.a.name: ours(f.key, self.a, self.report_a),
                 self.b.name: ours(f.key, self.b, self.report_b),
                 "assignment Task 2": f.task2, "assignment Task 3": f.task3} for f in assignment.TASK4]
        if self.mirror_averaged:
            theirs = assignment.figure("test_accuracy")
            rows.insert(1, {"figure": ONE_VIEW_FIGURE, self.a.name: self.one_view_accuracy("a"),
                            self.b.name: self.one_view_accuracy("b"),
                            "assignment Task 2": theirs.task2, "assignment Task 3": theirs.task3})
        return pd.DataFrame(rows)

    @property
    def mirror_averaged(self) -> bool:
        """Whether either model predicts the mean over each image and its mirror image."""
        return self.one_view_a is not None or self.one_view_b is not None

    def one_view_accuracy(self, side: str) -> float:
        """Test accuracy of side "a" or "b" from the image alone (its accuracy when it never
        averages over the mirror image)."""
        one_view, report = (self.one_view_a, self.report_a) if side == "a" else (self.one_view_b, self.report_b)
        return (one_view or report).accuracy

    def per_class(self) -> pd.DataFrame:
        """Per-class precision, recall, F1 of both side by side, with the better one named."""
        ta, tb = self.report_a.per_class, self.report_b.per_class
        table = ta[["class", "support"]].copy()
        for metric in METRICS:
            table[f"{metric} {self.a.name}"] = ta[metric]
            table[f"{metric} {self.b.name}"] = tb[metric]
            table[f"better {metric}"] = [self._better(x, y) for x, y in zip(ta[metric], tb[metric])]
        return table

    def _better(self, x: float, y: float) -> str:
        return self.a.name if x > y else self.b.name if y > x else "="

    def sentence(self) -> str:
        return self.mcnemar.sentence(self.a.name, self.b.name)


def ours(key: str, entry: ModelEntry, report: metrics.ClassifierReport) -> float | None:
    """Our value of the assignment figure ``key`` (see ``assignment.Figure``)."""
    if key.startswith("test_"):
        return getattr(report, key.removeprefix("test_"))
    return (entry.history[-1] if entry.history else {}).get(key)


ONE_VIEW_FIGURE = "test accuracy, image alone (no mirror)"


def compare(a: ModelEntry, b: ModelEntry, x_test, y_test, *, cache_dir: str | Path | None = None,
            progress: predictions.Progress | None = None) -> Comparison:
    """Evaluate both classifiers on the same test images and test the difference; their
    predictions are kept on disk (``predictions``), so a second comparison of either is quick."""
    made = [predictions.predict(entry.path, x_test, y_test, cache_dir=cache_dir, progress=progress)
            for entry in (a, b)]
    return comparison(a, b, *made, y_test)


def comparison(a: ModelEntry, b: ModelEntry, predictions_a: predictions.Predictions,
               predictions_b: predictions.Predictions, y_test) -> Comparison:
    """The comparison of two classifiers from their predictions on the test images ``y_test``."""
    y_test = np.asarray(y_test)
    report_a = metrics.report_from_probs(predictions_a.probs, y_test)
    report_b = metrics.report_from_probs(predictions_b.probs, y_test)
    one_view = [metrics.report_from_probs(p.one_view, y_test) if p.mirror_averaged else None
                for p in (predictions_a, predictions_b)]
    return Comparison(a, b, report_a, report_b, stats.mcnemar(y_test, report_a.y_pred, report_b.y_pred),
                      *one_view)


def label_smoothing(entry: ModelEntry) -> float:
    """The label smoothing ``entry`` trained with (0 when none, or not recorded)."""
    value = entry.config.get("label_smoothing") if isinstance(entry.config, dict) else None
    return float(value) if isinstance(value, (int, float)) and 0 < value < 1 else 0.0


def smoothed_loss_floor(smoothing: float, classes: int = 10) -> float:
    """The lowest cross-entropy a model can reach against smoothed labels (the right class
    ``1 - smoothing + smoothing / classes``, every other ``smoothing / classes``): the entropy of
    those targets, reached only by predicting them exactly. 0.50 for 0.1 over 10 classes."""
    if smoothing <= 0:
        return 0.0
    right, other = 1 - smoothing + smoothing / classes, smoothing / classes
    return -(right * math.log(right) + (classes - 1) * other * math.log(other))


def write_comparison(comp: Comparison, out_dir: str | Path) -> list[Path]:
    """Markdown and CSV files of the comparison; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    headline, per_class = comp.headline(), comp.per_class()
    paths = [out / "task4.csv", out / "task4_per_class.csv", out / "task4.md"]
    headline.to_csv(paths[0], index=False)
    per_class.to_csv(paths[1], index=False)
    theirs = assignment_per_class()
    paths[2].write_text(
        f"# Task 4: {comp.a.name} against {comp.b.name}\n\n"
        f"{headline.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"## Per class (10,000 test images)\n\n{per_class.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"## The assignment's per-class figures\n\n{theirs.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"## Is the difference real?\n\nMcNemar's test, over these test images, for these two trained models "
        f"(whether the recipes differ over training seeds is the seeds study's question): {comp.sentence()}\n")
    return paths


def assignment_per_class() -> pd.DataFrame:
    """The assignment's per-class figures of Task 2 and Task 3 side by side."""
    return pd.concat([assignment.per_class("task2").add_prefix("Task 2 "),
                      assignment.per_class("task3").drop(columns="class").add_prefix("Task 3 ")], axis=1)


def variants_table(entries: list[ModelEntry]) -> pd.DataFrame:
    """The assignment's three variants, each beside the recorded test figures of our models of
    that variant in ``entries`` (one row per model; empty figures where none exists)."""
    rows = []
    for task, (their_loss, their_accuracy) in assignment.VARIANTS.items():
        for entry in [e for e in entries if e.task == task] or [None]:
            test = entry.test if entry else {}
            rows.append({"variant": task_title(task), "model": entry.name if entry else "(none trained yet)",
                         "test loss": test.get("loss"), "test accuracy": test.get("accuracy"),
                         "assignment test loss": their_loss, "assignment test accuracy": their_accuracy})
    return pd.DataFrame(rows)
