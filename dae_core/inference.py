"""Fast inference on one image or a few: a Keras model behind traced ``tf.function``s.

``model.predict`` builds a data pipeline on every call and calling the model eagerly
dispatches layer by layer; one traced graph with an open batch axis runs one image some
30-50 times faster (``python -m dae_core bench``; figures in docs/results.md). For a single
image (a canvas stroke, an upload) an XLA-compiled copy of the graph is faster still; XLA
compiles once per input shape (seconds), so only the one-image shape is compiled, and in the
background, so loading a model does not wait for it.

Many sessions share one Predictor (Streamlit runs each session's script in a thread of its own).
Their small requests go through a micro-batcher: one worker thread per Predictor takes what is
waiting, waits at most ``window_s`` after the oldest request for more (until ``max_rows`` rows),
and runs them as one batched call of the traced graph; each caller gets its own rows back.
Requests that queue while a call runs go in the next call without further wait, so batches
grow with the load; and the window is waited only when another thread sent a request shortly
before, so a lone caller's request goes at once, through the XLA one-image path.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np
import tensorflow as tf


log = logging.getLogger(__name__)


class _Request:
    __slots__ = ("x", "arrived", "wait_s", "done", "result", "error")

    def __init__(self, x: np.ndarray):
        self.x, self.arrived, self.done = x, time.perf_counter(), threading.Event()
        self.wait_s = 0.0  # how long it may wait for others (set under the batcher's lock)
        self.result = self.error = None


class MicroBatcher:
    """Gathers concurrent calls of ``run`` (arrays of rows) into one call on their rows stacked.

    ``__call__`` blocks until the caller's own rows come back, or raises the exception that the
    call raised for them. The oldest request waits ``window_s`` for others only when another
    thread sent one within ``busy_s`` before it (several users at work). The worker thread
    starts on the first request and ends after ``idle_s`` without any, so an unused Predictor
    holds no thread.
    When a batched call fails, each request in it is run alone, so an exception reaches only the
    caller whose rows cause it.
    """

    def __init__(self, run, window_s: float = 0.002, max_rows: int = 32, busy_s: float = 0.1,
                 idle_s: float = 5.0):
        self._run, self.window_s, self.max_rows = run, window_s, max_rows
        self._busy_s, self._idle_s = busy_s, idle_s
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._arrivals: dict[int, float] = {}  # thread -> its last request's arrival, if recent
        self._worker_alive = False
        self.calls = 0  # batched calls run, and the requests they answered
        self.requests = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        request = _Request(x)
        with self._cond:
            self._arrivals = {t: a for t, a in self._arrivals.items() if request.arrived - a < self._busy_s}
            if self._arrivals.keys() - {threading.get_ident()}:  # another caller at work: wait for company
                request.wait_s = self.window_s
            self._arrivals[threading.get_ident()] = request.arrived
            self._pending.append(request)
            if not self._worker_alive:
                self._start_worker()
            self._cond.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def _start_worker(self) -> None:
        self._worker_alive = True
        threading.Thread(target=self._work, name="micro-batcher", daemon=True).start()

    def _work(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                self._answer(batch)
        except BaseException:  # not an error of the model's (those go to the callers): hand over
            with self._cond:
                self._worker_alive = False
                if self._pending:
                    self._start_worker()
            raise

    def _next_batch(self) -> list[_Request] | None:
        """The requests to run together (oldest first, at most ``max_rows`` rows, one at least);
        None when none came for ``idle_s`` (the worker then ends)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending, timeout=self._idle_s):
                self._worker_alive = False
                return None
            deadline = self._pending[0].arrived + self._pending[0].wait_s
            while self._rows() < self.max_rows and (left := deadline - time.perf_counter()) > 0:
                self._cond.wait(left)
            batch, rows = [], 0
            while self._pending and (not batch or rows + len(self._pending[0].x) <= self.max_rows):
                rows += len(self._pending[0].x)
                batch.append(self._pending.pop(0))
            return batch

    def _rows(self) -> int:
        return sum(len(r.x) for r in self._pending)

    def _answer(self, batch: list[_Request]) -> None:
        self.calls += 1
        self.requests += len(batch)
        try:
            out = self._run(np.concatenate([r.x for r in batch]) if len(batch) > 1 else batch[0].x)
            ends = np.cumsum([len(r.x) for r in batch])
            for r, rows in zip(batch, np.split(out, ends[:-1])):
                r.result = rows
        except Exception as e:  # noqa: BLE001 - handed to the callers
            if len(batch) == 1:
                batch[0].error = e
            else:  # whose rows failed? each alone: the others still get theirs
                for r in batch:
                    self._answer([r])
                return
        finally:
            for r in batch:
                if r.result is None and r.error is None:
                    r.error = RuntimeError("the micro-batcher got no result")
                r.done.set()


class Predictor:
    """Runs ``model`` on ``(N, 28, 28, 1) float32`` arrays; returns NumPy arrays.

    Traced once, at construction, for any batch size, so the first user request does not
    pay for tracing; one-image calls switch to the XLA-compiled copy once it is ready
    (``xla_done`` is set when compiling ends, ``uses_xla`` says whether it succeeded).
    Safe to share between sessions and threads: calls of fewer than ``max_rows`` images from
    several threads at once are batched into one model call (``MicroBatcher``; ``window_s`` 0
    turns the wait off, ``batching=False`` the batcher; by default it is on unless the environment
    sets ``DAE_MICROBATCH=0``, for measuring with and without it).
    """

    def __init__(self, model, compile_single_image: bool = True, batching: bool | None = None,
                 window_s: float = 0.002, max_rows: int = 32):
        if batching is None:
            batching = os.environ.get("DAE_MICROBATCH", "1") != "0"
        self.model = model
        self._image_shape = tuple(model.input_shape[1:])
        spec = tf.TensorSpec((None, *self._image_shape), tf.float32, name="images")
        self._graph = tf.function(self._forward, input_signature=[spec])
        self._single_image = None
        self.batcher = MicroBatcher(self._run, window_s, max_rows) if batching else None
        self.xla_done = threading.Event()
        self._run(np.zeros((1, *self._image_shape), np.float32))  # trace and warm up now
        if compile_single_image:
            # Not a daemon: exiting mid-compile would tear TensorFlow down under it.
            threading.Thread(target=self._compile_single_image, name="xla-single-image").start()
        else:
            self.xla_done.set()

    def _forward(self, x):
        return self.model(x, training=False)

    def _compile_single_image(self) -> None:
        """Compile the one-image XLA graph; on any failure keep the traced graph for all."""
        spec = tf.TensorSpec((1, *self._image_shape), tf.float32, name="image")
        compiled = tf.function(self._forward, input_signature=[spec], jit_compile=True)
        try:
            compiled(tf.zeros((1, *self._image_shape)))
            self._single_image = compiled
        except Exception as e:  # noqa: BLE001 - an op XLA cannot compile: the graph still works
            log.warning("XLA could not compile %s (%s); one image uses the traced graph",
                        self.model.name, e)
        finally:
            self.xla_done.set()

    @property
    def uses_xla(self) -> bool:
        return self._single_image is not None

    def _run(self, x: np.ndarray) -> np.ndarray:
        """One model call, in this thread: XLA for one image once it is ready, else the graph."""
        fn = self._single_image if len(x) == 1 and self.uses_xla else self._graph
        return fn(tf.constant(x, tf.float32)).numpy()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        batchable = (self.batcher is not None and x.shape[1:] == self._image_shape
                     and 0 < len(x) < self.batcher.max_rows)
        return self.batcher(x) if batchable else self._run(x)

    def predict(self, x: np.ndarray, batch_size: int = 1000, verbose: int = 0) -> np.ndarray:
        """``model.predict``'s interface, so ``dae_core.evaluate`` functions accept a Predictor."""
        del verbose  # nothing to report: batches are few and fast
        return np.concatenate([self(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
