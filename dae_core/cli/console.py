"""What the command line writes to stderr besides its results: TensorFlow's C++ start-up logs
kept out (``--verbose`` lets them through), and a progress line for work that takes a while.

TensorFlow 2.21 logs through absl, and absl writes everything logged before
``absl::InitializeLog()`` straight to stderr whatever ``TF_CPP_MIN_LOG_LEVEL`` says: the oneDNN
note, "Could not find cuda drivers", absl's own "All log messages before absl::InitializeLog()"
warning (twice: two of TensorFlow's libraries log before it), and, when the CUDA platform is
first probed, "failed call to cuInit" on a machine without a GPU. ``GLOG_minloglevel``,
``ABSL_MIN_LOG_LEVEL`` and ``CUDA_VISIBLE_DEVICES=""`` change none of them (tried). So the
import and the first device probe run with file descriptor 2 sent to a temporary file. Later,
TensorFlow logs "errors" that are none, such as "oneDNN supports DT_INT32 only on platforms with
AVX-512" when training on a CPU that has AVX-512: ``TF_CPP_MIN_LOG_LEVEL=3`` keeps those out
(a failing operation still raises its Python exception, with its message).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time


def import_tensorflow_quietly() -> None:
    """Import TensorFlow at ``TF_CPP_MIN_LOG_LEVEL=3`` and list its devices with stderr (the
    file descriptor, so C++ writes too) sent to a temporary file. When the import fails, what it
    wrote is replayed first, so a broken install still says why. Does nothing when TensorFlow is
    imported already."""
    if "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe, which logs cuInit's failure
        except BaseException:
            _restore(saved)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        _restore(saved)


def _restore(saved: int) -> None:
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)


class ProgressLine:
    """``[evaluate] denoising   [#######-------------]  35%  gaussian 0.5  ~0:21 left`` on stderr.

    Call it with the fraction done (0-1) and what is being done: the signature of
    ``predictions.Progress``, so library functions that report progress take it as it is. On a
    terminal the line is redrawn in place (at most every ``every_s`` seconds) and cleared by
    ``close``; elsewhere (a log, a pipe) a line is written at most every ``log_every_s`` seconds,
    so a log shows that the work goes on without filling up. A context manager closes it.
    """

    WIDTH = 20  # characters of the bar

    def __init__(self, title: str, stream=None, every_s: float = 0.2, log_every_s: float = 10.0):
        self.title, self.stream = title, stream or sys.stderr
        self.terminal = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every_s = every_s if self.terminal else log_every_s
        self.start, self.last, self.drawn = time.monotonic(), None, 0

    def __call__(self, fraction: float, text: str = "") -> None:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.every_s and fraction < 1:
            return
        self.last = now
        line = self.render(fraction, text, now - self.start)
        if self.terminal:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            line = line[:width]
            self.stream.write("\r" + line.ljust(self.drawn))
            self.drawn = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def render(self, fraction: float, text: str, elapsed: float) -> str:
        fraction = min(max(float(fraction), 0.0), 1.0)
        filled = int(round(fraction * self.WIDTH))
        line = f"[{self.title}] [{'#' * filled}{'-' * (self.WIDTH - filled)}] {fraction:4.0%}"
        if text:
            line += f"  {text}"
        if 0.02 <= fraction < 1 and elapsed >= 2:
            line += f"  ~{_clock(elapsed * (1 - fraction) / fraction)} left"
        return line

    def close(self) -> None:
        """Clears the line on a terminal, so the results below start on a clean line."""
        if self.terminal and self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
            self.stream.flush()
            self.drawn = 0

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"
