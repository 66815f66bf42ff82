"""Values checked where they enter the command line: argparse ``type=`` functions that refuse a
value with one line saying what is allowed, and a parser that reports it in one line, exit 2."""

from __future__ import annotations

import argparse
import math
import sys

from dae_core.store.files import NAME_MAX, is_plain_name, long_name


class LabParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose mistakes are one line on stderr and exit status 2 (no usage
    block): ``error: argument --seeds: 0 is not a whole number of at least 1 (see --help)``."""

    def error(self, message: str):
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        sys.exit(2)


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number above 0")
    return value


def int_list(text: str) -> tuple[int, ...]:
    """Comma-separated whole numbers of at least 1, at least one: ``100,300``."""
    parts = [part.strip() for part in text.split(",")]
    try:
        return tuple(positive_int(part) for part in parts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of whole numbers of at least 1, e.g. 100,300") from None


def name_list(text: str) -> tuple[str, ...]:
    """Comma-separated names (letters, digits, -, _ and :), at least one: ``scratch,mnist-ae``."""
    parts = tuple(part.strip() for part in text.split(","))
    if not all(is_plain_name(part.replace(":", "_")) for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of names, e.g. scratch,mnist-ae")
    return parts


def plain_name(text: str) -> str:
    """A folder name of letters, digits, - and _ (no path)."""
    if not is_plain_name(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a plain name: use letters, digits, - and _ only")
    return text


def path_text(text: str) -> str:
    """A run id, model name or path whose every name fits a file system (``NAME_MAX`` bytes):
    refused here, not reported later as an unwritable file."""
    name = long_name(text)
    if name:
        raise argparse.ArgumentTypeError(f"the name {name} is too long: a file or folder name holds at "
                                         f"most {NAME_MAX} bytes")
    return text
