"""Real image -> model input tensor, as the card's ``[preprocess]`` says (edgeexport.images does it)."""

from __future__ import annotations

import numpy as np

from edgeexport import images
from edgeexport.spec import InputSpec, Preprocess


def preprocess_image(image: np.ndarray, pp: Preprocess, spec: InputSpec) -> np.ndarray:
    """One HxW or HxWxC uint8 image -> float32 CxHxW (see ``edgeexport.images.preprocess``)."""
    return images.preprocess(
        image, hw=spec.hw, resize=pp.resize, mean=pp.mean, std=pp.std, channel_order=pp.channel_order
    )


def preprocess_batch(batch: list[np.ndarray], pp: Preprocess, spec: InputSpec) -> np.ndarray:
    return np.stack([preprocess_image(img, pp, spec) for img in batch]).astype(np.float32)
