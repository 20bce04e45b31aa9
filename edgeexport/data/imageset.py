"""The one shape every data source returns (``ImageSet``) and the registry sources add themselves to."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgeexport.registry import Registry


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


Source = Callable[[str], ImageSet]
SOURCES: Registry[Source] = Registry("data set")
SPLITS = ("calibration", "val", "heldout", "train", "test")
