"""Fashion-MNIST, real and labelled (60k train / 10k test, 28x28 grey, 10 classes).

Read from the Debian package ``dataset-fashion-mnist`` (``make setup`` installs it; ``dpkg -L
dataset-fashion-mnist`` shows the files). IDX files are parsed here: a 16/8-byte header and raw bytes.
"""

from __future__ import annotations

import gzip
import os
from functools import cache
from pathlib import Path

import numpy as np

from edgeexport.data.imageset import SOURCES, ImageSet
from edgeexport.errors import DataError

ROOT = Path(os.environ.get("EDGEEXPORT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
CALIBRATION_SIZE = 1000  # drawn from train by a fixed seed; never from test
CALIBRATION_SEED = 0
VALIDATION_SIZE = 2000  # the next 2000 of the same permutation: disjoint from calibration, never test
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    if not path.exists():
        raise DataError(
            f"Fashion-MNIST file {path} not found: run `make setup` (installs the Debian package "
            "dataset-fashion-mnist) or set EDGEEXPORT_FASHION_MNIST to its folder"
        )
    raw = gzip.decompress(path.read_bytes())
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"{path} is not an IDX file of the expected kind (magic {found}, expected {magic})")
    if magic == 2051:
        n, rows, cols = (int.from_bytes(raw[i : i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols)
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=8)[:n]


@cache
def arrays(part: str) -> tuple[np.ndarray, np.ndarray]:
    """(images N x 28 x 28 uint8, labels N int64) for ``train`` or ``t10k``."""
    images = _read_idx(ROOT / f"{part}-images-idx3-ubyte.gz", 2051)
    labels = _read_idx(ROOT / f"{part}-labels-idx1-ubyte.gz", 2049).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"Fashion-MNIST {part}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


@SOURCES.register("fashion_mnist")
def fashion_mnist(split: str) -> ImageSet:
    """train (60k), test / heldout (10k), calibration (1000 train images chosen by a fixed seed), val
    (2000 other train images: what accuracy-aware quantization tunes on, so the test set stays unseen)."""
    images, labels = arrays("t10k" if split in ("test", "heldout") else "train")
    index = np.arange(images.shape[0])
    if split in ("calibration", "val"):
        order = np.random.default_rng(CALIBRATION_SEED).permutation(index)
        part = (
            order[:CALIBRATION_SIZE] if split == "calibration" else order[CALIBRATION_SIZE:][:VALIDATION_SIZE]
        )
        index = np.sort(part)
    return ImageSet(
        name=f"fashion_mnist:{split}",
        ids=tuple(f"{split}:{i}" for i in index),
        images=tuple(images[index]),
        labels=labels[index],
    )
