"""The Denoise page under load: N sessions at once against one server (a benchmark, not a test).

    python -m benchmarks load --sessions 1,4,8,20 --seconds 60     (from the project folder)
    python -m benchmarks load --sessions 4,8 --browsers all        (every session a Chromium page)

Starts one `streamlit run app.py` (models/ or $DAE_MODELS_DIR, $DAE_DATA_DIR, an empty temporary
runs folder) and, for each session count N, opens N sessions on the Denoise page: ``--browsers``
of them in one Chromium (a context each: independent Streamlit sessions), the others as protocol
sessions (scripts/stream_client: the browser's own websocket messages and upload requests, without
a page to draw; 20 Chromium pages alone need more CPU than a small machine has, and would measure
the client, not the server). Each repeats for ``--seconds``: two strokes on the canvas (a different
one each time), then an upload of an MNIST test digit as a photo-like PNG. A browser session times
each from mouse up / file chosen to the "Denoised" image drawn anew, in the page's own clock
(measure_ui's WATCH); a protocol session from its message sent (the upload begun) to that image
received and decoded, then waits ``--think`` seconds. Counts error alerts, exceptions shown, lost
sessions (the socket closed, "Connection error", or an action not answered within --timeout) and
prints a row per session count with the server's memory (streamlit and children), the CPU it and
the clients (Chromium, Playwright, this script) used, and the machine's load. Localhost only;
every loop is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.measure_ui import WATCH, tree_rss_mib
from dae_core import settings
from dae_core.data import datasets
from dae_core.models import catalog
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    draw_stroke_async,
    free_port,
    start_app,
    stop,
    wait_for_app_async,
    wait_healthy,
)
from tests.support.stream_client import Run, StreamSession, canvas_value

UPLOAD_EVERY = 3  # every third action an upload, the others strokes
LOST_TEXT = "() => [...document.querySelectorAll('[role=dialog]')].some(d => /Connection error/.test(d.innerText))"


class Session:
    """One session's counts and latencies (ms); ``browser``: a Chromium page, else a protocol session."""

    def __init__(self, browser: bool):
        self.browser = browser
        self.stroke_ms: list[float] = []
        self.upload_ms: list[float] = []
        self.errors = self.exceptions = 0
        self.ready = self.running = self.lost = False
        self.note = ""

    def socket_closed(self) -> None:
        if self.running:
            self.lost, self.note = True, self.note or "socket closed"


def photo_png(digit: np.ndarray) -> bytes:
    """An MNIST digit as a photo-like PNG: dark ink on white paper, large, off centre."""
    ink = Image.fromarray(255 - digit).resize((224, 224), Image.Resampling.BILINEAR)
    paper = Image.new("L", (400, 300), 255)
    paper.paste(ink, (40, 50))
    buffer = io.BytesIO()
    paper.save(buffer, format="PNG")
    return buffer.getvalue()


async def choose_source(page, source: str, timeout_s: float) -> None:
    await page.locator(".st-key-denoise_source").get_by_text(source, exact=True).click()
    await wait_for_app_async(page, timeout_s=timeout_s, settle_s=0.2)


async def clear_canvas(page, timeout_s: float) -> None:
    """The canvas's own bin button: strokes that do not touch are dropped as stray marks, so
    each round of strokes starts on a clear canvas."""
    await page.locator(".st-key-denoise_canvas").hover()
    await page.locator('.st-key-denoise_canvas [title="Reset canvas & history"]').click()
    await wait_for_app_async(page, timeout_s=timeout_s, settle_s=0.2)


def stroke_points(i: int) -> list[tuple[float, float]]:
    """A different stroke each time, so the image always changes: first a bent upright one, then
    one across it (joined to it, so it stays part of the digit). Fractions of the canvas size."""
    x, y = 0.35 + 0.03 * (i % 10), 0.3 + 0.04 * (i % 10)
    return [(x, 0.15), (x + 0.1 * (i % 3 - 1), 0.5), (x, 0.85)] if i % 2 == 0 else [(0.15, y), (0.85, y)]


async def stroke(page, i: int) -> str:
    await draw_stroke_async(page, stroke_points(i))
    return "up"


async def upload(page, png: bytes) -> str:
    await page.locator(".st-key-denoise_upload input[type=file]").set_input_files(
        files=[{"name": "digit.png", "mimeType": "image/png", "buffer": png}])
    return "chosen"


async def timed_action(page, act, timeout_s: float) -> float:
    """ms from the mark ``act`` sets to the new "Denoised" image drawn; then the run's end."""
    await page.evaluate(WATCH)
    start_key = await act
    await page.wait_for_function("() => window.__dae.drawn !== null", timeout=timeout_s * 1000)
    marks = await page.evaluate("() => window.__dae")
    try:
        await wait_for_app_async(page, timeout_s=timeout_s, settle_s=0.1)
    except AssertionError as e:
        if "shows an exception" not in str(e):  # shown ones are counted, and the session goes on
            raise
    return marks["drawn"] - marks[start_key]


async def count_alerts(page, s: Session) -> None:
    s.exceptions += await page.get_by_test_id("stException").count()
    s.errors += await page.locator('[data-testid="stAlertContentError"]').count()
    if await page.evaluate(LOST_TEXT):
        s.lost, s.note = True, "Connection error shown"


def next_action(n: int, i: int) -> tuple[str, int]:
    """Session ``n``'s action ``i``: its source ("Draw" or "Upload") and its stroke or digit number."""
    if i % UPLOAD_EVERY == UPLOAD_EVERY - 1:
        return "Upload", n * 97 + i
    return "Draw", i % UPLOAD_EVERY + 2 * (n + i // UPLOAD_EVERY)


async def run_session(browser, url: str, n: int, start: asyncio.Event, args, digits: np.ndarray,
                      s: Session) -> None:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.on("websocket", lambda ws: ws.on("close", lambda _: s.socket_closed()))
    try:
        await page.goto(f"{url}/denoise", timeout=args.timeout * 1000)
        await wait_for_app_async(page, timeout_s=args.timeout)
        s.ready = True
        await start.wait()
        s.running, deadline, i, source = True, time.time() + args.seconds, 0, "Draw"
        while time.time() < deadline and not s.lost:
            want, k = next_action(n, i)
            if want != source:
                await choose_source(page, want, args.timeout)
                if want == "Draw":
                    await clear_canvas(page, args.timeout)
                source = want
            act = upload(page, photo_png(digits[k % len(digits)])) if want == "Upload" else stroke(page, k)
            ms = await timed_action(page, act, args.timeout)
            (s.upload_ms if want == "Upload" else s.stroke_ms).append(ms)
            await count_alerts(page, s)
            i += 1
    except Exception as e:  # noqa: BLE001 - a session that stops answering is a lost session
        s.lost, s.note = True, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
        with contextlib.suppress(Exception):  # the page may be gone
            await count_alerts(page, s)
    finally:
        s.running = False
        await context.close()


async def draw(client: StreamSession, strokes: list) -> Run:
    """The canvas's new value sent: the strokes so far, as the canvas encodes them (PNG and all)."""
    return await client.set_widget("denoise_canvas", json_value=canvas_value(strokes))


async def settle(client: StreamSession, act, timeout_s: float, s: Session, timed: bool = True) -> float:
    """ms from ``act`` begun to its run's "Denoised" image received and decoded (``timed``: one
    is due); then the run's end, its error alerts and exceptions counted."""
    start = time.perf_counter()
    async with asyncio.timeout(timeout_s):
        run = await act
        url = await run.denoised if timed else None
        if timed and url is None:
            raise AssertionError("the run sent no new Denoised image")
        if url:
            await client.fetch_image(url)
        ms = (time.perf_counter() - start) * 1000
        await run.finished
    s.errors, s.exceptions = s.errors + run.errors, s.exceptions + run.exceptions
    return ms


async def run_protocol_session(url: str, n: int, start: asyncio.Event, args, digits: np.ndarray,
                               s: Session) -> None:
    """``run_session``'s cycle as a protocol session: the same actions, source switches and canvas
    clears, as the messages the browser sends for them (scripts/stream_client)."""
    client = StreamSession(url, "denoise")
    try:
        await client.open(args.timeout)
        s.ready = True
        await start.wait()
        s.running, deadline, i, source, strokes = True, time.time() + args.seconds, 0, "Draw", []
        while time.time() < deadline:
            want, k = next_action(n, i)
            if want != source:  # untimed, as in the browser session
                await settle(client, client.set_widget("denoise_source", string_value=want), args.timeout, s,
                             timed=False)
                if want == "Draw":
                    strokes = []
                    await settle(client, draw(client, strokes), args.timeout, s, timed=False)
                source = want
            if want == "Draw":
                strokes.append(stroke_points(k))
            act = draw(client, strokes) if want == "Draw" else \
                client.upload("denoise_upload", "digit.png", photo_png(digits[k % len(digits)]))
            (s.upload_ms if want == "Upload" else s.stroke_ms).append(await settle(client, act, args.timeout, s))
            i += 1
            await asyncio.sleep(args.think)
    except Exception as e:  # noqa: BLE001 - a session that stops answering is a lost session
        s.lost, s.note = True, client.closed or f"{type(e).__name__}: {e}"[:120]
    finally:
        s.running = False
        await client.close()


def cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants, the ended ones included."""
    ticks: dict[int, tuple[int, int]] = {}  # pid -> (parent, user + system, own and ended children's)
    for entry in Path("/proc").iterdir():
        try:
            f = (entry / "stat").read_text().rsplit(")", 1)[1].split() if entry.name.isdigit() else None
        except OSError:
            continue
        if f:
            ticks[int(entry.name)] = (int(f[1]), sum(int(t) for t in f[11:15]))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += ticks.get(p, (0, 0))[1]
        todo += [c for c, (parent, _) in ticks.items() if parent == p]
    return total / os.sysconf("SC_CLK_TCK")


def spread(ms: list[float]) -> str:
    if not ms:
        return f"{'-':>23}"
    return f"{np.percentile(ms, 50):7.0f} {np.percentile(ms, 95):7.0f} {max(ms):7.0f}"


async def run_phase(browser, url: str, pid: int, n: int, args, digits: np.ndarray) -> str:
    """``n`` sessions at once for ``args.seconds``, started together once all are open; the row.
    The first ``args.browsers`` (all: None) are browser sessions, the others protocol sessions."""
    browsers = n if args.browsers is None else min(n, args.browsers)
    sessions, start = [Session(browser=k < browsers) for k in range(n)], asyncio.Event()
    tasks = [asyncio.create_task(run_session(browser, url, k, start, args, digits, s) if s.browser
                                 else run_protocol_session(url, k, start, args, digits, s))
             for k, s in enumerate(sessions)]
    while not all(s.ready or t.done() for s, t in zip(sessions, tasks)):
        await asyncio.sleep(0.2)
    start.set()
    server0, all0, t0, rss = cpu_seconds(pid), cpu_seconds(os.getpid()), time.time(), 0.0
    while not all(t.done() for t in tasks):
        rss = max(rss, tree_rss_mib(pid))
        await asyncio.sleep(1)
    server = (cpu_seconds(pid) - server0) / (time.time() - t0)
    client = (cpu_seconds(os.getpid()) - all0) / (time.time() - t0) - server
    by_kind = [sum((s.stroke_ms + s.upload_ms for s in sessions if s.browser is kind), []) for kind in (True, False)]
    for k, s in enumerate(sessions):
        print(f"  {'browser' if s.browser else 'protocol'} session {k}: {s.note}" if s.note else "",
              end="\n" if s.note else "")
    return (f"{n:8d} {browsers:4d} {sum(map(len, by_kind)):7d}  {spread(by_kind[0])}  {spread(by_kind[1])}  "
            f"{sum(s.errors for s in sessions):6d} {sum(s.exceptions for s in sessions):4d} "
            f"{sum(s.lost for s in sessions):4d}  {rss:7.0f}  {server:4.2f} {client:4.2f}  {os.getloadavg()[0]:4.1f}")


HEADER = ("sessions brws actions  browser ms p50/p95/max  protocol ms p50/p95/max  errors  exc lost  RSS MiB  "
          "server client  load\n-------- ---- -------  {0}  {0}  ------ ---- ----  -------  "
          "------ ------  ----").format("-" * 23)


async def load_test(args) -> None:
    from playwright.async_api import async_playwright

    models_dir = catalog.default_models_dir()
    runs_dir = Path(tempfile.mkdtemp(prefix="load-test-runs-"))
    env = {**os.environ, settings.RUNS_DIR_ENV: str(runs_dir), settings.MODELS_DIR_ENV: str(models_dir),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    digits = datasets.load_bundled("mnist")[0][:200]  # (28, 28) uint8 each
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(runs_dir / "streamlit.log", "w") as log:
        proc = start_app(port, env, log)
        try:
            wait_healthy(url, proc, timeout_s=180)
            async with async_playwright() as pw:
                browser = None if args.browsers == 0 else await pw.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                await run_phase(browser, url, proc.pid, 1, argparse.Namespace(**{**vars(args), "seconds": 3}),
                                digits)  # warm-up: models loaded, traced, charts cached
                print(f"models: {models_dir}  |  CPUs: {os.cpu_count()}  |  {args.seconds:.0f} s a row  |  "
                      f"brws: browser sessions, the others protocol ones ({args.think:g} s between actions)  |  "
                      "server, client: CPU cores busy (streamlit; Chromium, Playwright and this script)  |  "
                      f"load: 1-min average after the row\n{HEADER}", flush=True)
                for n in args.sessions:
                    print(await run_phase(browser, url, proc.pid, n, args, digits), flush=True)
                if browser:
                    await browser.close()
        finally:
            stop(proc)
    print(f"server log: {runs_dir / 'streamlit.log'}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,4,8,20", help="session counts, one row each")
    parser.add_argument("--seconds", type=float, default=60, help="how long each row runs")
    parser.add_argument("--browsers", default="2", help="browser sessions in each row (or all); the others "
                        "are protocol sessions")
    parser.add_argument("--think", type=float, default=0.5,  # about a browser session's pace here
                        help="a protocol session's pause between actions (s)")
    parser.add_argument("--timeout", type=float, default=60, help="an action unanswered this long: lost")
    args = parser.parse_args(argv)
    args.sessions = [int(n) for n in args.sessions.split(",")]
    args.browsers = None if args.browsers == "all" else int(args.browsers)
    asyncio.run(load_test(args))

