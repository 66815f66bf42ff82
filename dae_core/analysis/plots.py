"""Plotly figures from recorded data: training curves, confusion matrices, per-class bars,
PSNR against noise level, image galleries, the latent map (the studies' figures are in
``study_plots``). No Streamlit and no TensorFlow here, so every figure can be built and checked
in a plain unit test.

Epoch records are dicts like ``{"epoch": 3, "loss": ..., "val_loss": ..., "accuracy": ...}``
(``catalog.ModelEntry.history``, ``runs.Run.metrics("epoch")``); batch records add
``step`` and ``steps``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from dae_core.data.noise import LEVEL_NAMES, PATCH

PALETTE = qualitative.Plotly
RIGHT_COLOR, WRONG_COLOR = "#2ca02c", "#d62728"  # gallery titles: green right, red wrong
METRIC_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "mse": "Mean squared error"}


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric.replace("_", " ").capitalize())


def _points(records, key: str, x_of) -> tuple[list, list]:
    """(x, y) of the records that hold ``key``; records without it are skipped."""
    pairs = [(x_of(r), r[key]) for r in records if r.get(key) is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _epoch_x(record: dict) -> float:
    return record["epoch"]


def _add_epoch_lines(fig: go.Figure, label: str, records, metric: str, color: str) -> None:
    """Training (solid) and validation (dashed) lines of one model, in one colour."""
    prefix = f"{label} " if label else ""
    for key, part, dash in ((metric, "train", "solid"), (f"val_{metric}", "validation", "dash")):
        x, y = _points(records, key, _epoch_x)
        if x:
            fig.add_scatter(x=x, y=y, mode="lines+markers", name=f"{prefix}{part}", legendgroup=label,
                            line=dict(color=color, dash=dash), marker=dict(size=5))


def _finish_curves(fig: go.Figure, metric: str) -> go.Figure:
    title = f"{metric_title(metric)} per epoch" if fig.data else \
        f"No {metric_title(metric).lower()} recorded yet: train a model to see its curves"
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title=metric_title(metric),
                      hovermode="x unified", legend=dict(orientation="h", y=-0.2))
    return fig


def training_curves(histories: dict[str, list[dict]], metric: str = "loss",
                    plain_after: dict[str, int] | None = None) -> go.Figure:
    """Train (solid) and validation (dashed) ``metric`` per epoch, one colour per label;
    ``plain_after`` (label -> epoch): a dotted line in the label's colour where its augmentation
    stops, as ``live_curves`` marks it."""
    fig = go.Figure()
    last = max((r.get("epoch", 0) for records in histories.values() for r in records or []), default=0)
    for i, (label, records) in enumerate(histories.items()):
        color = PALETTE[i % len(PALETTE)]
        _add_epoch_lines(fig, label, records or [], metric, color)
        epoch = (plain_after or {}).get(label)
        if epoch and records:
            # the second label's words at the bottom: two runs of one recipe switch together. The
            # words go on the line's wider side: plotly widens the axis to hold them (epoch -10).
            side = "right" if epoch < last / 2 else "left"
            _mark_plain_phase(fig, epoch, color, f"{label}: plain images from here",
                              f"{'top' if i % 2 == 0 else 'bottom'} {side}")
    return _finish_curves(fig, metric)


def _mark_plain_phase(fig: go.Figure, epoch: int, color: str, text: str, where: str = "top left") -> None:
    fig.add_vline(x=epoch, line_dash="dot", line_color=color, annotation_text=text,
                  annotation_position=where, annotation_font_color=color)


def batch_x(record: dict) -> float:
    """Fractional epoch of a batch record: step 12 of 48 in epoch 3 -> 2.25."""
    return record["epoch"] - 1 + record["step"] / record["steps"]


def live_curves(epoch_records: list[dict], batch_records: list[dict], metric: str = "loss",
                plain_after: int | None = None) -> go.Figure:
    """One run as it trains: whole epochs as lines, progress inside epochs as small points;
    ``plain_after`` marks the epoch after which augmentation stops (the clean phase)."""
    fig = go.Figure()
    # A partial epoch (a stop mid-epoch) is not comparable to whole ones; its batches show it.
    whole = [r for r in epoch_records or [] if not r.get("partial")]
    _add_epoch_lines(fig, "", whole, metric, PALETTE[0])
    x, y = _points(batch_records or [], metric, batch_x)
    if x:
        fig.add_scatter(x=x, y=y, mode="markers", name="train, within epoch",
                        marker=dict(color=PALETTE[0], size=4, opacity=0.45))
    if plain_after and fig.data:
        _mark_plain_phase(fig, plain_after, "grey", "plain images from here")
    return _finish_curves(fig, metric)


def confusion_heatmap(matrix: np.ndarray, class_names, title: str = "Confusion matrix") -> go.Figure:
    """Counts with rows = true class (top to bottom), columns = predicted class."""
    matrix = np.asarray(matrix)
    names = list(class_names)
    fig = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, text=matrix, texttemplate="%{text}", colorscale="Blues",
        showscale=False, hovertemplate="true %{y}<br>predicted %{x}<br>%{z} images<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true",
                      yaxis=dict(autorange="reversed"), height=480)
    return fig


def per_class_bars(table_a: pd.DataFrame, table_b: pd.DataFrame, name_a: str, name_b: str,
                   metric: str = "f1") -> go.Figure:
    """Grouped bars of ``metric`` per class for two ``evaluate.per_class_table`` results."""
    fig = go.Figure()
    for i, (table, name) in enumerate(((table_a, name_a), (table_b, name_b))):
        rows = table[table["class"] != "macro avg"]  # per class only; the average is a headline
        fig.add_bar(x=list(rows["class"]), y=list(rows[metric]), name=name, marker_color=PALETTE[i])
    fig.update_layout(barmode="group", title=f"{metric_title(metric)} per class",
                      yaxis_title=metric_title(metric), legend=dict(orientation="h", y=-0.25))
    return fig


# The four classical denoisers in one panel: a colour, a dash and a marker each, so that lines
# lying on top of each other still tell apart (and the legend hides or shows each).
CLASSICAL_STYLES = (("#ff7f0e", "dash", "square"), ("#2ca02c", "dashdot", "diamond"),
                    ("#9467bd", "longdash", "triangle-up"), ("#8c564b", "dot", "x"))
AUTOENCODER_STYLE = (PALETTE[0], "solid", "circle")
NOISY_STYLE = ("#7f7f7f", "dot", "circle-open")
# What a level means, after its unit (noise.LEVEL_NAMES), on each panel's x axis: short, for a
# panel a third of a narrow chart wide (the panel's title names the kind).
LEVEL_MEANINGS = {"gaussian": "of the noise", "salt_pepper": "of pixels set 0/1", "speckle": "of noise × pixel",
                  "patches": f"of {PATCH}x{PATCH} patches", "masking": "of pixels"}
PANEL_COLUMNS = 3


def level_title(kind: str) -> str:
    """A noise kind's level with its unit, for an axis: "std of the noise"."""
    return f"{LEVEL_NAMES.get(kind, 'level')} {LEVEL_MEANINGS.get(kind, '')}".strip()


def _panel_line(fig: go.Figure, rows: pd.DataFrame, column: str, name: str, style: tuple, kind: str,
                panel: int, first: bool, width: float = 2) -> None:
    color, dash, symbol = style
    rows = rows.sort_values("level")
    fig.add_scatter(x=list(rows["level"]), y=list(rows[column]), mode="lines+markers", name=name,
                    legendgroup=name, showlegend=first, line=dict(color=color, dash=dash, width=width),
                    marker=dict(symbol=symbol, size=7), meta=kind,
                    hovertemplate=f"{LEVEL_NAMES.get(kind, 'level')} %{{x:g}}: %{{y:.2f}} dB<extra>{name}</extra>",
                    row=(panel - 1) // PANEL_COLUMNS + 1, col=(panel - 1) % PANEL_COLUMNS + 1)


def psnr_vs_level(table: pd.DataFrame, classical: pd.DataFrame | None = None,
                  method_titles: dict[str, str] | None = None) -> go.Figure:
    """PSNR against noise level, one small panel per noise kind, its x axis in that kind's unit
    (``level_title``) and one PSNR axis for all. In each: the autoencoder's denoised images
    (solid) and the noisy input (grey, dotted); ``classical`` (``classical.classical_table``
    rows, usually of one noise kind) adds a line per method to its kind's panel, each method
    in a colour, dash and marker of its own (``method_titles`` names them). A trace's ``meta``
    is its noise kind; a legend entry hides or shows a line in every panel."""
    kinds = list(dict.fromkeys(table["noise"]))
    if classical is not None:
        kinds += [k for k in dict.fromkeys(classical["noise"]) if k not in kinds]
    columns = max(1, min(PANEL_COLUMNS, len(kinds)))
    rows = max(1, math.ceil(len(kinds) / columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=kinds, shared_yaxes="all",
                        horizontal_spacing=0.06, vertical_spacing=0.45 / rows)
    seen = set()
    for panel, kind in enumerate(kinds, start=1):
        part = table[table["noise"] == kind]
        lines = [(part, "psnr_denoised", "autoencoder, denoised", AUTOENCODER_STYLE, 2.5),
                 (part, "psnr_noisy", "noisy input", NOISY_STYLE, 1.5)]
        if classical is not None:
            methods = list(dict.fromkeys(classical["method"]))
            for method, method_rows in classical[classical["noise"] == kind].groupby("method", sort=False):
                style = CLASSICAL_STYLES[methods.index(method) % len(CLASSICAL_STYLES)]
                lines.append((method_rows, "psnr_denoised", (method_titles or {}).get(method, method), style, 1.5))
        for rows_, column, name, style, width in lines:
            if len(rows_):
                _panel_line(fig, rows_, column, name, style, kind, panel, name not in seen, width)
                seen.add(name)
        axis = "" if panel == 1 else str(panel)
        fig.layout[f"xaxis{axis}"].title = dict(text=level_title(kind), font=dict(size=11))
    for row in range(1, rows + 1):
        fig.update_yaxes(title_text="PSNR (dB)", row=row, col=1)
    # The legend at the figure's foot, in a margin of its own (clear of the last axes' titles).
    fig.update_layout(title="PSNR against noise level (higher is better)", height=280 * rows + 190,
                      hovermode="closest", margin=dict(l=10, r=10, t=60, b=110),
                      legend=dict(orientation="h", yref="container", y=0, yanchor="bottom"))
    return fig


def to_rgb(image: np.ndarray) -> np.ndarray:
    """(28, 28[, 1]) float in [0, 1] -> (28, 28, 3) uint8 grey, as ``go.Image`` wants."""
    grey = np.clip(np.asarray(image, np.float32).reshape(image.shape[0], image.shape[1]), 0, 1)
    return np.repeat(np.round(grey * 255).astype(np.uint8)[..., None], 3, axis=-1)


def image_grid(images: np.ndarray, titles: list[str], colors: list[str] | None = None,
               cols: int = 8) -> go.Figure:
    """Grey images (N, 28, 28[, 1]) in [0, 1] in a grid, each with its title; with ``colors``,
    each title and a border around its image take that colour."""
    n = len(images)
    if n == 0:
        return go.Figure().update_layout(title="No images to show")
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles),
                        horizontal_spacing=0.02, vertical_spacing=0.3 / rows)
    for i, image in enumerate(images):
        fig.add_trace(go.Image(z=to_rgb(image), hovertemplate=f"{titles[i]}<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    if colors is not None:
        _color_titles(fig, colors)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=150 * rows + 40, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def _color_titles(fig: go.Figure, colors: list[str]) -> None:
    for i, (annotation, color) in enumerate(zip(fig.layout.annotations, colors)):
        annotation.font = dict(color=color, size=11)
        axis = "" if i == 0 else str(i + 1)  # subplot i uses axes x{i+1}, y{i+1}
        fig.add_shape(type="rect", xref=f"x{axis} domain", yref=f"y{axis} domain",
                      x0=0, y0=0, x1=1, y1=1, line=dict(color=color, width=3))


def latent_map(xy: np.ndarray, labels: np.ndarray, ids: np.ndarray, star: np.ndarray | None = None,
               title: str = "") -> go.Figure:
    """Points (N, 2) coloured by label, a trace per label (the legend hides or shows a digit);
    each point's ``customdata`` is its id (a test-set index), which a selection hands back.
    ``star``: a (2,) place marked with a black star (the visitor's own digit). Dragging selects."""
    fig = go.Figure()
    for label in np.unique(labels):
        mask = labels == label
        fig.add_scatter(x=xy[mask, 0].tolist(), y=xy[mask, 1].tolist(), mode="markers", name=str(label),
                        customdata=ids[mask].tolist(), marker=dict(size=5, color=PALETTE[label % len(PALETTE)]),
                        hovertemplate=f"a {label}, test digit %{{customdata}}<extra></extra>")
    if star is not None:
        fig.add_scatter(x=[float(star[0])], y=[float(star[1])], mode="markers", name="your digit",
                        marker=dict(symbol="star", size=20, color="black", line=dict(color="white", width=1.5)),
                        hovertemplate="your digit<extra></extra>")
    fig.update_layout(title=title, dragmode="select", legend_title_text="label", height=520,
                      margin=dict(l=10, r=10, t=50, b=10))
    fig.update_xaxes(showticklabels=False)
    return fig.update_yaxes(showticklabels=False)


def probe_chart(table: pd.DataFrame) -> go.Figure:
    """Held-out accuracy against training images (log x) from ``latent.linear_probe``: a colour
    per dataset, solid for the codes, dotted for the raw pixels."""
    fig = go.Figure()
    for i, (dataset, rows) in enumerate(table.groupby("dataset", sort=False)):
        for features, part in rows.groupby("features", sort=False):
            part = part.sort_values("n_train")
            fig.add_scatter(x=part["n_train"].tolist(), y=part["accuracy"].tolist(), mode="lines+markers",
                            name=f"{dataset}: {features}", line=dict(color=PALETTE[i % len(PALETTE)],
                                                                    dash="solid" if features == "codes" else "dot"))
    fig.update_xaxes(type="log", title_text="training images (log scale)",
                     tickvals=sorted(table["n_train"].unique().tolist()))
    return fig.update_layout(title="Linear probe: codes against raw pixels", yaxis_title="held-out accuracy")
