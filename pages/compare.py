"""Compare: Task 2 against Task 3 on the same test images, beside the assignment's figures,
each figure with what it answers: which test is over the test images and which over seeds, what
the mirror averaging and label smoothing change, where augmentation stops on the curves.

The models' test predictions are kept on disk (``loaders.test_predictions``): a model is predicted
once, with a progress bar, and every later visit reads them without TensorFlow. What the page
computes from them (the comparison, its figures, the image grids) is kept per model file
(``ENTRY_KEY``), so a change back to a pair seen before computes nothing. Below the headline
figures and the two tests, one section is drawn at a time (tabs that run only the open one): the
page opens and changes model without drawing every chart (``python -m benchmarks compare``).
"""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from dae_core.analysis import assignment, metrics, plots, report
from dae_core.data import datasets
from dae_core.errors import DamagedFileError, LabError
from dae_core.images import imaging
from dae_core.models import catalog
from dae_core.studies import evidence, store
from dae_core.training.config import TrainConfig
from dashboard import runtime
from dashboard.loaders import load_test_set, test_predictions, test_set_key
from dashboard.widgets import download_csv, guarded, pick_model, png_data_url, show_error, show_table

runtime.run_through_app()

GALLERY_SIZE = 8  # right and wrong images per model, one row each
TEST_SET = "fashion-mnist"
MCNEMAR_LABEL = "McNemar's test, over the test images, for these two trained models"
SEEDS_LABEL = "The seeds study's paired t-test, over training seeds, for the two recipes"


def entry_key(entry: catalog.ModelEntry) -> tuple:
    """What the page draws of a model depends on: its file (path and modification time: the
    predictions), its name and what its manifest or run records (curves, notes)."""
    return entry.file_key, entry.label, entry.preset, repr(entry.history), repr(entry.config)


ENTRY_KEY = {catalog.ModelEntry: entry_key}  # hash_funcs: the caches below, by model file
# Kept as objects (cache_resource: nothing copied on a hit), shared by every session, only read.
kept = st.cache_resource(max_entries=16, show_spinner=False, hash_funcs=ENTRY_KEY)


@kept
def _comparison(a: catalog.ModelEntry, b: catalog.ModelEntry, test_key: str, _predictions_a, _predictions_b,
                _y) -> report.Comparison:
    return report.comparison(a, b, _predictions_a, _predictions_b, _y)


def compare_models(a: catalog.ModelEntry, b: catalog.ModelEntry) -> report.Comparison:
    """From both models' kept predictions (computed once per model file, with a progress bar);
    the comparison itself is kept per pair of model files."""
    test = load_test_set(TEST_SET)
    predictions_a, predictions_b = test_predictions(a, TEST_SET), test_predictions(b, TEST_SET)
    return _comparison(a, b, test_set_key(TEST_SET), predictions_a, predictions_b, test.y)


def _names(entries) -> str:
    return " and ".join(e.name for e in entries)


def mirror_note(comp: report.Comparison) -> str:
    """What the mirror averaging adds to the test accuracy, and which figure to set beside the
    assignment's."""
    sides = [(e, r, one) for e, r, one in ((comp.a, comp.report_a, comp.one_view_a),
                                            (comp.b, comp.report_b, comp.one_view_b)) if one is not None]
    alone = ", ".join(f"{e.name} {one.accuracy:.4f} (the mirror adds {100 * (r.accuracy - one.accuracy):+.2f} points)"
                      for e, r, one in sides)
    verb = "predicts" if len(sides) == 1 else "predict"
    return (f"**Mirror averaging.** {_names(e for e, _, _ in sides)} {verb} the mean of the class "
            "probabilities for each image and for its mirror image (test-time augmentation: a garment keeps "
            "its class when mirrored, and the improved preset trains on mirrored images too). The test "
            f"accuracy counts that mean. From the image alone: {alone}. The assignment's models saw each "
            f"image once: set the *image alone* figures (the table's row \"{report.ONE_VIEW_FIGURE}\") "
            "beside theirs.")


def smoothing_note(comp: report.Comparison) -> str | None:
    """Why a model trained with label smoothing has a test loss below its training loss."""
    smoothed = [(e, r, report.label_smoothing(e)) for e, r in ((comp.a, comp.report_a), (comp.b, comp.report_b))
                if report.label_smoothing(e)]
    if not smoothed:
        return None
    notes = []
    for entry, result, smoothing in smoothed:
        last = entry.history[-1] if entry.history else {}
        train = f" below its training loss {last['loss']:.3f}" if isinstance(last.get("loss"), float) else ""
        notes.append(f"{entry.name}'s test loss {result.loss:.3f} sits{train}")
    smoothing = smoothed[0][2]
    same = all(s == smoothing for _, _, s in smoothed)
    value = f"label smoothing {smoothing:g}" if same else "label smoothing"
    floor = report.smoothed_loss_floor(smoothing)
    right, other = 1 - smoothing + smoothing / 10, smoothing / 10
    return (f"**Label smoothing.** {_names(e for e, _, _ in smoothed)} trained with {value}: each training "
            f"target gives the right class {right:.2f} and each other class {other:.2f}, so their training "
            "and validation losses (the last-epoch rows and the loss curves) are cross-entropies against those "
            f"targets, which no model can bring below {floor:.3f}. The test loss is against the true labels "
            f"alone, as the assignment's: so {'; '.join(notes)}. Between a model with smoothing and one "
            "without, compare accuracies, not losses.")


def show_headline(comp: report.Comparison) -> None:
    st.subheader("Headline figures")
    theirs = assignment.figure("test_accuracy")
    sides = ((comp.a, comp.report_a, comp.one_view_a, theirs.task2),
             (comp.b, comp.report_b, comp.one_view_b, theirs.task3))
    for column, (entry, result, one_view, their_accuracy) in zip(st.columns(2), sides):
        column.metric(f"Test accuracy — {entry.name}", f"{result.accuracy:.4f}",
                      f"{result.accuracy - their_accuracy:+.4f} against the assignment's",
                      help="The mean over each image and its mirror image." if one_view else None)
        if one_view is not None:
            column.metric(f"Image alone — {entry.name}", f"{one_view.accuracy:.4f}",
                          f"{one_view.accuracy - their_accuracy:+.4f} against the assignment's",
                          help="Without the mirror image, as the assignment's models predict.")
    if comp.mirror_averaged:
        st.markdown(mirror_note(comp))
    show_table(comp.headline(), "headline", "compare")
    if note := smoothing_note(comp):
        st.markdown(note)


def show_significance(comp: report.Comparison) -> None:
    st.subheader("Is the difference real? Two tests, two questions")
    st.markdown(f"**{MCNEMAR_LABEL}**")
    st.info(f"McNemar's test: {comp.sentence()}")
    st.caption("Whether these two trained models differ on these images: it counts the images one gets "
               "right and the other wrong. It cannot say whether another training run would come out in "
               "the same order.")
    st.markdown(f"**{SEEDS_LABEL}**")
    if show_seeds_study(comp.a.preset):
        st.caption(f"Why both can hold: McNemar's p is about these two models on {len(comp.report_a.y_true):,} "
                   "images, where a small gap in accuracy is still many images; the seeds study's p is about "
                   "training Task 2 against training Task 3, where each seed is one observation and a gap must "
                   "stand out from the spread between seeds. A model pair that is clearly different and a "
                   "recipe difference that \"could well be chance\" do not contradict each other: these "
                   "models differ, and a few seeds cannot yet say the recipes do.")


def show_seeds_study(preset: str) -> bool:
    """The seeds study's means and intervals beside these single runs, when it has been run;
    whether it was shown."""
    try:
        seeds = store.shipped_seeds(preset)  # the study of these models' preset, or None
    except DamagedFileError as e:  # named; the comparison above stands
        show_error(e)
        return False
    if seeds is None:
        study_id = store.SEEDS_STUDIES.get(preset, f"seeds-{preset}")
        ship = "" if study_id == "seeds" else f" --id {study_id} --ship"
        st.caption(f"Not run at the {preset} preset: how far another seed would land is what the "
                   f"seeds study measures (`python -m dae_core study seeds --preset {preset}{ship}`, then the "
                   "Studies page).")
        return False
    st.caption(f"Over several seeds at the {preset} preset (the seeds study): mean test accuracy with "
               "its 95% interval.")
    summary, findings = seeds_evidence(seeds)
    st.dataframe(summary, hide_index=True, key="compare_seeds")
    st.markdown("\n".join(f"- Over seeds (paired t-test): {note}" for note in findings))
    return True


@st.cache_data(max_entries=8, show_spinner=False)
def seeds_evidence(seeds: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The seeds study's intervals and paired tests, kept by the study's rows."""
    return evidence.summary(seeds), evidence.findings(seeds)


def augmentation_switch(entry: catalog.ModelEntry) -> int | None:
    """The last epoch on augmented images of ``entry``'s training, when plain images followed."""
    try:
        config = TrainConfig.from_dict(entry.config)
    except (LabError, TypeError, ValueError):  # an older or partial config: no line
        return None
    return config.augmented_epochs if 0 < config.augmented_epochs < config.epochs else None


def curves_note(comp: report.Comparison, switches: dict[str, int]) -> str:
    parts = []
    if switches:
        lines = ", ".join(f"{name} after epoch {epoch}" for name, epoch in switches.items())
        parts.append(f"Dotted lines ({lines}): up to there the training images were randomly flipped and "
                     "shifted (Task 2's improved preset also erases a patch), from there on they are plain: "
                     "the training curves jump at the line, as plain images are easier. The validation "
                     "images are plain throughout.")
    if any(report.label_smoothing(e) for e in (comp.a, comp.b)):
        parts.append("The losses of a model trained with label smoothing are against smoothed labels "
                     "(see the headline figures).")
    return " ".join(parts)


def augmentation_switches(a: catalog.ModelEntry, b: catalog.ModelEntry) -> dict[str, int]:
    """Model name -> its last epoch on augmented images, for those followed by plain ones."""
    return {e.name: epoch for e in (a, b) if (epoch := augmentation_switch(e))}


@kept
def curves_figure(a: catalog.ModelEntry, b: catalog.ModelEntry, metric: str) -> go.Figure:
    return plots.training_curves({a.name: a.history, b.name: b.history}, metric, plain_after=augmentation_switches(a, b))


def show_curves(comp: report.Comparison, test) -> None:
    a, b = comp.a, comp.b
    for column, metric in zip(st.columns(2), ("accuracy", "loss")):
        column.plotly_chart(curves_figure(a, b, metric), key=f"compare_curves_{metric}")
    if note := curves_note(comp, augmentation_switches(a, b)):
        st.caption(note)


@kept
def bars_figure(a: catalog.ModelEntry, b: catalog.ModelEntry, test_key: str, metric: str,
                _comp: report.Comparison) -> go.Figure:
    return plots.per_class_bars(_comp.report_a.per_class, _comp.report_b.per_class, a.name, b.name, metric)


def show_classes(comp: report.Comparison, test) -> None:
    st.caption("The *better* columns name the model with the higher figure of each pair.")
    show_table(comp.per_class(), "per_class", "compare")
    metric = st.segmented_control("Bars of", ["f1", "precision", "recall"], default="f1", required=True,
                                  key="compare_bars_metric")
    st.plotly_chart(bars_figure(comp.a, comp.b, test_set_key(TEST_SET), metric, comp), key="compare_bars")
    with st.expander("The assignment's per-class figures"):
        show_table(report.assignment_per_class(), "assignment_per_class", "compare")


@kept
def confusion_figure(entry: catalog.ModelEntry, test_key: str, _result) -> go.Figure:
    return plots.confusion_heatmap(_result.confusion, datasets.FASHION_CLASSES, entry.name)


def show_confusions(comp: report.Comparison, test) -> None:
    for column, entry, result in zip(st.columns(2), (comp.a, comp.b), (comp.report_a, comp.report_b)):
        with column:
            st.plotly_chart(confusion_figure(entry, test_set_key(TEST_SET), result),
                            key=f"compare_confusion_{entry.name}")
            rows = pd.Index(datasets.FASHION_CLASSES, name="true \\ predicted")
            download_csv(pd.DataFrame(result.confusion, rows, datasets.FASHION_CLASSES).reset_index(),
                         f"confusion_{entry.name}", "compare")


CELL, BORDER, GAP, TITLE_HEIGHT = 112, 3, 12, 40  # pixels of the image grid: a test image 4x enlarged


def image_grid_png(images: np.ndarray, titles: list[tuple[str, str]], colors: list[str],
                   cols: int = GALLERY_SIZE) -> np.ndarray:
    """Grey images (N, 28, 28[, 1]) in [0, 1] as one RGB picture, ``cols`` a row, each under its two
    title lines and framed, both in its colour: one image for the browser to draw, not a chart."""
    rows = max(1, -(-len(images) // cols))
    width, height = CELL + 2 * BORDER + GAP, TITLE_HEIGHT + CELL + 2 * BORDER + GAP
    picture = Image.new("RGB", (cols * width, rows * height), "white")
    draw, font = ImageDraw.Draw(picture), ImageFont.load_default(size=14)
    for i, (image, (first, second), color) in enumerate(zip(images, titles, colors)):
        x, y = (i % cols) * width + GAP // 2, (i // cols) * height + GAP // 2
        draw.text((x + width // 2 - GAP // 2, y + 2), f"{first}\n{second}", fill=color, font=font, anchor="ma",
                  align="center")
        draw.rectangle((x, y + TITLE_HEIGHT, x + CELL + 2 * BORDER - 1, y + TITLE_HEIGHT + CELL + 2 * BORDER - 1),
                       fill=color)
        picture.paste(Image.fromarray(imaging.to_display(image, CELL)), (x + BORDER, y + TITLE_HEIGHT + BORDER))
    return np.asarray(picture)


@kept
def gallery(entry: catalog.ModelEntry, test_key: str, sample: int, _result, _x) -> str:
    """A PNG data URL of ``GALLERY_SIZE`` right and as many wrong test images of ``entry``, chosen
    by ``sample``."""
    right, wrong = metrics.gallery_indices(_result.y_true, _result.y_pred, GALLERY_SIZE,
                                           np.random.default_rng(sample))
    names = datasets.FASHION_CLASSES
    shown = np.concatenate([right, wrong]).astype(int)
    titles = [(f"true {names[_result.y_true[i]]}", f"pred {names[_result.y_pred[i]]}") for i in shown]
    colors = [plots.RIGHT_COLOR] * len(right) + [plots.WRONG_COLOR] * len(wrong)
    return png_data_url(image_grid_png(_x[shown], titles, colors))


def show_gallery(comp: report.Comparison, test) -> None:
    st.markdown("**Right (green) and wrong (red) test images**")
    sample = st.number_input("Sample", 0, 10_000, 0, key="compare_gallery_sample", width=160,
                             help="Another number shows other images.")
    for entry, result in ((comp.a, comp.report_a), (comp.b, comp.report_b)):
        st.image(gallery(entry, test_set_key(TEST_SET), int(sample), result, test.x),
                 caption=f"{entry.name}: {GALLERY_SIZE} test images it gets right (top row) and "
                         f"{GALLERY_SIZE} it gets wrong (bottom row), each with its true and predicted class")


def show_variants(comp: report.Comparison, test) -> None:
    st.caption("Reported test figures of the variants the assignment also tried, beside ours "
               "(empty until such a model is trained).")
    show_table(report.variants_table(catalog.all_models()), "variants", "compare")


# Below the headline figures and the tests, in tabs: the images first (no chart to load for them).
SECTIONS = {"Right and wrong images": show_gallery, "Training curves": show_curves, "Per class": show_classes,
            "Confusion matrices": show_confusions, "The assignment's variants": show_variants}


def show_sections(comp: report.Comparison, test) -> None:
    """One section at a time: choosing a tab reruns the page, and only the open tab's section runs
    and is sent (a hidden tab's charts would cost the browser as much as shown ones)."""
    for tab, show in zip(st.tabs(list(SECTIONS), key="compare_section", on_change="rerun"), SECTIONS.values()):
        if tab.open:
            with tab:
                show(comp, test)


def show_page() -> None:
    left, right = st.columns(2)
    with left:
        a = pick_model("task2", "Task 2 model (CNN classifier)", "compare_model_a")
    with right:
        b = pick_model("task3", "Task 3 model (fine-tuned encoder)", "compare_model_b")
    if a is None or b is None:
        return
    test = load_test_set(TEST_SET)
    st.caption(f"Test images: {len(test.y):,} from {test.source}.")
    comp = compare_models(a, b)
    show_headline(comp)
    show_significance(comp)
    show_sections(comp, test)


st.title("Task 2 against Task 3")
st.caption("The CNN classifier (Task 2) and the Task 1 encoder fine-tuned (Task 3) on the same "
           "Fashion-MNIST test images, beside the figures the assignment reported in 2020.")
with guarded():
    show_page()
