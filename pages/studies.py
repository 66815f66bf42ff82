"""Studies: many runs that answer the lab's question with evidence: charts with 95% bands,
tables, and what the data show in plain words."""


import pandas as pd
import streamlit as st

from dae_core import settings
from dae_core.analysis import plots, robustness
from dae_core.errors import DamagedFileError
from dae_core.studies import designs, evidence, runner, store
from dashboard import runtime, widgets

runtime.run_through_app()

ABOUT = {
    "label-efficiency": "Test accuracy against the number of labelled training images, for four arms: the "
                        "Task 2 CNN from scratch, Task 3 with the MNIST autoencoder's encoder, the same Task 3 "
                        "model from random weights (what does pretraining add?), and Task 3 with an encoder "
                        "from an autoencoder trained on Fashion-MNIST images without labels.",
    "seeds": "Task 2 against Task 3 at a preset, trained with several random seeds: how sure is the difference?",
    "variants": "The assignment's three variants: the whole autoencoder, frozen or not, under the Task 2 CNN.",
    "robustness": "Each classifier's test accuracy on noisy test images: does an encoder trained to denoise "
                  "make a classifier more robust to noise? (Evaluation only, no training.)",
}
DEMO = ["--seeds", "2", "--budgets", "100,300", "--arms", "scratch,random-init", "--epochs-scale", "0.1",
        "--steps-per-epoch", "5"]  # 8 members of a few steps each: about a minute here


def shipped(name: str) -> tuple[pd.DataFrame | None, dict]:
    """The shipped results and how they were made; a damaged file is named and left out."""
    try:
        table = store.shipped_results(name)
    except DamagedFileError as e:
        widgets.show_error(e)
        return None, {}
    try:
        about = store.shipped_about(name)
    except DamagedFileError as e:
        widgets.show_error(e)
        about = {}
    return table, about


def live_folder(study_id: str):
    return store.study_folder(study_id, settings.runs_dir())


def live_results(study_id: str) -> pd.DataFrame | None:
    study = store.Study(live_folder(study_id))
    return evidence.results(study) if study.exists() else store.read_results(study.path)


def show_results(name: str, table: pd.DataFrame, key: str) -> None:
    """The chart, the sentences and the table of one study's results."""
    if name == "robustness":
        st.plotly_chart(plots.robustness_chart(table), key=f"studies_chart_{key}")
        notes = robustness.findings(table)
    else:
        axis = "labels" if name == "label-efficiency" else None
        summary = evidence.summary(table, axis)
        if axis:
            st.plotly_chart(plots.band_chart(summary, axis, "arm", log_x=True, names=designs.ARM_TITLES),
                            key=f"studies_chart_{key}")
        widgets.show_table(summary, f"{key}_summary", "studies")
        notes = evidence.findings(table, axis)
    if notes:
        st.markdown("\n".join(f"- {note}" for note in notes))
    with st.expander(f"Every member ({len(table)} rows)"):
        widgets.show_table(table, key, "studies")


def show_progress(study_id: str, polling: bool) -> None:
    """Members done of all, live while the study's process runs; reruns the page when it ends."""
    folder = live_folder(study_id)
    running = runner.study_running(folder)
    if polling and not running:
        st.rerun()  # the whole page: its results table and chart are complete now
    if not store.Study(folder).exists():
        st.info("Starting: loading TensorFlow and the data…" if running else "Not started.")
        return
    done, total = runner.progress(store.Study(folder))
    text = f"{done}/{total} members done" + ("" if running else " · not running")
    st.progress(done / total if total else 0.0, text=text)


def start_controls(name: str) -> None:
    if name == "robustness":
        st.caption("`python -m dae_core study robustness` evaluates the shipped classifiers (minutes).")
        return
    demo, full = st.columns(2)
    if name == "label-efficiency" and demo.button("Start the demo (8 tiny members)", key="studies_start_demo"):
        start(name, DEMO, f"{name}-demo")
    if full.button(f"Start or continue the full {name} study", key="studies_start_full",
                   help="Hours on a 2-core CPU: members wait in the same queue as the Train page"):
        start(name, [], None)


def start(name: str, options: list[str], study_id: str | None) -> None:
    with widgets.guarded():
        runner.start_study(name, options, study_id)
        st.session_state.studies_live = study_id or name


st.title("Studies")
st.caption("A study is a grid of ordinary training runs (arms x settings x seeds); the figures are "
           "means over seeds with 95% intervals, so a difference can be told from chance.")
name = st.segmented_control("Study", list(ABOUT), default="label-efficiency", required=True, key="studies_name")
st.markdown(ABOUT[name])
with widgets.guarded():
    table, about = shipped(name)
    if table is not None:
        st.subheader("Shipped results")
        st.caption(f"Made by `{about.get('command', '?')}` ({about.get('seconds', 0) / 60:.0f} min on a "
                   f"2-core CPU, {about.get('finished', '?')}).")
        show_results(name, table, f"{name}_shipped")
    else:
        st.info("No results of this study ship with the project yet: start it below.")
    st.subheader("On this machine")
    start_controls(name)
    live = st.session_state.get("studies_live", name)
    if not live.startswith(name):
        live = name
    polling = runner.study_running(live_folder(live))
    if store.Study(live_folder(live)).exists() or polling:
        st.fragment(show_progress, run_every=1.0 if polling else None)(live, polling)
        results = live_results(live)
        if results is not None and len(results):
            show_results(name, results, live)
