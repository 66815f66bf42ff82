"""The errors a user can fix: one family, each message saying what happened and what to do.

Pages show any ``LabError`` with one helper (``dashboard.widgets``), the command line prints it
and exits 2; anything else is a bug and is reported whole.
"""


class LabError(Exception):
    """Something the user can put right; ``str(error)`` names the fix."""


class DataError(LabError):
    """A dataset is missing or damaged."""


class ModelFileError(LabError):
    """A model file or the models manifest is missing, damaged or of the wrong kind."""


class ImageError(LabError):
    """An upload or drawing that cannot be used."""


class JobError(LabError):
    """A training that cannot start, resume or stop as asked."""


class NotFoundError(LabError, LookupError):
    """A run or model reference that names nothing, or more than one thing."""


class DamagedFileError(LabError, ValueError):
    """A file the lab reads (a run's config, a study's record, the manifest, ...) that is cut,
    binary or of the wrong shape. ``path`` is the file; the message names it and the fix.
    Also a ``ValueError``, so a reader that already skipped unreadable JSON skips it too."""

    def __init__(self, path, problem: str, fix: str):
        self.path, self.problem, self.fix = path, problem, fix
        super().__init__(f"{path} is damaged ({problem}). Fix: {fix}")


class DamagedDataFile(DamagedFileError, DataError):
    """A dataset file (IDX gzip or .npz) that is cut, binary or of the wrong shape."""


class DamagedModelFile(DamagedFileError, ModelFileError):
    """A model file (``.keras``: a run's model or checkpoint, a shipped model) that is cut,
    binary, a link out of its folder, or a model of the wrong kind."""
