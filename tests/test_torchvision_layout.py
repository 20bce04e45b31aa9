"""The README says torchvision's checkpoints load with ``strict=True`` for MobileNetV2, MobileNetV3,
ShuffleNetV2, GoogLeNet and Inception-v3. MobileNetV2 is proven with the real checkpoint
(test_weights.py). For the others, the expected state_dict -- every key and its shape -- is written out
here from torchvision's published architectures (``torchvision/models/{mobilenetv3,shufflenetv2,
googlenet,inception}.py``: the module names and the configuration tables), independently of the zoo's
code; torchvision is not installed. A checkpoint loads with ``strict=True`` exactly when these keys and
shapes match."""

from __future__ import annotations

import pytest
import torch

from edgeexport.zoo.googlenet import googlenet
from edgeexport.zoo.inception_v3 import inception_v3
from edgeexport.zoo.mobilenet_v3 import mobilenet_v3
from edgeexport.zoo.shufflenet_v2 import shufflenet_v2

Layout = dict[str, tuple[int, ...]]


def _bn(layout: Layout, prefix: str, channels: int) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        layout[f"{prefix}.{name}"] = (channels,)
    layout[f"{prefix}.num_batches_tracked"] = ()


def _conv_bn(layout: Layout, prefix: str, cin: int, cout: int, k: tuple[int, int], groups: int = 1) -> None:
    """torchvision's ``Conv2dNormActivation``: ``<prefix>.0`` conv without bias, ``<prefix>.1`` BN."""
    layout[f"{prefix}.0.weight"] = (cout, cin // groups, *k)
    _bn(layout, f"{prefix}.1", cout)


def _make_divisible(v: float, divisor: int = 8) -> int:  # torchvision.ops.misc / the MobileNetV2 code
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


# torchvision mobilenetv3.py ``_mobilenet_v3_conf`` rows: (input, kernel, expanded, out, use_se, stride)
MNV3_SMALL = [
    (16, 3, 16, 16, True, 2), (16, 3, 72, 24, False, 2), (24, 3, 88, 24, False, 1),
    (24, 5, 96, 40, True, 2), (40, 5, 240, 40, True, 1), (40, 5, 240, 40, True, 1),
    (40, 5, 120, 48, True, 1), (48, 5, 144, 48, True, 1), (48, 5, 288, 96, True, 2),
    (96, 5, 576, 96, True, 1), (96, 5, 576, 96, True, 1),
]  # fmt: skip
MNV3_LARGE = [
    (16, 3, 16, 16, False, 1), (16, 3, 64, 24, False, 2), (24, 3, 72, 24, False, 1),
    (24, 5, 72, 40, True, 2), (40, 5, 120, 40, True, 1), (40, 5, 120, 40, True, 1),
    (40, 3, 240, 80, False, 2), (80, 3, 200, 80, False, 1), (80, 3, 184, 80, False, 1),
    (80, 3, 184, 80, False, 1), (80, 3, 480, 112, True, 1), (112, 3, 672, 112, True, 1),
    (112, 5, 672, 160, True, 2), (160, 5, 960, 160, True, 1), (160, 5, 960, 160, True, 1),
]  # fmt: skip


def mobilenet_v3_layout(rows: list[tuple], last_channel: int, classes: int = 1000) -> Layout:
    layout: Layout = {}
    _conv_bn(layout, "features.0", 3, 16, (3, 3))
    for i, (cin, k, exp, cout, se, _stride) in enumerate(rows, 1):
        j = 0
        if exp != cin:
            _conv_bn(layout, f"features.{i}.block.{j}", cin, exp, (1, 1))
            j += 1
        _conv_bn(layout, f"features.{i}.block.{j}", exp, exp, (k, k), groups=exp)
        j += 1
        if se:
            squeeze = _make_divisible(exp // 4, 8)
            layout[f"features.{i}.block.{j}.fc1.weight"] = (squeeze, exp, 1, 1)
            layout[f"features.{i}.block.{j}.fc1.bias"] = (squeeze,)
            layout[f"features.{i}.block.{j}.fc2.weight"] = (exp, squeeze, 1, 1)
            layout[f"features.{i}.block.{j}.fc2.bias"] = (exp,)
            j += 1
        _conv_bn(layout, f"features.{i}.block.{j}", exp, cout, (1, 1))
    last_in = rows[-1][3]
    _conv_bn(layout, f"features.{len(rows) + 1}", last_in, 6 * last_in, (1, 1))
    layout["classifier.0.weight"] = (last_channel, 6 * last_in)
    layout["classifier.0.bias"] = (last_channel,)
    layout["classifier.3.weight"] = (classes, last_channel)
    layout["classifier.3.bias"] = (classes,)
    return layout


# torchvision shufflenetv2.py: stages_repeats [4, 8, 4] and stages_out_channels per width
SHUFFLE_WIDTHS = {
    "x0_5": [24, 48, 96, 192, 1024],
    "x1_0": [24, 116, 232, 464, 1024],
    "x1_5": [24, 176, 352, 704, 1024],
    "x2_0": [24, 244, 488, 976, 2048],
}


def shufflenet_v2_layout(width: str, classes: int = 1000) -> Layout:
    out = SHUFFLE_WIDTHS[width]
    layout: Layout = {}
    layout["conv1.0.weight"] = (out[0], 3, 3, 3)
    _bn(layout, "conv1.1", out[0])
    cin = out[0]
    for stage, (repeats, cout) in enumerate(zip([4, 8, 4], out[1:4], strict=True), 2):
        half = cout // 2
        for unit in range(repeats):
            p = f"stage{stage}.{unit}"
            if unit == 0:  # stride 2: both branches see the whole input
                layout[f"{p}.branch1.0.weight"] = (cin, 1, 3, 3)
                _bn(layout, f"{p}.branch1.1", cin)
                layout[f"{p}.branch1.2.weight"] = (half, cin, 1, 1)
                _bn(layout, f"{p}.branch1.3", half)
            first_in = cin if unit == 0 else half
            layout[f"{p}.branch2.0.weight"] = (half, first_in, 1, 1)
            _bn(layout, f"{p}.branch2.1", half)
            layout[f"{p}.branch2.3.weight"] = (half, 1, 3, 3)
            _bn(layout, f"{p}.branch2.4", half)
            layout[f"{p}.branch2.5.weight"] = (half, half, 1, 1)
            _bn(layout, f"{p}.branch2.6", half)
        cin = cout
    layout["conv5.0.weight"] = (out[4], cin, 1, 1)
    _bn(layout, "conv5.1", out[4])
    layout["fc.weight"] = (classes, out[4])
    layout["fc.bias"] = (classes,)
    return layout


# torchvision googlenet.py: Inception(in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj); its "5x5"
# branch is a 3x3 conv (torchvision keeps that for its checkpoint)
GOOGLENET = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32),
    "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


def _conv(layout: Layout, prefix: str, cin: int, cout: int, k: tuple[int, int]) -> None:
    """torchvision's googlenet and inception ``BasicConv2d``: ``conv`` without bias (any kernel), ``bn``."""
    layout[f"{prefix}.conv.weight"] = (cout, cin, *k)
    _bn(layout, f"{prefix}.bn", cout)


def _basic(layout: Layout, prefix: str, cin: int, cout: int, k: int) -> None:
    """A square-kernel ``BasicConv2d``."""
    _conv(layout, prefix, cin, cout, (k, k))


def googlenet_layout(classes: int = 1000) -> Layout:
    layout: Layout = {}
    _basic(layout, "conv1", 3, 64, 7)
    _basic(layout, "conv2", 64, 64, 1)
    _basic(layout, "conv3", 64, 192, 3)
    for name, (cin, c1, r3, c3, r5, c5, pool) in GOOGLENET.items():
        _basic(layout, f"{name}.branch1", cin, c1, 1)
        _basic(layout, f"{name}.branch2.0", cin, r3, 1)
        _basic(layout, f"{name}.branch2.1", r3, c3, 3)
        _basic(layout, f"{name}.branch3.0", cin, r5, 1)
        _basic(layout, f"{name}.branch3.1", r5, c5, 3)
        _basic(layout, f"{name}.branch4.1", cin, pool, 1)
    layout["fc.weight"] = (classes, 1024)
    layout["fc.bias"] = (classes,)
    return layout


# torchvision inception.py: Inception3.__init__ (Mixed_5b..Mixed_7c with their in_channels and the one
# argument each takes: pool_features for InceptionA, channels_7x7 for InceptionC)
INCEPTION_V3 = [
    ("Mixed_5b", "A", 192, 32), ("Mixed_5c", "A", 256, 64), ("Mixed_5d", "A", 288, 64),
    ("Mixed_6a", "B", 288, 0),
    ("Mixed_6b", "C", 768, 128), ("Mixed_6c", "C", 768, 160), ("Mixed_6d", "C", 768, 160),
    ("Mixed_6e", "C", 768, 192),
    ("Mixed_7a", "D", 768, 0), ("Mixed_7b", "E", 1280, 0), ("Mixed_7c", "E", 2048, 0),
]  # fmt: skip
ONE, THREE, FIVE, ROW3, COL3, ROW7, COL7 = (1, 1), (3, 3), (5, 5), (1, 3), (3, 1), (1, 7), (7, 1)


def inception_v3_layout(aux_logits: bool, classes: int = 1000) -> Layout:
    layout: Layout = {}
    for name, cin, cout, k in [
        ("Conv2d_1a_3x3", 3, 32, THREE), ("Conv2d_2a_3x3", 32, 32, THREE), ("Conv2d_2b_3x3", 32, 64, THREE),
        ("Conv2d_3b_1x1", 64, 80, ONE), ("Conv2d_4a_3x3", 80, 192, THREE),
    ]:  # fmt: skip
        _conv(layout, name, cin, cout, k)
    for m, kind, cin, arg in INCEPTION_V3:
        convs = {
            "A": [
                ("branch1x1", cin, 64, ONE), ("branch5x5_1", cin, 48, ONE), ("branch5x5_2", 48, 64, FIVE),
                ("branch3x3dbl_1", cin, 64, ONE), ("branch3x3dbl_2", 64, 96, THREE),
                ("branch3x3dbl_3", 96, 96, THREE), ("branch_pool", cin, arg, ONE),
            ],
            "B": [
                ("branch3x3", cin, 384, THREE), ("branch3x3dbl_1", cin, 64, ONE),
                ("branch3x3dbl_2", 64, 96, THREE), ("branch3x3dbl_3", 96, 96, THREE),
            ],
            "C": [
                ("branch1x1", cin, 192, ONE), ("branch7x7_1", cin, arg, ONE),
                ("branch7x7_2", arg, arg, ROW7), ("branch7x7_3", arg, 192, COL7),
                ("branch7x7dbl_1", cin, arg, ONE), ("branch7x7dbl_2", arg, arg, COL7),
                ("branch7x7dbl_3", arg, arg, ROW7), ("branch7x7dbl_4", arg, arg, COL7),
                ("branch7x7dbl_5", arg, 192, ROW7), ("branch_pool", cin, 192, ONE),
            ],
            "D": [
                ("branch3x3_1", cin, 192, ONE), ("branch3x3_2", 192, 320, THREE),
                ("branch7x7x3_1", cin, 192, ONE), ("branch7x7x3_2", 192, 192, ROW7),
                ("branch7x7x3_3", 192, 192, COL7), ("branch7x7x3_4", 192, 192, THREE),
            ],
            "E": [
                ("branch1x1", cin, 320, ONE), ("branch3x3_1", cin, 384, ONE),
                ("branch3x3_2a", 384, 384, ROW3), ("branch3x3_2b", 384, 384, COL3),
                ("branch3x3dbl_1", cin, 448, ONE), ("branch3x3dbl_2", 448, 384, THREE),
                ("branch3x3dbl_3a", 384, 384, ROW3), ("branch3x3dbl_3b", 384, 384, COL3),
                ("branch_pool", cin, 192, ONE),
            ],
        }[kind]  # fmt: skip
        for name, c_in, c_out, k in convs:
            _conv(layout, f"{m}.{name}", c_in, c_out, k)
    if aux_logits:  # InceptionAux(768, num_classes)
        _conv(layout, "AuxLogits.conv0", 768, 128, ONE)
        _conv(layout, "AuxLogits.conv1", 128, 768, FIVE)
        layout["AuxLogits.fc.weight"] = (classes, 768)
        layout["AuxLogits.fc.bias"] = (classes,)
    layout["fc.weight"] = (classes, 2048)
    layout["fc.bias"] = (classes,)
    return layout


CASES = {
    "mobilenet_v3_small": (
        lambda: mobilenet_v3(variant="small"),
        lambda: mobilenet_v3_layout(MNV3_SMALL, 1024),
    ),
    "mobilenet_v3_large": (
        lambda: mobilenet_v3(variant="large"),
        lambda: mobilenet_v3_layout(MNV3_LARGE, 1280),
    ),
    **{
        f"shufflenet_v2_{w}": (lambda w=w: shufflenet_v2(width=w), lambda w=w: shufflenet_v2_layout(w))
        for w in SHUFFLE_WIDTHS
    },
    "googlenet": (googlenet, googlenet_layout),
    "inception_v3": (inception_v3, lambda: inception_v3_layout(aux_logits=False)),
    "inception_v3_aux": (lambda: inception_v3(aux_logits=True), lambda: inception_v3_layout(aux_logits=True)),
}
# torchvision's documented parameter counts (its model tables), the independent check of the layouts above
PUBLISHED = {
    "mobilenet_v3_small": 2_542_856,
    "mobilenet_v3_large": 5_483_032,
    "shufflenet_v2_x0_5": 1_366_792,
    "shufflenet_v2_x1_0": 2_278_604,
    "shufflenet_v2_x1_5": 3_503_624,
    "shufflenet_v2_x2_0": 7_393_996,
    "googlenet": 6_624_904,
    "inception_v3": 23_834_568,  # torchvision's table counts the model without its auxiliary head
    "inception_v3_aux": 27_161_264,  # and its checkpoint, which has it
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_state_dict_is_torchvisions_key_for_key_and_shape_for_shape(name: str) -> None:
    build, layout = CASES[name]
    expected = layout()
    got = {k: tuple(v.shape) for k, v in build().state_dict().items()}
    assert sorted(set(expected) - set(got)) == [], "keys torchvision has and the zoo lacks"
    assert sorted(set(got) - set(expected)) == [], "keys the zoo has and torchvision lacks"
    wrong = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert wrong == {}, "shapes (zoo, torchvision)"
    params = sum(
        torch.Size(s).numel() for k, s in expected.items() if "running_" not in k and "num_batches" not in k
    )
    assert params == PUBLISHED[name]


def test_a_checkpoint_in_torchvisions_layout_loads_strictly() -> None:
    """The end-to-end consequence on one family: a state_dict built from the layout alone (random tensors
    of the expected shapes) loads with ``strict=True`` and is what the model then holds."""
    model = mobilenet_v3(variant="small")
    generator = torch.Generator().manual_seed(0)
    state = {
        k: torch.randn(s, generator=generator) if s and "num_batches" not in k else torch.tensor(3)
        for k, s in mobilenet_v3_layout(MNV3_SMALL, 1024).items()
    }
    model.load_state_dict(state, strict=True)
    assert torch.equal(model.state_dict()["classifier.3.weight"], state["classifier.3.weight"])
