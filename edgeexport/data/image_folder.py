"""ImageFolder data: ``root/<class>/*.jpg`` (the layout torchvision and the flowers examples use).

Name it in a card as ``folder:/path/to/root``. Classes are the sorted sub-folder names. Split, by a
stable hash of each file's relative path: every 5th image (hash % 5 == 0) is ``test``/``heldout``, the
rest ``train``. ``train`` is then split by a fixed seed into ``val`` (a quarter: what the accuracy-aware
int8 search tunes on) and the rest, of which ``calibration`` is up to 500 images: val never holds a
calibration image, and neither holds a test image.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from edgeexport.data.imageset import ImageSet
from edgeexport.errors import DataError
from edgeexport.images import read_image

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
CALIBRATION_SIZE = 500
VAL_EVERY = 4  # a quarter of train is val


def _is_test(relative: str) -> bool:
    return int(hashlib.sha256(relative.encode()).hexdigest(), 16) % 5 == 0


def classes(root: Path) -> list[str]:
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist (expected root/<class>/<image>)")
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise DataError(f"image folder {root} has no class sub-folders (expected root/<class>/<image>)")
    return names


def load_folder(root_text: str, split: str) -> ImageSet:
    root = Path(root_text).expanduser()
    items: list[tuple[str, Path, int]] = []
    for label, name in enumerate(classes(root)):
        for path in sorted((root / name).rglob("*")):
            if path.suffix.lower() in EXTENSIONS and path.is_file():
                items.append((str(path.relative_to(root)), path, label))
    if split in ("test", "heldout"):
        items = [i for i in items if _is_test(i[0])]
    elif split in ("train", "calibration", "val"):
        items = [i for i in items if not _is_test(i[0])]
    if split in ("calibration", "val"):
        order = np.random.default_rng(0).permutation(len(items))
        n_val = len(items) // VAL_EVERY
        chosen = order[:n_val] if split == "val" else order[n_val:][:CALIBRATION_SIZE]
        items = [items[i] for i in np.sort(chosen)]
    if not items:
        raise DataError(f"image folder {root} has no images for split {split!r}")
    return ImageSet(
        name=f"folder:{root}:{split}",
        ids=tuple(i[0] for i in items),
        images=tuple(read_image(i[1]) for i in items),
        labels=np.asarray([i[2] for i in items], dtype=np.int64),
    )
