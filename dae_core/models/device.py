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
