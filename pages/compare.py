"""Compare: Task 2 against Task 3 on the same test images, beside the assignment's figures."""

import numpy as np
import pandas as pd
import streamlit as st

from dae_core.analysis import assignment, metrics, plots, report
from dae_core.data import datasets
from dae_core.errors import DamagedFileError
from dae_core.models import catalog
from dae_core.studies import evidence, store
from dashboard import runtime
from dashboard.loaders import BY_FILE, load_test_set
from dashboard.widgets import download_csv, guarded, pick_model, show_error, show_table

runtime.run_through_app()

GALLERY_SIZE = 8  # right and wrong images per model, one row each


@st.cache_data(max_entries=8, show_spinner="Evaluating both models on the test images…", hash_funcs=BY_FILE)
def compare_models(a: catalog.ModelEntry, b: catalog.ModelEntry) -> report.Comparison:
    """Cached by both model files, so a retrained model is evaluated afresh and an unchanged
    one never twice."""
    runtime.wait_for_tensorflow()
    test = load_test_set("fashion-mnist")
    return report.compare(a, b, test.x, test.y)


def show_headline(comp: report.Comparison) -> None:
    st.subheader("Headline figures")
    theirs = assignment.figure("test_accuracy")
    for column, entry, result, their_accuracy in zip(st.columns(2), (comp.a, comp.b),
                                                     (comp.report_a, comp.report_b), (theirs.task2, theirs.task3)):
        column.metric(f"Test accuracy — {entry.name}", f"{result.accuracy:.4f}",
                      f"{result.accuracy - their_accuracy:+.4f} against the assignment's")
    show_table(comp.headline(), "headline", "compare")
    st.subheader("Is the difference real?")
    st.info(f"McNemar's test: {comp.sentence()}")
    show_seeds_study(comp.a.preset)


def show_seeds_study(preset: str) -> None:
    """The seeds study's means and intervals beside these single runs, when it has been run."""
    try:
        seeds = store.shipped_results("seeds")
    except DamagedFileError as e:  # named; the comparison above stands
        show_error(e)
        return
    if seeds is not None and "preset" in seeds:  # the study's runs are of one preset: these models'?
        seeds = seeds[seeds["preset"] == preset]
    if seeds is None or seeds.empty:
        st.caption(f"Single runs: how far another seed would land at the {preset} preset is what the "
                   f"seeds study measures (`python -m dae_core study seeds --preset {preset}`, then the "
                   "Studies page).")
        return
    st.caption(f"Over several seeds at the {preset} preset (the seeds study): mean test accuracy with "
               "its 95% interval.")
    st.dataframe(evidence.summary(seeds), hide_index=True, key="compare_seeds")
    st.markdown("\n".join(f"- {note}" for note in evidence.findings(seeds)))


def show_curves_and_classes(comp: report.Comparison) -> None:
    a, b = comp.a, comp.b
    st.subheader("Training curves")
    for column, metric in zip(st.columns(2), ("accuracy", "loss")):
        column.plotly_chart(plots.training_curves({a.name: a.history, b.name: b.history}, metric),
                            key=f"compare_curves_{metric}")
    st.subheader("Per class")
    st.caption("The *better* columns name the model with the higher figure of each pair.")
    show_table(comp.per_class(), "per_class", "compare")
    metric = st.segmented_control("Bars of", ["f1", "precision", "recall"], default="f1", required=True,
                                  key="compare_bars_metric")
    st.plotly_chart(plots.per_class_bars(comp.report_a.per_class, comp.report_b.per_class,
                                         a.name, b.name, metric), key="compare_bars")
    with st.expander("The assignment's per-class figures"):
        show_table(report.assignment_per_class(), "assignment_per_class", "compare")


def show_confusions(comp: report.Comparison) -> None:
    st.subheader("Confusion matrices")
    for column, entry, result in zip(st.columns(2), (comp.a, comp.b), (comp.report_a, comp.report_b)):
        with column:
            st.plotly_chart(plots.confusion_heatmap(result.confusion, datasets.FASHION_CLASSES, entry.name),
                            key=f"compare_confusion_{entry.name}")
            rows = pd.Index(datasets.FASHION_CLASSES, name="true \\ predicted")
            download_csv(pd.DataFrame(result.confusion, rows, datasets.FASHION_CLASSES).reset_index(),
                         f"confusion_{entry.name}", "compare")


def show_gallery(comp: report.Comparison, x_test: np.ndarray) -> None:
    st.subheader("Right (green) and wrong (red) test images")
    sample = st.number_input("Sample", 0, 10_000, 0, key="compare_gallery_sample", width=160,
                             help="Another number shows other images.")
    for tab, entry, result in zip(st.tabs([comp.a.name, comp.b.name]), (comp.a, comp.b),
                                  (comp.report_a, comp.report_b)):
        right, wrong = metrics.gallery_indices(result.y_true, result.y_pred, GALLERY_SIZE,
                                                np.random.default_rng(sample))
        shown = np.concatenate([right, wrong])
        names = datasets.FASHION_CLASSES
        titles = [f"true {names[result.y_true[i]]}<br>pred {names[result.y_pred[i]]}" for i in shown]
        colors = [plots.RIGHT_COLOR] * len(right) + [plots.WRONG_COLOR] * len(wrong)
        tab.plotly_chart(plots.image_grid(x_test[shown], titles, colors, cols=GALLERY_SIZE),
                         key=f"compare_gallery_{entry.name}")


def show_page() -> None:
    left, right = st.columns(2)
    with left:
        a = pick_model("task2", "Task 2 model (CNN classifier)", "compare_model_a")
    with right:
        b = pick_model("task3", "Task 3 model (fine-tuned encoder)", "compare_model_b")
    if a is None or b is None:
        return
    test = load_test_set("fashion-mnist")
    st.caption(f"Test images: {len(test.y):,} from {test.source}.")
    comp = compare_models(a, b)
    show_headline(comp)
    show_curves_and_classes(comp)
    show_confusions(comp)
    show_gallery(comp, test.x)
    st.subheader("The assignment's variants")
    st.caption("Reported test figures of the variants the assignment also tried, beside ours "
               "(empty until such a model is trained).")
    show_table(report.variants_table(catalog.all_models()), "variants", "compare")


st.title("Task 2 against Task 3")
st.caption("The CNN classifier (Task 2) and the Task 1 encoder fine-tuned (Task 3) on the same "
           "Fashion-MNIST test images, beside the figures the assignment reported in 2020.")
with guarded():
    show_page()
