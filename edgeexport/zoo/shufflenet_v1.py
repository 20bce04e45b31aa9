"""ShuffleNet (v1).

Zhang et al., "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices",
arXiv:1707.01083. Followed from the paper:

- stage widths for g = 1, 2, 3, 4, 8 and the repeats 4 / 8 / 4 (one stride-2 unit first) from Table 1;
- the unit of Figure 2(b)/(c): 1x1 group conv -> BN -> ReLU -> channel shuffle -> 3x3 depthwise (stride
  here) -> BN (no ReLU, Sec. 3.2) -> 1x1 group conv -> BN, then add (stride 1) or concatenate with a
  3x3 stride-2 average-pooled shortcut (stride 2), then ReLU;
- bottleneck channels = 1/4 of the unit's output channels (Sec. 3.3);
- the first pointwise conv of Stage 2 is not grouped, its 24 input channels being too few (Sec. 3.3);
  with that conv dense the shuffle after it would be a fixed permutation the weights absorb, so it is left
  out there;
- "ShuffleNet s x" scales every layer's filters by s (Sec. 3.3), Conv1 included; widths are rounded so the
  group convs divide evenly (stage widths to multiples of 4g, Conv1 to multiples of g).

There is no torchvision ShuffleNetV1; module names are this file's own.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import Act, ConvBNAct, channel_shuffle, init_weights, make_divisible


class StageWidths(NamedTuple):
    """Output channels of Stage 2, 3, 4 for one group count g (one column of Table 1)."""

    stage2: int
    stage3: int
    stage4: int


class StageRow(NamedTuple):
    """One stage of Table 1: the first unit has stride 2, the other ``repeat - 1`` stride 1."""

    name: str
    repeat: int


TABLE_1_WIDTHS: dict[int, StageWidths] = {
    1: StageWidths(144, 288, 576),  # Table 1, g = 1
    2: StageWidths(200, 400, 800),  # Table 1, g = 2
    3: StageWidths(240, 480, 960),  # Table 1, g = 3
    4: StageWidths(272, 544, 1088),  # Table 1, g = 4
    8: StageWidths(384, 768, 1536),  # Table 1, g = 8
}

TABLE_1_STAGES: tuple[StageRow, ...] = (
    StageRow("stage2", repeat=4),  # Table 1, Stage2: 1 x stride 2 + 3 x stride 1
    StageRow("stage3", repeat=8),  # Table 1, Stage3: 1 x stride 2 + 7 x stride 1
    StageRow("stage4", repeat=4),  # Table 1, Stage4: 1 x stride 2 + 3 x stride 1
)

CONV1_CHANNELS = 24  # Table 1, Conv1


class ShuffleUnit(nn.Module):
    """Figure 2(b) (stride 1, residual add) and 2(c) (stride 2, concatenated avg-pool shortcut)."""

    def __init__(self, in_ch: int, out_ch: int, *, stride: int, groups: int, group_first: bool) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if stride == 1 and in_ch != out_ch:
            raise ValueError(
                f"a stride-1 unit adds its input, so in_ch must equal out_ch: {in_ch} != {out_ch}"
            )
        mid = out_ch // 4
        # The stride-2 unit concatenates its input, so its branch only makes the missing channels.
        branch_out = out_ch - in_ch if stride == 2 else out_ch
        first_groups = groups if group_first else 1
        self.concat = stride == 2
        self.shuffle_groups = first_groups

        self.compress = ConvBNAct(in_ch, mid, 1, groups=first_groups, act=Act.RELU)
        self.depthwise = ConvBNAct(mid, mid, 3, stride, groups=mid, act=Act.NONE)
        self.expand = ConvBNAct(mid, branch_out, 1, groups=groups, act=Act.NONE)
        self.shortcut: nn.Module = nn.AvgPool2d(3, stride=2, padding=1) if self.concat else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.compress(x)
        if self.shuffle_groups > 1:
            # Lets the next group conv see channels from every group of the previous one (Sec. 3.1).
            out = channel_shuffle(out, self.shuffle_groups)
        out = self.expand(self.depthwise(out))
        out = torch.cat((self.shortcut(x), out), dim=1) if self.concat else x + out
        return F.relu(out)


class ShuffleNetV1(nn.Module):
    def __init__(
        self,
        *,
        groups: int,
        width_mult: float,
        num_classes: int = 1000,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        stem = make_divisible(CONV1_CHANNELS * width_mult, groups)
        widths = [make_divisible(c * width_mult, 4 * groups) for c in TABLE_1_WIDTHS[groups]]

        self.conv1 = ConvBNAct(in_channels, stem, 3, 2, act=Act.RELU)  # Table 1, Conv1
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # Table 1, MaxPool

        in_ch = stem
        for row, out_ch in zip(TABLE_1_STAGES, widths, strict=True):
            units = [
                ShuffleUnit(in_ch, out_ch, stride=2, groups=groups, group_first=row.name != "stage2"),
            ]
            units += [
                ShuffleUnit(out_ch, out_ch, stride=1, groups=groups, group_first=True)
                for _ in range(row.repeat - 1)
            ]
            setattr(self, row.name, nn.Sequential(*units))
            in_ch = out_ch
        self.stage2: nn.Sequential
        self.stage3: nn.Sequential
        self.stage4: nn.Sequential

        self.avgpool = nn.AdaptiveAvgPool2d(1)  # Table 1, GlobalPool
        self.fc = nn.Linear(in_ch, num_classes)  # Table 1, FC

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@register_model("shufflenet_v1")
def shufflenet_v1(
    *,
    groups: int = 3,
    width_mult: float = 1.0,
    num_classes: int = 1000,
    in_channels: int = 3,
) -> nn.Module:
    """ShuffleNet with ``groups`` in Table 1's columns (1, 2, 3, 4, 8), scaled by ``width_mult``."""
    if groups not in TABLE_1_WIDTHS:
        allowed = ", ".join(str(g) for g in TABLE_1_WIDTHS)
        raise ValueError(f"ShuffleNet groups must be one of {allowed}, got {groups}")
    if width_mult <= 0:
        raise ValueError(f"width_mult must be positive, got {width_mult}")
    model = ShuffleNetV1(
        groups=groups, width_mult=width_mult, num_classes=num_classes, in_channels=in_channels
    )
    init_weights(model)
    return model
