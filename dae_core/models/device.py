"""What the lab has to work with: where each dataset would load from, and the device.

Both are answered cheaply: datasets by looking for files (never reading 60,000 images
just to show a status line), the device once per process.
"""

from __future__ import annotations

import functools
import os


def gpu_names() -> list[str]:
    """The GPUs TensorFlow sees, by name; imports TensorFlow."""
    import tensorflow as tf

    return [tf.config.experimental.get_device_details(g).get("device_name", g.name)
            for g in tf.config.list_physical_devices("GPU")]


def enable_gpu_memory_growth() -> None:
    """Let each process take GPU memory as it needs it rather than all at once: the dashboard
    shares the GPU with the trainings it starts. Only works before the GPU is first used."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU is already in use in this process: too late, harmless
            pass


@functools.cache
def device_description() -> str:
    """``"GPU: NVIDIA H200"`` or ``"CPU (2 cores)"``; imports TensorFlow once per process."""
    names = gpu_names()
    return f"GPU: {', '.join(names)}" if names else f"CPU ({os.cpu_count()} cores)"


# --- training precision ----------------------------------------------------------

CPU_FLAGS_ENV = "DAE_CPU_FLAGS"  # set: these flags (space or comma separated) instead of the CPU's
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # units that multiply bfloat16 in hardware
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}  # a run's precision -> Keras policy

# (task, arch) that train faster in mixed bfloat16 than in float32 on a CPU with AVX-512 BF16 and
# no AMX, by `python -m benchmarks precision` (figures: docs/results.md, "Precision"). ``auto`` picks
# bfloat16 on such a CPU only for these, so it never makes training slower; a task not measured
# stays float32 until it is. With AMX every architecture gains, so auto takes bfloat16 for all there.
# frozen_ae_noisy is frozen_ae's model.
AVX512_BF16_FASTER: frozenset[tuple[str, str]] = frozenset({
    *((task, arch) for task in ("task1", "fashion_ae", "task2", "task3", "frozen_ae", "frozen_ae_noisy")
      for arch in ("seed", "improved")),
    ("unfrozen_ae", "seed"),
})


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags, from ``$DAE_CPU_FLAGS`` when set (tests force the detection with
    it: ``DAE_CPU_FLAGS=none`` is a CPU without any), else from ``/proc/cpuinfo``; none where
    neither can be read (not Linux)."""
    forced = os.environ.get(CPU_FLAGS_ENV)
    if forced is not None:
        return frozenset(f for f in forced.replace(",", " ").split() if f != "none")
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def onednn_enabled() -> bool:
    """Whether TensorFlow's oneDNN kernels are on (its default on x86 Linux); its bfloat16
    kernels are what use the CPU's bfloat16 units."""
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() not in ("0", "false")


def resolve_precision(precision: str, task: str, arch: str, gpu: bool,
                      flags: frozenset[str] | None = None) -> tuple[str, str]:
    """(Keras dtype policy, why) for a run asking for ``precision`` ("auto", "float32" or
    "bfloat16"). ``auto``: mixed float16 on a GPU (Keras scales the loss for it); mixed bfloat16
    on a CPU with AMX, or with AVX-512 BF16 for the (task, arch) measured faster there, when
    oneDNN is on; float32 otherwise. Outputs and losses stay float32 under any policy."""
    if precision != "auto":
        return POLICIES[precision], f"{precision} as asked"
    if gpu:
        return "mixed_float16", "auto: a GPU"
    flags = cpu_flags() if flags is None else flags
    units = [f for f in BF16_FLAGS if f in flags]
    if not units:
        return "float32", "auto: this CPU has no bfloat16 units (amx_bf16, avx512_bf16)"
    if not onednn_enabled():
        return "float32", "auto: TF_ENABLE_ONEDNN_OPTS=0 turns off the oneDNN kernels that use bfloat16"
    if "amx_bf16" in units or (task, arch) in AVX512_BF16_FASTER:
        return "mixed_bfloat16", f"auto: the CPU has {' and '.join(units)}"
    return "float32", (f"auto: with avx512_bf16 and no AMX, bfloat16 was not faster for {task} at the "
                       f"{arch} architecture (python -m benchmarks precision)")
