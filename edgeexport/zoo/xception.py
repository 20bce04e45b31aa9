"""Xception.

Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", arXiv:1610.02357.
Followed: Figure 5 and its caption (entry flow, middle flow repeated 8 times, exit flow):

- a separable convolution is a 3x3 depthwise then a 1x1 pointwise convolution with no nonlinearity between
  them (Section 4.7: an intermediate activation hurts) and, as in Keras' reference, no BatchNorm between;
- every convolution and separable convolution is followed by BatchNorm (Figure 5's caption);
- the stride-2 blocks of the entry and exit flows have a 1x1 stride-2 convolution (+ BatchNorm) on the
  residual path, as Figure 5 draws them; the middle flow's residuals are identities;
- convolutions have no bias (BatchNorm follows), the classifier has one: 22,855,952 parameters at
  1000 classes, the paper's Table 3 figure.

The first two convolutions are unpadded (299 -> 149 -> 147), as in Keras' reference implementation.
Module names follow Cadene's ``pretrainedmodels`` / timm's ``legacy_xception`` (``conv1``, ``bn1``,
``block1``..``block12`` with ``skip``/``skipbn``/``rep``, ``conv3``, ``bn4``, ...), so their checkpoints
map key for key (Cadene's classifier is ``last_linear``, here and in timm ``fc``).

``width_mult`` (not in the paper; 1.0 is the paper's network) scales every width, rounded to a multiple
of 8: the Fashion-MNIST card uses 0.5, a quarter of the parameters, so its weights fit in the repository.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import init_weights, make_divisible


class XBlock(NamedTuple):
    """A residual block of Figure 5: ReLU -> SeparableConv -> BN, once per width, then a max pool."""

    widths: tuple[int, ...]  # output channels of each separable convolution
    stride: int = 1  # 2: 3x3/2 max pool at the end, 1x1 stride-2 conv + BN on the residual path
    relu_first: bool = True  # the first entry-flow block follows the stem's ReLU directly


ENTRY_FLOW = (
    XBlock((128, 128), stride=2, relu_first=False),  # Figure 5, entry flow, block 1
    XBlock((256, 256), stride=2),  # Figure 5, entry flow, block 2
    XBlock((728, 728), stride=2),  # Figure 5, entry flow, block 3
)
MIDDLE_FLOW = (XBlock((728, 728, 728)),) * 8  # Figure 5, middle flow, "repeated 8 times"
EXIT_FLOW = (XBlock((728, 1024), stride=2),)  # Figure 5, exit flow, residual block
ARCH = ENTRY_FLOW + MIDDLE_FLOW + EXIT_FLOW


class SeparableConv2d(nn.Module):
    """Depthwise 3x3 then pointwise 1x1, nothing in between (paper Section 4.7)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch, bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.conv1(x))


class Block(nn.Module):
    def __init__(self, in_ch: int, row: XBlock) -> None:
        super().__init__()
        out_ch = row.widths[-1]
        self.skip: nn.Module | None = None
        self.skipbn: nn.Module = nn.Identity()
        if row.stride != 1 or out_ch != in_ch:
            self.skip = nn.Conv2d(in_ch, out_ch, 1, stride=row.stride, bias=False)
            self.skipbn = nn.BatchNorm2d(out_ch)

        layers: list[nn.Module] = []
        ch = in_ch
        for i, width in enumerate(row.widths):
            if i > 0 or row.relu_first:
                # Not in place for the first: the block's input also feeds the residual path.
                layers.append(nn.ReLU(inplace=i > 0))
            layers += [SeparableConv2d(ch, width), nn.BatchNorm2d(width)]
            ch = width
        if row.stride != 1:
            layers.append(nn.MaxPool2d(3, stride=row.stride, padding=1))
        self.rep = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.skip is None else self.skipbn(self.skip(x))
        return self.rep(x) + shortcut


class Xception(nn.Module):
    def __init__(self, *, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0) -> None:
        super().__init__()

        def w(channels: int) -> int:
            return channels if width_mult == 1.0 else make_divisible(channels * width_mult)

        # Figure 5, entry flow stem: Conv 32 3x3 stride 2, Conv 64 3x3 (both unpadded), each + BN + ReLU.
        self.conv1 = nn.Conv2d(in_channels, w(32), 3, stride=2, bias=False)
        self.bn1 = nn.BatchNorm2d(w(32))
        self.conv2 = nn.Conv2d(w(32), w(64), 3, bias=False)
        self.bn2 = nn.BatchNorm2d(w(64))
        self.relu = nn.ReLU(inplace=True)

        ch = w(64)
        self.block_names: tuple[str, ...] = tuple(f"block{i}" for i in range(1, len(ARCH) + 1))
        for name, row in zip(self.block_names, ARCH, strict=True):
            scaled = row._replace(widths=tuple(w(c) for c in row.widths))
            self.add_module(name, Block(ch, scaled))
            ch = scaled.widths[-1]

        # Figure 5, exit flow tail: SeparableConv 1536 and 2048, each + BN + ReLU, then global pooling.
        self.conv3 = SeparableConv2d(ch, w(1536))
        self.bn3 = nn.BatchNorm2d(w(1536))
        self.conv4 = SeparableConv2d(w(1536), w(2048))
        self.bn4 = nn.BatchNorm2d(w(2048))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(w(2048), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        for name in self.block_names:
            x = getattr(self, name)(x)
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.relu(self.bn4(self.conv4(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@register_model("xception")
def xception(*, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0) -> Xception:
    model = Xception(num_classes=num_classes, in_channels=in_channels, width_mult=width_mult)
    init_weights(model)
    return model
