"""MobileNeXt: MobileNetV2's layout rebuilt from sandglass blocks.

Zhou et al., "Rethinking Bottleneck Structure for Efficient Mobile Network Design", ECCV 2020,
arXiv:2007.02269. The stages are the paper's Table 3, the block its Figure 3:

    x -> dw 3x3 -> BN -> ReLU6 -> 1x1 (reduce by t) -> BN -> 1x1 (expand) -> BN -> ReLU6
      -> dw 3x3 (stride here) -> BN  [+ x when stride 1 and in == out]

so the shortcut joins the high-dimensional tensors and both depthwise convs work on them.

Where the paper and the authors' code (github.com/zhoudaquan/rethinking_bottleneck_design, adapted from
yitu-opensource/MobileNeXt) differ, this file follows the code, the model the authors released; their
README gives it as "MobileNeXt-1.00: 3.5 M params, 300 M MAdds" (the paper says 3.4 M):

- Table 3 row 8 (960 channels) has 3 blocks, as in the code; the paper's table says 2. With 2 the model
  has 3.18 M params / 288 M MACs, away from both published figures.
- The first depthwise conv exists only in the t = 2 block and in blocks with in == out; a block that
  changes channels starts at its 1x1 reduction.
- The last depthwise conv exists only in the t = 2 block, blocks with in == out and stride-2 blocks, so a
  stride-1 block that changes channels (the first block of rows 3, 6, 8 and 9) is just the two 1x1 convs.
- The reduced width is ``in // t``, raised to ``ceil(out / 6)`` rounded to a multiple of 16 when smaller.
- Channels scale with ``width_mult`` rounded to multiples of 8; the last block stays at 1280 below 1.0,
  as MobileNetV2's last layer does. That reproduces the README's 2.1 M params at 0.5x (scaling it too
  gives 1.25 M).
- The identity tensor multiplier (the paper's partial shortcut) is the code's default 1.0: the whole
  tensor is added.
- The classifier is dropout(0.2) + linear on the pooled features (Table 3's 1x1 conv on a 1x1 map).

Module names (``features``, each block's flat ``conv`` Sequential, ``classifier.1``) are laid out like the
authors' code, which should let its checkpoints load; none was available to verify it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import Act, ConvBNAct, init_weights, make_divisible


class SandGlassRow(NamedTuple):
    """One row of Table 3: reduction ratio t, output channels c, blocks b, stride s of the first."""

    t: int
    c: int
    b: int
    s: int


STEM_CHANNELS = 32  # Table 3, row 1: conv2d 3x3, stride 2
LAST_CHANNELS = 1280  # Table 3, row 9

TABLE_3: tuple[SandGlassRow, ...] = (
    SandGlassRow(t=2, c=96, b=1, s=2),  # Table 3, row 2
    SandGlassRow(t=6, c=144, b=1, s=1),  # Table 3, row 3
    SandGlassRow(t=6, c=192, b=3, s=2),  # Table 3, row 4
    SandGlassRow(t=6, c=288, b=3, s=2),  # Table 3, row 5
    SandGlassRow(t=6, c=384, b=4, s=1),  # Table 3, row 6
    SandGlassRow(t=6, c=576, b=4, s=2),  # Table 3, row 7
    SandGlassRow(t=6, c=960, b=3, s=1),  # Table 3, row 8 (paper b=2; authors' code b=3)
    SandGlassRow(t=6, c=LAST_CHANNELS, b=1, s=1),  # Table 3, row 9
)


def reduced_channels(in_ch: int, out_ch: int, t: int) -> int:
    """The sandglass waist: ``in // t``, floored at ``out / 6`` (multiple of 16) as the authors' code does."""
    hidden = in_ch // t
    if hidden < out_ch / 6:
        hidden = make_divisible(math.ceil(out_ch / 6), 16)
    return hidden


class SandGlass(nn.Module):
    """Figure 3's sandglass block, minus the depthwise convs the authors' code leaves out."""

    def __init__(self, in_ch: int, out_ch: int, *, stride: int, t: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = reduced_channels(in_ch, out_ch, t)
        self.use_res_connect = stride == 1 and in_ch == out_ch

        layers: list[nn.Module] = []
        if t == 2 or in_ch == out_ch:
            layers.append(ConvBNAct(in_ch, in_ch, 3, groups=in_ch, act=Act.RELU6))
        # Linear reduction: a ReLU at the narrow waist would lose information (the paper's argument,
        # after MobileNetV2's linear bottleneck).
        layers += [nn.Conv2d(in_ch, hidden, 1, bias=False), nn.BatchNorm2d(hidden)]
        layers.append(ConvBNAct(hidden, out_ch, 1, act=Act.RELU6))
        if t == 2 or in_ch == out_ch or stride == 2:
            # Linear: the output is added to the shortcut, as in a linear residual.
            layers += [
                nn.Conv2d(out_ch, out_ch, 3, stride, 1, groups=out_ch, bias=False),
                nn.BatchNorm2d(out_ch),
            ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out


class MobileNeXt(nn.Module):
    def __init__(self, *, width_mult: float = 1.0, num_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        in_ch = make_divisible(STEM_CHANNELS * width_mult, 8)
        features: list[nn.Module] = [ConvBNAct(in_channels, in_ch, 3, 2, act=Act.RELU6)]
        for row in TABLE_3:
            out_ch = make_divisible(row.c * width_mult, 8)
            if row.c == LAST_CHANNELS and width_mult < 1.0:
                out_ch = LAST_CHANNELS
            for i in range(row.b):
                features.append(SandGlass(in_ch, out_ch, stride=row.s if i == 0 else 1, t=row.t))
                in_ch = out_ch
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # Table 3, row 10
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(in_ch, num_classes))  # Table 3, row 11

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


@register_model("mobilenext")
def mobilenext(*, width_mult: float = 1.0, num_classes: int = 1000, in_channels: int = 3) -> nn.Module:
    """MobileNeXt (Table 3) scaled by ``width_mult``; 1.0 is the paper's MobileNeXt-1.0."""
    if width_mult <= 0:
        raise ValueError(f"width_mult must be positive, got {width_mult}")
    model = MobileNeXt(width_mult=width_mult, num_classes=num_classes, in_channels=in_channels)
    init_weights(model)
    return model
