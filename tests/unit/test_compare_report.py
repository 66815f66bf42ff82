"""The Compare page's figures from predictions: the image-alone row beside the assignment's, the
loss floor label smoothing sets, and the augmentation switch on the training curves."""

from pathlib import Path

import numpy as np
import pytest

from dae_core.analysis import assignment, metrics, plots, predictions, report
from dae_core.models.catalog import ModelEntry

Y = np.arange(100) % 10


def entry(name, task, config=None):
    return ModelEntry(name, task, "improved", Path(f"{name}.keras"), "run", {}, [], config or {})


def probs_right(right: int) -> np.ndarray:
    """(100, 10) probabilities right on the first ``right`` labels of ``Y``."""
    guess = np.where(np.arange(len(Y)) < right, Y, (Y + 1) % 10)
    return np.eye(10, dtype=np.float32)[guess]


def test_a_mirror_averaging_model_gets_its_image_alone_accuracy_beside_the_assignments():
    mirrored = predictions.Predictions(probs_right(96), one_view=probs_right(93))
    plain = predictions.Predictions(probs_right(90))
    comp = report.comparison(entry("a", "task2"), entry("b", "task3"), mirrored, plain, Y)
    assert comp.mirror_averaged and comp.one_view_b is None
    assert (comp.report_a.accuracy, comp.one_view_accuracy("a")) == (0.96, 0.93)
    assert comp.one_view_accuracy("b") == 0.90  # a model of one view: its own accuracy
    headline = comp.headline().set_index("figure")
    assert list(headline.index[:2]) == ["test accuracy", report.ONE_VIEW_FIGURE]
    row = headline.loc[report.ONE_VIEW_FIGURE]
    assert (row["a"], row["b"]) == (0.93, 0.90)
    theirs = assignment.figure("test_accuracy")
    assert (row["assignment Task 2"], row["assignment Task 3"]) == (theirs.task2, theirs.task3)  # of one view
    assert comp.mcnemar.only_a_right == 6 and comp.mcnemar.only_b_right == 0


def test_without_mirror_averaging_the_headline_has_no_image_alone_row():
    both = [predictions.Predictions(probs_right(90))] * 2
    comp = report.comparison(entry("a", "task2"), entry("b", "task3"), *both, Y)
    assert not comp.mirror_averaged
    assert report.ONE_VIEW_FIGURE not in list(comp.headline()["figure"])


def test_label_smoothing_sets_a_floor_under_the_training_loss():
    floor = report.smoothed_loss_floor(0.1)
    targets = np.full(10, 0.01)
    targets[0] = 0.91
    assert floor == pytest.approx(-(targets * np.log(targets)).sum())  # predicting the targets exactly
    assert floor == pytest.approx(0.5003, abs=1e-4)
    assert report.smoothed_loss_floor(0.0) == 0.0
    assert report.label_smoothing(entry("a", "task2", {"label_smoothing": 0.1})) == 0.1
    assert report.label_smoothing(entry("a", "task2", {"label_smoothing": None})) == 0.0
    assert report.label_smoothing(entry("a", "task2")) == 0.0


def test_training_curves_mark_each_models_augmentation_switch_in_its_colour():
    history = [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.2 / e} for e in range(1, 9)]
    fig = plots.training_curves({"a": history, "b": history, "c": []}, "loss",
                                plain_after={"a": 6, "b": 4, "c": 2})  # c has no curve: no line
    lines = [(s.x0, s.line.color) for s in fig.layout.shapes]
    assert lines == [(6, plots.PALETTE[0]), (4, plots.PALETTE[1])]
    assert [a.text for a in fig.layout.annotations] == ["a: plain images from here", "b: plain images from here"]
    assert not plots.training_curves({"a": history}, "loss").layout.shapes


def test_per_class_figures_and_confusion_are_sklearns():
    """Counted in numpy (importing sklearn cost the Compare page a second): sklearn's figures, a class
    never predicted or never present included (0, as sklearn's zero_division=0)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(3)
    for size in (1, 7, 500):
        y = rng.integers(0, 9, size)  # class 9 never present
        guess = np.where(rng.random(size) < 0.7, y, rng.integers(0, 8, size))  # 8, 9 never predicted
        shown = metrics.per_class_table(y, guess)
        expected = precision_recall_fscore_support(y, guess, labels=np.arange(10), zero_division=0)
        for column, values in zip(("precision", "recall", "f1", "support"), expected):
            assert shown[column][:10].to_numpy() == pytest.approx(values, abs=1e-12)
        assert (metrics.confusion(y, guess) == confusion_matrix(y, guess, labels=np.arange(10))).all()
