"""Train: pick a task and a preset, train it in a separate process, follow it live, compare runs."""

import pandas as pd
import streamlit as st

from dae_core import catalog, jobs, plots
from dae_core.config import NEEDS_AUTOENCODER, PRESETS, TASK_TITLES, TASKS, TrainConfig, make_config
from dae_core.data import TRAIN_SIZE
from dae_core.noise import LEVEL_LIMITS, LEVEL_NAMES, NOISE_KINDS
from dae_core.runs import Run, list_runs
from page_support import run_through_app

run_through_app()

PRESET_FIELDS = {"train_epochs": "epochs", "train_batch_size": "batch_size", "train_lr": "learning_rate",
                 "train_noise": "noise_kind", "train_noise_level": "noise_level", "train_size": "train_size"}


def apply_preset() -> None:
    """Load the chosen task's preset values into the settings widgets."""
    values = make_config(st.session_state.train_task, st.session_state.train_preset).to_dict()
    for key, field in PRESET_FIELDS.items():
        st.session_state[key] = values[field] if field != "train_size" else (values[field] or TRAIN_SIZE)


def metrics_of(task: str) -> tuple[str, str]:
    return ("loss", "mse") if task == "task1" else ("loss", "accuracy")


def test_figures(test: dict) -> None:
    figures = [("Test accuracy", "accuracy", "{:.4f}"),
               ("Without the mirror view", "accuracy_one_view", "{:.4f}"), ("Test loss", "loss", "{:.4f}"),
               ("Macro F1", "macro_f1", "{:.4f}"), ("PSNR denoised", "psnr_denoised", "{:.2f} dB"),
               ("PSNR noisy input", "psnr_noisy", "{:.2f} dB"), ("SSIM denoised", "ssim_denoised", "{:.3f}")]
    shown = [(label, fmt.format(test[k])) for label, k, fmt in figures if test.get(k) is not None]
    for col, (label, value) in zip(st.columns(len(shown) or 1), shown):
        col.metric(label, value)


def show_run(path: str, polling: bool) -> None:
    """One run, live while it is active; the page reruns once when it ends, to stop polling."""
    run = Run(path)
    info = jobs.progress(run)
    if polling and info["state"] not in ("queued", "running"):
        st.rerun()
    config = run.config()
    st.subheader(f"{TASK_TITLES.get(config['task'], config['task'])} · {config['preset']} · `{run.id}`")
    if info["state"] == "running":
        st.progress(info["fraction"], text=info["message"])
    elif info["state"] == "failed":
        st.error(info["message"])
    elif info["state"] == "queued":
        st.info(info["message"])
    elif info["state"] == "completed":
        st.success(info["message"])
    else:
        st.warning(info["message"])
    if info["state"] in ("queued", "running"):
        st.button("Stop", key="train_stop", on_click=jobs.stop, args=(run,),
                  help="Ends after the current batch; the model learned so far is kept.")
    elif jobs.can_resume(run):
        st.button("Resume from the last epoch", key="train_resume", on_click=jobs.resume, args=(run,))
    epochs, batches = run.metrics("epoch"), run.metrics("batch")
    recipe = TrainConfig.from_dict(config)
    plain_after = recipe.augmented_epochs if 0 < recipe.augmented_epochs < recipe.epochs else None
    for col, metric in zip(st.columns(2), metrics_of(config["task"])):
        col.plotly_chart(plots.live_curves(epochs, batches, metric, plain_after), key=f"train_live_{metric}")
    if info["state"] == "completed":
        test_figures(info["test"])


def settings():
    """The settings widgets; returns a TrainConfig, or None after showing what to fix."""
    if "train_task" not in st.session_state:
        st.session_state.train_task, st.session_state.train_preset = "task2", "seed"
        apply_preset()
    c1, c2 = st.columns([3, 1])
    task = c1.selectbox("Task", TASKS, format_func=TASK_TITLES.get, key="train_task", on_change=apply_preset)
    preset = c2.selectbox("Preset", PRESETS, key="train_preset", on_change=apply_preset,
                          help="seed: the assignment's settings; improved: the best measured recipe")
    c1, c2, c3, c4 = st.columns(4)
    epochs = c1.number_input("Epochs", 1, 1000, step=1, key="train_epochs")
    batch_size = c2.number_input("Batch size", 8, 4096, step=8, key="train_batch_size")
    lr = c3.number_input("Learning rate", 1e-5, 0.1, step=1e-4, format="%.5f", key="train_lr")
    size = c4.number_input("Training images", 100, TRAIN_SIZE, step=100, key="train_size",
                           help=f"Fewer than {TRAIN_SIZE:,} for a quick run")
    noisy = task == "task1" or task == "frozen_ae_noisy"
    c1, c2 = st.columns(2)
    kind = c1.selectbox("Noise", NOISE_KINDS, key="train_noise", disabled=not noisy,
                        help="Used by Task 1 and the noisy-inputs variant")
    if st.session_state.train_noise_level > LEVEL_LIMITS[kind]:
        st.session_state.train_noise_level = LEVEL_LIMITS[kind]
    level = c2.slider(f"Noise {LEVEL_NAMES[kind]}", 0.0, LEVEL_LIMITS[kind], step=0.05,
                      key="train_noise_level", disabled=not noisy)
    encoder = None
    if task in NEEDS_AUTOENCODER:
        entries = catalog.all_models(task="task1")
        if not entries:
            st.error("This task starts from a Task 1 autoencoder and none is available. Fix: restore the "
                     "shipped models with `git checkout models/`, or train Task 1 first.")
            return None
        default = next((i for i, e in enumerate(entries) if e.source == "shipped" and e.preset == preset), 0)
        labels = [e.label for e in entries]
        encoder = entries[labels.index(st.selectbox("Autoencoder to start from", labels, index=default,
                                                    key="train_encoder"))].path
    start = starting_model(task, preset)
    try:
        config = make_config(task, preset, epochs=int(epochs), batch_size=int(batch_size),
                             learning_rate=float(lr), noise_kind=kind, noise_level=float(level),
                             train_size=None if size >= TRAIN_SIZE else int(size),
                             encoder_from=str(encoder) if encoder else None,
                             init_from=str(start) if start else None)
    except ValueError as e:
        st.error(f"These settings cannot run: {e}. Fix the setting named and start again.")
        return None
    st.caption(f"Also set by the {preset} preset: {config.recipe()}.")
    return config


def starting_model(task: str, preset: str):
    """The trained model of this task and preset to continue from, or None for new weights."""
    trained = [e for e in catalog.all_models(task=task) if e.preset == preset]
    labels = ["new weights", *(e.label for e in trained)]
    choice = st.selectbox("Start from", labels, key=f"train_start_from_{task}_{preset}",
                          help="Continue training a finished model of this task and preset (its "
                               "weights, with a fresh optimiser and learning-rate schedule)")
    return None if choice == labels[0] else trained[labels.index(choice) - 1].path


def past_runs(runs: list[Run]) -> None:
    st.subheader("Past runs")
    rows = []
    for r in runs:
        config, status, test = r.config(), r.status(), r.status().get("test", {})
        rows.append(dict(run=r.id, task=config["task"], preset=config["preset"], state=r.state(),
                         epoch=f"{status.get('epoch', 0)}/{config['epochs']}",
                         test=test.get("accuracy", test.get("psnr_denoised"))))
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="train_runs_table")
    chosen = st.multiselect("Overlay runs", [r.id for r in runs], default=[runs[0].id], key="train_overlay",
                            help="Whole epochs of each run; a running one fills in when it ends")
    if chosen:
        by_id = {r.id: r for r in runs}
        histories = {rid: catalog.epoch_history(by_id[rid]) for rid in chosen}
        tasks = {by_id[rid].config()["task"] for rid in chosen}
        second = "mse" if tasks == {"task1"} else "accuracy"
        for col, metric in zip(st.columns(2), ("loss", second)):
            col.plotly_chart(plots.training_curves(histories, metric), key=f"train_overlay_{metric}")


st.title("Train")
st.caption("Training runs in its own process: leave the page, reload it or open it in another tab, "
           "the run goes on and is shown here. One training at a time on this machine; more wait in a queue.")
config = settings()
active = jobs.active_run()
if active is not None and active.path != Run(st.session_state.get("train_run", "/")).path:
    st.info(f"Training `{active.id}` is in progress on this machine: "
            "a new one waits in the queue until it ends.")
# Handled here, not in on_click: a callback would get the settings of the previous script run.
if st.button("Start training", key="train_start", type="primary", disabled=config is None):
    try:
        st.session_state.train_run = str(jobs.start_training(config).path)
    except (ValueError, OSError) as e:  # jobs.JobError is a ValueError; its message names the fix
        st.error(f"Training could not start: {e}")
shown = st.session_state.get("train_run")
if active is not None and (shown is None or not Run(shown).is_active()):
    shown = st.session_state.train_run = str(active.path)  # a new tab follows the live run
if shown and (Run(shown).path / "config.json").exists():
    polling = Run(shown).is_active()
    st.fragment(show_run, run_every=1.0 if polling else None)(shown, polling)
runs = list_runs()
if runs:
    past_runs(runs)
