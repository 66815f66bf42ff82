"""Train: pick a task and a preset, train it in a separate process, follow it live, compare runs."""

from pathlib import Path

import streamlit as st

from dae_core import settings as lab_settings  # this page has its own settings()
from dae_core.analysis import plots
from dae_core.data.datasets import TRAIN_SIZE
from dae_core.data.noise import LEVEL_LIMITS, LEVEL_NAMES, NOISE_KINDS
from dae_core.errors import DataError
from dae_core.models import catalog, device
from dae_core.store import runs
from dae_core.tasks import TASK_SPECS, TASKS, task_spec, task_title
from dae_core.training import jobs, preflight, run_table
from dae_core.training.config import PRECISIONS, PRESETS, TrainConfig, make_config
from dashboard import ray_backend, runs_view, runtime
from dashboard.widgets import guarded, pick_model, show_error

runtime.run_through_app()

PRESET_FIELDS = {"train_epochs": "epochs", "train_batch_size": "batch_size", "train_lr": "learning_rate",
                 "train_noise": "noise_kind", "train_noise_level": "noise_level", "train_size": "train_size"}
TEST_FIGURES = [("Test accuracy", "accuracy", "{:.4f}"), ("Without the mirror view", "accuracy_one_view", "{:.4f}"),
                ("Test loss", "loss", "{:.4f}"), ("Macro F1", "macro_f1", "{:.4f}"),
                ("PSNR denoised", "psnr_denoised", "{:.2f} dB"), ("PSNR noisy input", "psnr_noisy", "{:.2f} dB"),
                ("SSIM denoised", "ssim_denoised", "{:.3f}")]
PAST_RUNS = 20  # rows of the past runs table; the Runs page has them all
STATE_BOX = {"queued": st.info, "failed": st.error, "completed": st.success, "stopped": st.warning}
# The number fields: (label, lowest, highest). The limits are checked by the page, not
# given to number_input: Streamlit's box (1.67) keeps a number typed past them, marked invalid,
# and never sends it, so Start would train the last valid value unseen. Unbounded, the box
# sends what was typed, and a value out of limits disables Start with a message.
LIMITS = {"train_epochs": ("Epochs", 1, 1000), "train_batch_size": ("Batch size", 8, 4096),
          "train_lr": ("Learning rate", 1e-5, 0.1), "train_size": ("Training images", 100, TRAIN_SIZE)}
DATA_FIX = (f'enter FOLDER under "Data folder" above (or set {lab_settings.DATA_DIR_ENV}=FOLDER '
            "before starting the lab)")


def apply_preset() -> None:
    """Load the chosen task's preset values into the settings widgets."""
    values = make_config(st.session_state.train_task, st.session_state.train_preset).to_dict()
    for key, field in PRESET_FIELDS.items():
        st.session_state[key] = values[field] if field != "train_size" else (values[field] or TRAIN_SIZE)


def number(column, key: str, step, help: str = "", **kwargs):
    """A number field of ``LIMITS``, its limits in its help."""
    label, low, high = LIMITS[key]
    return column.number_input(label, step=step, key=key, help=f"{help}{shown(low)} to {shown(high)}.", **kwargs)


def shown(value) -> str:
    """A number as typed: 1,000 and 0.00001, not 1e-05."""
    return f"{value:.12f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"


def out_of_limits() -> list[str]:
    """What the number fields hold past their limits, one sentence each."""
    return [f"{label} must be {shown(low)} to {shown(high)}; {shown(st.session_state[key])} was entered."
            for key, (label, low, high) in LIMITS.items()
            if not low <= st.session_state[key] <= high]


def data_folder() -> str | None:
    """The data folder field (DAE_DATA_DIR when set): an absolute path, or None when empty."""
    if "train_data_dir" not in st.session_state:
        st.session_state.train_data_dir = str(lab_settings.data_dir() or "")
    typed = st.text_input("Data folder", key="train_data_dir",
                          placeholder=f"Empty: {lab_settings.DATA_DIR_ENV}, then Keras's cache, then a download",
                          help="A folder holding mnist/ and fashion-mnist/ (their four IDX .gz files, or "
                               f"mnist.npz and fashion-mnist.npz). Empty: {lab_settings.DATA_DIR_ENV} if set, "
                               f"then Keras's cache ({lab_settings.keras_datasets_dir()}), then a download when "
                               "the run starts.").strip()
    return str(Path(typed).expanduser().absolute()) if typed else None


def show_run(path: str, polling: bool) -> None:
    """One run, live while it is active; the page reruns once when it ends, to stop polling."""
    run = runs.Run(path)
    progress = jobs.progress(run)
    if polling and not progress.active:
        st.rerun()
    try:
        recipe = TrainConfig.from_dict(run.config())
    except (TypeError, ValueError) as e:  # a damaged run folder: named, the rest of the page works
        st.subheader(f"`{run.id}`")
        st.error(progress.message if progress.state == "damaged" else f"Run {run.id} is damaged: {e}")
        return
    st.subheader(f"{task_title(recipe.task)} · {recipe.preset} · `{run.id}`")
    if progress.state == "running":
        st.progress(progress.fraction, text=progress.message)
    else:
        STATE_BOX.get(progress.state, st.warning)(progress.message)
    if progress.note:
        st.warning(progress.note)
    status = run.status()
    if status.get("precision"):
        st.caption(f"Precision: {status['precision']} ({status.get('precision_why', 'recorded')}).")
    remote = ray_backend.where(run)
    if remote:
        st.caption(f"{'Trains' if progress.active else 'Trained'} {remote}; its records, Stop and Resume "
                   "go through this machine.")
    if progress.active:
        st.button("Stop", key="train_stop", on_click=jobs.stop, args=(run,),
                  help="Ends after the current batch; the model learned so far is kept.")
    elif progress.resumable:
        again = st.button("Resume from the last epoch", key="train_resume",
                          help="Where it trained: " + ("its Ray cluster" if remote else "this machine"))
        here = bool(remote) and st.button("Resume on this machine", key="train_resume_here",
                                          help="When its cluster is gone or busy: the rest of its epochs here")
        if again or here:
            with guarded():
                ray_backend.resume(run, ray_backend.Backend() if here else None)
                st.rerun()  # the whole page, not this fragment alone: it follows the resumed run live
    if progress.state == "failed":
        put_away(run)
    epochs, batches = run.metrics("epoch"), run.metrics("batch")
    if not (epochs or batches or progress.active):  # an ended run with nothing to plot: no empty charts
        return  # (a live one draws its charts at once, so they grow from the first record)
    plain_after = recipe.augmented_epochs if 0 < recipe.augmented_epochs < recipe.epochs else None
    for col, metric in zip(st.columns(2), recipe.spec.curves):
        col.plotly_chart(plots.live_curves(epochs, batches, metric, plain_after), key=f"train_live_{metric}")
    shown = [(label, fmt.format(progress.test[k])) for label, k, fmt in TEST_FIGURES
             if progress.test.get(k) is not None]
    for col, (label, value) in zip(st.columns(len(shown) or 1), shown):
        col.metric(label, value)


def put_away(run: runs.Run) -> None:
    """A failed run's way off this page: archived (kept, listed on the Runs page), or deleted there."""
    archive, link = st.columns([1, 3], vertical_alignment="center")
    if archive.button("Archive this run", key="train_archive",
                      help="Kept, but left out of this page, the model lists and the Overview; the Runs "
                           "page brings it back or deletes it"):
        run.update_meta(archived=True)
        st.session_state.train_run = None
        st.session_state.train_told = f"Run {run.id} archived: the Runs page shows it with 'Archived runs too'."
        st.rerun()  # the whole page: the run is no longer the one shown
    link.markdown("Or delete it on the [Runs page](runs).")  # relative: /train -> /runs, whatever the base URL


def settings() -> TrainConfig | None:
    """The settings widgets; returns a TrainConfig, or None after showing what to fix."""
    if "train_task" not in st.session_state:  # Task 1 first, as in the assignment; ?task= names another
        asked = st.query_params.get("task")
        st.session_state.train_task = asked if asked in TASKS else "task1"
        st.session_state.train_preset = "seed"
        apply_preset()
    c1, c2 = st.columns([3, 1])
    task = c1.selectbox("Task", TASKS, format_func=task_title, key="train_task", on_change=apply_preset)
    preset = c2.selectbox("Preset", PRESETS, key="train_preset", on_change=apply_preset,
                          help="seed: the assignment's settings; improved: the best measured recipe")
    spec = task_spec(task)
    c1, c2, c3, c4 = st.columns(4)
    epochs = number(c1, "train_epochs", 1)
    batch_size = number(c2, "train_batch_size", 8)
    lr = number(c3, "train_lr", 1e-4, format="%.5f")
    size = number(c4, "train_size", 100, help=f"Fewer than {TRAIN_SIZE:,} for a quick run; ")
    c1, c2 = st.columns(2)
    kind = c1.selectbox("Noise", NOISE_KINDS, key="train_noise", disabled=not spec.noisy_inputs,
                        help="Used by the tasks that train on noisy images")
    if st.session_state.train_noise_level > LEVEL_LIMITS[kind]:
        st.session_state.train_noise_level = LEVEL_LIMITS[kind]
    level = c2.slider(f"Noise {LEVEL_NAMES[kind]}", 0.0, LEVEL_LIMITS[kind], step=0.05,
                      key="train_noise_level", disabled=not spec.noisy_inputs)
    encoder = None
    if spec.needs_autoencoder:
        encoder = pick_model("task1", "Autoencoder to start from", "train_encoder", prefer_preset=preset)
        if encoder is None:
            return None
    start = pick_model(task, "Start from", f"train_start_from_{task}_{preset}", preset=preset,
                       none_label="new weights",
                       help="Continue training a finished model of this task and preset (its "
                            "weights, with a fresh optimiser and learning-rate schedule)")
    arch = make_config(task, preset).arch
    auto, why = device.resolve_precision("auto", task, arch, gpu=(runtime.device() or "").startswith("GPU"))
    precision = st.selectbox("Precision", PRECISIONS, key="train_precision",
                             help=f"auto picks mixed bfloat16 where this CPU has bfloat16 units and it "
                                  f"was measured faster, mixed float16 on a GPU, else float32. Here: "
                                  f"{auto} ({why}). Outputs, losses and the saved model stay float32.")
    data_dir = data_folder()
    wrong = out_of_limits()
    if wrong:
        st.error(" ".join(wrong) + " Fix the value named, then start.")
        return None
    try:
        config = make_config(task, preset, epochs=int(epochs), batch_size=int(batch_size),
                             learning_rate=float(lr), noise_kind=kind, noise_level=float(level),
                             train_size=None if size >= TRAIN_SIZE else int(size),
                             encoder_from=encoder and str(encoder.path), init_from=start and str(start.path),
                             precision=precision, data_dir=data_dir)
    except ValueError as e:
        st.error(f"These settings cannot run: {e}. Fix the setting named and start again.")
        return None
    st.caption(f"Also set by the {preset} preset: {config.recipe()}.")
    try:  # before Start, not a minute after it: a run without its data only fails
        source = preflight.data_source(config, DATA_FIX)
    except DataError as e:  # a state of this machine, not of the settings: a warning
        st.warning(str(e))
        return None
    st.caption(f"Data: {preflight.DATASET_TITLES[config.dataset]}, from {source}.")
    return config


def runs_table() -> None:
    rows = [row for row in run_table.run_rows() if not row.meta.hidden][:PAST_RUNS]
    runs_view.show_table(rows, "train_runs")


def past_runs(summaries: list[run_table.RunRow]) -> None:
    st.subheader("Past runs")
    if len(summaries) > PAST_RUNS:
        st.caption(f"The newest {PAST_RUNS} of {len(summaries)} runs (study members and archived runs left out).")
        st.page_link("pages/runs.py", label="All runs, with filters, tags and archive", icon=":material/table_rows:")
    summaries = summaries[:PAST_RUNS]
    active = any(s.state in runs.ACTIVE_STATES for s in summaries)  # the table follows it live
    st.fragment(runs_table, run_every=1.0 if active else None)()
    chosen = st.multiselect("Overlay runs", [s.id for s in summaries], default=[summaries[0].id],
                            key="train_overlay", help="Whole epochs of each run; a running one fills in when it ends")
    histories = {rid: catalog.epoch_history(runs.find_run(rid)) for rid in chosen}
    if chosen and not any(histories.values()):
        st.caption("No whole epoch recorded by the runs chosen: nothing to plot.")
    elif chosen:
        metrics = {TASK_SPECS[s.task].metric for s in summaries if s.id in chosen and s.task in TASK_SPECS}
        for col, metric in zip(st.columns(2), ("loss", metrics.pop() if len(metrics) == 1 else "accuracy")):
            col.plotly_chart(plots.training_curves(histories, metric), key=f"train_overlay_{metric}")


def start_and_follow(config: TrainConfig | None) -> None:
    """The start button, and the run this session started or the one in progress, live."""
    active = jobs.active_run()
    if active is not None and active.path != runs.Run(st.session_state.get("train_run", "/")).path:
        remote = ray_backend.where(active)
        st.info(f"Training `{active.id}` is in progress {remote}: a new one starts beside it." if remote else
                f"Training `{active.id}` is in progress on this machine: a new one waits in the queue until it ends.")
    if st.session_state.get("train_told"):
        st.info(st.session_state.pop("train_told"))
    # Handled here, not in on_click: a callback would get the settings of the previous script run.
    # A click can come with a field's new value that makes the settings unusable (config None).
    backend = ray_backend.choose("train")
    if st.button("Start training", key="train_start", type="primary", disabled=config is None) and config:
        try:
            st.session_state.train_run = str(ray_backend.start(config, backend).path)
        except jobs.JobError as e:  # its message names the fix; the settings stay for another try
            show_error(e)
        except OSError as e:  # a read-only or full runs folder: said, not a traceback
            show_error(preflight.folder_error(e, lab_settings.runs_dir()))
    shown = st.session_state.get("train_run")
    if active is not None and (shown is None or not runs.Run(shown).is_active()):
        shown = st.session_state.train_run = str(active.path)  # a new tab follows the live run
    newest = [run for run in runs.list_runs() if not run.meta().hidden][:1]  # no study member's
    if shown is None and newest:  # after a reload: the newest run, with Resume if it was killed
        shown = str(newest[0].path)
    if shown and runs.Run(shown).exists():
        polling = runs.Run(shown).is_active()
        st.fragment(show_run, run_every=1.0 if polling else None)(shown, polling)


st.title("Train")
st.caption("Training runs in its own process: leave the page, reload it or open it in another tab, "
           "the run goes on and is shown here. One training at a time on this machine; more wait in a queue.")
with guarded():
    start_and_follow(settings())
    summaries = [row for row in run_table.run_rows() if not row.meta.hidden]
    if summaries:
        past_runs(summaries)
