"""The figures carry the data they were given: traces, values, names and colours."""

import numpy as np
import pandas as pd
import pytest

from dae_core.analysis import plots
from dae_core.analysis.metrics import per_class_table
from dae_core.data.noise import LEVEL_NAMES, NOISE_KINDS

HISTORY = [{"epoch": 1, "loss": 0.9, "val_loss": 0.8, "accuracy": 0.6, "val_accuracy": 0.65},
           {"epoch": 2, "loss": 0.5, "val_loss": 0.6, "accuracy": 0.8, "val_accuracy": 0.78}]


def by_name(fig):
    return {trace.name: trace for trace in fig.data}


def test_training_curves_draw_train_solid_and_validation_dashed_per_label():
    other = [{"epoch": 1, "loss": 1.2, "val_loss": 1.0}]
    fig = plots.training_curves({"task2-seed": HISTORY, "task3-seed": other}, "loss")
    traces = by_name(fig)
    assert set(traces) == {"task2-seed train", "task2-seed validation",
                           "task3-seed train", "task3-seed validation"}
    assert list(traces["task2-seed train"].x) == [1, 2]
    assert list(traces["task2-seed train"].y) == [0.9, 0.5]
    assert list(traces["task2-seed validation"].y) == [0.8, 0.6]
    assert traces["task2-seed train"].line.dash == "solid"
    assert traces["task2-seed validation"].line.dash == "dash"
    # one colour per model, different between models
    assert traces["task2-seed train"].line.color == traces["task2-seed validation"].line.color
    assert traces["task2-seed train"].line.color != traces["task3-seed train"].line.color
    assert "Loss" in fig.layout.title.text


def test_training_curves_pick_the_metric_and_skip_missing_values():
    partial = [{"epoch": 1, "accuracy": 0.5}]  # no validation yet
    fig = plots.training_curves({"a": HISTORY, "b": partial}, "accuracy")
    traces = by_name(fig)
    assert list(traces["a validation"].y) == [0.65, 0.78]
    assert list(traces["b train"].y) == [0.5]
    assert "b validation" not in traces


@pytest.mark.parametrize("histories", [{}, {"a": []}, {"a": None}])
def test_training_curves_without_records_give_an_empty_figure_that_says_so(histories):
    fig = plots.training_curves(histories, "loss")
    assert len(fig.data) == 0
    assert "No loss recorded yet" in fig.layout.title.text


def test_live_curves_place_batches_at_fractional_epochs():
    batches = [{"epoch": 1, "step": 12, "steps": 48, "loss": 1.1},
               {"epoch": 2, "step": 24, "steps": 48, "loss": 0.7},
               {"epoch": 2, "step": 36, "steps": 48, "mse": 0.1}]  # another metric: skipped
    epochs = HISTORY[:1] + [{"epoch": 2, "loss": 0.65, "partial": True}]
    traces = by_name(plots.live_curves(epochs, batches, "loss"))
    assert list(traces["train, within epoch"].x) == [0.25, 1.5]
    assert list(traces["train, within epoch"].y) == [1.1, 0.7]
    assert list(traces["train"].x) == [1]  # the partial epoch is left out of the lines
    assert list(traces["validation"].y) == [0.8]


def test_live_curves_mark_where_the_clean_phase_starts():
    marked = plots.live_curves(HISTORY, [], "loss", plain_after=1)
    (line,) = [shape for shape in marked.layout.shapes if shape.type == "line"]
    assert line.x0 == line.x1 == 1
    assert "plain images" in marked.layout.annotations[0].text
    assert not plots.live_curves(HISTORY, [], "loss").layout.shapes


def test_live_curves_before_the_first_record_are_empty():
    fig = plots.live_curves([], [], "accuracy")
    assert len(fig.data) == 0 and "No accuracy" in fig.layout.title.text


def test_confusion_heatmap_keeps_counts_rows_true_columns_predicted():
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plots.confusion_heatmap(matrix, ["a", "b", "c"], "T2")
    (heat,) = fig.data
    assert np.array_equal(np.asarray(heat.z), matrix)
    assert np.array_equal(np.asarray(heat.text), matrix)  # annotated with the counts
    assert list(heat.x) == ["a", "b", "c"] and list(heat.y) == ["a", "b", "c"]
    assert fig.layout.xaxis.title.text == "predicted" and fig.layout.yaxis.title.text == "true"
    assert fig.layout.yaxis.autorange == "reversed"  # first class on top
    assert fig.layout.title.text == "T2"


def test_per_class_bars_group_both_models_and_leave_out_the_average():
    y = np.array([0, 1, 2, 0, 1, 2])
    names = ("x", "y", "z")
    table_a = per_class_table(y, y, names)
    table_b = per_class_table(y, np.array([0, 1, 2, 0, 0, 0]), names)
    fig = plots.per_class_bars(table_a, table_b, "A model", "B model", "recall")
    a, b = fig.data
    assert (a.name, b.name) == ("A model", "B model")
    assert list(a.x) == list(names)
    assert list(a.y) == [1.0, 1.0, 1.0]
    assert list(b.y) == pytest.approx(list(table_b["recall"][:3]))
    assert fig.layout.barmode == "group"


PSNR_TABLE = pd.DataFrame({"noise": ["gaussian", "gaussian", "masking", "salt_pepper"],
                           "level": [0.5, 0.1, 0.2, 0.1], "psnr_noisy": [10.0, 20.0, 12.0, 15.0],
                           "psnr_denoised": [18.0, 25.0, 16.0, 19.0]})


def in_panel(fig, kind: str) -> dict:
    """The traces of ``kind``'s panel, by name (a trace's meta is its noise kind)."""
    return {trace.name: trace for trace in fig.data if trace.meta == kind}


def test_psnr_vs_level_has_a_panel_per_noise_kind_with_its_own_level_unit():
    fig = plots.psnr_vs_level(PSNR_TABLE)
    assert [a.text for a in fig.layout.annotations] == ["gaussian", "masking", "salt_pepper"]
    # each panel's x axis is titled with its kind's unit (noise.LEVEL_NAMES) and what it means
    assert fig.layout.xaxis.title.text == "std of the noise"
    assert fig.layout.xaxis2.title.text == "fraction of pixels"
    assert fig.layout.xaxis3.title.text == "amount of pixels set 0/1"
    for axis, kind in (("xaxis", "gaussian"), ("xaxis2", "masking"), ("xaxis3", "salt_pepper")):
        assert fig.layout[axis].title.text.startswith(LEVEL_NAMES[kind])
        assert {trace.xaxis for trace in fig.data if trace.meta == kind} == {axis.replace("axis", "")}
    assert fig.layout.yaxis.title.text == "PSNR (dB)"
    assert fig.layout.yaxis2.matches == "y" and fig.layout.yaxis3.matches == "y"  # one PSNR scale


def test_psnr_vs_level_has_a_denoised_and_a_noisy_line_in_each_panel():
    fig = plots.psnr_vs_level(PSNR_TABLE)
    gaussian = in_panel(fig, "gaussian")
    assert set(gaussian) == {"autoencoder, denoised", "noisy input"} == set(in_panel(fig, "masking"))
    assert list(gaussian["autoencoder, denoised"].x) == [0.1, 0.5]  # sorted by level
    assert list(gaussian["autoencoder, denoised"].y) == [25.0, 18.0]
    assert list(gaussian["noisy input"].y) == [20.0, 10.0]
    assert gaussian["noisy input"].line.dash == "dot"
    assert gaussian["autoencoder, denoised"].line.dash == "solid"
    # a line looks the same in every panel, and the legend names it once
    assert in_panel(fig, "masking")["autoencoder, denoised"].line.color == gaussian["autoencoder, denoised"].line.color
    assert [t.name for t in fig.data if t.showlegend] == ["autoencoder, denoised", "noisy input"]
    assert gaussian["autoencoder, denoised"].hovertemplate.startswith("std %{x:g}: %{y:.2f} dB")


def test_every_noise_kind_has_a_level_title_starting_with_its_unit():
    for kind in NOISE_KINDS:
        assert plots.level_title(kind).startswith(LEVEL_NAMES[kind] + " ")


def test_image_grid_shows_every_image_with_its_title_and_colour():
    images = np.random.default_rng(0).random((5, 28, 28, 1)).astype(np.float32)
    titles = [f"true {i}" for i in range(5)]
    colors = [plots.RIGHT_COLOR] * 3 + [plots.WRONG_COLOR] * 2
    fig = plots.image_grid(images, titles, colors, cols=3)
    assert len(fig.data) == 5
    for image, trace in zip(images, fig.data):
        z = np.asarray(trace.z)
        assert z.shape == (28, 28, 3)
        assert np.array_equal(z[..., 0], np.round(image[..., 0] * 255).astype(np.uint8))
    annotations = fig.layout.annotations
    assert [a.text for a in annotations] == titles
    assert [a.font.color for a in annotations] == colors
    assert [s.line.color for s in fig.layout.shapes] == colors
    assert fig.layout.shapes[4].xref == "x5 domain"  # the border sits on its own image
    assert fig.data[4].xaxis == "x5"


def test_image_grid_without_colours_or_images():
    fig = plots.image_grid(np.zeros((2, 28, 28)), ["a", "b"], None, cols=8)
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 0
    assert len(plots.image_grid(np.zeros((0, 28, 28)), [], None).data) == 0


def test_psnr_vs_level_adds_each_classical_method_to_its_kinds_panel_in_a_style_of_its_own():
    classical = pd.DataFrame({"noise": ["gaussian"] * 8, "level": [0.5, 0.1] * 4,
                              "method": ["median"] * 2 + ["blur"] * 2 + ["tv"] * 2 + ["nl_means"] * 2,
                              "psnr_denoised": [14.0, 22.0, 13.0, 21.0, 15.0, 23.0, 15.0, 23.0]})
    titles = {"median": "Median", "blur": "Gaussian blur", "tv": "Total variation", "nl_means": "Non-local means"}
    fig = plots.psnr_vs_level(PSNR_TABLE, classical, titles)
    gaussian = in_panel(fig, "gaussian")
    assert set(gaussian) == {"autoencoder, denoised", "noisy input", *titles.values()}
    assert set(in_panel(fig, "masking")) == {"autoencoder, denoised", "noisy input"}  # only where measured
    assert list(gaussian["Median"].x) == [0.1, 0.5]
    assert list(gaussian["Median"].y) == [22.0, 14.0]
    lines = [gaussian[title] for title in titles.values()]
    # equal figures (tv and nl_means here) still tell apart: colour, dash and marker differ
    for attribute in (lambda t: t.line.color, lambda t: t.line.dash, lambda t: t.marker.symbol):
        assert len({attribute(t) for t in lines + [gaussian["autoencoder, denoised"]]}) == 5
