"""Durations for people, and a console progress line per epoch with an ETA (command line)."""

from __future__ import annotations

import sys
import time


def format_duration(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def format_logs(logs: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if isinstance(v, float))


def epoch_printer(epochs: int, title: str, stream=sys.stdout):
    """A Keras callback printing ``[task] epoch 3/50  12.1s  loss ...  ETA 9:40`` per epoch."""
    import keras  # deferred: this module is imported by light, TensorFlow-free code

    class EpochPrinter(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.durations = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.time()

        def on_epoch_end(self, epoch, logs=None):
            self.durations.append(time.time() - self.start)
            recent = self.durations[-5:]
            eta = sum(recent) / len(recent) * (epochs - epoch - 1)
            values = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
            print(f"[{title}] epoch {epoch + 1}/{epochs}  {self.durations[-1]:.1f}s  "
                  f"{format_logs(values)}  ETA {format_duration(eta)}", file=stream, flush=True)

    return EpochPrinter()
