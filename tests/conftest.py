from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

# Fixed thread count: results (and BatchNorm calibration) do not depend on the machine's core count.
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def card_names() -> list[str]:
    from edgeexport import cards

    return cards.card_names()


TINY_CARD = """
name = "{name}"
task = "classification"
[architecture]
name = "mobilenet_v3"
args = {{ variant = "small", num_classes = 10 }}
[input]
shape = [1, 3, {size}, {size}]
[preprocess]
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
"""


def _write_tiny_card(folder: Path, name: str, size: int) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(TINY_CARD.format(name=name, size=size))
    return path


@pytest.fixture(scope="session")
def write_tiny_card() -> Callable[[Path, str, int], Path]:
    """``write_tiny_card(folder, name, size)``: a MobileNetV3-Small card (seeded weights, 10 classes,
    size x size RGB) for pipeline tests; returns its path."""
    return _write_tiny_card
