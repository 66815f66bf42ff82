"""How fast the Compare page opens and changes model: in a real Chromium on a real server, and
the server's share alone (the page's script run under Streamlit's AppTest).

    python -m benchmarks compare [--baseline DIR] [--pair A B] [--switch-to C] [--no-browser]

Seconds from asking (the address entered, a model chosen) to the page drawn (every chart and
image), for: the first open with nothing cached, a change of the Task 2 model to one not seen
yet, the change back, the page opened again in a new session, then the server restarted and
the page opened and changed once more (its predictions then come from the disk cache only).
Where the page has its sections in tabs (one drawn at a time), also the first chart shown: the
"Training curves" tab opened in that new session (plotly's script loads then); "-" where the
checkout has no such tab.
The same steps under AppTest time the script runs alone (no browser drawing), each "server" a
fresh Python process.
``--baseline DIR``: the same steps on another checkout of the lab (``git archive COMMIT | tar -x
-C DIR``), run first, so both sets of figures come from the same machine under the same load.
Uses models/ (or $DAE_MODELS_DIR), the bundled test sets, empty temporary runs and cache folders.
Needs Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from dae_core import settings
from dae_core.models import catalog
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    free_port,
    start_app,
    stop,
    wait_for_app,
    wait_healthy,
)

GOAL = {"open": 5.0, "switch": 1.0}  # seconds, issue 26: open a shipped pair; switch once cached


def drawn_after(page, start: float, name: str) -> float:
    """Seconds from ``start`` until the page shows ``name``'s figures and has drawn everything."""
    page.get_by_text(f"Test accuracy — {name}", exact=True).wait_for(timeout=600_000)
    return wait_for_app(page, timeout_s=600, poll_ms=50) - start


def open_compare(page, url: str, name: str) -> float:
    start = time.time()
    page.goto(f"{url}/compare")
    return drawn_after(page, start, name)


def choose(page, key: str, label: str, name: str) -> float:
    """Choose ``label`` in the selectbox ``key``; seconds until ``name``'s figures are drawn."""
    page.locator(f".st-key-{key} [role='combobox']").click()
    option = page.get_by_role("option", name=label, exact=True)
    start = time.time()
    option.click()
    return drawn_after(page, start, name)


CHART_TAB = "Training curves"


def open_tab(page, label: str) -> float | None:
    """Click the tab ``label``; seconds until its first chart is drawn (None: no such tab)."""
    tab = page.get_by_role("tab", name=label, exact=True)
    if not tab.count():
        return None
    start = time.time()
    tab.click()
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=600_000)
    return wait_for_app(page, timeout_s=600, poll_ms=50) - start


def server(project: Path, env: dict, log):
    """A started server of ``project`` and its URL."""
    port = free_port()
    proc = start_app(port, env, log, project)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, timeout_s=180)
    return proc, url


# The AppTest steps, run as ``python -c`` in the measured checkout (the baseline has no such module):
# argv[1] is "fresh" (open, change, change back, new session) or "restart" (open, change).
APPTEST_STEPS = """
import json, os, sys, time
from streamlit.testing.v1 import AppTest
phase, a, other = sys.argv[1:4]

def opened():
    at = AppTest.from_file(os.path.abspath("app.py"), default_timeout=900)
    at.switch_page("pages/compare.py")
    start = time.time()
    at.run()
    assert not at.exception, at.exception
    return at, time.time() - start

def choose(at, name):
    start = time.time()
    at.selectbox(key="compare_model_a").select(name + " (shipped)").run()
    assert not at.exception and any(m.label == "Test accuracy — " + name for m in at.metric)
    return time.time() - start

at, first = opened()
times = [first, choose(at, other)]
if phase == "fresh":
    times += [choose(at, a), opened()[1]]
print(json.dumps(times))
"""


def apptest_steps(project: Path, env: dict, a: str, other: str) -> list[float]:
    """The page's script-run times under AppTest: a fresh process, then a "restarted" one."""
    times = []
    for phase in ("fresh", "restart"):
        done = subprocess.run([sys.executable, "-c", APPTEST_STEPS, phase, a, other], cwd=project,
                              env={**env, "PYTHONPATH": str(project)}, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"AppTest steps failed in {project}:\n{done.stderr[-3000:]}")
        times += json.loads(done.stdout.strip().splitlines()[-1])
    return times


def environment(models_dir: Path) -> dict:
    """Fresh runs and cache folders, the bundled test sets."""
    folder = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    env = {**os.environ, settings.RUNS_DIR_ENV: str(folder / "runs"), settings.MODELS_DIR_ENV: str(models_dir),
           settings.CACHE_DIR_ENV: str(folder / "cache"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop(settings.DATA_DIR_ENV, None)  # the bundled test sets, as on a fresh clone
    return env


STEPS = ("first open, nothing cached", "change to {other}, not cached", "change back to {a}, seen before",
         "open in a new session, same server", "first open after a server restart",
         "change to {other} after the restart", f"then the {CHART_TAB} tab (first chart)")


def measure(pw, project: Path, pair: tuple[str, str], other: str, models_dir: Path) -> list[float | None]:
    """The steps on a server of ``project`` with fresh runs and cache folders: seconds each (None
    for a step the checkout's page has not)."""
    a, b = pair
    env = environment(models_dir)
    folder = Path(env[settings.RUNS_DIR_ENV]).parent
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    results = []
    try:
        with open(folder / "streamlit.log", "w") as log:
            proc, url = server(project, env, log)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url)  # the Overview first, as a visitor arrives; then Compare
                wait_for_app(page)
                results.append(open_compare(page, url, a))
                results.append(choose(page, "compare_model_a", f"{other} (shipped)", other))
                results.append(choose(page, "compare_model_a", f"{a} (shipped)", a))
                page.close()
                page = browser.new_page(viewport=VIEWPORT)
                results.append(open_compare(page, url, a))
                page.close()
            finally:
                stop(proc)
            proc, url = server(project, env, log)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url)
                wait_for_app(page)
                results.append(open_compare(page, url, a))
                results.append(choose(page, "compare_model_a", f"{other} (shipped)", other))
                results.append(open_tab(page, CHART_TAB))
            finally:
                stop(proc)
    finally:
        browser.close()
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of the lab to measure first, beside this one")
    parser.add_argument("--pair", nargs=2, default=("task2-improved", "task3-improved"), metavar=("TASK2", "TASK3"),
                        help="the shipped models the page opens on (its default: the first shipped of each task)")
    parser.add_argument("--switch-to", default="task2-seed", help="the shipped Task 2 model to change to")
    parser.add_argument("--no-browser", action="store_true", help="the AppTest script runs only")
    args = parser.parse_args(argv)

    models_dir = catalog.default_models_dir()
    shipped = {e.name: e for e in catalog.shipped_models(models_dir)}
    firsts = [next(e.name for e in shipped.values() if e.task == task) for task in ("task2", "task3")]
    if list(args.pair) != firsts or args.switch_to not in shipped:
        raise SystemExit(f"{models_dir}: the page opens on {firsts}; --pair must name them and "
                         f"--switch-to a shipped Task 2 model")
    a, other = args.pair[0], args.switch_to
    projects = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("this", settings.PROJECT_ROOT)]
    columns = {}
    for label, project in projects:
        columns[f"{label}, AppTest"] = apptest_steps(project, environment(models_dir), a, other)
    if not args.no_browser:
        with sync_playwright() as pw:
            for label, project in projects:
                columns[f"{label}, Chromium"] = measure(pw, project, tuple(args.pair), other, models_dir)
    print(f"models: {models_dir}  |  pair: {' / '.join(args.pair)}  |  CPUs: {os.cpu_count()}  |  load average: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    steps = [step.format(a=a, other=other) for step in STEPS]
    width = max(map(len, steps))
    print(f"{'seconds to the page drawn'.ljust(width)}  " + "  ".join(f"{label:>16s}" for label in columns))
    for i, step in enumerate(steps):
        cells = [values[i] if i < len(values) else None for values in columns.values()]
        print(f"{step.ljust(width)}  " + "  ".join("-".rjust(16) if v is None else f"{v:16.2f}" for v in cells))
    print(f"goal (issue 26): opens in at most {GOAL['open']:.0f} s, changes model in at most {GOAL['switch']:.0f} s "
          "once cached")
