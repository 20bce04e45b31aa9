"""Typed errors. Anything a user can cause raises one of these, never ``assert``."""

from __future__ import annotations


class EdgeExportError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits non-zero: 2 for a ``UsageError``
    (the command asked for something that cannot be), 1 for everything else (the work itself failed)."""

    exit_code = 1


class UsageError(EdgeExportError):
    """A command line, name or card that cannot be used as given: exit 2."""

    exit_code = 2


class UnknownNameError(UsageError, KeyError):
    """A model, card, stage or runtime name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(UsageError, ValueError):
    """A second registration under a name that is already taken."""


class CardError(UsageError, ValueError):
    """A model card that is malformed: unknown key, wrong type, impossible value."""


class WeightsError(EdgeExportError):
    """Weights that are missing, have the wrong checksum or do not fit the architecture."""


class DataError(EdgeExportError):
    """Calibration or evaluation data that cannot be found or read."""


class ManifestError(EdgeExportError):
    """A manifest.json that cannot be read, is not JSON, or is not a manifest (exit 1; export moves it
    aside and starts a new one)."""


class ConversionError(EdgeExportError):
    """A converter stage that failed."""


class ParityError(EdgeExportError):
    """An artifact whose outputs miss the card's tolerances (a failure, not a warning)."""


class RuntimeUnavailable(UsageError):
    """A runtime that cannot run here (package missing, or needs another OS)."""


def os_error_line(error: OSError) -> str:
    """An OSError a command did not expect (disk full, read-only folder, a file where a folder belongs) as
    the one line the CLI prints: the path and the system's reason, no traceback."""
    where = " -> ".join(str(f) for f in (error.filename, error.filename2) if f)
    return f"{where + ': ' if where else ''}{error.strerror or error}"
