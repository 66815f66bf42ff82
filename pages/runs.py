"""Runs: every training run of the runs folder, as in W&B or MLflow but kept local: its
configuration, times, state and headline test figure; filters; study members grouped under their
study; tags, a note, archive and delete; curves overlaid; two classifiers opened in Compare."""

import pandas as pd
import streamlit as st

from dae_core import settings
from dae_core.store import runs
from dae_core.studies.store import mark_members
from dae_core.tasks import task_title
from dae_core.training import run_table
from dashboard import runs_view, runtime
from dashboard.widgets import download_csv, guarded

runtime.run_through_app()
runs_view.go()

POLL_S = 2.0  # while a run is active, the tables are read again this often


def kept(key: str, options: list) -> list:
    """``options`` with the values chosen in widget ``key`` that are no longer among them."""
    return options + [v for v in st.session_state.get(key, []) if v not in options]


def filters(rows: list[run_table.RunRow]) -> dict:
    task, state, tag, archived = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    tasks = task.multiselect("Task", kept("runs_task", sorted({r.task for r in rows} - {"?"})),
                             format_func=task_title, key="runs_task", placeholder="all tasks")
    states = state.multiselect("State", run_table.TABLE_STATES, key="runs_state", placeholder="all states")
    tags = tag.multiselect("Tags", kept("runs_tag", run_table.all_tags(rows)), key="runs_tag",
                           placeholder="any tags", help="Runs holding all the tags chosen")
    return {"tasks": tasks, "states": states, "tags": tags,
            "archived": archived.toggle("Archived runs too", key="runs_archived")}


def show_tables(chosen: dict, polling: bool) -> None:
    """The runs of no study, then each study's members folded away; read afresh on each poll."""
    rows = run_table.run_rows()
    if polling and not any(r.state in runs.ACTIVE_STATES for r in rows):
        st.rerun()  # the whole page, once: its polling stops
    ordinary, studies = run_table.by_study(run_table.select(rows, **chosen))
    if ordinary:
        runs_view.show_table(ordinary, "runs_table")
    for study, members in studies.items():
        done = sum(r.state == "completed" for r in members)
        with st.expander(f"Study {study}: {len(members)} run{'s' * (len(members) != 1)}, {done} completed"):
            runs_view.show_table(members, f"runs_study_{study}")
    if not ordinary and not studies:
        st.info("No run matches these filters.")


def selection(shown: list[run_table.RunRow]) -> None:
    """What can be done with the runs picked."""
    by_id = {row.id: row for row in shown}
    st.session_state.runs_selected = [i for i in st.session_state.get("runs_selected", []) if i in by_id]
    picked = [by_id[i] for i in st.multiselect(
        "Select runs", list(by_id), key="runs_selected",
        placeholder="Runs to overlay, open in Compare, tag, archive or delete",
        format_func=lambda i: f"{i} · {by_id[i].state}" + (f" · {by_id[i].test}" if by_id[i].test else ""))]
    if not picked:
        return
    runs_view.overlay(picked)
    runs_view.compare_button(picked)
    if len(picked) == 1:
        runs_view.where(picked[0])
        runs_view.edit_meta(picked[0])
    runs_view.manage(picked)


st.title("Runs")
st.caption(f"Every training run in `{settings.runs_dir()}`, newest first: the Train page's, the command "
           "line's and the studies' (grouped under their study, folded away). Archived runs and study "
           "members stay out of the model lists and the Overview's cards.")
runs_view.say()
with guarded():
    mark_members()  # studies recorded before their runs said which study they belong to
    rows = run_table.run_rows()
    if not rows:
        st.info(f"No runs yet in `{settings.runs_dir()}`: start one on the Train page, or "
                "`python -m dae_core train task2`.")
    else:
        chosen = filters(rows)
        shown = run_table.select(rows, **chosen)
        polling = any(r.state in runs.ACTIVE_STATES for r in rows)
        st.fragment(show_tables, run_every=POLL_S if polling else None)(chosen, polling)
        download_csv(pd.DataFrame([r.as_row() for r in shown]), "runs", "runs")
        st.subheader("Selected runs")
        selection(shown)
