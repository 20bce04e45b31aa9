"""Export-friendly rewrites: the model changed into an equal form that int8 kernels take (timm's
``exportable`` idea), in one place.

A rewrite swaps modules for ones that compute the same function from ops every int8 route handles, so
the quantized graph stays in one fast kernel partition. Each is proven output-equal in float on the
card's reference images (max abs <= ``EQUAL_MAX_ABS``) before anything is exported; the manifest
records which ran and how many modules each changed.

Why (measured, docs/int8.md): LiteRT's XNNPACK delegate does not take int8 HARD_SWISH, so every
h-swish of an int8 MobileNetV3 left the delegate (20 partitions, int8 slower than fp32); written as
``x * relu6(x + 3) / 6`` the PT2E int8 file is one partition, and ORT fuses the QDQ pattern into
int8 kernels instead of running HardSigmoid/HardSwish in float between Q/DQ pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

EQUAL_MAX_ABS = 1e-5
PROOF_BATCH = 32


# ``x - (-3.0)`` is ``x + 3`` exactly in IEEE float. Written as a subtraction because litert-torch's
# converter (0.10) turned ``x + 3`` into either HARD_SWISH again (a tensor constant) or an NCHW ADD
# between two TRANSPOSEs (a Python scalar); SUB stays SUB, in NHWC, and XNNPACK takes it in int8.
SHIFT = -3.0


class Relu6Hardswish(nn.Module):
    """h-swish(x) = x * ReLU6(x + 3) / 6 (MobileNetV3 paper, eq. 2), from ops int8 kernels take."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * F.relu6(x - SHIFT) / 6.0


class Relu6Hardsigmoid(nn.Module):
    """h-sigmoid(x) = ReLU6(x + 3) / 6 (MobileNetV3 paper, Sec. 5.2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(x - SHIFT) / 6.0


@dataclass(frozen=True)
class Rewrite:
    name: str
    summary: str
    finds: type[nn.Module]
    makes: Callable[[nn.Module], nn.Module]


REWRITES: dict[str, Rewrite] = {
    r.name: r
    for r in (
        Rewrite(
            "hardswish_relu6",
            "nn.Hardswish -> x * relu6(x + 3) / 6",
            nn.Hardswish,
            lambda m: Relu6Hardswish(),
        ),
        Rewrite(
            "hardsigmoid_relu6",
            "nn.Hardsigmoid -> relu6(x + 3) / 6",
            nn.Hardsigmoid,
            lambda m: Relu6Hardsigmoid(),
        ),
    )
}
AUTO = tuple(
    REWRITES
)  # what ``--rewrites auto`` (the default) tries; a rewrite that finds nothing is skipped
# The artifacts made from the rewritten model: the routes it makes faster, measured in one process on
# mobilenetv3_small, 1 thread (docs/int8.md). The others keep the model as built, because there the
# rewrite cost time: ORT fp32 +36 %, ORT int8 +8 %, LiteRT fp32 +10 %, ExecuTorch int8 +49 % (its
# XNNPACK partition takes int8 h-swish whole).
GAINS = ("tflite_int8", "tflite_int8_aeq")


def used_by(artifact_id: str) -> bool:
    """Whether this artifact is made from the rewritten model (``tflite_int8_nhwc`` as ``tflite_int8``)."""
    base = artifact_id.removesuffix("_io8").removesuffix("_nhwc")
    return base in GAINS


def names(choice: Sequence[str] | str) -> tuple[str, ...]:
    """``auto``, ``none`` or rewrite names, checked: an unknown name is an error naming the known ones."""
    items = [choice] if isinstance(choice, str) else list(choice)
    if items in (["auto"], []):
        return AUTO if items else ()
    if items == ["none"]:
        return ()
    unknown = [n for n in items if n not in REWRITES]
    if unknown:
        raise ValueError(
            f"unknown rewrite {', '.join(map(repr, unknown))}: choose from auto, none, {', '.join(REWRITES)}"
        )
    return tuple(items)


def apply(model: nn.Module, wanted: Sequence[str]) -> dict[str, int]:
    """Swap, in place, the modules each wanted rewrite finds; how many each swapped (if any)."""
    done: dict[str, int] = {}
    for name in wanted:
        rewrite = REWRITES[name]
        count = 0
        for parent in list(model.modules()):
            for child_name, child in list(parent.named_children()):
                if type(child) is rewrite.finds:
                    setattr(parent, child_name, rewrite.makes(child))
                    count += 1
        if count:
            done[name] = count
    return done


def _max_abs(a: Any, b: Any) -> float:
    a = a if isinstance(a, tuple | list) else (a,)
    b = b if isinstance(b, tuple | list) else (b,)
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


def rewrite_proven(
    model: nn.Module, built: nn.Module, wanted: Sequence[str], inputs: np.ndarray
) -> dict[str, Any]:
    """Apply the rewrites to ``model`` (in place, a copy of ``built``) and prove it still computes what
    ``built`` does on ``inputs`` (the card's reference images, same batches for both, so only the
    rewrite can differ): the manifest's record, or ValueError naming the change."""
    applied = apply(model, wanted)
    worst = 0.0
    if applied:
        with torch.no_grad():
            for start in range(0, inputs.shape[0], PROOF_BATCH):
                x = torch.from_numpy(inputs[start : start + PROOF_BATCH].copy())
                worst = max(worst, _max_abs(built(x), model(x)))
        if not worst <= EQUAL_MAX_ABS:
            raise ValueError(
                f"rewrites {', '.join(applied)} changed the float outputs by {worst:.3g} "
                f"(> {EQUAL_MAX_ABS:g}): export with --rewrites none"
            )
    return {
        "requested": list(wanted),
        "applied": applied,
        "float_max_abs": worst,
        "images": int(inputs.shape[0]),
        "limit": EQUAL_MAX_ABS,
        "used_by": list(GAINS) if applied else [],
    }
