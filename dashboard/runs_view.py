"""The Runs page's widgets: the runs table, and what can be done with the runs selected (their
curves overlaid, two classifiers opened in Compare, tags and a note, archive, delete)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dae_core.analysis import plots
from dae_core.errors import LabError
from dae_core.models import catalog
from dae_core.store import runs
from dae_core.tasks import TASK_SPECS
from dae_core.training.run_table import RunRow

COMPARE_PAGE = "pages/compare.py"
COMPARE_KEYS = {"task2": "compare_model_a", "task3": "compare_model_b"}  # Compare's two pickers
NUMBERS = {"learning rate": st.column_config.NumberColumn(format="%g"),
           "images": st.column_config.NumberColumn(format="localized")}


def show_table(rows: list[RunRow], key: str) -> None:
    """The rows as a table (each column named, the test figure with its unit, beside the state:
    at the end of the row it lay past the right edge of a 1,400 px window)."""
    table = pd.DataFrame([row.as_row() for row in rows])
    first = ["run", "task", "preset", "state", "epochs", "test"]
    st.dataframe(table, hide_index=True, key=key, column_config=NUMBERS, placeholder="",
                 column_order=first + [c for c in table.columns if c not in first])


def _tell(message: str, ok: bool = True) -> None:
    st.session_state.runs_said = message, ok  # said once the page has rerun


def say() -> None:
    """The outcome of the last action, once."""
    message, ok = st.session_state.pop("runs_said", (None, True))
    if message:
        (st.success if ok else st.error)(message)


def _selected(ids: list[str]) -> None:
    st.session_state.runs_selected = ids


def overlay(rows: list[RunRow]) -> None:
    """The selected runs' whole-epoch curves on one chart per figure (loss, and each task's own)."""
    histories = {row.id: catalog.epoch_history(runs.find_run(row.id)) for row in rows}
    metrics = ["loss"] + sorted({TASK_SPECS[r.task].metric for r in rows if r.task in TASK_SPECS})
    for column, metric in zip(st.columns(len(metrics)), metrics):
        shown = {rid: h for rid, h in histories.items() if any(metric in r for r in h)}
        column.plotly_chart(plots.training_curves(shown, metric), key=f"runs_overlay_{metric}")


def compare_button(rows: list[RunRow]) -> None:
    """Open a finished Task 2 run and a finished Task 3 run in Compare (its two pickers)."""
    entries = {e.name: e for e in catalog.run_models(include_hidden=True)}
    pair = {entries[r.id].task: entries[r.id] for r in rows if r.id in entries}
    ready = len(rows) == 2 and set(pair) == set(COMPARE_KEYS)
    st.button("Open in Compare", key="runs_compare", disabled=not ready, on_click=_open_compare,
              args=({key: pair[task].label for task, key in COMPARE_KEYS.items()} if ready else {},),
              help="Compare sets a Task 2 model against a Task 3 model: select one finished run of each.")


def _open_compare(choice: dict) -> None:
    st.session_state.update(choice, runs_to_compare=True)  # a callback cannot switch pages: go()


def go() -> None:
    """Switch to Compare when asked (its pickers hold the choice); call before drawing anything."""
    if st.session_state.pop("runs_to_compare", False):
        st.switch_page(COMPARE_PAGE)


def where(row: RunRow) -> None:
    """Where one run trained: the device, and for a Ray run its node, GPUs and cluster."""
    cluster = runs.find_run(row.id).status().get("ray")
    verb = "trains" if row.state in runs.ACTIVE_STATES else "trained"
    cluster = f" (the Ray cluster at {cluster})" if cluster else ""
    st.caption(f"`{row.id}` {verb} on {row.where}{cluster}." if row.where else
               f"`{row.id}`: where it {verb}{cluster} is not recorded.")


def _save_meta(run_id: str) -> None:
    try:
        tags = runs.parse_tags(st.session_state[f"runs_tags_{run_id}"])
        runs.find_run(run_id).update_meta(tags=list(tags), note=st.session_state[f"runs_note_{run_id}"])
        _tell(f"Saved the tags and note of {run_id}.")
    except (ValueError, LabError) as e:
        _tell(f"Not saved: {e}", ok=False)


def edit_meta(row: RunRow) -> None:
    """Tags and a note for one run."""
    if row.meta.damaged:
        st.warning(row.meta.damaged)
    st.text_input("Tags, separated by commas", ", ".join(row.meta.tags), key=f"runs_tags_{row.id}")
    st.text_area("Note", row.meta.note, key=f"runs_note_{row.id}", max_chars=runs.MAX_NOTE_CHARS)
    st.button("Save tags and note", key="runs_save", on_click=_save_meta, args=(row.id,))


def _archive(ids: list[str], archived: bool) -> None:
    for run_id in ids:
        runs.find_run(run_id).update_meta(archived=archived)
    _tell(f"{'Archived' if archived else 'Brought back'}: {', '.join(ids)}.")
    if archived and not st.session_state.get("runs_archived"):
        _selected([])  # they leave the table


def _delete(ids: list[str]) -> None:
    done, refused = [], []
    for run_id in ids:
        try:
            runs.delete_run(runs.find_run(run_id))
            done.append(run_id)
        except LabError as e:
            refused.append(str(e))
    st.session_state.runs_confirm = None
    _selected([i for i in ids if i not in done])
    _tell(f"Deleted {', '.join(done) or 'nothing'}. {' '.join(refused)}".strip(), ok=not refused)


def manage(rows: list[RunRow]) -> None:
    """Archive or bring back, and delete after a confirmation; active runs are never deleted."""
    ids = [row.id for row in rows]
    left, right = st.columns(2)
    archived = all(row.meta.archived for row in rows)
    left.button("Bring back" if archived else "Archive", key="runs_archive", on_click=_archive,
                args=(ids, not archived), help="An archived run is kept but left out of the model "
                "lists, the Overview and this table (unless 'Archived runs too' is on).")
    active = [row.id for row in rows if row.state in runs.ACTIVE_STATES]
    right.button("Delete…", key="runs_delete", disabled=bool(active), on_click=st.session_state.update,
                 kwargs={"runs_confirm": ids},
                 help="Stop it first." if active else "Deletes the run folders, after a confirmation.")
    if st.session_state.get("runs_confirm") == ids:
        members = [f"{row.id} (study {row.meta.study}: continuing it trains this member again)"
                   for row in rows if row.meta.study]
        st.warning(f"Delete {len(ids)} run{'s' * (len(ids) != 1)} and all their files (models, "
                   f"checkpoints, curves)? This cannot be undone. {' '.join(members)}")
        yes, no = st.columns(2)
        yes.button("Delete for good", key="runs_delete_yes", type="primary", on_click=_delete, args=(ids,))
        no.button("Cancel", key="runs_delete_no", on_click=lambda: st.session_state.update(runs_confirm=None))
