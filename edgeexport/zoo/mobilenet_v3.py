"""MobileNetV3-Large and -Small, in torchvision's layout.

Howard et al., "Searching for MobileNetV3", arXiv:1905.02244. The bodies are the paper's Table 1
(Large) and Table 2 (Small), rows counted from the first layer row (the 3x3 stem conv is row 1). Each
"bneck" is Figure 4's block: 1x1 expansion (skipped when it would not widen), depthwise kxk, then
squeeze-and-excitation after the depthwise activation (Sec. 5.3, squeeze to a quarter of the expansion,
hard-sigmoid gate), then a linear 1x1 projection; residual when stride is 1 and width is unchanged.
Nonlinearities are ReLU or h-swish per row (Sec. 5.2); BatchNorm uses eps 0.001, momentum 0.01.

Module names, structure and shapes are torchvision's ``mobilenet_v3_large`` / ``mobilenet_v3_small``
(``features.N.block``, ``avgpool``, ``classifier`` = Linear, Hardswish, Dropout, Linear), so its
``state_dict`` loads with ``strict=True``. As in torchvision, and unlike the paper:

- the two 1x1 "NBN" convs after pooling are linear layers (the same map on a 1x1 feature);
- Small's last conv (Table 2, row 13) has no SE block, although the table marks one;
- the pre-pool conv is 6x the last block's width (960 / 576, as the tables) and the 1280 / 1024 head is
  scaled by the width multiplier too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgeexport.zoo import register_model
from edgeexport.zoo.layers import Act, ConvBNAct, SqueezeExcitation, init_weights, make_divisible

BN_EPS = 0.001
BN_MOMENTUM = 0.01


@dataclass(frozen=True, slots=True)
class Bneck:
    """A bneck row: kernel, expansion size, output channels, SE, nonlinearity, stride."""

    k: int
    exp: int
    out: int
    se: bool
    act: Act
    stride: int


@dataclass(frozen=True, slots=True)
class Variant:
    stem: int  # row 1: conv2d 3x3, stride 2, h-swish
    rows: tuple[Bneck, ...]
    head: int  # the 1x1 NBN conv after pooling
    last_pre_pool_factor: int = 6  # 960 = 6 * 160 (Large), 576 = 6 * 96 (Small)


RE, HS = Act.RELU, Act.HSWISH

LARGE = Variant(
    stem=16,  # Table 1, row 1
    rows=(
        Bneck(k=3, exp=16, out=16, se=False, act=RE, stride=1),  # Table 1, row 2
        Bneck(k=3, exp=64, out=24, se=False, act=RE, stride=2),  # Table 1, row 3
        Bneck(k=3, exp=72, out=24, se=False, act=RE, stride=1),  # Table 1, row 4
        Bneck(k=5, exp=72, out=40, se=True, act=RE, stride=2),  # Table 1, row 5
        Bneck(k=5, exp=120, out=40, se=True, act=RE, stride=1),  # Table 1, row 6
        Bneck(k=5, exp=120, out=40, se=True, act=RE, stride=1),  # Table 1, row 7
        Bneck(k=3, exp=240, out=80, se=False, act=HS, stride=2),  # Table 1, row 8
        Bneck(k=3, exp=200, out=80, se=False, act=HS, stride=1),  # Table 1, row 9
        Bneck(k=3, exp=184, out=80, se=False, act=HS, stride=1),  # Table 1, row 10
        Bneck(k=3, exp=184, out=80, se=False, act=HS, stride=1),  # Table 1, row 11
        Bneck(k=3, exp=480, out=112, se=True, act=HS, stride=1),  # Table 1, row 12
        Bneck(k=3, exp=672, out=112, se=True, act=HS, stride=1),  # Table 1, row 13
        Bneck(k=5, exp=672, out=160, se=True, act=HS, stride=2),  # Table 1, row 14
        Bneck(k=5, exp=960, out=160, se=True, act=HS, stride=1),  # Table 1, row 15
        Bneck(k=5, exp=960, out=160, se=True, act=HS, stride=1),  # Table 1, row 16
    ),
    head=1280,  # Table 1, row 19 (row 17 is the 960-wide conv, row 18 the pool)
)

SMALL = Variant(
    stem=16,  # Table 2, row 1
    rows=(
        Bneck(k=3, exp=16, out=16, se=True, act=RE, stride=2),  # Table 2, row 2
        Bneck(k=3, exp=72, out=24, se=False, act=RE, stride=2),  # Table 2, row 3
        Bneck(k=3, exp=88, out=24, se=False, act=RE, stride=1),  # Table 2, row 4
        Bneck(k=5, exp=96, out=40, se=True, act=HS, stride=2),  # Table 2, row 5
        Bneck(k=5, exp=240, out=40, se=True, act=HS, stride=1),  # Table 2, row 6
        Bneck(k=5, exp=240, out=40, se=True, act=HS, stride=1),  # Table 2, row 7
        Bneck(k=5, exp=120, out=48, se=True, act=HS, stride=1),  # Table 2, row 8
        Bneck(k=5, exp=144, out=48, se=True, act=HS, stride=1),  # Table 2, row 9
        Bneck(k=5, exp=288, out=96, se=True, act=HS, stride=2),  # Table 2, row 10
        Bneck(k=5, exp=576, out=96, se=True, act=HS, stride=1),  # Table 2, row 11
        Bneck(k=5, exp=576, out=96, se=True, act=HS, stride=1),  # Table 2, row 12
    ),
    head=1024,  # Table 2, row 15 (row 13 is the 576-wide conv, row 14 the pool)
)

VARIANTS: dict[str, Variant] = {"large": LARGE, "small": SMALL}


def conv_bn_act(
    in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, *, groups: int = 1, act: Act
) -> ConvBNAct:
    """ConvBNAct with the BatchNorm settings of the TF-trained originals (and torchvision)."""
    return ConvBNAct(
        in_ch, out_ch, kernel, stride, groups=groups, act=act, bn_eps=BN_EPS, bn_momentum=BN_MOMENTUM
    )


class InvertedResidual(nn.Module):
    """Figure 4: expand -> depthwise -> SE -> linear project, torchvision's ``block`` Sequential."""

    def __init__(self, in_ch: int, row: Bneck, width_mult: float) -> None:
        super().__init__()
        exp = make_divisible(row.exp * width_mult)
        out = make_divisible(row.out * width_mult)
        self.use_res_connect = row.stride == 1 and in_ch == out
        layers: list[nn.Module] = []
        if exp != in_ch:
            layers.append(conv_bn_act(in_ch, exp, act=row.act))
        layers.append(conv_bn_act(exp, exp, row.k, row.stride, groups=exp, act=row.act))
        if row.se:
            layers.append(SqueezeExcitation(exp, make_divisible(exp // 4, 8)))
        layers.append(conv_bn_act(exp, out, act=Act.NONE))
        self.block = nn.Sequential(*layers)
        self.out_channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = result + x
        return result


class MobileNetV3(nn.Module):
    def __init__(
        self,
        variant: Variant,
        *,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be positive, got {width_mult}")
        in_ch = make_divisible(variant.stem * width_mult)
        layers: list[nn.Module] = [conv_bn_act(in_channels, in_ch, 3, 2, act=Act.HSWISH)]
        for row in variant.rows:
            block = InvertedResidual(in_ch, row, width_mult)
            layers.append(block)
            in_ch = block.out_channels
        pre_pool = variant.last_pre_pool_factor * in_ch
        layers.append(conv_bn_act(in_ch, pre_pool, act=Act.HSWISH))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        head = make_divisible(variant.head * width_mult)
        self.classifier = nn.Sequential(
            nn.Linear(pre_pool, head),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(head, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


@register_model("mobilenet_v3")
def mobilenet_v3(
    *,
    variant: str = "large",
    width_mult: float = 1.0,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.2,
) -> MobileNetV3:
    if variant not in VARIANTS:
        raise ValueError(f"mobilenet_v3 variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    model = MobileNetV3(
        VARIANTS[variant],
        width_mult=width_mult,
        num_classes=num_classes,
        in_channels=in_channels,
        dropout=dropout,
    )
    init_weights(model)
    return model
