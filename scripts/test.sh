#!/usr/bin/env bash
# Install what the tests need (Debian's Chromium, the Python packages) and run them all.
# The datasets folder comes from $DAE_DATA_DIR, by default the shared/datasets beside the project.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
export DAE_DATA_DIR="${DAE_DATA_DIR:-$(cd .. && pwd)/shared/datasets}"
python -m pytest "$@"
