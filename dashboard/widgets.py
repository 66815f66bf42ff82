"""What several pages show the same way: the model picker, errors, tables, images."""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from PIL import Image

from dae_core.errors import LabError
from dae_core.images import imaging
from dae_core.models import catalog

if TYPE_CHECKING:  # pandas is slow to import, and the Overview (the first page) shows no table
    import pandas as pd


def show_error(error: LabError) -> None:
    """Something the user can put right: its message, which names the fix (never a traceback)."""
    st.error(str(error))


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Run a page's body: a ``LabError`` ends it with one error message where it stood.
    Any other exception is a bug, and Streamlit shows it whole."""
    try:
        yield
    except LabError as e:
        show_error(e)


def pick_model(task: str, label: str, key: str, *, preset: str | None = None,
               prefer_preset: str | None = None, none_label: str | None = None,
               help: str | None = None) -> catalog.ModelEntry | None:
    """A selectbox over ``task``'s models, shipped ones first (the default choice).

    ``preset``: offer that preset's models only. ``prefer_preset``: choose its shipped model
    first. ``none_label``: a first choice meaning "no model", returned as None. Without any
    model to offer (and no ``none_label``), shows what to do instead and returns None.
    Study members and archived runs are offered only when already chosen in ``key`` (the Runs
    page opens two in Compare so). Raises ``ModelFileError`` for a damaged manifest.
    """
    chosen = st.session_state.get(key)
    entries = [e for e in catalog.all_models(task=task, include_hidden=True)
               if (preset is None or e.preset == preset) and (not e.hidden or e.label == chosen)]
    if not entries and none_label is None:
        st.warning(catalog.missing_model_hint(task))
        return None
    by_label = {none_label: None} if none_label is not None else {}
    by_label.update((e.label, e) for e in entries)
    default = next((i for i, e in enumerate(by_label.values())
                    if e and e.source == "shipped" and e.preset == prefer_preset), 0)
    return by_label[st.selectbox(label, list(by_label), index=default, key=key, help=help)]


@st.cache_data(max_entries=64, show_spinner=False)
def prepared_upload(data: bytes, form: str) -> tuple[np.ndarray | None, str | None, LabError | None]:
    """``imaging.prepare_upload`` kept by the bytes' hash: a rerun that does not change the
    upload (another seed, noise or model) neither decodes nor prepares it again. An error is
    returned, not raised, so that it is kept too."""
    try:
        return (*imaging.prepare_upload(data, form), None)
    except imaging.ImageError as e:
        return None, None, e


FORM_NAMES = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
THUMBNAIL_SIDE = 280


@st.cache_data(max_entries=16, show_spinner=False)
def upload_thumbnail(data: bytes) -> str | None:
    """The uploaded picture as it is (upright, transparency kept), at most ``THUMBNAIL_SIDE``
    pixels a side, as a data URL; None when it cannot be decoded (``prepared_upload`` says why)."""
    try:
        img = imaging.load_upload(data)
    except imaging.ImageError:
        return None
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # high bit depth: scaled as the lab reads it
        img = Image.fromarray(np.round(imaging.to_grey_float(img) * 255).astype(np.uint8))
    img.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    transparent = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    img = img.convert("RGBA" if transparent else "RGB")
    buffer = io.BytesIO()  # a photo as JPEG: a tenth of the PNG's size, resent on every rerun
    img.save(buffer, format="PNG" if transparent else "JPEG", quality=90)
    return f"data:image/{'png' if transparent else 'jpeg'};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def uploaded_image(label: str, key: str, form: str, show_original: bool = False) -> np.ndarray | None:
    """A file uploader; the upload in ``form`` ("mnist" or "fashion", see ``imaging``), or None
    while there is none, or after one message saying why it cannot be used (the page goes on).
    ``show_original``: the picture as uploaded, beside its 28 x 28 form."""
    upload = st.file_uploader(label, key=key)
    if upload is None:
        return None
    data = upload.getvalue()
    image, note, error = prepared_upload(data, form)
    if error is not None:
        show_error(error)
        return None
    if note:
        st.info(note)
    if show_original:
        original, prepared = st.columns(2, vertical_alignment="center")
        thumbnail = upload_thumbnail(data)
        if thumbnail:
            original.image(thumbnail, caption="As uploaded", width="stretch")
        show_image(image, f"Its {FORM_NAMES[form]} form, 28 x 28", prepared)
    return image


def show_table(table: pd.DataFrame, name: str, page: str) -> None:
    """The table, figures to 4 decimals like the assignment's, and its CSV download."""
    decimals = {c: st.column_config.NumberColumn(format="%.4f") for c in table.select_dtypes("float")}
    st.dataframe(table, hide_index=True, column_config=decimals, height="content", placeholder="—")
    download_csv(table, name, page)


def download_csv(table: pd.DataFrame, name: str, page: str) -> None:
    """A button that downloads ``table`` as ``<name>.csv`` (widget key ``<page>_csv_<name>``)."""
    st.download_button(f"Download {name}.csv", table.to_csv(index=False), file_name=f"{name}.csv",
                       mime="text/csv", key=f"{page}_csv_{name}", on_click="ignore")


def png_data_url(pixels: np.ndarray) -> str:
    """uint8 pixels (H, W) or (H, W, 3) as a PNG data URL. A data URL, unlike the /media/ URL
    that ``st.image`` makes of an array, is drawn without a second request to the server (a
    canvas stroke waits for it) and never goes stale: Streamlit deletes a media file once a
    later run no longer shows it, and a browser still asking for it then gets a 404."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)  # speed over size
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"


def show_image(img: np.ndarray, caption: str, container=st) -> None:
    """A (28, 28[, 1]) image in [0, 1], enlarged with sharp pixels, as a PNG data URL (lossless)."""
    container.image(png_data_url(imaging.to_display(img)), caption=caption)
