"""ShuffleNetV2, in torchvision's layout.

Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design", arXiv:1807.11164.
Widths and repeats are the paper's Table 5; the unit is its Figure 3(c) (stride 1: channel split, identity
on one half) and 3(d) (stride 2: both branches see the whole input), each followed by a channel shuffle.

Module names, structure and shapes are torchvision's ``shufflenetv2`` (``conv1``, ``maxpool``,
``stage2``-``stage4`` of ``InvertedResidual`` with ``branch1``/``branch2``, ``conv5``, ``fc``), so a
torchvision ``state_dict`` loads with ``strict=True``. As in torchvision, the stride-1 unit keeps an empty
``branch1`` and the pooled features are a spatial mean, not an ``nn.AdaptiveAvgPool2d``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import Act, ConvBNAct, channel_shuffle, init_weights


class Widths(NamedTuple):
    """Output channels of one Table 5 column: Conv1, Stage2, Stage3, Stage4, Conv5."""

    conv1: int
    stage2: int
    stage3: int
    stage4: int
    conv5: int

    @property
    def stages(self) -> tuple[int, int, int]:
        return self.stage2, self.stage3, self.stage4


class StageRow(NamedTuple):
    """One stage of Table 5: the first unit has stride 2, the other ``repeat - 1`` stride 1."""

    name: str
    repeat: int


TABLE_5_WIDTHS: dict[str, Widths] = {
    "x0_5": Widths(conv1=24, stage2=48, stage3=96, stage4=192, conv5=1024),  # Table 5, column 0.5x
    "x1_0": Widths(conv1=24, stage2=116, stage3=232, stage4=464, conv5=1024),  # Table 5, column 1x
    "x1_5": Widths(conv1=24, stage2=176, stage3=352, stage4=704, conv5=1024),  # Table 5, column 1.5x
    "x2_0": Widths(conv1=24, stage2=244, stage3=488, stage4=976, conv5=2048),  # Table 5, column 2x
}

TABLE_5_STAGES: tuple[StageRow, ...] = (
    StageRow("stage2", repeat=4),  # Table 5, Stage2: 1 x stride 2 + 3 x stride 1
    StageRow("stage3", repeat=8),  # Table 5, Stage3: 1 x stride 2 + 7 x stride 1
    StageRow("stage4", repeat=4),  # Table 5, Stage4: 1 x stride 2 + 3 x stride 1
)


def _depthwise(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False)


class InvertedResidual(nn.Module):
    """The ShuffleNetV2 unit (Figure 3c/3d); torchvision's class name and parameter names.

    ``branch1`` is empty for stride 1 (the identity half of the channel split) and a depthwise +
    pointwise projection for stride 2. There is no ReLU after a depthwise conv (guideline G4: fewer
    element-wise ops; as in ShuffleNetV1).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        branch = out_ch // 2
        if stride == 1 and in_ch != 2 * branch:
            raise ValueError(f"a stride-1 unit needs in_ch == out_ch (even), got {in_ch} -> {out_ch}")
        self.stride = stride

        if stride > 1:
            self.branch1 = nn.Sequential(
                _depthwise(in_ch, stride),
                nn.BatchNorm2d(in_ch),
                nn.Conv2d(in_ch, branch, 1, 1, 0, bias=False),
                nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True),
            )
        else:
            # Kept (empty) so the module tree is torchvision's.
            self.branch1 = nn.Sequential()

        self.branch2 = nn.Sequential(
            nn.Conv2d(in_ch if stride > 1 else branch, branch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
            _depthwise(branch, stride),
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        # Mixes the two halves so the next unit's split sees channels from both branches.
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, widths: Widths, *, num_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(in_channels, widths.conv1, 3, 2, act=Act.RELU)  # Table 5, Conv1
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # Table 5, MaxPool

        in_ch = widths.conv1
        for row, out_ch in zip(TABLE_5_STAGES, widths.stages, strict=True):
            units = [InvertedResidual(in_ch, out_ch, 2)]
            units += [InvertedResidual(out_ch, out_ch, 1) for _ in range(row.repeat - 1)]
            setattr(self, row.name, nn.Sequential(*units))
            in_ch = out_ch
        self.stage2: nn.Sequential
        self.stage3: nn.Sequential
        self.stage4: nn.Sequential

        self.conv5 = ConvBNAct(in_ch, widths.conv5, 1, act=Act.RELU)  # Table 5, Conv5
        self.fc = nn.Linear(widths.conv5, num_classes)  # Table 5, GlobalPool + FC

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x)
        return self.fc(x.mean([2, 3]))


@register_model("shufflenet_v2")
def shufflenet_v2(*, width: str = "x1_0", num_classes: int = 1000, in_channels: int = 3) -> nn.Module:
    """ShuffleNetV2 at one of Table 5's widths: ``x0_5``, ``x1_0``, ``x1_5`` or ``x2_0``."""
    if width not in TABLE_5_WIDTHS:
        allowed = ", ".join(repr(w) for w in TABLE_5_WIDTHS)
        raise ValueError(f"unknown ShuffleNetV2 width {width!r}; allowed: {allowed}")
    model = ShuffleNetV2(TABLE_5_WIDTHS[width], num_classes=num_classes, in_channels=in_channels)
    init_weights(model)
    return model
