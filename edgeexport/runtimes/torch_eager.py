"""Eager PyTorch as the reference point: the only runtime that may import torch.

It runs a TorchScript-free artifact: the card itself (path = card name or .toml), built as export does.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def unavailable() -> str | None:
    try:
        import torch  # noqa: F401
    except ImportError:
        return "torch is not installed (the eager reference needs it)"
    return None


def version() -> str:
    import torch

    return str(torch.__version__)


class TorchSession:
    def __init__(self, card: str, threads: int) -> None:
        import torch

        from edgeexport import cards, models

        torch.set_num_threads(threads)
        self._torch = torch
        self._card = cards.get_card(card)
        self._model = models.build_model(self._card)
        self.input_names = [self._card.input.name]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        from edgeexport.complexity import outputs_as_tuple

        with self._torch.no_grad():
            out = outputs_as_tuple(self._model(*(self._torch.from_numpy(i) for i in inputs)))
        return [o.numpy() for o in out]


def load(path: str, threads: int, **options: Any) -> TorchSession:
    return TorchSession(path, threads)
