"""A machine without the datasets and without the internet, for any test: the environment that
makes the lab find no data folder, an empty Keras cache, and every download refused.

A download is refused by a proxy on a closed local port (urllib, and so Keras's download and the
lab's check of it, take the proxy from the environment): the same on a machine that is online.
"""

from __future__ import annotations

import socket
from pathlib import Path

from dae_core import settings
from dae_core.data.datasets import IDX_FILES

PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")


def closed_port() -> int:
    """A local port nothing listens on (it was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def offline_env(folder: Path) -> dict[str, str]:
    """Environment variables for no data and no download; ``folder`` gets an empty data folder
    (``data``) and an empty Keras home (``keras``)."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "keras").mkdir(parents=True, exist_ok=True)
    proxy = f"http://127.0.0.1:{closed_port()}"
    return {settings.DATA_DIR_ENV: str(folder / "data"), "KERAS_HOME": str(folder / "keras"),
            "no_proxy": "", "NO_PROXY": "", **{name: proxy for name in PROXY_VARIABLES}}


def findable_data(folder: Path) -> Path:
    """``folder`` as a data folder the Train page finds both datasets in, before Start. The files
    are empty stand-ins: the page looks for them, only a run reads them."""
    for name in ("mnist", "fashion-mnist"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / IDX_FILES["train_images"]).touch()
    return folder
