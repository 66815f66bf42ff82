"""Task 4: Task 2 against Task 3 on the same test images, beside the seed's figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dae_core import evaluate, seed
from dae_core.catalog import ModelEntry
from dae_core.config import TASK_TITLES

METRICS = ("precision", "recall", "f1")


@dataclass(frozen=True)
class Comparison:
    a: ModelEntry  # Task 2 side
    b: ModelEntry  # Task 3 side
    report_a: evaluate.ClassifierReport
    report_b: evaluate.ClassifierReport
    mcnemar: dict

    def headline(self) -> pd.DataFrame:
        """Test and last-epoch figures: ours for A and B, the seed's for Task 2 and 3."""
        rows = []
        for figure, (seed_a, seed_b) in seed.TASK4.items():
            rows.append({"figure": figure, self.a.name: _ours(figure, self.a, self.report_a),
                         self.b.name: _ours(figure, self.b, self.report_b),
                         "seed Task 2": seed_a, "seed Task 3": seed_b})
        return pd.DataFrame(rows)

    def per_class(self) -> pd.DataFrame:
        """Per-class precision, recall, F1 of A and B side by side, with the better one named."""
        ta, tb = self.report_a.per_class, self.report_b.per_class
        table = ta[["class", "support"]].copy()
        for metric in METRICS:
            table[f"{metric} A"] = ta[metric]
            table[f"{metric} B"] = tb[metric]
            table[f"better {metric}"] = [_better(x, y) for x, y in zip(ta[metric], tb[metric])]
        return table

    def sentence(self) -> str:
        return evaluate.mcnemar_sentence(self.mcnemar, self.a.name, self.b.name)


def _better(x: float, y: float) -> str:
    return "A" if x > y else "B" if y > x else "="


def _ours(figure: str, entry: ModelEntry, report: evaluate.ClassifierReport) -> float | None:
    if figure == "test accuracy":
        return report.accuracy
    if figure == "test loss":
        return report.loss
    last = entry.history[-1] if entry.history else {}
    key = ("val_" if figure.startswith("validation") else "") + figure.split()[1].rstrip(",")
    return last.get(key)


def compare(a: ModelEntry, b: ModelEntry, x_test, y_test) -> Comparison:
    """Evaluate both classifiers on the same test images and test the difference."""
    from dae_core.models import load_model

    report_a = evaluate.classifier_report(load_model(a.path), x_test, y_test)
    report_b = evaluate.classifier_report(load_model(b.path), x_test, y_test)
    return Comparison(a, b, report_a, report_b,
                      evaluate.mcnemar(y_test, report_a.y_pred, report_b.y_pred))


def write_comparison(comp: Comparison, out_dir: str | Path) -> list[Path]:
    """Markdown and CSV files of the comparison; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    headline, per_class = comp.headline(), comp.per_class()
    paths = [out / "task4.csv", out / "task4_per_class.csv", out / "task4.md"]
    headline.to_csv(paths[0], index=False)
    per_class.to_csv(paths[1], index=False)
    seed_rows = pd.concat([seed.per_class("task2").add_prefix("seed T2 "),
                           seed.per_class("task3")[list(METRICS)].add_prefix("seed T3 ")], axis=1)
    paths[2].write_text(
        f"# Task 4: {comp.a.name} (A) against {comp.b.name} (B)\n\n"
        f"{headline.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"## Per class (10,000 test images)\n\n{per_class.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"## The seed's per-class figures\n\n{seed_rows.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"## Is the difference real?\n\n{comp.sentence()}\n")
    return paths


def variants_table(entries: list[ModelEntry]) -> pd.DataFrame:
    """The seed's three variants, each beside the recorded test figures of our models of
    that variant in ``entries`` (one row per model; empty figures where none exists)."""
    rows = []
    for task, (seed_loss, seed_accuracy) in seed.VARIANTS.items():
        ours = [e for e in entries if e.task == task] or [None]
        for entry in ours:
            test = entry.test if entry else {}
            rows.append({"variant": TASK_TITLES[task], "model": entry.name if entry else "(none trained yet)",
                         "test loss": test.get("loss"), "test accuracy": test.get("accuracy"),
                         "seed test loss": seed_loss, "seed test accuracy": seed_accuracy})
    return pd.DataFrame(rows)
