"""Inception-v3, in torchvision's layout.

Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", arXiv:1512.00567.
Followed: Table 1's outline at 299x299 -- a stem of plain convolutions to 35x35x192, three modules of
Figure 5 at 35x35, a grid-size reduction (Section 5, Figure 10) to 17x17x768, the 1xn / nx1 factorised
modules of Figure 6 with n = 7, a second reduction to 8x8x1280, two modules of Figure 7 (the expanded
filter banks of the coarsest grid) to 8x8x2048, global average pooling and one linear layer -- with the
auxiliary classifier of Section 4 (Figure 8) on the last 17x17 layer, optional and off by default.

Widths, module names and shapes are the released model's, which torchvision's ``inception_v3`` ports
(TensorFlow-slim's checkpoint), so a torchvision ``state_dict`` loads with ``strict=True``
(with ``aux_logits=True``; without the auxiliary head once its ``AuxLogits.*`` keys are dropped). Where
the released model and Table 1 differ, this file is the released model's:

- after the first pool, the stem is a 1x1 to 80, a 3x3 to 192 and a second 3x3/2 max pool (Table 1:
  three 3x3 convolutions, the middle one stride 2, and no second pool);
- the Figure 5 modules keep one 5x5 branch beside the two-3x3 branch, and the stride-2 reductions
  (``Mixed_6a``, ``Mixed_7a``) are Figure 10's parallel stride-2 convolution and max pool;
- the 17x17 stage is four Figure 6 modules after the reduction (Table 1 says 5 x Inception);
- every convolution is followed by BatchNorm (eps 0.001) and ReLU, without bias;
- the auxiliary head is a 1x1 to 128, a 5x5 to 768 and one linear layer (Figure 8: a 1x1 to 128 and
  fully connected layers; the paper's best model, Table 3's "BN-auxiliary", also batch-normalises its
  fully connected layer, which the released model does not).

Input is 299x299; 75x75 is the smallest input every stride fits (the 8x8 stage is then 1x1), but the
auxiliary head needs at least 17x17 at its grid (a 299-ish input). ``transform_input`` is left out:
preprocessing belongs to the model card. ``width_mult`` (not in the paper; 1.0 is the paper's network)
scales every width, rounded to a multiple of 8, as for Xception.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import BasicConv2d, init_weights, make_divisible

Width = Callable[[int], int]


class Kind(StrEnum):
    """The kinds of mixed module, by the figure that draws them."""

    A = "figure5"  # 35x35: 1x1, double 3x3, pool projection (and the released model's 5x5 branch)
    B = "reduction_35"  # Figure 10: 35x35 -> 17x17
    C = "figure6"  # 17x17: 1x7 / 7x1 factorised, n = 7
    D = "reduction_17"  # Figure 10: 17x17 -> 8x8
    E = "figure7"  # 8x8: expanded 1x3 / 3x1 filter banks


class MixedRow(NamedTuple):
    """One mixed module: torchvision's name, its kind, and its one free width (else 0)."""

    name: str
    kind: Kind
    width: int = 0  # Figure 5: the pool projection's width; Figure 6: the 7x7 branches' inner width


TABLE_1 = (
    MixedRow("Mixed_5b", Kind.A, 32),  # Table 1, "3 x Inception" (Figure 5) on the 35x35 grid
    MixedRow("Mixed_5c", Kind.A, 64),
    MixedRow("Mixed_5d", Kind.A, 64),
    MixedRow("Mixed_6a", Kind.B),  # Section 5 grid-size reduction to 17x17x768
    MixedRow("Mixed_6b", Kind.C, 128),  # Table 1, "5 x Inception" (Figure 6) on the 17x17 grid
    MixedRow("Mixed_6c", Kind.C, 160),
    MixedRow("Mixed_6d", Kind.C, 160),
    MixedRow("Mixed_6e", Kind.C, 192),
    MixedRow("Mixed_7a", Kind.D),  # grid-size reduction to 8x8x1280
    MixedRow("Mixed_7b", Kind.E),  # Table 1, "2 x Inception" (Figure 7) on the 8x8 grid
    MixedRow("Mixed_7c", Kind.E),
)
AUX_AFTER = "Mixed_6e"  # Section 4: the auxiliary classifier sits on top of the last 17x17 layer


def _channels(*ends: BasicConv2d) -> int:
    """A module's output width: the sum of its branches' last convolutions (plus any pool branch)."""
    return sum(end.conv.out_channels for end in ends)


def _row(c_in: int, c_out: int) -> BasicConv2d:
    """A 1x7 convolution (Figure 6's factorisation of 7x7, padded to keep the grid)."""
    return BasicConv2d(c_in, c_out, (1, 7), padding=(0, 3))


def _col(c_in: int, c_out: int) -> BasicConv2d:
    """A 7x1 convolution."""
    return BasicConv2d(c_in, c_out, (7, 1), padding=(3, 0))


def _pool() -> nn.AvgPool2d:
    """The pool branch of Figures 5-7: 3x3 average, stride 1, padded (zeros counted, as torchvision).

    A module (torchvision calls ``F.avg_pool2d``; no parameters, so the state_dict is the same) so the
    ``avgpool_conv`` rewrite finds it: ExecuTorch's XNNPACK partitioner leaves a padded ``avg_pool2d`` to
    the portable kernels, 9 partition breaks in this network."""
    return nn.AvgPool2d(3, stride=1, padding=1)


class InceptionA(nn.Module):
    """Figure 5: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1."""

    def __init__(self, c_in: int, pool_features: int, w: Width) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, w(64), 1)
        self.branch5x5_1 = BasicConv2d(c_in, w(48), 1)
        self.branch5x5_2 = BasicConv2d(w(48), w(64), 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, w(64), 1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), 3, padding=1)
        self.pool = _pool()
        self.branch_pool = BasicConv2d(c_in, w(pool_features), 1)
        self.out_channels = _channels(self.branch1x1, self.branch5x5_2, self.branch3x3dbl_3, self.branch_pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(self.pool(x))], 1)


class InceptionB(nn.Module):
    """Figure 10 at 35x35: stride-2 3x3 | 1x1 -> 3x3 -> stride-2 3x3 | stride-2 max pool."""

    def __init__(self, c_in: int, w: Width) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, w(384), 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, w(64), 1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), 3, stride=2)
        self.out_channels = _channels(self.branch3x3, self.branch3x3dbl_3) + c_in  # + the max pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    """Figure 6, n = 7: 1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 | avg pool -> 1x1."""

    def __init__(self, c_in: int, channels_7x7: int, w: Width) -> None:
        super().__init__()
        c7 = w(channels_7x7)
        self.branch1x1 = BasicConv2d(c_in, w(192), 1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7_2 = _row(c7, c7)
        self.branch7x7_3 = _col(c7, w(192))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7dbl_2 = _col(c7, c7)
        self.branch7x7dbl_3 = _row(c7, c7)
        self.branch7x7dbl_4 = _col(c7, c7)
        self.branch7x7dbl_5 = _row(c7, w(192))
        self.pool = _pool()
        self.branch_pool = BasicConv2d(c_in, w(192), 1)
        self.out_channels = _channels(self.branch1x1, self.branch7x7_3, self.branch7x7dbl_5, self.branch_pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        d = self.branch7x7dbl_5(self.branch7x7dbl_4(self.branch7x7dbl_3(self.branch7x7dbl_2(d))))
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(self.pool(x))], 1)


class InceptionD(nn.Module):
    """Figure 10 at 17x17: 1x1 -> stride-2 3x3 | 1x1 -> 1x7 -> 7x1 -> stride-2 3x3 | stride-2 max pool."""

    def __init__(self, c_in: int, w: Width) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, w(192), 1)
        self.branch3x3_2 = BasicConv2d(w(192), w(320), 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, w(192), 1)
        self.branch7x7x3_2 = _row(w(192), w(192))
        self.branch7x7x3_3 = _col(w(192), w(192))
        self.branch7x7x3_4 = BasicConv2d(w(192), w(192), 3, stride=2)
        self.out_channels = _channels(self.branch3x3_2, self.branch7x7x3_4) + c_in  # + the max pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """Figure 7: 1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | avg pool -> 1x1."""

    def __init__(self, c_in: int, w: Width) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, w(320), 1)
        self.branch3x3_1 = BasicConv2d(c_in, w(384), 1)
        self.branch3x3_2a = BasicConv2d(w(384), w(384), (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(w(384), w(384), (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, w(448), 1)
        self.branch3x3dbl_2 = BasicConv2d(w(448), w(384), 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(w(384), w(384), (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(w(384), w(384), (3, 1), padding=(1, 0))
        self.pool = _pool()
        self.branch_pool = BasicConv2d(c_in, w(192), 1)
        self.out_channels = _channels(
            self.branch1x1,
            self.branch3x3_2a,
            self.branch3x3_2b,
            self.branch3x3dbl_3a,
            self.branch3x3dbl_3b,
            self.branch_pool,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(self.pool(x))], 1)


class InceptionAux(nn.Module):
    """Section 4: 5x5/3 average pool -> 1x1 (128) -> 5x5 (768) -> linear (the released model's Figure 8)."""

    def __init__(self, c_in: int, num_classes: int, w: Width) -> None:
        super().__init__()
        self.conv0 = BasicConv2d(c_in, w(128), 1)
        self.conv1 = BasicConv2d(w(128), w(768), 5)
        self.fc = nn.Linear(w(768), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class InceptionOutputs(NamedTuple):
    """What a training-mode forward returns when the auxiliary head is on (torchvision's shape)."""

    logits: torch.Tensor
    aux_logits: torch.Tensor


Mixed = InceptionA | InceptionB | InceptionC | InceptionD | InceptionE


def _mixed(row: MixedRow, c_in: int, w: Width) -> Mixed:
    if row.kind is Kind.A:
        return InceptionA(c_in, row.width, w)
    if row.kind is Kind.B:
        return InceptionB(c_in, w)
    if row.kind is Kind.C:
        return InceptionC(c_in, row.width, w)
    if row.kind is Kind.D:
        return InceptionD(c_in, w)
    return InceptionE(c_in, w)


class InceptionV3(nn.Module):
    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = False,
        dropout: float = 0.5,
        width_mult: float = 1.0,
    ) -> None:
        super().__init__()

        def w(channels: int) -> int:
            return channels if width_mult == 1.0 else make_divisible(channels * width_mult)

        # Table 1's stem, the released model's widths: 299 -> 149 -> 147 -> 147 -> 73 -> 73 -> 71 -> 35.
        self.Conv2d_1a_3x3 = BasicConv2d(in_channels, w(32), 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(w(32), w(32), 3)
        self.Conv2d_2b_3x3 = BasicConv2d(w(32), w(64), 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(w(64), w(80), 1)
        self.Conv2d_4a_3x3 = BasicConv2d(w(80), w(192), 3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2)

        channels = w(192)
        self.mixed_names = tuple(row.name for row in TABLE_1)
        self.AuxLogits: InceptionAux | None = None
        for row in TABLE_1:
            block = _mixed(row, channels, w)
            self.add_module(row.name, block)
            channels = block.out_channels
            if row.name == AUX_AFTER and aux_logits:
                self.AuxLogits = InceptionAux(channels, num_classes, w)

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | InceptionOutputs:
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        aux: torch.Tensor | None = None
        for name in self.mixed_names:
            x = getattr(self, name)(x)
            if name == AUX_AFTER and self.AuxLogits is not None and self.training:
                aux = self.AuxLogits(x)
        logits = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return logits if aux is None else InceptionOutputs(logits, aux)


@register_model("inception_v3")
def inception_v3(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    aux_logits: bool = False,
    dropout: float = 0.5,
    width_mult: float = 1.0,
) -> InceptionV3:
    model = InceptionV3(
        num_classes=num_classes,
        in_channels=in_channels,
        aux_logits=aux_logits,
        dropout=dropout,
        width_mult=width_mult,
    )
    init_weights(model)
    return model
