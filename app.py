"""DAE Lab: page set-up, navigation over pages/, and a small status in the sidebar.

Imports no TensorFlow: the Overview is drawn without it, while it loads in the background.
"""

from pathlib import Path

import streamlit as st

from dae_core.models import catalog
from dashboard import runtime
from dashboard.navigation import PAGES

ICON = Path(__file__).parent / "dashboard" / "static" / "icon.png"  # served by the app itself

runtime.keep_keras_session()
st.set_page_config(page_title="DAE Lab", page_icon=ICON, layout="wide")

page = st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=p is PAGES[0]) for p in PAGES])


def show_device(waiting: bool) -> None:
    """The device once TensorFlow has loaded; ``waiting`` (polled): rerun the app once it has."""
    device = runtime.device()
    if waiting and device:
        st.rerun()  # the whole app, once: a fragment's polling stops only so
    st.caption(f"Device: {device or 'detecting…'}")


with st.sidebar:
    waiting = runtime.device() is None
    st.fragment(show_device, run_every=3.0 if waiting else None)(waiting)
    st.caption(f"Models: {len(catalog.all_models())}")
    for problem in catalog.manifest_problems():  # a damaged entry is left out; the rest works on
        st.warning(problem)

try:
    page.run()
finally:  # after the page: its first drawing does not share the CPU with the import
    runtime.start_tensorflow()
