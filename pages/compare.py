"""Compare: Task 2 against Task 3 on the same test images, beside the assignment's figures."""

import numpy as np
import pandas as pd
import streamlit as st

from dae_core import catalog, data, evaluate, plots, report, seed
from page_support import load_test_set, run_through_app

run_through_app()

GALLERY_SIZE = 8  # right and wrong images per model, one row each


@st.cache_data(max_entries=8, show_spinner="Evaluating both models on the test images…")
def compare_models(_a: catalog.ModelEntry, _b: catalog.ModelEntry, files: tuple) -> report.Comparison:
    """Cached by ``files`` (both model paths and modification times), so a retrained model
    is evaluated afresh and an unchanged one never twice."""
    test = load_test_set("fashion-mnist")
    return report.compare(_a, _b, test.x, test.y)


def file_key(entry: catalog.ModelEntry) -> tuple:
    return str(entry.path), entry.path.stat().st_mtime if entry.path.exists() else None


def pick_model(entries, task: str, label: str, key: str) -> catalog.ModelEntry:
    options = {e.label: e for e in entries if e.task == task}
    if not options:
        st.error(f"No {task} model found. Fix: restore the shipped models with `git checkout models/`, "
                 f"or train one on the Train page (or `python -m dae_core train {task}`).")
        st.stop()
    return options[st.selectbox(label, list(options), key=key)]  # shipped ones come first


def show_table(table: pd.DataFrame, name: str) -> None:
    """The table, figures to 4 decimals like the assignment's, and its CSV download."""
    decimals = {c: st.column_config.NumberColumn(format="%.4f")
                for c in table.columns if pd.api.types.is_float_dtype(table[c])}
    st.dataframe(table, hide_index=True, column_config=decimals, height="content", placeholder="—")
    download(table, name)


def download(table: pd.DataFrame, name: str) -> None:
    st.download_button(f"Download {name}.csv", table.to_csv(index=False), file_name=f"{name}.csv",
                       mime="text/csv", key=f"compare_csv_{name}", on_click="ignore")


def show_gallery(entry, result: evaluate.ClassifierReport, x_test, draw: int) -> None:
    right, wrong = evaluate.gallery_indices(result.y_true, result.y_pred, GALLERY_SIZE,
                                            np.random.default_rng(draw))
    shown = np.concatenate([right, wrong])
    names = data.FASHION_CLASSES
    titles = [f"true {names[result.y_true[i]]}<br>pred {names[result.y_pred[i]]}" for i in shown]
    colors = [plots.RIGHT_COLOR] * len(right) + [plots.WRONG_COLOR] * len(wrong)
    st.plotly_chart(plots.image_grid(x_test[shown], titles, colors, cols=GALLERY_SIZE),
                    key=f"compare_gallery_{entry.name}")


st.title("Task 2 against Task 3")
st.caption("The CNN classifier (Task 2) and the Task 1 encoder fine-tuned (Task 3) on the same "
           "Fashion-MNIST test images, beside the figures the assignment reported in 2020.")
try:
    entries = catalog.all_models()
except ValueError as e:  # a damaged manifest or run folder; the message names the fix
    st.error(str(e))
    st.stop()
left, right = st.columns(2)
with left:
    a = pick_model(entries, "task2", "Task 2 model (CNN classifier)", "compare_model_a")
with right:
    b = pick_model(entries, "task3", "Task 3 model (fine-tuned encoder)", "compare_model_b")

test = load_test_set("fashion-mnist")
x_test, y_test, source = test.x, test.y, test.source
st.caption(f"Test images: {len(y_test):,} from {source}.")
if len(y_test) < 10_000:
    st.warning(f"Only the bundled sample of the test set was found; figures differ a little from "
               f"the full 10,000 images. Fix: set {data.DATA_DIR_ENV} to the datasets folder.")
try:
    comp = compare_models(a, b, file_key(a) + file_key(b))
except (FileNotFoundError, ValueError) as e:  # missing or damaged model file; says what to do
    st.error(str(e))
    st.stop()

st.subheader("Headline figures")
for column, entry, result, seed_accuracy in zip(st.columns(2), (a, b), (comp.report_a, comp.report_b),
                                                 seed.TASK4["test accuracy"]):
    column.metric(f"Test accuracy — {entry.name}", f"{result.accuracy:.4f}",
                  f"{result.accuracy - seed_accuracy:+.4f} against the assignment's")
headline = comp.headline()
show_table(headline, "headline")

st.subheader("Is the difference real?")
st.info(f"McNemar's test: {comp.sentence()}")

st.subheader("Training curves")
for column, metric in zip(st.columns(2), ("accuracy", "loss")):
    column.plotly_chart(plots.training_curves({a.name: a.history, b.name: b.history}, metric),
                        key=f"compare_curves_{metric}")

st.subheader("Per class")
per_class = comp.per_class()
better = [c for c in per_class if c.startswith("better")]
per_class[better] = per_class[better].replace({"A": a.name, "B": b.name})
st.caption(f"A = {a.name}, B = {b.name}; the *better* columns name the higher of each pair.")
show_table(per_class, "per_class")
metric = st.segmented_control("Bars of", ["f1", "precision", "recall"], default="f1", required=True,
                              key="compare_bars_metric")
st.plotly_chart(plots.per_class_bars(comp.report_a.per_class, comp.report_b.per_class,
                                     a.name, b.name, metric), key="compare_bars")
with st.expander("The assignment's per-class figures"):
    seed_table = pd.concat([seed.per_class("task2").add_prefix("Task 2 "),
                            seed.per_class("task3").drop(columns="class").add_prefix("Task 3 ")], axis=1)
    show_table(seed_table, "seed_per_class")

st.subheader("Confusion matrices")
for column, entry, result in zip(st.columns(2), (a, b), (comp.report_a, comp.report_b)):
    with column:
        st.plotly_chart(plots.confusion_heatmap(result.confusion, data.FASHION_CLASSES, entry.name),
                        key=f"compare_confusion_{entry.name}")
        rows = pd.Index(data.FASHION_CLASSES, name="true \\ predicted")
        download(pd.DataFrame(result.confusion, rows, data.FASHION_CLASSES).reset_index(),
                 f"confusion_{entry.name}")

st.subheader("Right (green) and wrong (red) test images")
draw = st.number_input("Draw", 0, 10_000, 0, key="compare_gallery_draw", width=160,
                       help="Another number shows other images.")
for tab, entry, result in zip(st.tabs([a.name, b.name]), (a, b), (comp.report_a, comp.report_b)):
    with tab:
        show_gallery(entry, result, x_test, draw)

st.subheader("The assignment's variants")
variants = report.variants_table(entries)
st.caption("Reported test figures of the variants the assignment also tried, beside ours "
           "(empty until such a model is trained).")
show_table(variants, "variants")
