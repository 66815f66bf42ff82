#!/usr/bin/env bash
# The test command: install what the tests need (Debian's Chromium, the dev requirements, this
# package), find the datasets, then run ruff and the whole suite (arguments go to pytest).
# Datasets: $DAE_DATA_DIR when set; otherwise Keras's cache, downloading when online.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -e .
if ! python -m dae_core data --download; then
  echo "The tests need the full MNIST and Fashion-MNIST. Point DAE_DATA_DIR at a folder holding" \
       "mnist/ and fashion-mnist/ (the four IDX .gz files each), or go online for Keras's download." >&2
  exit 2
fi
export DAE_DATA_DIR="${DAE_DATA_DIR:-$(python -c 'from dae_core import settings; print(settings.keras_datasets_dir())')}"
ruff check .
python -m pytest "$@"
