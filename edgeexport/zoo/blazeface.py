"""BlazeFace feature extractor.

Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs", arXiv:1907.05047.
Followed: Figure 1 and Table 4, with the output shapes of the released (MediaPipe) front model.

- Single BlazeBlock (Figure 1, left): 5x5 depthwise, 1x1 pointwise, residual add, ReLU.
- Double BlazeBlock (Figure 1, right): 5x5 depthwise, 1x1 projection down, ReLU, 5x5 depthwise,
  1x1 expansion, residual add, ReLU.
- A stride-2 block downsamples its residual path with a 2x2 max pool, and a block that widens pads the
  residual with zero channels, as the released model does (no 1x1 shortcut convolution).

Layout. The paper's Table 4 reaches 16x16x96 with double blocks, while the released front model (and the
two feature maps the detector heads read) are 16x16x88 and 8x8x96, and this project needs "BlazeBlock +
double BlazeBlock". So: the 5x5 stride-2 stem of Table 4, then single BlazeBlocks with the released model's
widths (24, 28 | 32, 36, 42 | 48, 56, 64, 72, 80, 88) down to 16x16x88, then the last three rows of Table 4
verbatim, double BlazeBlocks with a 24-channel bottleneck, for the 8x8x96 stage. The released model has
3x3 depthwise kernels and single blocks only (five at 8x8); this keeps the paper's 5x5 kernels and its
double blocks. The paper does not state normalisation; each convolution here is followed by BatchNorm,
which an export folds back into the convolution's bias (the released model's conv + bias form).

``num_classes=None`` returns both feature maps ``(16x16x88, 8x8x96)``; an integer adds a classifier
(global average pool of the 8x8x96 map + linear) and returns logits.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import Act, ChannelPad, ConvBNAct, init_weights

KERNEL = 5  # Table 4: every depthwise convolution is 5x5.
STEM_CHANNELS = 24  # Table 4, row 1: Convolution 5x5x3x24, stride 2 -> 64x64x24


class Blaze(NamedTuple):
    """One BlazeBlock; ``mid`` set makes it a double BlazeBlock with that bottleneck width."""

    out: int
    stride: int = 1
    mid: int | None = None


# Stage ending at 16x16x88 (backbone1): single BlazeBlocks, widths of the released model.
STAGE_16 = (
    Blaze(out=24),  # Table 4, row 2 (64x64x24)
    Blaze(out=28),  # Table 4, row 3 (64x64; width 28 as released)
    Blaze(out=32, stride=2),  # Table 4, row 4 (-> 32x32; width 32 as released, paper 48)
    Blaze(out=36),  # Table 4, row 5 (32x32)
    Blaze(out=42),  # Table 4, row 6 (32x32)
    Blaze(out=48, stride=2),  # Table 4, row 7 (-> 16x16; single with width 48 as released)
    Blaze(out=56),  # Table 4, rows 8-9 (16x16, two doubles): five singles, released widths to 88
    Blaze(out=64),
    Blaze(out=72),
    Blaze(out=80),
    Blaze(out=88),  # 16x16x88: first feature map (2 anchors per cell in the detector)
)
# Stage ending at 8x8x96 (backbone2): double BlazeBlocks exactly as Table 4.
STAGE_8 = (
    Blaze(out=96, stride=2, mid=24),  # Table 4, row 10: 5x5 dw /2, 1x1 -> 24, 5x5 dw, 1x1 -> 96
    Blaze(out=96, mid=24),  # Table 4, row 11
    Blaze(out=96, mid=24),  # Table 4, row 12: 8x8x96, second feature map (6 anchors per cell)
)


class BlazeBlock(nn.Module):
    """Single or double BlazeBlock (Figure 1); BatchNorm after each convolution, no activation before
    the residual add except the double block's ReLU after its projection."""

    def __init__(self, in_ch: int, row: Blaze) -> None:
        super().__init__()
        if row.out < in_ch:
            raise ValueError(f"a BlazeBlock cannot narrow its residual ({in_ch} -> {row.out} channels)")
        self.channel_pad = row.out - in_ch
        dw_out = in_ch
        layers: list[nn.Module] = [
            ConvBNAct(in_ch, in_ch, KERNEL, row.stride, groups=in_ch, act=Act.NONE),
        ]
        if row.mid is not None:
            layers += [
                ConvBNAct(in_ch, row.mid, 1, act=Act.RELU),
                ConvBNAct(row.mid, row.mid, KERNEL, groups=row.mid, act=Act.NONE),
            ]
            dw_out = row.mid
        layers.append(ConvBNAct(dw_out, row.out, 1, act=Act.NONE))
        self.convs = nn.Sequential(*layers)
        self.shortcut: nn.Module = nn.MaxPool2d(2, 2) if row.stride == 2 else nn.Identity()
        self.pad: nn.Module = ChannelPad(self.channel_pad) if self.channel_pad else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.convs(x) + self.pad(self.shortcut(x)))


def _stage(in_ch: int, rows: tuple[Blaze, ...]) -> list[nn.Module]:
    blocks: list[nn.Module] = []
    for row in rows:
        blocks.append(BlazeBlock(in_ch, row))
        in_ch = row.out
    return blocks


class BlazeFace(nn.Module):
    """Backbone: returns the 16x16x88 and 8x8x96 feature maps (at a 128x128 input)."""

    def __init__(self, *, in_channels: int = 3) -> None:
        super().__init__()
        stem = ConvBNAct(in_channels, STEM_CHANNELS, KERNEL, 2, act=Act.RELU)
        self.backbone1 = nn.Sequential(stem, *_stage(STEM_CHANNELS, STAGE_16))
        self.backbone2 = nn.Sequential(*_stage(STAGE_16[-1].out, STAGE_8))
        self.out_channels = (STAGE_16[-1].out, STAGE_8[-1].out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x16 = self.backbone1(x)
        return x16, self.backbone2(x16)


class BlazeFaceClassifier(nn.Module):
    """The backbone plus a classifier on its 8x8x96 map (global average pool + linear)."""

    def __init__(self, *, num_classes: int, in_channels: int = 3) -> None:
        super().__init__()
        self.features = BlazeFace(in_channels=in_channels)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.features.out_channels[1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, x8 = self.features(x)
        return self.fc(torch.flatten(self.avgpool(x8), 1))


@register_model("blazeface")
def blazeface(*, num_classes: int | None = None, in_channels: int = 3) -> BlazeFace | BlazeFaceClassifier:
    model: BlazeFace | BlazeFaceClassifier
    if num_classes is None:
        model = BlazeFace(in_channels=in_channels)
    else:
        model = BlazeFaceClassifier(num_classes=num_classes, in_channels=in_channels)
    init_weights(model)
    return model
