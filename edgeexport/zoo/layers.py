"""Building blocks shared by several families.

Module and parameter names follow torchvision's (``Conv2dNormActivation`` is a plain Sequential of
conv, norm, activation; ``SqueezeExcitation`` has ``fc1``/``fc2``) so torchvision checkpoints load with
``strict=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import torch
from torch import nn
from torch.nn import functional as F


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor`` without going more than 10 % down.

    MobileNetV2 paper's reference code (also torchvision's ``_make_divisible``).
    """
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


class Act(StrEnum):
    """Activations by name, so a typo is an error instead of a silent ReLU."""

    RELU = "relu"
    RELU6 = "relu6"
    HSWISH = "hardswish"
    NONE = "none"

    def module(self) -> nn.Module:
        if self is Act.RELU:
            return nn.ReLU(inplace=True)
        if self is Act.RELU6:
            return nn.ReLU6(inplace=True)
        if self is Act.HSWISH:
            # h-swish(x) = x * ReLU6(x + 3) / 6  (MobileNetV3 paper, eq. 2)
            return nn.Hardswish(inplace=True)
        return nn.Identity()


class ConvBNAct(nn.Sequential):
    """conv -> BatchNorm -> activation, as torchvision's ``Conv2dNormActivation`` (indices 0, 1, 2)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int = 3,
        stride: int = 1,
        *,
        groups: int = 1,
        act: Act = Act.RELU,
        padding: int | None = None,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        padding = (kernel - 1) // 2 if padding is None else padding
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch, eps=bn_eps, momentum=bn_momentum),
        ]
        if act is not Act.NONE:
            layers.append(act.module())
        super().__init__(*layers)
        self.out_channels = out_ch


class BasicConv2d(nn.Module):
    """conv (no bias) -> BatchNorm(eps=0.001) -> ReLU, torchvision's GoogLeNet and Inception-v3 block
    (names ``conv``/``bn``); ``kernel`` and ``padding`` may be (h, w) for Inception-v3's 1xn / nx1."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int | tuple[int, int],
        *,
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_ch, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation as MobileNetV3 uses it (paper Sec. 5.3).

    avg-pool -> 1x1 conv (reduce) -> ReLU -> 1x1 conv (expand) -> hard-sigmoid -> scale.
    Created once in ``__init__`` (never inside ``forward``) and applied after the depthwise
    activation, as the paper's Figure 4 places it.
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        *,
        scale_activation: Callable[..., nn.Module] = nn.Hardsigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * scale


class ChannelPad(nn.Module):
    """Append ``extra`` zero channels (NCHW dim 1): a residual that widens without a 1x1 conv (BlazeFace).
    A module, not an inline ``F.pad``, so an export rewrite can find it (export/rewrites.py)."""

    def __init__(self, extra: int) -> None:
        super().__init__()
        self.extra = extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: reshape (g, c/g) -> transpose -> flatten (ShuffleNetV1 Sec. 3.1)."""
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


def init_weights(model: nn.Module) -> None:
    """The initialisation torchvision uses for these families (kaiming fan-out convs, N(0, 0.01) fc)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
