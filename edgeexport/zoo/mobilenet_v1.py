"""MobileNetV1.

Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
arXiv:1704.04861. The body is the paper's Table 1: a full 3x3 convolution, then 13 depthwise-separable
pairs (3x3 depthwise, 1x1 pointwise), each convolution followed by BatchNorm and ReLU (Figure 3), then
global average pooling and one fully connected layer. The width multiplier (Sec. 3.3) scales every
layer's channels.

torchvision has no MobileNetV1, so the names are plain: ``features`` (stem plus the separable pairs,
each with ``dw``/``pw``), ``avgpool`` and ``classifier`` (dropout, linear). Where the paper is silent or
wrong:

- the second-to-last depthwise row of Table 1 says "s2" on a 7x7 input whose output is still 7x7, a
  known misprint: it is stride 1 here, as in every reference implementation;
- dropout defaults to 0: the paper trains with "less regularization" and names no dropout rate (the
  TF-slim reference keeps 0.999, i.e. effectively none). The layer stays so a caller can set a rate;
- channel counts under a width multiplier are rounded with ``make_divisible`` (multiples of 8), which
  gives the paper's widths for its multipliers 1, 0.75, 0.5 and 0.25.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import Act, ConvBNAct, init_weights, make_divisible


@dataclass(frozen=True, slots=True)
class Separable:
    """A "Conv dw / s" row of Table 1 and the 1x1 "Conv / s1" row after it."""

    out: int
    stride: int


STEM_CHANNELS = 32  # Table 1, row 1: Conv / s2, 3x3x3x32
TABLE_1: tuple[Separable, ...] = (
    Separable(out=64, stride=1),  # Table 1, rows 2-3
    Separable(out=128, stride=2),  # Table 1, rows 4-5
    Separable(out=128, stride=1),  # Table 1, rows 6-7
    Separable(out=256, stride=2),  # Table 1, rows 8-9
    Separable(out=256, stride=1),  # Table 1, rows 10-11
    Separable(out=512, stride=2),  # Table 1, rows 12-13
    Separable(out=512, stride=1),  # Table 1, rows 14-15, 1 of 5
    Separable(out=512, stride=1),  # Table 1, rows 14-15, 2 of 5
    Separable(out=512, stride=1),  # Table 1, rows 14-15, 3 of 5
    Separable(out=512, stride=1),  # Table 1, rows 14-15, 4 of 5
    Separable(out=512, stride=1),  # Table 1, rows 14-15, 5 of 5
    Separable(out=1024, stride=2),  # Table 1, rows 16-17
    Separable(out=1024, stride=1),  # Table 1, rows 18-19 (printed "s2": 7x7 in, 7x7 out)
)


class DepthwiseSeparable(nn.Sequential):
    """Figure 3 (right): 3x3 depthwise conv-BN-ReLU, then 1x1 pointwise conv-BN-ReLU."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__(
            OrderedDict(
                dw=ConvBNAct(in_ch, in_ch, 3, stride, groups=in_ch, act=Act.RELU),
                pw=ConvBNAct(in_ch, out_ch, 1, act=Act.RELU),
            )
        )
        self.out_channels = out_ch


class MobileNetV1(nn.Module):
    def __init__(
        self,
        *,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be positive, got {width_mult}")
        in_ch = make_divisible(STEM_CHANNELS * width_mult)
        layers: list[nn.Module] = [ConvBNAct(in_channels, in_ch, 3, 2, act=Act.RELU)]
        for row in TABLE_1:
            out_ch = make_divisible(row.out * width_mult)
            layers.append(DepthwiseSeparable(in_ch, out_ch, row.stride))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        # Table 1, rows 20-21: global average pool, then FC (with bias) to the classes.
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(in_ch, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


@register_model("mobilenet_v1")
def mobilenet_v1(
    *,
    width_mult: float = 1.0,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.0,
) -> MobileNetV1:
    model = MobileNetV1(
        width_mult=width_mult, num_classes=num_classes, in_channels=in_channels, dropout=dropout
    )
    init_weights(model)
    return model
