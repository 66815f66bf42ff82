"""Validated files and names, for every module that owns a file: JSON written atomically and
read back checked, the type checks records are made of, plain names, and the one confinement
rule (a path, symlinks resolved, inside its folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dae_core.errors import DamagedFileError

NAME_MAX = 255  # bytes in one file or folder name (ext4, APFS, NTFS): a longer one is ENAMETOOLONG


def write_json_atomic(path: Path, obj) -> None:
    """Write temp, fsync, rename: a reader sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:  # a full disk or a read-only folder leaves no half-written temporary file behind
        tmp.unlink(missing_ok=True)


def read_json(path: Path, fix: str):
    """A JSON file's content; a file that is missing, unreadable, binary or cut short raises
    ``DamagedFileError`` naming it and ``fix``."""
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError as e:
        raise DamagedFileError(path, "missing", fix) from e
    except OSError as e:
        raise DamagedFileError(path, f"unreadable: {e.strerror or e}", fix) from e
    except UnicodeDecodeError as e:
        raise DamagedFileError(path, "binary bytes, not JSON text", fix) from e
    except ValueError as e:
        raise DamagedFileError(path, f"not JSON: {e}", fix) from e


def is_number(value) -> bool:
    """A plain int or float (not a bool), as the lab's records hold its figures."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_plain_name(name) -> bool:
    """A file-name-safe name: letters, digits, ``-`` and ``_`` (no path, no dot)."""
    return isinstance(name, str) and 0 < len(name) <= 100 and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in name)


def long_name(path) -> str | None:
    """The first name in ``path`` longer than a file system allows (``NAME_MAX`` bytes), shortened
    for a message; None when every name fits."""
    for part in Path(path).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            return f"{part[:20]}... ({len(part)} characters)"
    return None


def inside(path, folder) -> bool:
    """Whether ``path``, symlinks resolved, is inside ``folder`` (resolved) and not the folder
    itself: the one confinement rule for what a reference may name."""
    try:
        resolved, root = Path(path).resolve(), Path(folder).resolve()
    except (OSError, RuntimeError):  # a symlink loop, a name too long
        return False
    return resolved != root and resolved.is_relative_to(root)
