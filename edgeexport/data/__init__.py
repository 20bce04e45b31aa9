"""Real images for calibration and evaluation: one interface, several sources.

A source is registered by name (``real_photos``, ...) and returns an ``ImageSet`` for a split. Everything
here is numpy + Pillow, so the bench side can use it on a device.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeexport.data.preprocess import preprocess_batch, preprocess_image
from edgeexport.errors import DataError
from edgeexport.registry import Registry

CLASS_NAMES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ImageSet:
    """Images (uint8, HxW or HxWxC) with stable ids and, when known, integer labels."""

    name: str
    ids: tuple[str, ...]
    images: tuple[np.ndarray, ...]
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def digest(self) -> str:
        """sha256 over ids, shapes and pixels: names the exact data used (goes into manifests)."""
        h = hashlib.sha256(self.name.encode())
        for image_id, image in zip(self.ids, self.images, strict=True):
            h.update(image_id.encode())
            h.update(str(image.shape).encode())
            h.update(np.ascontiguousarray(image).tobytes())
        if self.labels is not None:
            h.update(np.asarray(self.labels, dtype=np.int64).tobytes())
        return h.hexdigest()

    def subset(self, count: int | None, seed: int = 0) -> ImageSet:
        """``count`` images chosen by ``seed`` (all, in order, when count is None or >= len)."""
        if count is None or count >= len(self):
            return self
        order = np.sort(np.random.default_rng(seed).permutation(len(self))[:count])
        return ImageSet(
            name=f"{self.name}[{count}@seed{seed}]",
            ids=tuple(self.ids[i] for i in order),
            images=tuple(self.images[i] for i in order),
            labels=None if self.labels is None else self.labels[order],
        )


__all__ = ["SOURCES", "ImageSet", "class_names", "load", "preprocess_batch", "preprocess_image"]

Source = Callable[[str], ImageSet]
SOURCES: Registry[Source] = Registry("data set")
SPLITS = ("calibration", "val", "heldout", "train", "test")


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
