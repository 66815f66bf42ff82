"""The lab's tasks as data: the one table every page, the command line and training ask.

Adding a task: a ``TaskSpec`` here, its builder in ``models.builders`` and its branch in
``training.train.build_model`` (docs/architecture.md, "Add a task").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    """What a task is, independent of how it is trained."""

    name: str
    title: str
    dataset: str  # "mnist" or "fashion-mnist"
    output: str  # "image" (an autoencoder) or "classes" (a 10-way classifier)
    noisy_inputs: bool  # its training and validation inputs get the run's noise
    needs_autoencoder: bool  # starts from a trained Task 1 autoencoder
    metric: str  # the second training curve beside the loss: "mse" or "accuracy"
    headline: str  # the test figure that sums it up: "psnr_denoised" or "accuracy"
    # a classifier that needs one: the autoencoder task whose encoder it starts from by default
    autoencoder_task: str = "task1"

    @property
    def is_autoencoder(self) -> bool:
        return self.output == "image"

    @property
    def curves(self) -> tuple[str, str]:
        return ("loss", self.metric)


def _classifier(name: str, title: str, noisy: bool = False, autoencoder: bool = True,
                autoencoder_task: str = "task1") -> TaskSpec:
    return TaskSpec(name, title, "fashion-mnist", "classes", noisy, autoencoder, "accuracy", "accuracy",
                    autoencoder_task)


TASK_SPECS: dict[str, TaskSpec] = {spec.name: spec for spec in (
    TaskSpec("task1", "Task 1: denoising autoencoder (MNIST)", "mnist", "image", True, False,
             "mse", "psnr_denoised"),
    _classifier("task2", "Task 2: CNN classifier (Fashion-MNIST)", autoencoder=False),
    _classifier("task3", "Task 3: Task 1 encoder fine-tuned (Fashion-MNIST)"),
    _classifier("frozen_ae", "Variant: frozen autoencoder + Task 2 CNN"),
    _classifier("unfrozen_ae", "Variant: autoencoder + Task 2 CNN, all retrained"),
    _classifier("frozen_ae_noisy", "Variant: frozen autoencoder + CNN, noisy inputs", noisy=True),
    # The label-efficiency study's in-domain pretraining (Task 1's recipe on garments).
    TaskSpec("fashion_ae", "Autoencoder on Fashion-MNIST images, without their labels", "fashion-mnist",
             "image", True, False, "mse", "psnr_denoised"),
    # The pretraining study's arms: an encoder frozen under a linear head (a probe) or a small
    # head, and a fully connected autoencoder with its encoder fine-tuned as a classifier.
    _classifier("probe", "Linear probe: a frozen encoder + a linear head (Fashion-MNIST)"),
    _classifier("frozen_head", "A frozen encoder + a small head, Dense and dropout (Fashion-MNIST)"),
    TaskSpec("mlp_ae", "Fully connected autoencoder on Fashion-MNIST images, without their labels",
             "fashion-mnist", "image", True, False, "mse", "psnr_denoised"),
    _classifier("mlp", "Fully connected classifier: an MLP autoencoder's encoder fine-tuned (Fashion-MNIST)",
                autoencoder_task="mlp_ae"),
)}
TASKS = tuple(TASK_SPECS)
VARIANTS = ("frozen_ae", "unfrozen_ae", "frozen_ae_noisy")


def task_spec(name: str) -> TaskSpec:
    """The spec of ``name``; ValueError naming the choices for an unknown one."""
    try:
        return TASK_SPECS[name]
    except KeyError:
        raise ValueError(f"task {name!r} unknown; choose one of {TASKS}") from None


def task_title(name: str) -> str:
    """The title of a task, or its name when it is not one of ours (an old run's)."""
    spec = TASK_SPECS.get(name)
    return spec.title if spec else name
