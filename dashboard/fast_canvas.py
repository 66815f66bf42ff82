"""streamlit-drawable-canvas, sending each stroke to the server without its 200 ms wait.

The canvas (0.13) waits a fixed 200 ms after a stroke before it sends the drawing
(``Bc = 200`` in its bundle, not a parameter): two thirds of the Denoise page's 300 ms
budget from stroke to denoised image. This module copies the installed bundle with that
delay lowered, registers the copy as a component of its own and points ``st_canvas`` at it.
Where the bundle has no such constant (another version), the stock canvas is used as it is.
The canvas imports only under a Streamlit runtime, so it is imported on first use.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

import streamlit as st

SEND_DELAY_MS = 20  # still one send per burst of changes (an undo, a clear), not per event
STOCK_DELAY = "}, Bc = 200, Ar = (e) => {"
COMPONENT = "dae-lab.fast_canvas"
LIBRARY = "streamlit-drawable-canvas"

_log = logging.getLogger(__name__)


def patched_bundle(stock_dir: Path, cache_root: Path) -> Path | None:
    """A copy of the canvas's ``frontend/build`` with the send delay lowered, made once per
    library version in ``cache_root``; None when the stock bundle has no delay to lower."""
    (stock_js,) = stock_dir.glob("index-*.js")
    source = stock_js.read_text(encoding="utf-8")
    if source.count(STOCK_DELAY) != 1:
        return None
    target = cache_root / f"fast-canvas-{importlib.metadata.version(LIBRARY)}-{SEND_DELAY_MS}ms"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_root))
        shutil.copytree(stock_dir, staging, dirs_exist_ok=True)
        (staging / stock_js.name).write_text(
            source.replace(STOCK_DELAY, STOCK_DELAY.replace("200", str(SEND_DELAY_MS))), encoding="utf-8")
        try:
            os.rename(staging, target)  # atomic: another server may be doing the same
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def stock_bundle() -> Path:
    """The installed canvas's ``frontend/build`` folder, found without importing it."""
    (package_dir,) = importlib.util.find_spec("streamlit_drawable_canvas").submodule_search_locations
    return Path(package_dir) / "frontend" / "build"


@functools.cache
def fast_bundle() -> Path | None:
    """The patched copy for this process, in the user's cache; None: use the stock canvas."""
    cache_root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dae-lab"
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        bundle = patched_bundle(stock_bundle(), cache_root)
    except (OSError, ValueError):  # an unwritable cache, an unexpected bundle layout
        _log.exception("fast canvas unavailable; stock canvas used")
        return None
    if bundle is None:
        _log.warning("%s %s: send delay not found; stock canvas used",
                     LIBRARY, importlib.metadata.version(LIBRARY))
    return bundle


@functools.cache
def _declare():
    return st.components.v2.component(COMPONENT, js="index-*.js", css="index-*.css",
                                      html='<div class="canvas-root"></div>', isolate_styles=True)


def install() -> bool:
    """Point the library's ``st_canvas`` at the fast copy; False: the stock canvas stays.

    The copy's folder is declared to the running Streamlit as a package's pyproject.toml
    would declare it; each runtime (a server; every AppTest has its own) needs it once.
    """
    import streamlit_drawable_canvas as drawable_canvas
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
    from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

    bundle = fast_bundle()
    if bundle is None:
        return False
    manager = get_bidi_component_manager()
    if manager.get_component_asset_root(COMPONENT) is None:
        name, component = COMPONENT.split(".")
        manager.register_from_manifest(
            ComponentManifest(name=name, version=importlib.metadata.version(LIBRARY),
                              components=[ComponentConfig(name=component, asset_dir=".")]), bundle)
    drawable_canvas.out = _declare()
    return True


def st_canvas(**kwargs):
    """The library's ``st_canvas``, through the fast copy where it could be installed."""
    try:
        install()
    except Exception:  # noqa: BLE001 - Streamlit's component internals changed: stock canvas
        _log.exception("fast canvas not registered; stock canvas used")
    from streamlit_drawable_canvas import st_canvas as stock_st_canvas

    return stock_st_canvas(**kwargs)
