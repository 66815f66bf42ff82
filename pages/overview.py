"""Overview: what the app does, where to click, what it has loaded and from where.
Needs no TensorFlow, so that it is drawn while TensorFlow loads."""

import streamlit as st

from dae_core import settings
from dae_core.data import datasets
from dae_core.models import catalog
from dae_core.store import runs
from dae_core.tasks import VARIANTS, task_title
from dae_core.training import run_table
from dashboard import runtime
from dashboard.navigation import PAGES
from dashboard.widgets import guarded

runtime.run_through_app()

LINKS = PAGES[1:]  # a card for every page but this one
CARDS_PER_ROW = 3
RUN_CARDS = 6  # the newest finished runs get a card; the Runs page lists them all


# Where each of the assignment's tasks is shown: (task, what it is, ((page, what that page shows of it), ...));
# the Train page's link names the task it opens on.
TASK_PAGES = (
    ("Task 1", "a denoising autoencoder on MNIST digits",
     (("pages/denoise.py", "its denoising, with PSNR and SSIM beside classical filters"),
      ("pages/latent.py", "what its encoder learned without labels"),
      ("pages/train.py?task=task1", "train one yourself and watch its curves"))),
    ("Task 2", "a CNN classifier on Fashion-MNIST garments",
     (("pages/compare.py", "its curves, per-class figures and confusion matrix"),
      ("pages/garment.py", "what it says of your own garment photo"),
      ("pages/train.py?task=task2", "train one yourself"))),
    ("Task 3", "Task 1's encoder fine-tuned as a garment classifier",
     (("pages/compare.py", "the same figures, beside Task 2's"),
      ("pages/garment.py", "its answer beside Task 2's"),
      ("pages/train.py?task=task3", "fine-tune one from a Task 1 autoencoder"))),
    ("Task 4", "Task 2 against Task 3",
     (("pages/compare.py", "on the test images, beside the assignment's figures"),
      ("pages/studies.py", "over many seeds: whether the difference holds"))),
)
# A first visit, in order: (page, why then).
FIRST_PATH = (
    ("pages/denoise.py", "Draw a digit and watch the autoencoder clean it."),
    ("pages/latent.py", "See what its encoder learned, without a single label."),
    ("pages/compare.py", "That encoder reused for garments (Task 3) against a CNN from scratch (Task 2)."),
    ("pages/studies.py", "The same question over many seeds, with 95% intervals."),
)
VARIANT_NOTE = ("**Variant** cards: the assignment's three other ways of reusing the Task 1 autoencoder for "
                "garments (the whole autoencoder frozen under Task 2's CNN, the same all retrained, the "
                "frozen one with noisy inputs); Compare sets their figures beside the assignment's.")
BY_PATH = {page.path: page for page in PAGES}
CARD_WIDTH = 210  # the cards wrap onto more rows in a narrow window


def page_link(link: str, width: int | str = "content") -> None:
    path, _, task = link.partition("?task=")
    st.page_link(path, label=BY_PATH[path].title, icon=BY_PATH[path].icon, width=width,
                 query_params={"task": task} if task else None)


def show_first_path() -> None:
    with st.container(horizontal=True):
        for step, (path, why) in enumerate(FIRST_PATH, start=1):
            with st.container(border=True, width=CARD_WIDTH):
                st.caption(f"Step {step}")
                page_link(path)
                st.caption(why)


def show_task_map() -> None:
    with st.container(horizontal=True):
        for task, what, pages in TASK_PAGES:
            with st.container(border=True, width=2 * CARD_WIDTH):
                st.markdown(f"**{task}**: {what}")
                for path, shows in pages:
                    # one row, whatever the caption's length: the caption wraps, not the row
                    with st.container(horizontal=True, wrap=False, gap="small", vertical_alignment="center"):
                        page_link(path, width=140)  # the captions start in one column
                        st.caption(shows, width="stretch")


def show_links() -> None:
    with st.container(horizontal=True):
        for link in LINKS:
            with st.container(border=True, width=CARD_WIDTH):
                st.page_link(link.path, label=link.title, icon=link.icon)
                st.caption(link.blurb)


def show_sources(entries: list[catalog.ModelEntry]) -> None:
    shipped = sum(e.source == "shipped" for e in entries)
    running = sum(row.state in runs.ACTIVE_STATES for row in run_table.run_rows())
    lines = [f"**Device:** {runtime.device() or 'detecting… (TensorFlow is loading)'}",
             f"**Models:** {shipped} shipped from `{settings.models_dir()}`, "
             f"{len(entries) - shipped} finished runs from `{settings.runs_dir()}`"
             + (f" ({running} training now)" if running else "")]
    lines += [f"**{name}:** {where}" for name, where in datasets.dataset_sources().items()]
    st.markdown("\n".join(f"- {line}" for line in lines))


def show_card(entry: catalog.ModelEntry) -> None:
    with st.container(border=True):
        st.markdown(f"**{entry.name}**  \n{task_title(entry.task)}")
        epochs = len(entry.history)
        trained = f"{epochs} epoch{'' if epochs == 1 else 's'}"
        if entry.config.get("init_from"):  # a run continued from a trained model
            trained = f"the last {trained} of several runs (models/manifest.json lists them)"
        st.caption(f"{entry.source} · preset {entry.preset} · {trained}")
        test = entry.test
        left, right = st.columns(2)
        if "accuracy" in test:
            left.metric("Test accuracy", f"{test['accuracy']:.4f}")
            right.metric("Test loss", f"{test['loss']:.4f}")
        elif "psnr_denoised" in test:
            # The unit in the label: "20.41 dB" is cut short in a card a third of the page wide.
            left.metric("PSNR denoised, dB", f"{test['psnr_denoised']:.2f}")
            right.metric("PSNR noisy, dB", f"{test['psnr_noisy']:.2f}")
        else:
            st.caption("No test figures recorded.")
        if test.get("images"):
            detail = f", {test['noise']} noise" if "noise" in test else ""
            if "accuracy_one_view" in test:
                detail = f", each with its mirror image (one view: {test['accuracy_one_view']:.4f})"
            st.caption(f"on {test['images']:,} test images{detail}")


def show_models(entries: list[catalog.ModelEntry]) -> None:
    if not entries:
        st.warning(f"No models yet. Fix: {catalog.RESTORE_HINT}, or train one on the Train page "
                   "(or `python -m dae_core reproduce --ship`).")
    made = [e for e in entries if e.source == "run"]
    entries = [e for e in entries if e.source != "run"] + made[:RUN_CARDS]
    for start in range(0, len(entries), CARDS_PER_ROW):
        for column, entry in zip(st.columns(CARDS_PER_ROW), entries[start:start + CARDS_PER_ROW]):
            with column:
                show_card(entry)
    if len(made) > RUN_CARDS:
        st.caption(f"The newest {RUN_CARDS} of {len(made)} finished runs; the Runs page lists them all "
                   "(study members and archived runs are left out here).")
        st.page_link("pages/runs.py", label="All runs", icon=":material/table_rows:")


st.title("DAE Lab")
st.markdown(
    "Denoising autoencoders and transfer learning on MNIST digits and Fashion-MNIST garments. "
    "The lab reproduces a 2020 university assignment: a **denoising autoencoder** (Task 1), a "
    "**CNN classifier** (Task 2), the autoencoder's **encoder fine-tuned** as a classifier "
    "(Task 3), and the two compared (Task 4).")
st.subheader("New here? A first path")
show_first_path()
st.subheader("The assignment's tasks, page by page")
show_task_map()
st.subheader("Every page")
show_links()
with guarded():
    entries = catalog.all_models()
    st.subheader("What is loaded")
    show_sources(entries)
    st.subheader("Models")
    st.caption("Each model's figures are one training run (one seed): a second run lands a few "
               "tenths of a point away. The Studies page's seeds study gives means with 95% intervals.")
    if any(entry.task in VARIANTS for entry in entries):
        st.caption(VARIANT_NOTE)
    show_models(entries)
