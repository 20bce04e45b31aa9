"""A card's artifact folder, kept whole: one export at a time, what a killed run left swept, a broken
manifest moved aside, and no empty folder left by an export that failed before writing anything."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from edgeexport.artifact import Manifest
from edgeexport.errors import ManifestError, UsageError

Log = Callable[[str], None]


@contextlib.contextmanager
def exclusive(root: Path, card: str, log: Log) -> Iterator[Path]:
    """Hold ``<root>/.<card>.lock`` for the whole export: a second export of the same card (say
    ``--formats tflite`` started beside ``--formats onnx``) waits, then merges into the manifest the
    first one saved, instead of overwriting it. The lock lives beside the card's folder, so a failed
    first export can remove an empty folder; the kernel drops it when a process dies (even by kill -9)."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"--artifacts {root} is a file, not a folder")
    root.mkdir(parents=True, exist_ok=True)
    folder = root / card
    existed = folder.exists()
    fd = os.open(root / f".{card}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another export of {card} to finish (lock {root / f'.{card}.lock'}) ...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield folder
        except BaseException:
            if not existed and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # nothing was written: leave no empty card folder behind
            raise
    finally:
        os.close(fd)  # releases the lock


def sweep(folder: Path, log: Log) -> None:
    """Remove the temporary folders (``.<file>.<random>.tmp``) of runs that were killed mid-stage. Only
    called under ``exclusive``: no other export of this card is writing one."""
    left = [p for p in folder.glob(".*.tmp") if p.is_dir()]
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
    if left:
        log(f"removed {len(left)} temporary folder(s) left by an interrupted export")


def old_manifest(folder: Path, log: Log) -> Manifest | None:
    """The manifest of earlier runs, or None; a broken one is moved aside (named in the log), never
    trusted, and every artifact is made again."""
    try:
        return Manifest.load(folder)
    except ManifestError as error:
        aside = folder / f"manifest.json.broken-{time.strftime('%Y%m%d-%H%M%S')}"
        (folder / "manifest.json").replace(aside)
        log(f"{error} -- moved aside to {aside.name}; every artifact is made again")
        return None
