"""MobileNetV2, in torchvision's layout.

Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", arXiv:1801.04381. The body is
the paper's Table 2 (rows of t, c, n, s) built from the inverted residual block of Table 1 / Figure 4:
1x1 expansion with ReLU6 (skipped when t = 1), 3x3 depthwise with ReLU6, then a linear 1x1 projection;
a residual connection when stride is 1 and the channel count is unchanged.

Module names, structure and shapes are torchvision's ``mobilenet_v2`` (``features.0`` stem,
``features.1``-``features.17`` blocks with a ``conv`` Sequential, ``features.18`` the 1x1 conv to 1280,
``classifier`` = dropout + linear), so torchvision's ImageNet ``state_dict`` loads with ``strict=True``.
As in torchvision, the last 1x1 layer of Table 2 (row 11) is a linear layer after global pooling, and
the 1280-wide conv is never narrowed below 1280 by a width multiplier under 1 (paper Sec. 6.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import Act, ConvBNAct, init_weights, make_divisible


@dataclass(frozen=True, slots=True)
class Bottleneck:
    """A bottleneck row of Table 2: expansion t, output channels c, repeats n, first stride s."""

    t: int
    c: int
    n: int
    s: int


STEM_CHANNELS = 32  # Table 2, row 1: conv2d 3x3, c=32, s=2
TABLE_2: tuple[Bottleneck, ...] = (
    Bottleneck(t=1, c=16, n=1, s=1),  # Table 2, row 2
    Bottleneck(t=6, c=24, n=2, s=2),  # Table 2, row 3
    Bottleneck(t=6, c=32, n=3, s=2),  # Table 2, row 4
    Bottleneck(t=6, c=64, n=4, s=2),  # Table 2, row 5
    Bottleneck(t=6, c=96, n=3, s=1),  # Table 2, row 6
    Bottleneck(t=6, c=160, n=3, s=2),  # Table 2, row 7
    Bottleneck(t=6, c=320, n=1, s=1),  # Table 2, row 8
)
LAST_CHANNELS = 1280  # Table 2, row 9: conv2d 1x1, c=1280


class InvertedResidual(nn.Module):
    """Table 1 of the paper; torchvision's layout (``conv.{0,1}`` ConvBNAct, then bare conv and BN)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_ch * expand_ratio
        self.use_res_connect = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(in_ch, hidden, 1, act=Act.RELU6))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride, groups=hidden, act=Act.RELU6),
            # Linear bottleneck (Sec. 3.2): no activation after the projection.
            nn.Conv2d(hidden, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(
        self,
        *,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be positive, got {width_mult}")
        in_ch = make_divisible(STEM_CHANNELS * width_mult)
        self.last_channel = make_divisible(LAST_CHANNELS * max(1.0, width_mult))
        layers: list[nn.Module] = [ConvBNAct(in_channels, in_ch, 3, 2, act=Act.RELU6)]
        for row in TABLE_2:
            out_ch = make_divisible(row.c * width_mult)
            for i in range(row.n):
                layers.append(InvertedResidual(in_ch, out_ch, row.s if i == 0 else 1, row.t))
                in_ch = out_ch
        layers.append(ConvBNAct(in_ch, self.last_channel, 1, act=Act.RELU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Functional pooling as torchvision: no module, so no extra state_dict entry either way.
        x = torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1)
        return self.classifier(x)


@register_model("mobilenet_v2")
def mobilenet_v2(
    *,
    width_mult: float = 1.0,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.2,
) -> MobileNetV2:
    model = MobileNetV2(
        width_mult=width_mult, num_classes=num_classes, in_channels=in_channels, dropout=dropout
    )
    init_weights(model)
    return model
