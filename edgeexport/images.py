"""Image file -> model input, the one implementation the exporter (edgeexport.data) and a board
(``predict``) both use. numpy + Pillow; Pillow is imported only when an image is read or resized, so the
rest of the device side does not need it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        from edgeexport.errors import UsageError

        raise UsageError("reading images needs Pillow: pip install pillow") from None
    return Image


def read_image(path: Path | str) -> np.ndarray:
    """HxW (grayscale sources) or HxWx3 uint8."""
    with _pil().open(path) as opened:
        mode = "L" if opened.mode in ("L", "I", "I;16", "1") else "RGB"
        return np.asarray(opened.convert(mode), dtype=np.uint8)


def _center_crop(image: Any, height: int, width: int) -> Any:
    # torchvision's CenterCrop rounding, so a torchvision-trained checkpoint sees the pixels it expects
    top = round((image.height - height) / 2.0)
    left = round((image.width - width) / 2.0)
    return image.crop((left, top, left + width, top + height))


def preprocess(
    image: np.ndarray,
    *,
    hw: tuple[int, int],
    resize: int | None,
    mean: tuple[float, ...] | list[float],
    std: tuple[float, ...] | list[float],
    channel_order: str,
) -> np.ndarray:
    """One HxW or HxWxC uint8 image -> float32 CxHxW.

    resize (shorter side, bilinear with antialias, torchvision's size rule) -> centre crop to HxW (or a
    plain resize when ``resize`` is None) -> /255 -> channel order -> (x - mean) / std.
    """
    image_module = _pil()
    pil = image_module.fromarray(np.asarray(image))
    pil = pil.convert("L" if channel_order == "GRAY" else "RGB")
    height, width = hw
    if resize:
        short, long = min(pil.size), max(pil.size)
        new_long = int(resize * long / short)
        size = (resize, new_long) if pil.width <= pil.height else (new_long, resize)
        pil = pil.resize(size, image_module.Resampling.BILINEAR)
        pil = _center_crop(pil, height, width)
    elif pil.size != (width, height):
        pil = pil.resize((width, height), image_module.Resampling.BILINEAR)
    array = np.asarray(pil, dtype=np.float32) / 255.0
    array = array[:, :, None] if array.ndim == 2 else array
    if channel_order == "BGR":
        array = array[:, :, ::-1]
    m, s = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(((array - m) / s).transpose(2, 0, 1), dtype=np.float32)
