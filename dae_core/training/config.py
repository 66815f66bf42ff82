"""Training configuration: one frozen dataclass per run, and the two presets.

``seed`` is the assignment's settings exactly (batch 1000, 50 epochs, Adam); ``improved`` is
the best recipe measured within a CPU budget (its figures: docs/results.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from dae_core.data.noise import NoiseConfig
from dae_core.models.arch import ARCHS, Arch, arch_with
from dae_core.tasks import TASKS, VARIANTS, TaskSpec, task_spec

PRESETS = ("seed", "improved")
SCHEDULES = ("constant", "cosine")
ENCODER_WEIGHTS = ("pretrained", "random")
# auto: mixed bfloat16 where the CPU has bfloat16 units and it was measured faster, mixed float16
# on a GPU, else float32 (models.device.resolve_precision); the run records what it used.
PRECISIONS = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; saved as the run's ``config.json``."""

    task: str = "task2"
    preset: str = "seed"
    epochs: int = 50
    batch_size: int = 1000
    learning_rate: float = 1e-3
    schedule: str = "constant"
    noise_kind: str = "gaussian"
    noise_level: float = 0.5
    augment: bool = False  # classifiers: random flips and shifts
    clean_fraction: float = 0.0  # with augment: this last share of the epochs sees plain images
    erase: float = 0.0  # with augment: the share of images that get a random patch blacked out
    label_smoothing: float = 0.0
    arch: str = "seed"  # a key of models.arch.ARCHS
    # The named arch's values changed for this run, e.g. {"bn_momentum": 0.9} (models.arch.Arch)
    arch_values: dict = field(default_factory=dict, hash=False)
    train_size: int | None = None  # None: all 48,000
    encoder_from: str | None = None  # Task 1 model file; None: the shipped one of this preset
    # "random": the same architecture with fresh weights (the control for what pretraining adds)
    encoder_weights: str = "pretrained"
    # Steps per epoch, the training images repeating as needed; None: one pass over them. A small
    # training set then still trains for a fixed number of steps (a study's label budgets).
    steps_per_epoch: int | None = None
    init_from: str | None = None  # a trained model file of this task and arch to continue from
    seed: int = 0
    data_dir: str | None = None
    precision: str = "auto"  # one of PRECISIONS

    def __post_init__(self):
        checks = [
            (self.preset in PRESETS, f"preset {self.preset!r} unknown; choose one of {PRESETS}"),
            (1 <= self.epochs <= 1000, f"epochs must be 1-1000, got {self.epochs}"),
            (1 <= self.batch_size <= 60_000, f"batch_size must be 1-60000, got {self.batch_size}"),
            (0 < self.learning_rate <= 1, f"learning_rate must be in (0, 1], got {self.learning_rate}"),
            (self.schedule in SCHEDULES, f"schedule {self.schedule!r} unknown; choose {SCHEDULES}"),
            (0 <= self.clean_fraction <= 1, f"clean_fraction must be in [0, 1], got {self.clean_fraction}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing must be in [0, 1), got {self.label_smoothing}"),
            (0.0 <= self.erase <= 1.0, f"erase must be in [0, 1], got {self.erase}"),
            (self.arch in ARCHS, f"arch {self.arch!r} unknown; choose one of {tuple(ARCHS)}"),
            (self.train_size is None or self.train_size >= 10,
             f"train_size must be at least 10, got {self.train_size}"),
            (self.encoder_weights in ENCODER_WEIGHTS,
             f"encoder_weights {self.encoder_weights!r} unknown; choose one of {ENCODER_WEIGHTS}"),
            (self.steps_per_epoch is None or 1 <= self.steps_per_epoch <= 100_000,
             f"steps_per_epoch must be 1-100000, got {self.steps_per_epoch}"),
            (0 <= self.seed < 2**31, f"seed must be in [0, 2**31), got {self.seed}"),
            (self.precision in PRECISIONS,
             f"precision {self.precision!r} unknown; choose one of {PRECISIONS}"),
        ]
        self.spec  # validates the task
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        self.noise  # validates kind and level
        self.architecture  # validates the arch values

    @property
    def architecture(self) -> Arch:
        """The arch the run builds: the named one with the run's own values on top."""
        return arch_with(self.arch, self.arch_values)

    @property
    def spec(self) -> TaskSpec:
        return task_spec(self.task)

    @property
    def input_noise(self) -> NoiseConfig | None:
        """The noise its inputs get, or None for a task that sees plain images."""
        return self.noise if self.spec.noisy_inputs else None

    @property
    def noise(self) -> NoiseConfig:
        return NoiseConfig(self.noise_kind, self.noise_level)

    @property
    def augmented_epochs(self) -> int:
        """Epochs that see augmented images: all but the clean share (rounded half up)."""
        if not self.augment:
            return 0
        return self.epochs - math.floor(self.epochs * self.clean_fraction + 0.5)

    def recipe(self) -> str:
        """What the preset sets beyond epochs, batch size and learning rate, in words."""
        parts = [f"the {self.arch} architecture", f"Adam with a {self.schedule} learning rate"]
        if self.augment:
            clean = self.epochs - self.augmented_epochs
            erasing = f", a patch erased from {self.erase:.0%} of the images," if self.erase else ""
            parts.append(f"random flips and shifts{erasing} for {self.augmented_epochs} epochs"
                         + (f", then plain images for the last {clean}" if clean else ""))
        if self.label_smoothing:
            parts.append(f"label smoothing {self.label_smoothing:g}")
        return "; ".join(parts)

    @property
    def dataset(self) -> str:
        return self.spec.dataset

    @property
    def is_autoencoder(self) -> bool:
        return self.spec.is_autoencoder

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


_SEED = dict(epochs=50, batch_size=1000, learning_rate=1e-3, arch="seed")
# Epochs sized to a 2-core CPU (docs/results.md gives the time each preset takes).
_IMPROVED = dict(epochs=10, batch_size=128, learning_rate=2e-3, schedule="cosine", arch="improved")
PRESET_VALUES = {
    "seed": {task: dict(_SEED) for task in TASKS},
    "improved": {
        "task1": dict(_IMPROVED),
        "fashion_ae": dict(_IMPROVED),
        # Augmented epochs underfit (training accuracy below validation): the last quarter
        # trains on plain images, where the classifiers gain the most per epoch. Task 2's
        # epochs and erasing were chosen on validation, and Task 3 takes the same recipe (also
        # chosen on validation), so the improved pair differs in the encoder's start
        # (docs/history.md has both choices).
        "task2": dict(_IMPROVED, epochs=40, augment=True, clean_fraction=0.25, erase=0.5,
                      label_smoothing=0.1),
        "task3": dict(_IMPROVED, epochs=40, augment=True, clean_fraction=0.25, erase=0.5,
                      label_smoothing=0.1, learning_rate=1e-3),
        **{v: dict(_IMPROVED, epochs=15) for v in VARIANTS},
        # The pretraining study's tasks (it trains them at the seed preset): the improved recipe.
        "mlp_ae": dict(_IMPROVED),
        **{t: dict(_IMPROVED, epochs=20) for t in ("probe", "frozen_head", "mlp")},
    },
}


def make_config(task: str, preset: str = "seed", **overrides) -> TrainConfig:
    """The preset's values for ``task``, with ``overrides`` (None values ignored) on top."""
    if preset not in PRESETS:
        raise ValueError(f"preset {preset!r} unknown; choose one of {PRESETS}")
    task_spec(task)
    values = dict(PRESET_VALUES[preset][task], task=task, preset=preset)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**values)


def cap_train_size(config: TrainConfig, available: int) -> tuple[TrainConfig, str | None]:
    """A ``train_size`` of at least the ``available`` training images means all of them:
    the config says so (None), and a note tells the user, who may have expected more."""
    if config.train_size is None or config.train_size < available:
        return config, None
    note = (f"train size {config.train_size:,}: the training split holds {available:,} images, "
            "so the run trains on all of them.")
    return dataclasses.replace(config, train_size=None), note
