"""A console progress line per epoch, with an ETA, for the command line."""

from __future__ import annotations

import sys
import time

import keras


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def format_logs(logs: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if isinstance(v, float))


class EpochPrinter(keras.callbacks.Callback):
    """Prints ``[task] epoch 3/50  12.1s  loss ...  ETA 9:40`` after each epoch."""

    def __init__(self, epochs: int, title: str, stream=sys.stdout):
        super().__init__()
        self.epochs, self.title, self.stream = epochs, title, stream
        self.durations: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.durations.append(time.time() - self.start)
        recent = self.durations[-5:]
        eta = sum(recent) / len(recent) * (self.epochs - epoch - 1)
        values = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        print(f"[{self.title}] epoch {epoch + 1}/{self.epochs}  {self.durations[-1]:.1f}s  "
              f"{format_logs(values)}  ETA {format_duration(eta)}", file=self.stream, flush=True)
