"""User builders that misbehave, for tests/test_faults.py: each is what a card's
``architecture.name = "fault_models:<name>"`` points at."""

from __future__ import annotations

import torch
from torch import nn


class _Returns(nn.Module):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what
        self.fc = nn.Linear(3, 10)

    def forward(self, x: torch.Tensor) -> object:
        logits = self.fc(x.mean((2, 3)))
        if self.what == "dict":
            return {"logits": logits}
        if self.what == "none":
            return None
        return logits * float("nan")  # "nan"


def raises() -> nn.Module:
    raise RuntimeError("CUDA driver not found\nsecond line of a long message")


def raises_value() -> nn.Module:
    raise ValueError("width must be one of 0.5, 1.0")


def not_a_module() -> object:
    return {"weights": [1, 2, 3]}


def returns_dict() -> nn.Module:
    return _Returns("dict")


def returns_none() -> nn.Module:
    return _Returns("none")


def returns_nan() -> nn.Module:
    return _Returns("nan")
