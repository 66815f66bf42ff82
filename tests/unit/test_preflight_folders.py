"""``preflight.folder_error``: an OSError met under the runs folder, said as what failed, where,
and what to do, for the errors the disk really gives (a full disk: /dev/full's)."""

import errno
from pathlib import Path

import pytest

from dae_core.training import preflight

DEV_FULL = Path("/dev/full")  # every write to it fails as on a full disk


@pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full here")
def test_a_full_disk_is_named_with_its_fix(tmp_path):
    with pytest.raises(OSError) as raised:
        with open(DEV_FULL, "w") as f:
            f.write("a run's config")
    assert raised.value.errno == errno.ENOSPC
    error = preflight.folder_error(raised.value, tmp_path)
    assert str(error) == (f"Nothing was started: the disk holding {tmp_path} is full (No space left on device "
                          f"at {tmp_path}). Fix: free some space on it, or set DAE_RUNS_DIR to a writable folder "
                          "and restart the lab; then start again (the settings are kept).")


def test_a_runs_folder_that_is_a_file_is_named(tmp_path):
    runs = tmp_path / "runs"
    runs.write_text("not a folder")
    with pytest.raises(OSError) as raised:
        (runs / "a-run").mkdir(parents=True)
    assert str(preflight.folder_error(raised.value, runs)).startswith(
        f"Nothing was started: {runs} cannot be used (Not a directory at {runs / 'a-run'}). "
        f"Fix: make {runs} a writable folder, or set DAE_RUNS_DIR")
