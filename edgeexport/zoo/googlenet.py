"""GoogLeNet / Inception v1, in torchvision's layout.

Szegedy et al., "Going Deeper with Convolutions", arXiv:1409.4842. The branch widths are the paper's
Table 1. Module names, structure and shapes are torchvision's ``googlenet`` (without the auxiliary
classifiers), so a torchvision ``state_dict`` loads with ``strict=True`` once its ``aux1``/``aux2`` keys
are dropped. As in torchvision, and unlike the paper:

- every convolution is followed by BatchNorm (eps 0.001), which the paper predates;
- the "5x5" branch uses a 3x3 convolution (a known slip of the original port, kept for weight compatibility);
- max pools use ``ceil_mode=True`` (the Caffe rounding the released model was trained with).

``transform_input`` is left out: preprocessing belongs to the model card.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import BasicConv2d, init_weights


class InceptionRow(NamedTuple):
    """One inception module: Table 1's "#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj"."""

    ch1x1: int
    ch3x3red: int
    ch3x3: int
    ch5x5red: int
    ch5x5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        return self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj


TABLE_1: dict[str, InceptionRow] = {
    "3a": InceptionRow(64, 96, 128, 16, 32, 32),  # Table 1, inception (3a)
    "3b": InceptionRow(128, 128, 192, 32, 96, 64),  # Table 1, inception (3b)
    "4a": InceptionRow(192, 96, 208, 16, 48, 64),  # Table 1, inception (4a)
    "4b": InceptionRow(160, 112, 224, 24, 64, 64),  # Table 1, inception (4b)
    "4c": InceptionRow(128, 128, 256, 24, 64, 64),  # Table 1, inception (4c)
    "4d": InceptionRow(112, 144, 288, 32, 64, 64),  # Table 1, inception (4d)
    "4e": InceptionRow(256, 160, 320, 32, 128, 128),  # Table 1, inception (4e)
    "5a": InceptionRow(256, 160, 320, 32, 128, 128),  # Table 1, inception (5a)
    "5b": InceptionRow(384, 192, 384, 48, 128, 128),  # Table 1, inception (5b)
}


class Inception(nn.Module):
    """The paper's Figure 2(b): four parallel branches concatenated along channels."""

    def __init__(self, in_ch: int, row: InceptionRow) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_ch, row.ch1x1, 1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_ch, row.ch3x3red, 1),
            BasicConv2d(row.ch3x3red, row.ch3x3, 3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_ch, row.ch5x5red, 1),
            # 3x3 where the paper has 5x5: torchvision's layout, so its checkpoints fit.
            BasicConv2d(row.ch5x5red, row.ch5x5, 3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_ch, row.pool_proj, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2) -> None:
        super().__init__()
        # Table 1, stem: conv 7x7/2, max pool 3x3/2, conv 3x3 (with its 1x1 reduce), max pool 3x3/2.
        self.conv1 = BasicConv2d(in_channels, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        t = TABLE_1
        self.inception3a = Inception(192, t["3a"])
        self.inception3b = Inception(t["3a"].out_channels, t["3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(t["3b"].out_channels, t["4a"])
        self.inception4b = Inception(t["4a"].out_channels, t["4b"])
        self.inception4c = Inception(t["4b"].out_channels, t["4c"])
        self.inception4d = Inception(t["4c"].out_channels, t["4d"])
        self.inception4e = Inception(t["4d"].out_channels, t["4e"])
        # 2x2 here (torchvision; the paper's Table 1 says 3x3/2): same 7x7 output at 224x224.
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = Inception(t["4e"].out_channels, t["5a"])
        self.inception5b = Inception(t["5a"].out_channels, t["5b"])

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(t["5b"].out_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        x = self.inception4b(x)
        x = self.inception4c(x)
        x = self.inception4d(x)
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


@register_model("googlenet")
def googlenet(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2) -> GoogLeNet:
    model = GoogLeNet(num_classes=num_classes, in_channels=in_channels, dropout=dropout)
    init_weights(model)
    return model
