"""Defaults every command shares: how many threads, and where edgeexport reads and writes.

Threads: ``default_threads()`` = 4, or the usable cores when there are fewer (more threads than cores make
ONNX Runtime's spinning thread pool slower, not faster); every command's ``--threads`` says so.

The project is the current directory, never the package's location:

- artifacts: ``./artifacts`` (``--artifacts`` or ``EDGEEXPORT_ARTIFACTS``);
- bench results: ``./benchmarks/results`` (``--results-dir`` or ``EDGEEXPORT_RESULTS``);
- model cards: ``./models/*.toml`` first, then the cards that ship with edgeexport;
- data that is downloaded or unpacked (real photos): a user cache, ``$EDGEEXPORT_CACHE`` or
  ``$XDG_CACHE_HOME/edgeexport`` (``~/.cache/edgeexport``).

The built-in cards and their trained weights travel inside the package (``_builtin/``; in a checkout these
are links to the top-level ``models/`` and ``weights/``). Standard library only: the device side uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

BUILTIN = Path(__file__).resolve().parent / "_builtin"
THREADS = 4


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def default_threads() -> int:
    return max(1, min(THREADS, usable_cores()))


THREADS_HELP = f"intra-op threads (default: {THREADS}, or the usable cores if fewer: %(default)s here)"


def at_least_one(text: str) -> int:
    """argparse type for counts (--threads, --steps, --batch, --top): an integer >= 1, else a usage error."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def artifacts_root() -> Path:
    return Path(os.environ.get("EDGEEXPORT_ARTIFACTS") or "artifacts")


def results_dir() -> Path:
    return Path(os.environ.get("EDGEEXPORT_RESULTS") or Path("benchmarks") / "results")


def cache_dir() -> Path:
    if os.environ.get("EDGEEXPORT_CACHE"):
        return Path(os.environ["EDGEEXPORT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edgeexport"


def card_dirs() -> list[Path]:
    """Where cards are looked up by name, first match wins: the project's own, then the built-in ones."""
    own = Path("models")
    same = own.is_dir() and own.resolve() == (BUILTIN / "models").resolve()
    return [BUILTIN / "models"] if same else [own, BUILTIN / "models"]


def card_root(card_file: Path) -> Path:
    """What a card's relative paths (``weights.path``) are relative to: the folder that holds its
    ``models/`` folder, or the card's own folder when it lives elsewhere."""
    folder = card_file.resolve().parent
    return folder.parent if folder.name == "models" else folder
