"""The lab's studies as designs: which runs each one trains, and what it asks.

- ``label-efficiency``: test accuracy against the number of labelled images, for four arms.
- ``pretraining``: where unsupervised pretraining pays: frozen and fine-tuned encoders from three
  autoencoders against the same architectures from random weights, against labelled images.
- ``seeds``: Task 2 against Task 3 at a preset, repeated over random seeds.
- ``variants``: the assignment's three variants (the whole autoencoder under the Task 2 CNN).
(``robustness`` trains nothing: see ``dae_core.analysis.robustness``.)
"""

from __future__ import annotations

import dataclasses

from dae_core.studies.store import PRETRAINED, Design, Member
from dae_core.tasks import VARIANTS, task_spec
from dae_core.training.config import make_config

LABEL_BUDGETS = (100, 300, 1000, 3000, 10_000, 48_000)
LABEL_ARMS = ("scratch", "mnist-ae", "random-init", "fashion-ae")
# Every study's arms by plain names, read in legends, tables and sentences alike.
ARM_TITLES = {"scratch": "Task 2 CNN from scratch", "mnist-ae": "Task 3 from the MNIST autoencoder",
              "random-init": "Task 3 from random weights",
              "fashion-ae": "Task 3 from a Fashion-MNIST autoencoder",
              "task1": "Task 1 autoencoder", "task2": "Task 2 CNN", "task3": "Task 3 (MNIST autoencoder's encoder, fine-tuned)",
              "frozen_ae": "frozen autoencoder under the Task 2 CNN",
              "unfrozen_ae": "autoencoder under the Task 2 CNN, all retrained",
              "frozen_ae_noisy": "frozen autoencoder under the CNN, on noisy images"}
STEP_BATCH = 100  # small budgets need small batches: 100 images are one batch
STEPS_PER_EPOCH = 100


def label_epochs(labels: int) -> int:
    """Epochs of ``STEPS_PER_EPOCH`` steps for a budget: a fixed 1,000 steps up to 3,000 labels,
    then more, so that the full set is seen about 8 times (4,000 steps of 100)."""
    return 10 if labels <= 3000 else 20 if labels <= 10_000 else 40


def _arm_config(arm: str, labels: int, seed: int, epochs: int, steps: int, data_dir) -> dict:
    """The seed preset's model and optimiser, in epochs of ``steps`` batches of 100."""
    task = "task2" if arm == "scratch" else "task3"
    extra = {"random-init": dict(encoder_weights="random"),
             "fashion-ae": dict(encoder_from=f"{PRETRAINED}pretrain")}.get(arm, {})
    return make_config(task, "seed", epochs=epochs, batch_size=STEP_BATCH, steps_per_epoch=steps,
                       train_size=None if labels >= 48_000 else labels, seed=seed, data_dir=data_dir,
                       **extra).to_dict()


def label_efficiency(seeds: int = 3, budgets=LABEL_BUDGETS, arms=LABEL_ARMS, epochs_scale: float = 1.0,
                     steps_per_epoch: int = STEPS_PER_EPOCH, data_dir: str | None = None,
                     pretrain_epochs: int = 10) -> Design:
    """Test accuracy against labelled images, for four arms; the same subset for every arm at a
    given seed. The Fashion-MNIST autoencoder is trained once, first, without labels."""
    unknown = [arm for arm in arms if arm not in LABEL_ARMS]
    if unknown:
        raise ValueError(f"arm {', '.join(unknown)} unknown; choose from {', '.join(LABEL_ARMS)}")
    members = []
    if "fashion-ae" in arms:
        pretrain = make_config("fashion_ae", "seed", epochs=max(1, round(pretrain_epochs * epochs_scale)),
                               data_dir=data_dir)
        members.append(Member("pretrain", "pretrain", 0, pretrain.to_dict()))
    for labels in budgets:
        epochs = max(1, round(label_epochs(labels) * epochs_scale))
        for seed in range(seeds):
            for arm in arms:
                members.append(Member(f"{arm}/labels={labels}/seed={seed}", arm, seed,
                                      _arm_config(arm, labels, seed, epochs, steps_per_epoch, data_dir),
                                      {"labels": labels}))
    return Design("label-efficiency", "Does the autoencoder's encoder help when labels are few?",
                  tuple(members), axis="labels")


# --- pretraining: where does unsupervised pretraining pay? ---------------------------------------

PRETRAIN_BUDGETS = (100, 300, 1000, 3000, 10_000)
# Architectures: the task each trains.
ARCHITECTURES = {"probe": "probe", "head": "frozen_head", "finetune": "task3", "mlp": "mlp"}
ARCHITECTURE_TITLES = {"probe": "frozen encoder + linear head", "head": "frozen encoder + small head",
                       "finetune": "Task 3 CNN fine-tuned", "mlp": "fully connected network fine-tuned"}
# Pretrainings: where each encoder's weights come from ("random": the control, nothing learnt).
PRETRAININGS = ("mnist-ae", "fashion-ae", "fashion-mae", "random")
PRETRAINING_TITLES = {"mnist-ae": "MNIST autoencoder", "fashion-ae": "Fashion-MNIST autoencoder",
                      "fashion-mae": "Fashion-MNIST masked autoencoder", "random": "random weights"}
# The prerequisite members: autoencoders trained on the 48,000 Fashion-MNIST training images
# without their labels, once per study (seed 0), with the shipped MNIST autoencoder's recipe
# (the seed preset: batch 1000, Adam 1e-3, 50 epochs). The masked one sees 75% of its 4 x 4
# patches blacked out (He et al. 2022's share), the others gaussian noise of std 0.5 as Task 1.
PRETRAIN_MEMBERS = {"mlp-ae": dict(task="mlp_ae"), "fashion-ae": dict(task="fashion_ae"),
                    "fashion-mae": dict(task="fashion_ae", noise_kind="patches", noise_level=0.75)}
PRETRAIN_EPOCHS = 50


def pretraining_arms() -> tuple[str, ...]:
    """``architecture:pretraining`` for every CNN architecture and pretraining, and the fully
    connected network from its own Fashion-MNIST autoencoder or from random weights."""
    cnn = tuple(f"{a}:{p}" for a in ("probe", "head", "finetune") for p in PRETRAININGS)
    return cnn + ("mlp:fashion-ae", "mlp:random")


def arm_title(arm: str) -> str:
    """``"probe:fashion-mae"`` -> ``"frozen encoder + linear head, Fashion-MNIST masked autoencoder"``."""
    architecture, _, pretraining = arm.partition(":")
    if pretraining not in PRETRAINING_TITLES:
        return ARM_TITLES.get(arm, arm)
    return f"{ARCHITECTURE_TITLES.get(architecture, architecture)}, {PRETRAINING_TITLES[pretraining]}"


def _encoder_source(arm: str) -> dict:
    """Where an arm's encoder comes from, as config values: the shipped MNIST autoencoder
    (task1-seed, the default), a pretraining member's model, or random weights."""
    architecture, pretraining = arm.split(":")
    if pretraining == "random":
        return dict(encoder_weights="random")
    if pretraining == "mnist-ae":
        return {}
    member = "mlp-ae" if architecture == "mlp" else pretraining
    return dict(encoder_from=f"{PRETRAINED}pretrain/{member}")


def _pretrained_arm_config(arm: str, labels: int, seed: int, epochs: int, steps: int, data_dir) -> dict:
    """An arm's config at the seed preset, in epochs of ``steps`` batches of 100."""
    return make_config(ARCHITECTURES[arm.split(":")[0]], "seed", epochs=epochs, batch_size=STEP_BATCH,
                       steps_per_epoch=steps, train_size=None if labels >= 48_000 else labels, seed=seed,
                       data_dir=data_dir, **_encoder_source(arm)).to_dict()


def pretraining_study(seeds: int = 3, budgets=PRETRAIN_BUDGETS, arms=None, epochs_scale: float = 1.0,
                      steps_per_epoch: int = STEPS_PER_EPOCH, data_dir: str | None = None,
                      pretrain_epochs: int = PRETRAIN_EPOCHS, pretrain_size: int | None = None) -> Design:
    """Test accuracy against labelled images for each architecture from each pretraining and from
    random weights; the same labelled subset (and validation subset) for every arm at a seed, and
    label-efficiency's fixed step budget. The autoencoders train first, once, without labels
    (``pretrain_size``: on that many training images; None: all 48,000)."""
    arms = tuple(arms or pretraining_arms())
    unknown = set(arms) - set(pretraining_arms())
    if unknown:
        raise ValueError(f"arm {sorted(unknown)} unknown; choose from {pretraining_arms()}")
    members = []
    needed = {_encoder_source(arm).get("encoder_from") for arm in arms}
    for name, values in PRETRAIN_MEMBERS.items():
        if f"{PRETRAINED}pretrain/{name}" in needed:
            config = make_config(preset="seed", epochs=max(1, round(pretrain_epochs * epochs_scale)),
                                 train_size=pretrain_size, data_dir=data_dir, **values)
            members.append(Member(f"pretrain/{name}", "pretrain", 0, config.to_dict()))
    for labels in budgets:
        epochs = max(1, round(label_epochs(labels) * epochs_scale))
        for seed in range(seeds):
            for arm in arms:
                architecture, pretraining = arm.split(":")
                members.append(Member(f"{arm}/labels={labels}/seed={seed}", arm, seed,
                                      _pretrained_arm_config(arm, labels, seed, epochs, steps_per_epoch, data_dir),
                                      {"labels": labels, "architecture": architecture,
                                       "pretraining": pretraining}))
    return Design("pretraining", "Where does unsupervised pretraining pay: which encoder, frozen or "
                  "fine-tuned, with how many labels?", tuple(members), axis="labels")


def _preset_members(tasks, seeds: int, preset: str, epochs_scale: float, data_dir) -> tuple[Member, ...]:
    members = []
    for seed in range(seeds):
        for task in tasks:
            config = make_config(task, preset, seed=seed, data_dir=data_dir)
            epochs = max(1, round(config.epochs * epochs_scale))
            members.append(Member(f"{task}/seed={seed}", task, seed,
                                  dataclasses.replace(config, epochs=epochs).to_dict()))
    return tuple(members)


def seeds_study(seeds: int = 3, preset: str = "seed", epochs_scale: float = 1.0, data_dir=None,
                tasks=("task2", "task3")) -> Design:
    """Task 2 against Task 3 (or ``tasks``) at a preset, ``seeds`` times: how sure is the difference?
    Autoencoders are compared by their denoised PSNR, classifiers by accuracy, never both at once."""
    kinds = {task_spec(task).metric for task in tasks}
    if len(kinds) > 1:
        raise ValueError("a seeds study compares autoencoders or classifiers, not both: "
                         f"{', '.join(tasks)}")
    return Design("seeds", "How far apart are Task 2 and Task 3 once the random seed varies?",
                  _preset_members(tuple(tasks), seeds, preset, epochs_scale, data_dir),
                  value="psnr_denoised" if kinds == {"mse"} else "accuracy")


def variants_study(seeds: int = 1, preset: str = "seed", epochs_scale: float = 1.0, data_dir=None) -> Design:
    """The assignment's three variants: the whole autoencoder (frozen or not) under the Task 2 CNN."""
    return Design("variants", "How do the assignment's variants compare with Task 2 and Task 3?",
                  _preset_members(VARIANTS, seeds, preset, epochs_scale, data_dir))


DESIGNS = {"label-efficiency": label_efficiency, "pretraining": pretraining_study, "seeds": seeds_study,
           "variants": variants_study}
# The arms a study's --arms may name (the other studies take none).
ARMS = {"label-efficiency": LABEL_ARMS, "pretraining": pretraining_arms()}


