"""The Studies page's parts: a study's results as a paper's figure (headline, chart, compact table,
the per-comparison sentences folded away), a live study's progress, and the start controls (the
full study after a confirmation with its estimated time; the demo in a runs folder of its own)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dae_core import settings
from dae_core.analysis import robustness, study_plots
from dae_core.errors import DamagedFileError
from dae_core.studies import designs, evidence, runner, store
from dae_core.training import preflight
from dashboard import widgets

NO_INTERVAL = f"{evidence.NO_INTERVAL[0].upper()}{evidence.NO_INTERVAL[1:]}"
CELLS = "Test accuracy in points: mean ± half-width of its 95% interval over seeds"
# The full study as the page starts it (the CLI's options), where it differs from the defaults.
FULL = {"variants": {"seeds": 1}}
DEMO_ID = "label-efficiency-demo"
DEMO = ["--seeds", "2", "--budgets", "100,300", "--arms", "scratch,random-init", "--epochs-scale", "0.1",
        "--steps-per-epoch", "5"]  # 8 members of a few steps each: about a minute here


def made_by(about: dict) -> str:
    """How a shipped study was made, as a caption: its command, time, machine and date."""
    where = f" on {about['machine']}" if about.get("machine") else ""
    return (f"Made by `{about.get('command', '?')}` ({about.get('seconds', 0) / 60:.0f} min{where}, "
            f"{about.get('finished', '?')})")


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


def show_results(name: str, table: pd.DataFrame, key: str) -> None:
    """Headline, chart, compact table; the sentences and every member in expanders."""
    if name == "seeds" and table.get("preset", pd.Series(dtype=object)).nunique() > 1:
        for preset, rows in table.groupby("preset", sort=False):  # one figure per preset
            st.markdown(f"##### The {preset} preset")
            show_results(name, rows, f"{key}_{preset}")
        return
    axis = "labels" if name in ("label-efficiency", "pretraining") else None
    found = statistics(name, table, axis)
    st.markdown(f"**{found['headline']}**")
    if name == "robustness":
        st.plotly_chart(study_plots.robustness_chart(table), key=f"studies_chart_{key}")
        st.dataframe(table.pivot_table(index=["noise", "level"], columns="model", values="accuracy").reset_index(),
                     hide_index=True)
    else:
        _figure(name, found, axis, key)
    notes = found["notes"]
    if notes:
        with st.expander(f"Every comparison in words ({len(notes)})"):
            st.markdown("\n".join(f"- {note}" for note in notes))
    with st.expander(f"Every member ({len(table)} rows)"):
        widgets.show_table(table, key, "studies")
    if name == "seeds" and key.endswith("_shipped"):
        _show_precision_check(table)
        _show_improved_preset()


def _show_improved_preset() -> None:
    """The seeds study at the improved preset (shipped under its own id), when shipped."""
    improved, about = shipped(store.SEEDS_STUDIES["improved"])
    if improved is None:
        return
    st.markdown("##### The improved preset")
    st.caption(f"{made_by(about)}.")
    show_results("seeds", improved, "seeds_improved")


def show_live_improved() -> None:
    """The seeds study at the improved preset on this machine (its own id, as the CLI runs it)."""
    folder = live_folder(store.SEEDS_STUDIES["improved"])
    if on_this_machine(folder):
        st.markdown(f"##### The improved preset (`{folder.name}`)")
        show_live("seeds", folder, "seeds_improved_live")


PRECISION_STUDY = "seeds-bfloat16"  # the seeds study rerun in mixed bfloat16 (--precision, issue 24)


def _show_precision_check(float32: pd.DataFrame) -> None:
    """The seeds study in mixed bfloat16 against the shipped float32 one, arm by arm, when shipped."""
    bfloat16, about = shipped(PRECISION_STUDY)
    if bfloat16 is None:
        return
    st.markdown("##### The same study in mixed bfloat16")
    rows = evidence.against(bfloat16, float32)
    st.markdown("\n".join(f"- {s}" for s in evidence.against_sentences(rows, "bfloat16", "float32")))
    st.caption(f"{made_by(about)}: each seed's bfloat16 run paired with its float32 run.")


@st.cache_data(show_spinner=False, max_entries=64)
def statistics(name: str, table: pd.DataFrame, axis: str | None) -> dict:
    """A study's figures from its results table, computed once per table: the page runs again on
    every click, and a shipped study's table never changes (a live study's grows, and each new table
    is computed afresh). ``headline`` and ``notes`` (the per-comparison sentences) for every study;
    ``gains`` for pretraining, ``diffs`` for a study with a reference arm, and ``summary`` and
    ``compact`` for all but robustness."""
    found = {"headline": evidence.headline(name, table, axis)}
    if name == "robustness":
        return {**found, "notes": robustness.findings(table)}
    if name == "pretraining":
        found["gains"] = evidence.pretraining_gains(table, axis)
        found["notes"] = evidence.gain_sentences(found["gains"], axis)
    else:
        if name in evidence.REFERENCE:
            found["diffs"] = evidence.differences(table, evidence.REFERENCE[name], axis)
        found["notes"] = evidence.findings(table, axis)
    return {**found, "summary": evidence.summary(table, axis), "compact": evidence.compact_table(table, axis)}


def _figure(name: str, found: dict, axis: str | None, key: str) -> None:
    """The study's chart and compact table, from ``statistics``."""
    if name == "pretraining":
        gains = found["gains"]
        complete = gains[gains["n"] >= evidence.INTERVAL_MIN_SEEDS]
        if len(complete):
            st.plotly_chart(study_plots.gain_chart(complete, axis, designs.ARCHITECTURE_TITLES,
                                                   designs.PRETRAINING_TITLES), key=f"studies_chart_{key}")
        else:
            st.info(f"No budget has 3 seeds per pair of arms yet: the gain chart waits for them ({NO_INTERVAL}).")
    elif len(found.get("diffs", ())):
        st.plotly_chart(study_plots.difference_chart(found["diffs"], axis, evidence.REFERENCE[name],
                                                     designs.ARM_TITLES), key=f"studies_chart_{key}")
    summary = found["summary"]
    st.dataframe(found["compact"], hide_index=True)
    few = int(summary["n"].min()) if len(summary) else 0
    st.caption(CELLS + "." if few >= evidence.INTERVAL_MIN_SEEDS else
               f"Test accuracy in points, {few} seed{'s' * (few != 1)} at the fewest: no 95% intervals. {NO_INTERVAL}.")


def live_folder(study_id: str, runs_dir: Path | None = None) -> Path:
    return store.study_folder(study_id, runs_dir or settings.runs_dir())


def live_results(folder: Path) -> pd.DataFrame | None:
    study = store.Study(folder)
    return evidence.results(study) if study.exists() else store.read_results(folder)


def show_progress(folder: Path, polling: bool) -> None:
    """Members done of all, live while the study trains; reruns the page when a member finishes
    (its results grow) and when the study ends."""
    running = runner.study_active(folder)
    study = store.Study(folder)
    done, total = runner.progress(study) if study.exists() else (0, 0)
    seen = st.session_state.setdefault("studies_done", {})
    if polling and (not running or seen.get(str(folder), done) != done):
        seen[str(folder)] = done
        st.rerun()  # the whole page: its results are newer now
    seen[str(folder)] = done
    if not study.exists():
        st.info("Starting: loading TensorFlow and the data…" if running else "Not started.")
        return
    text = f"{done}/{total} members done" + ("" if running or done == total else " · not running")
    st.progress(done / total if total else 0.0, text=text)


def on_this_machine(folder: Path) -> bool:
    """Whether the runs folder holds the study: started, running or with results."""
    return store.Study(folder).exists() or runner.study_active(folder) or (folder / store.RESULTS_FILE).exists()


def show_live(name: str, folder: Path, key: str) -> None:
    """A study on this machine: its progress (polled while it runs) and its results so far."""
    if not on_this_machine(folder):
        return
    polling = runner.study_active(folder)
    st.fragment(show_progress, run_every=2.0 if polling else None)(folder, polling)
    results = live_results(folder)
    if results is not None and len(results):
        show_results(name, results, key)
    elif results is not None:
        st.caption("No member to compare has finished yet: its results appear here as members finish.")


def about_time(seconds: float) -> str:
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"about {hours} h {minutes:02d} min" if hours else f"about {max(minutes, 1)} min"


def start_full(name: str, about: dict) -> None:
    """The full study's button; it asks first, with the estimated time."""
    folder = live_folder(name)
    active = runner.study_active(folder)
    if st.button(f"Start or continue the full {name} study", key="studies_start_full", disabled=active,
                 help="Running now" if active else "Asks first, with the time it will take"):
        st.session_state.studies_confirm = name
    if st.session_state.get("studies_confirm") != name or active:
        return
    design = designs.DESIGNS[name](**FULL.get(name, {}))
    per_member = about["seconds"] / len(design.members) if about.get("seconds") else None
    estimate = runner.estimate(design, store.Study(folder), per_member)
    st.warning(f"This trains {estimate.left} of the study's {estimate.total} members: {about_time(estimate.seconds)} "
               f"of training on this machine (from {estimate.basis}). Members queue behind other trainings; "
               "a stopped study continues where it stopped.")
    yes, no = st.columns(2)
    if yes.button(f"Start: {about_time(estimate.seconds)}", key="studies_confirm_start", type="primary"):
        st.session_state.studies_confirm = None
        options = [v for k, value in FULL.get(name, {}).items() for v in (f"--{k}", str(value))]
        with widgets.guarded():
            start_study(name, options)
            st.rerun()
    if no.button("Cancel", key="studies_confirm_cancel"):
        st.session_state.studies_confirm = None
        st.rerun()


def start_study(name: str, options: list[str], study_id: str | None = None, runs_dir: Path | None = None) -> None:
    """``runner.start_study``; a runs folder that cannot be written (read-only, full) raises a
    ``JobError`` that names it and the fix, for ``guarded`` to show in place of a traceback."""
    try:
        runner.start_study(name, options, study_id, runs_dir=runs_dir)
    except OSError as e:
        raise preflight.folder_error(e, settings.runs_dir()) from e  # the one DAE_RUNS_DIR names; the demo's is in it


def demo_controls() -> Path:
    """Start the demo (in its own runs folder, never among ordinary runs) or clear it; returns its
    study folder."""
    runs_dir = runner.demo_runs_dir(settings.runs_dir())
    folder = live_folder(DEMO_ID, runs_dir)
    active = runner.study_active(folder)
    start, clear = st.columns(2)
    if start.button("Start the demo (8 tiny members)", key="studies_start_demo", disabled=active,
                    help="In a runs folder of its own: its runs stay out of the ordinary runs"):
        with widgets.guarded():
            start_study("label-efficiency", DEMO, DEMO_ID, runs_dir)
            st.rerun()  # the page as it is now: the demo running, its buttons disabled
    if runs_dir.exists() and clear.button("Clear the demo", key="studies_clear_demo", disabled=active,
                                          help="Deletes the demo's runs folder, and nothing else"):
        with widgets.guarded():
            runner.clear_demo(settings.runs_dir())
            st.session_state.get("studies_done", {}).pop(str(folder), None)
            st.toast("Demo cleared.")
    return folder
