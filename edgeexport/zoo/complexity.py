"""Parameter and multiply-accumulate counts, with PyTorch's own flop counter (no extra dependency)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class Complexity:
    params: int
    macs: int
    output_shapes: tuple[tuple[int, ...], ...]


def outputs_as_tuple(out: object) -> tuple[torch.Tensor, ...]:
    if isinstance(out, torch.Tensor):
        return (out,)
    if isinstance(out, tuple | list) and all(isinstance(o, torch.Tensor) for o in out):
        return tuple(out)
    raise TypeError(f"model outputs must be a tensor or a tuple of tensors, got {type(out).__name__}")


@torch.no_grad()
def measure(model: nn.Module, input_shape: tuple[int, ...]) -> Complexity:
    """MACs = FLOPs / 2 as counted by ``torch.utils.flop_counter`` for one batch-1 forward (conv, matmul)."""
    model = model.eval()
    shape = (1, *input_shape[1:])
    counter = FlopCounterMode(display=False)
    with counter:
        out = outputs_as_tuple(model(torch.zeros(shape)))
    return Complexity(
        params=sum(p.numel() for p in model.parameters()),
        macs=counter.get_total_flops() // 2,
        output_shapes=tuple(tuple(o.shape) for o in out),
    )
