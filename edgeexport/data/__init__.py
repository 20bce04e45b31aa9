"""Real images for calibration and evaluation: one interface, several sources.

A source is registered by name (``real_photos``, ...) and returns an ``ImageSet`` for a split. Everything
here is numpy + Pillow, so the bench side can use it on a device.
"""

from __future__ import annotations

from pathlib import Path

from edgeexport.data.imageset import SOURCES, SPLITS, ImageSet
from edgeexport.data.preprocess import preprocess_batch, preprocess_image
from edgeexport.errors import DataError

CLASS_NAMES_DIR = Path(__file__).resolve().parent


__all__ = ["SOURCES", "ImageSet", "class_names", "load", "preprocess_batch", "preprocess_image"]


def load(name: str, split: str) -> ImageSet:
    """``load("real_photos", "calibration")``; sources register themselves on import."""
    from edgeexport.data import fashion_mnist, image_folder, photos  # noqa: F401  (registers)

    if name.startswith("folder:"):
        return image_folder.load_folder(name.removeprefix("folder:"), split)

    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return SOURCES.get(name)(split)


def class_names(labels: str) -> list[str]:
    """Class names shipped in the project (``imagenet`` -> 1000 names, index order)."""
    path = CLASS_NAMES_DIR / f"{labels}_classes.txt"
    if not path.exists():
        raise DataError(f"no class-name list {labels!r} (expected {path})")
    lines = path.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]
