"""Overview: what the app does, where to click, what it has loaded and from where.
Needs no TensorFlow, so that it is drawn while TensorFlow loads."""

import streamlit as st

from dae_core import settings
from dae_core.data import datasets
from dae_core.models import catalog
from dae_core.store import runs
from dae_core.tasks import task_title
from dashboard import runtime
from dashboard.navigation import PAGES
from dashboard.widgets import guarded

runtime.run_through_app()

LINKS = PAGES[1:]  # a card for every page but this one
CARDS_PER_ROW = 3


def show_links() -> None:
    for column, link in zip(st.columns(len(LINKS)), LINKS):
        with column.container(border=True):
            st.page_link(link.path, label=link.title, icon=link.icon)
            st.caption(link.blurb)


def show_sources(entries: list[catalog.ModelEntry]) -> None:
    shipped = sum(e.source == "shipped" for e in entries)
    running = sum(summary.state in runs.ACTIVE_STATES for summary in runs.run_summaries())
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
    for start in range(0, len(entries), CARDS_PER_ROW):
        for column, entry in zip(st.columns(CARDS_PER_ROW), entries[start:start + CARDS_PER_ROW]):
            with column:
                show_card(entry)


st.title("DAE Lab")
st.markdown(
    "Denoising autoencoders and transfer learning on MNIST digits and Fashion-MNIST garments. "
    "The lab reproduces a 2020 university assignment: a **denoising autoencoder** (Task 1), a "
    "**CNN classifier** (Task 2), the autoencoder's **encoder fine-tuned** as a classifier "
    "(Task 3), and the two compared (Task 4). Pick a page:")
show_links()
with guarded():
    entries = catalog.all_models()
    st.subheader("What is loaded")
    show_sources(entries)
    st.subheader("Models")
    st.caption("Each model's figures are one training run (one seed): a second run lands a few "
               "tenths of a point away. The Studies page's seeds study gives means with 95% intervals.")
    show_models(entries)
