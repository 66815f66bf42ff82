"""DAE Lab: page set-up, navigation over pages/, and a small status in the sidebar."""

import streamlit as st

from dae_core import catalog
from dae_core.status import device_description
from page_support import keep_tensorflow_kernels

keep_tensorflow_kernels()
st.set_page_config(page_title="DAE Lab", page_icon=":material/blur_on:", layout="wide")

page = st.navigation([
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/denoise.py", title="Denoise", icon=":material/auto_fix_high:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/garment.py", title="Garment", icon=":material/checkroom:"),
])

with st.sidebar:
    # Before any page loads a model: this also keeps the dashboard from taking all GPU memory.
    st.caption(f"Device: {device_description()}")
    try:
        st.caption(f"Models: {len(catalog.all_models())}")
    except ValueError as e:  # a damaged manifest; the page shows the fix too
        st.caption(f"Models: unreadable ({e})")

page.run()
