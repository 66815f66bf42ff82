"""Study figures, read like a paper's: each arm's difference from a reference arm with its 95% band,
means in their bands, the gain from pretraining, accuracy under noise. No Streamlit and no
TensorFlow, so every figure can be built and checked in a plain unit test.

One colour per arm in every figure (``arm_color``); no band from fewer than
``stats.INTERVAL_MIN_SEEDS`` seeds (two seeds give a t interval too wide to mean anything), and
every band clipped to what its quantity can be: accuracy in [0, 1], a difference of accuracies
in [-100, 100] points.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from dae_core.analysis.stats import INTERVAL_MIN_SEEDS

PALETTE = qualitative.Plotly
# One colour per arm, the same in every study's figure. The Task 2 CNN (from scratch) and the
# MNIST autoencoder's encoder (Task 3) keep their colours across studies; random weights are grey.
ARM_COLORS = {"scratch": PALETTE[0], "task2": PALETTE[0], "mnist-ae": PALETTE[1], "task3": PALETTE[1],
              "random-init": "#7f7f7f", "random": "#7f7f7f", "fashion-ae": PALETTE[2],
              "fashion-mae": PALETTE[3], "frozen_ae": PALETTE[4], "unfrozen_ae": PALETTE[5],
              "frozen_ae_noisy": PALETTE[6]}
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
NO_INTERVAL = f"intervals need {INTERVAL_MIN_SEEDS} seeds or more"


def arm_color(arm: str) -> str:
    """The arm's colour: its own, else its pretraining's (``probe:fashion-mae``), else its task's
    (a model name such as ``task2-seed``), else a fixed colour from its name."""
    for key in (arm, arm.partition(":")[2], arm.rsplit("-", 1)[0]):
        if key in ARM_COLORS:
            return ARM_COLORS[key]
    return PALETTE[zlib.crc32(arm.encode()) % len(PALETTE)]


def _band(fig: go.Figure, rows: pd.DataFrame, x: str, color: str, name: str, scale: float,
          bounds: tuple[float, float], **panel) -> None:
    """A shaded band from ``low`` to ``high`` over the rows with enough seeds, clipped to ``bounds``
    (``panel``: row= and col= of a figure of subplots)."""
    rows = rows[rows["n"] >= INTERVAL_MIN_SEEDS]
    if not len(rows):
        return
    xs = rows[x].tolist()
    high = np.clip(scale * rows["high"].to_numpy(float), *bounds).tolist()
    low = np.clip(scale * rows["low"].to_numpy(float), *bounds).tolist()
    fig.add_scatter(x=xs + xs[::-1], y=high + low[::-1], fill="toself", fillcolor=color, opacity=0.15,
                    line=dict(width=0), hoverinfo="skip", legendgroup=name, showlegend=False, **panel)


def _line(fig: go.Figure, rows: pd.DataFrame, x: str, color: str, name: str, scale: float,
          bounds: tuple[float, float], unit: str, dash: str = "solid", legend: bool = True, **panel) -> None:
    """The means as a line; the hover gives the interval, or why there is none."""
    decimals = 1 if scale == 100 else 4
    enough = rows["n"] >= INTERVAL_MIN_SEEDS
    ci = [f"95% CI {lo:.{decimals}f} to {hi:.{decimals}f}" if ok else NO_INTERVAL
          for lo, hi, ok in zip(np.clip(scale * rows["low"], *bounds), np.clip(scale * rows["high"], *bounds),
                                enough)]
    fig.add_scatter(x=rows[x].tolist(), y=(scale * rows["mean"]).tolist(), mode="lines+markers", name=name,
                    legendgroup=name, showlegend=legend, line=dict(color=color, dash=dash),
                    customdata=np.column_stack([ci, rows["n"].astype(int)]),
                    hovertemplate=f"%{{y:.{decimals}f}}{unit} (%{{customdata[0]}}, n=%{{customdata[1]}})"
                                  f"<extra>{name}</extra>", **panel)


def _log_axis(fig: go.Figure, values, x: str) -> None:
    fig.update_xaxes(type="log", title_text=f"{x} (log scale)",
                     tickvals=sorted(pd.unique(values).tolist()) if len(values) else None)


def band_chart(summary: pd.DataFrame, x: str, group: str, value_title: str = "test accuracy",
               log_x: bool = False, names: dict | None = None) -> go.Figure:
    """One line per ``group`` of ``summary``'s mean against ``x``, in a band from its ``low`` to
    its ``high`` (a 95% interval, from ``stats.summarise``), clipped to [0, 1]."""
    fig = go.Figure()
    for key, rows in summary.sort_values(x).groupby(group, sort=False):
        name, color = (names or {}).get(key, key), arm_color(key)
        _band(fig, rows, x, color, name, 1, (0, 1))
        _line(fig, rows, x, color, name, 1, (0, 1), "")
    fig.update_layout(xaxis_title=x, yaxis_title=value_title, hovermode="closest",
                      legend=dict(orientation="h", y=-0.2))
    if log_x:
        _log_axis(fig, summary[x], x)
    return fig


def difference_chart(differences: pd.DataFrame, x: str, reference: str, names: dict | None = None,
                     log_x: bool = True) -> go.Figure:
    """Each arm's difference from ``reference`` in test accuracy points against ``x``, in its 95%
    band (paired over seeds; none under 3 seeds), with zero (the reference) marked.
    ``differences`` has columns arm, ``x``, n, mean, low, high (``evidence.differences``)."""
    fig = go.Figure()
    title = (names or {}).get(reference, reference)
    for arm, rows in differences.sort_values(x).groupby("arm", sort=False):
        name, color = (names or {}).get(arm, arm), arm_color(arm)
        _band(fig, rows, x, color, name, 100, (-100, 100))
        _line(fig, rows, x, color, name, 100, (-100, 100), " points")
    fig.add_hline(y=0, line=dict(color=arm_color(reference), width=2), annotation_text=title,
                  annotation_position="bottom right")
    fig.update_layout(title=f"Difference from {title} in test accuracy (points; above zero: better)",
                      yaxis_title="difference (points)", hovermode="closest",
                      legend=dict(orientation="h", y=-0.25), height=480)
    if log_x:
        _log_axis(fig, differences[x], x)
    return fig


def gain_chart(gains: pd.DataFrame, x: str = "labels", architectures: dict | None = None,
               pretrainings: dict | None = None) -> go.Figure:
    """The gain from pretraining (pretrained minus the same architecture from random weights, in
    accuracy points) against ``x`` on a log axis: a panel per architecture (in one chart their
    nine bands lay on top of each other), in it a line per pretraining (its colour, one legend
    entry for all panels) in its 95% band, and zero marked in each.
    ``gains`` has columns architecture, pretraining, ``x``, n, mean, low, high
    (``evidence.pretraining_gains``); the two dicts give display names."""
    order = list(dict.fromkeys(gains["architecture"]))
    cols = min(2, len(order)) or 1
    rows_n = -(-len(order) // cols) or 1
    fig = make_subplots(rows=rows_n, cols=cols, shared_xaxes=True, shared_yaxes=True,
                        vertical_spacing=0.12, horizontal_spacing=0.05,
                        subplot_titles=[(architectures or {}).get(a, a) for a in order])
    seen = set()
    for (architecture, pretraining), rows in gains.groupby(["architecture", "pretraining"], sort=False):
        index = order.index(architecture)
        panel = dict(row=index // cols + 1, col=index % cols + 1)
        name, color = (pretrainings or {}).get(pretraining, pretraining), arm_color(pretraining)
        rows = rows.sort_values(x)
        _band(fig, rows, x, color, name, 100, (-100, 100), **panel)
        _line(fig, rows, x, color, name, 100, (-100, 100), " points", legend=name not in seen, **panel)
        seen.add(name)
    fig.add_hline(y=0, line=dict(color="black", width=1), row="all", col="all")
    fig.update_xaxes(type="log", tickvals=sorted(pd.unique(gains[x]).tolist()) if len(gains) else None)
    fig.update_xaxes(title_text=f"{x} (log scale)", row=rows_n)
    fig.update_yaxes(title_text="gain (points; above 0: it pays)", col=1)
    fig.update_layout(title="Gain from pretraining over the same model from random weights",
                      hovermode="closest", legend=dict(orientation="h", y=-0.15), height=300 * rows_n + 160)
    return fig


def robustness_chart(table: pd.DataFrame) -> go.Figure:
    """Accuracy against noise level, one panel per noise kind, one line per model (its task's
    colour; the improved preset dashed)."""
    kinds = list(dict.fromkeys(table["noise"]))
    fig = make_subplots(rows=1, cols=len(kinds), subplot_titles=kinds, shared_yaxes=True)
    for model, rows in table.groupby("model", sort=True):
        dash = "dash" if model.endswith("-improved") else "solid"
        for col, kind in enumerate(kinds, start=1):
            part = rows[rows["noise"] == kind].sort_values("level")
            fig.add_scatter(x=list(part["level"]), y=list(part["accuracy"]), mode="lines+markers", name=model,
                            legendgroup=model, showlegend=col == 1, line=dict(color=arm_color(model), dash=dash),
                            row=1, col=col)
    fig.update_yaxes(title_text="test accuracy", range=[0, 1], row=1, col=1)
    fig.update_xaxes(title_text="noise level")
    fig.update_layout(legend=dict(orientation="h", y=-0.25), height=380)
    return fig
