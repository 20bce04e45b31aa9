"""Real image -> model input tensor, as the card's ``[preprocess]`` says. numpy + Pillow only (no torch)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from edgeexport.spec import InputSpec, Preprocess


def _center_crop(image: Image.Image, height: int, width: int) -> Image.Image:
    # torchvision's CenterCrop rounding, so a torchvision-trained checkpoint sees the pixels it expects
    top = round((image.height - height) / 2.0)
    left = round((image.width - width) / 2.0)
    return image.crop((left, top, left + width, top + height))


def preprocess_image(image: np.ndarray, pp: Preprocess, spec: InputSpec) -> np.ndarray:
    """One HxW or HxWxC uint8 image -> float32 CxHxW.

    resize (shorter side, bilinear with antialias, torchvision's size rule) -> centre crop to the input's
    HxW (or a plain resize when the card sets no ``resize``) -> /255 -> channel order -> (x - mean) / std.
    """
    pil = Image.fromarray(np.asarray(image))
    pil = pil.convert("L" if pp.channel_order == "GRAY" else "RGB")
    height, width = spec.hw
    if pp.resize:
        short, long = min(pil.size), max(pil.size)
        new_long = int(pp.resize * long / short)
        size = (pp.resize, new_long) if pil.width <= pil.height else (new_long, pp.resize)
        pil = pil.resize(size, Image.Resampling.BILINEAR)
        pil = _center_crop(pil, height, width)
    elif pil.size != (width, height):
        pil = pil.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(pil, dtype=np.float32) / 255.0
    array = array[:, :, None] if array.ndim == 2 else array
    if pp.channel_order == "BGR":
        array = array[:, :, ::-1]
    mean = np.asarray(pp.mean, dtype=np.float32)
    std = np.asarray(pp.std, dtype=np.float32)
    array = (array - mean) / std
    return np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32)


def preprocess_batch(images: list[np.ndarray], pp: Preprocess, spec: InputSpec) -> np.ndarray:
    return np.stack([preprocess_image(img, pp, spec) for img in images]).astype(np.float32)
