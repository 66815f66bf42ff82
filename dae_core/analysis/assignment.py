"""The assignment's reported figures (April 2020, docs/assignment.md), as data to show beside ours."""

from dataclasses import dataclass

import pandas as pd

from dae_core.data.datasets import FASHION_CLASSES


@dataclass(frozen=True)
class Figure:
    """One Task 4 headline figure. ``key`` says where ours comes from: ``test_<x>`` is the
    test report's ``<x>``, any other key is that entry of the last epoch's record."""

    key: str
    label: str
    task2: float  # the CNN classifier
    task3: float  # the fine-tuned encoder


TASK4 = (
    Figure("test_accuracy", "test accuracy", 0.9160, 0.9085),
    Figure("test_loss", "test loss", 0.2372, 0.2634),
    Figure("accuracy", "train accuracy, last epoch", 0.9400, 0.9336),
    Figure("loss", "train loss, last epoch", 0.1604, 0.1808),
    Figure("val_accuracy", "validation accuracy, last epoch", 0.9247, 0.9150),
    Figure("val_loss", "validation loss, last epoch", 0.2092, 0.2484),
)


def figure(key: str) -> Figure:
    return next(f for f in TASK4 if f.key == key)


# Per class on the 10,000 test images: (precision, recall, f1) for Task 2, then Task 3.
_PER_CLASS = [
    (0.8581, 0.8830, 0.8704, 0.8111, 0.8930, 0.8501),
    (0.9939, 0.9790, 0.9864, 0.9929, 0.9810, 0.9869),
    (0.8432, 0.8980, 0.8697, 0.8846, 0.8200, 0.8511),
    (0.9038, 0.9400, 0.9216, 0.9328, 0.9020, 0.9171),
    (0.8777, 0.8470, 0.8621, 0.8140, 0.8840, 0.8476),
    (0.9860, 0.9830, 0.9845, 0.9840, 0.9830, 0.9835),
    (0.7813, 0.7180, 0.7483, 0.7655, 0.7180, 0.7410),
    (0.9613, 0.9700, 0.9657, 0.9630, 0.9630, 0.9630),
    (0.9809, 0.9740, 0.9774, 0.9848, 0.9700, 0.9773),
    (0.9699, 0.9680, 0.9690, 0.9623, 0.9710, 0.9667),
    (0.9156, 0.9160, 0.9155, 0.9095, 0.9085, 0.9084),
]

# The assignment's variants: task name -> (test loss, test accuracy).
VARIANTS = {
    "frozen_ae": (0.4771, 0.8266),
    "unfrozen_ae": (0.6839, 0.8196),
    "frozen_ae_noisy": (0.4708, 0.8333),
}


def per_class(task: str) -> pd.DataFrame:
    """The assignment's per-class table for "task2" or "task3" (macro avg last), like
    ``evaluate.per_class_table``."""
    offset = {"task2": 0, "task3": 3}[task]
    rows = [r[offset:offset + 3] for r in _PER_CLASS]
    table = pd.DataFrame(rows, columns=["precision", "recall", "f1"])
    table.insert(0, "class", list(FASHION_CLASSES) + ["macro avg"])
    return table
