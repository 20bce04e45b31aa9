"""Export-friendly rewrites: the model changed into an equal form that int8 kernels take (timm's
``exportable`` idea), in one place.

A rewrite swaps modules for ones that compute the same function from ops the fast kernels take, so the
graph stays in one fast partition. Each is proven output-equal in float on the card's reference images
(max abs <= ``EQUAL_MAX_ABS``) before anything is exported, and each is used only on the routes where it
was measured to gain (``Rewrite.routes``; benchmarks/rewrite_gain.py): an artifact is made from the
model with the rewrites of its route (``StageContext.model_for``), and the manifest records which ran
(``reference.rewrites``) and which each artifact was made with (``config.rewrites``).

Why (measured, docs/int8.md): XNNPACK does not take int8 HARD_SWISH (LiteRT), nor ``avg_pool2d`` with
padding (ExecuTorch, LiteRT int8), and litert-torch wraps a channel ``F.pad`` in NCHW transposes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from edgeexport.errors import UsageError
from edgeexport.zoo.layers import ChannelPad

EQUAL_MAX_ABS = 1e-5


class RewriteError(UsageError):
    """A rewrite that would change what the model computes: refused before anything is exported."""


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


class AvgPoolConv(nn.Module):
    """A zero-padded average pool as the depthwise convolution it is: every weight 1/k², no bias.

    ``nn.AvgPool2d(3, 2, 1)`` counts the padding in its divisor (``count_include_pad``), so it is exactly
    a fixed 3x3 stride-2 depthwise conv. Every int8 route takes a depthwise conv; ExecuTorch's XNNPACK
    partitioner left ``avg_pool2d`` outside (fp32 and int8) and LiteRT's left int8 AVERAGE_POOL_2D out.
    """

    def __init__(self, pool: nn.AvgPool2d, channels: int) -> None:
        super().__init__()
        k, stride, pad = (_pair(v) for v in (pool.kernel_size, pool.stride or pool.kernel_size, pool.padding))
        self.conv = nn.Conv2d(channels, channels, k, stride, pad, groups=channels, bias=False)
        with torch.no_grad():
            self.conv.weight.fill_(1.0 / (k[0] * k[1]))
        self.conv.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class ChannelPadConcat(nn.Module):
    """Zero channels appended by concatenating a constant zero map (instead of ``F.pad`` on dim 1)."""

    zeros: torch.Tensor

    def __init__(self, pad: nn.Module, shape: tuple[int, ...]) -> None:
        super().__init__()
        assert isinstance(pad, ChannelPad)
        self.register_buffer("zeros", torch.zeros(1, pad.extra, *shape[2:]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.zeros.expand(x.shape[0], -1, -1, -1)], 1)


LOWEST = float(np.finfo(np.float32).min)  # what the padding holds: no finite float32 is below it


class FloorMaxPool(nn.Module):
    """A ceil-mode max pool as floor mode over an input padded with the lowest float32: the windows ceil
    mode adds were partly padding already, and a max never picks the padding. ncnn's ceil mode (pnnx
    writes ``pad_mode=0``) adds a window lying wholly in padding when the input is smaller than the
    window, whose -FLT_MAX the average pool after it turns into NaN (docs/accuracy.md, googlenet_fmnist)."""

    def __init__(self, pool: nn.MaxPool2d, extra: tuple[int, int]) -> None:
        super().__init__()
        k, stride, pad = (_pair(v) for v in (pool.kernel_size, pool.stride or pool.kernel_size, pool.padding))
        self.pad = (pad[1], pad[1] + extra[1], pad[0], pad[0] + extra[0])  # F.pad: (left, right, top, bottom)
        self.pool = nn.MaxPool2d(k, stride, 0, pool.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.pad(x, self.pad, value=LOWEST))


def _ceil_extra(size: int, k: int, s: int, p: int, d: int) -> int:
    """How far ceil mode's last window reaches past the padded input (0: ceil mode adds nothing).
    PyTorch's rule: ceil the window count, but the last window must start inside the input or left pad."""
    span = d * (k - 1) + 1
    ceil_out = -(-(size + 2 * p - span) // s) + 1
    if (ceil_out - 1) * s >= size + p:
        ceil_out -= 1
    floor_out = (size + 2 * p - span) // s + 1
    return (ceil_out - 1) * s + span - (size + 2 * p) if ceil_out > floor_out else 0


def _maxpool_floor(pool: nn.Module, shape: tuple[int, ...]) -> nn.Module | None:
    assert isinstance(pool, nn.MaxPool2d)
    if not pool.ceil_mode or pool.return_indices or len(shape) != 4:
        return None
    k, s, p, d = (
        _pair(v) for v in (pool.kernel_size, pool.stride or pool.kernel_size, pool.padding, pool.dilation)
    )
    extra = (_ceil_extra(shape[2], k[0], s[0], p[0], d[0]), _ceil_extra(shape[3], k[1], s[1], p[1], d[1]))
    return FloorMaxPool(pool, extra) if any(extra) else None


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _avgpool_conv(pool: nn.Module, shape: tuple[int, ...]) -> nn.Module | None:
    """None (left alone) unless the pool is exactly a conv: padding counted, no ceil mode, no divisor."""
    assert isinstance(pool, nn.AvgPool2d)
    if not pool.count_include_pad or pool.ceil_mode or pool.divisor_override is not None or len(shape) != 4:
        return None
    if not any(_pair(pool.padding)):  # measured on padded pools (shufflenet_v1); unpadded ones left as built
        return None
    return AvgPoolConv(pool, int(shape[1]))


@dataclass(frozen=True)
class Rewrite:
    name: str
    summary: str
    finds: type[nn.Module]
    makes: Callable[[nn.Module, tuple[int, ...]], nn.Module | None]  # (module, its input shape); None: keep
    routes: tuple[str, ...]  # the artifacts made from the rewritten model: where it was measured to gain


# Where each rewrite is used was measured, not assumed (benchmarks/rewrite_gain.py, docs/int8.md): the
# same artifacts exported with and without it, timed interleaved in one process at 1 thread. h-swish:
# mobilenetv3_small gains only in the int8 TFLite files; it cost ORT fp32 +36 %, ORT int8 +8 %, LiteRT
# fp32 +10 %, ExecuTorch int8 +49 % (its XNNPACK partition takes int8 h-swish whole).
HSWISH_ROUTES = ("tflite_int8", "tflite_int8_aeq")
# avgpool: shufflenet_v1 (Xeon with AVX-512 VNNI/AMX): ExecuTorch fp32 14.11 -> 3.55 ms and int8 12.44 ->
# 2.36 (XNNPACK now takes what it left to portable kernels), tflite_int8 -13 %, tflite_int8_aeq -6 %,
# ORT int8 -9 % (through onnx_fp32, -2 %); LiteRT fp32 -1 % with its dynamic-range child +8 %, ncnn +-1 %.
# Confirmed on inception_v3's nine stride-1 pools: ExecuTorch fp32 -73 %, int8 -89 %, tflite_int8 -37 %,
# aeq -38 %, ORT int8 -10 %; LiteRT fp32 -1 % with its dynamic-range child +23 %, ncnn 0 %.
# channelpad: blazeface (same Xeon): LiteRT fp32 -8 % (fp16w -7 %), tflite_int8 -3 %, aeq -3 %, ORT int8
# -9 % (onnx_fp32 -2 %), ExecuTorch int8 -6 % but fp32 +2 %, ncnn -2 %. A 1x1 identity conv instead was
# worse on most routes (LiteRT fp32 +2 %, int8 +3 %, ExecuTorch fp32 +8 %, ncnn +6 %): not kept.
CHANNELPAD_ROUTES = ("onnx_fp32", "tflite_fp32", "tflite_int8", "tflite_int8_aeq", "executorch_int8")
# maxpool: for correctness, not speed: ncnn's ceil mode is wrong when the input is smaller than the window.
MAXPOOL_ROUTES = ("ncnn_fp32", "ncnn_fp16")
AVGPOOL_ROUTES = ("onnx_fp32", "tflite_int8", "tflite_int8_aeq", "executorch_fp32", "executorch_int8")

REWRITES: dict[str, Rewrite] = {
    r.name: r
    for r in (
        Rewrite(
            "hardswish_relu6",
            "nn.Hardswish -> x * relu6(x + 3) / 6",
            nn.Hardswish,
            lambda m, shape: Relu6Hardswish(),
            HSWISH_ROUTES,
        ),
        Rewrite(
            "hardsigmoid_relu6",
            "nn.Hardsigmoid -> relu6(x + 3) / 6",
            nn.Hardsigmoid,
            lambda m, shape: Relu6Hardsigmoid(),
            HSWISH_ROUTES,
        ),
        Rewrite(
            "channelpad_concat",
            "ChannelPad (F.pad on channels) -> concat with a zero map",
            ChannelPad,
            lambda m, shape: ChannelPadConcat(m, shape),
            CHANNELPAD_ROUTES,
        ),
        Rewrite(
            "maxpool_floor",
            "nn.MaxPool2d(ceil_mode=True) -> pad with the lowest float, then floor mode",
            nn.MaxPool2d,
            _maxpool_floor,
            MAXPOOL_ROUTES,
        ),
        Rewrite(
            "avgpool_conv",
            "nn.AvgPool2d (padding counted) -> depthwise conv, weights 1/k^2",
            nn.AvgPool2d,
            _avgpool_conv,
            AVGPOOL_ROUTES,
        ),
    )
}
AUTO = tuple(REWRITES)  # what ``--rewrites auto`` (the default) tries; one that finds nothing is skipped


def _base(artifact_id: str) -> str:
    return artifact_id.removesuffix("_io8").removesuffix("_nhwc")


def for_artifact(artifact_id: str, applied: Sequence[str] | None) -> tuple[str, ...]:
    """Which of the applied rewrites this artifact is made with (``tflite_int8_nhwc`` as ``tflite_int8``)."""
    return tuple(n for n in applied or () if _base(artifact_id) in REWRITES[n].routes)


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


def _input_shapes(
    model: nn.Module, kinds: tuple[type[nn.Module], ...], example: torch.Tensor
) -> dict[int, tuple]:
    """The input shape of every module of these kinds, from one forward pass (keyed by ``id``); a module
    called at more than one shape (one instance shared by several layers) is left out, so left alone."""
    shapes: dict[int, tuple] = {}
    shared: set[int] = set()

    def seen(module: nn.Module, args: tuple) -> None:  # a pre-hook that returns something replaces args
        shape = tuple(args[0].shape)
        if shapes.setdefault(id(module), shape) != shape:
            shared.add(id(module))

    hooks = [m.register_forward_pre_hook(seen) for m in model.modules() if type(m) in kinds]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in hooks:
            h.remove()
    return {k: v for k, v in shapes.items() if k not in shared}


def apply(model: nn.Module, wanted: Sequence[str], example: torch.Tensor) -> dict[str, int]:
    """Swap, in place, the modules each wanted rewrite finds; how many each swapped (if any). A module
    the forward pass on ``example`` never reaches is left alone."""
    shapes = _input_shapes(model, tuple(REWRITES[n].finds for n in wanted), example)
    done: dict[str, int] = {}
    for name in wanted:
        rewrite = REWRITES[name]
        count = 0
        for parent in list(model.modules()):
            for child_name, child in list(parent.named_children()):
                if type(child) is rewrite.finds and id(child) in shapes:
                    made = rewrite.makes(child, shapes[id(child)])
                    if made is not None:
                        setattr(parent, child_name, made)
                        count += 1
        if count:
            done[name] = count
    return done


def _max_abs(a: Any, b: Any) -> float:
    a = a if isinstance(a, tuple | list) else (a,)
    b = b if isinstance(b, tuple | list) else (b,)
    return max(
        float((x - y).abs().max()) if x.shape == y.shape else np.inf for x, y in zip(a, b, strict=True)
    )


def rewrite_proven(
    model: nn.Module, built: nn.Module, wanted: Sequence[str], inputs: np.ndarray
) -> dict[str, Any]:
    """Apply the rewrites to ``model`` (in place, a copy of ``built``) and prove it still computes what
    ``built`` does on ``inputs`` (the card's reference images, same batches for both, so only the
    rewrite can differ): the manifest's record, or a RewriteError naming the change and the way out."""
    applied = apply(model, wanted, torch.from_numpy(inputs[:1].copy()))
    worst = 0.0
    if applied:
        names = ", ".join(applied)
        try:
            with torch.no_grad():
                for start in range(0, inputs.shape[0], PROOF_BATCH):
                    x = torch.from_numpy(inputs[start : start + PROOF_BATCH].copy())
                    worst = max(worst, _max_abs(built(x), model(x)))
        except RuntimeError as error:  # a rewrite that does not fit how the model uses the module
            first = (str(error).strip().splitlines() or [""])[0]
            raise RewriteError(
                f"rewrites {names} broke the model ({first}): export with --rewrites none"
            ) from None
        if worst == np.inf:
            raise RewriteError(f"rewrites {names} changed an output's shape: export with --rewrites none")
        if not worst <= EQUAL_MAX_ABS:
            raise RewriteError(
                f"rewrites {names} changed the float outputs by {worst:.3g} "
                f"(> {EQUAL_MAX_ABS:g}): export with --rewrites none"
            )
    return {
        "requested": list(wanted),
        "applied": applied,
        "float_max_abs": worst,
        "images": int(inputs.shape[0]),
        "limit": EQUAL_MAX_ABS,
        "used_by": {n: list(REWRITES[n].routes) for n in applied},
    }
