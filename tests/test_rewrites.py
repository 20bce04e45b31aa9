"""Export-friendly rewrites (export/rewrites.py): equal in float, refused when not, used where they gain."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from edgeexport.export import rewrites
from edgeexport.zoo.mobilenet_v3 import mobilenet_v3


def _proven(model: nn.Module, wanted: tuple[str, ...] | list[str], inputs: np.ndarray) -> dict:
    built = copy.deepcopy(model)
    return rewrites.rewrite_proven(model, built, wanted, inputs)


def test_the_rewritten_mobilenetv3_computes_what_the_built_one_does() -> None:
    torch.manual_seed(0)
    model = mobilenet_v3(variant="small").eval()
    inputs = np.random.default_rng(0).normal(size=(4, 3, 96, 96)).astype(np.float32) * 3
    record = _proven(model, rewrites.AUTO, inputs)
    assert record["applied"] == {"hardswish_relu6": 19, "hardsigmoid_relu6": 9}
    assert record["float_max_abs"] <= rewrites.EQUAL_MAX_ABS
    assert not any(isinstance(m, nn.Hardswish | nn.Hardsigmoid) for m in model.modules())


def test_the_rewrites_are_exact_over_the_whole_range_of_their_kinks() -> None:
    x = torch.linspace(-8, 8, 100001)
    assert torch.equal(rewrites.Relu6Hardswish()(x), nn.functional.hardswish(x))
    assert torch.equal(rewrites.Relu6Hardsigmoid()(x), nn.functional.hardsigmoid(x))


def test_a_rewrite_that_changes_the_outputs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = rewrites.Rewrite(
        "relu_as_identity", "nn.ReLU -> identity", nn.ReLU, lambda m, s: nn.Identity(), ()
    )
    monkeypatch.setitem(rewrites.REWRITES, wrong.name, wrong)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    inputs = np.random.default_rng(1).normal(size=(2, 3, 8, 8)).astype(np.float32)
    with pytest.raises(rewrites.RewriteError, match=r"changed the float outputs by .* --rewrites none"):
        _proven(model, [wrong.name], inputs)


def test_a_model_without_the_modules_is_left_alone() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    inputs = np.zeros((1, 3, 8, 8), np.float32)
    record = _proven(model, rewrites.AUTO, inputs)
    assert record["applied"] == {} and record["used_by"] == {}


def test_rewrite_names_are_checked() -> None:
    assert rewrites.names("auto") == rewrites.AUTO
    assert rewrites.names(["none"]) == ()
    assert rewrites.names(["hardswish_relu6"]) == ("hardswish_relu6",)
    with pytest.raises(ValueError, match=r"unknown rewrite 'hardswish'.*choose from auto, none"):
        rewrites.names(["hardswish"])


def test_only_the_routes_that_gain_take_each_rewrite() -> None:
    both = ["hardswish_relu6", "avgpool_conv"]
    assert rewrites.for_artifact("tflite_int8_aeq_nhwc_io8", both) == tuple(both)
    assert rewrites.for_artifact("executorch_int8", both) == ("avgpool_conv",)
    assert rewrites.for_artifact("ncnn_fp32", both) == ()
    assert rewrites.for_artifact("tflite_int8", []) == ()


def test_a_padded_average_pool_becomes_the_depthwise_conv_it_is() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.AvgPool2d(3, stride=2, padding=1)).eval()
    inputs = np.random.default_rng(2).normal(size=(3, 3, 17, 16)).astype(np.float32) * 4
    record = _proven(model, ["avgpool_conv"], inputs)
    assert record["applied"] == {"avgpool_conv": 1} and record["float_max_abs"] <= 1e-6
    conv = model[1].conv
    assert (conv.groups, conv.in_channels, conv.stride, conv.padding) == (8, 8, (2, 2), (1, 1))


def test_blazeface_channel_padding_becomes_a_concat_with_zeros() -> None:
    from edgeexport.zoo.blazeface import blazeface

    torch.manual_seed(0)
    model = blazeface(num_classes=10).eval()
    inputs = np.random.default_rng(4).normal(size=(2, 3, 128, 128)).astype(np.float32)
    record = _proven(model, ["channelpad_concat"], inputs)
    assert record["applied"] == {"channelpad_concat": 11} and record["float_max_abs"] == 0.0


@pytest.mark.parametrize(("size", "kernel", "stride", "padding"), [(1, 2, 2, 0), (7, 3, 2, 0), (9, 3, 2, 1)])
def test_a_ceil_mode_max_pool_becomes_floor_mode_over_lowest_float_padding(
    size: int, kernel: int, stride: int, padding: int
) -> None:
    pool = nn.MaxPool2d(kernel, stride, padding, ceil_mode=True)  # googlenet_fmnist's maxpool4 sees 1x1
    model = nn.Sequential(pool).eval()
    inputs = np.random.default_rng(size).normal(size=(2, 3, size, size + 1)).astype(np.float32) - 50
    record = _proven(model, ["maxpool_floor"], inputs)
    assert record["applied"] == {"maxpool_floor": 1} and record["float_max_abs"] == 0.0
    assert not model[0].pool.ceil_mode


def test_a_max_pool_whose_ceil_mode_adds_nothing_is_left_alone() -> None:
    model = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), nn.MaxPool2d(2, 2, ceil_mode=True)).eval()
    record = _proven(model, ["maxpool_floor"], np.ones((1, 2, 8, 8), np.float32))
    assert record["applied"] == {}


def test_a_pool_instance_shared_by_layers_of_two_sizes_is_left_alone() -> None:
    pool = nn.MaxPool2d(2, 2, ceil_mode=True)
    model = nn.Sequential(pool, nn.Conv2d(3, 3, 1), pool).eval()  # 9x9 -> 5x5 -> 3x3: two shapes, one module
    record = _proven(model, ["maxpool_floor"], np.ones((1, 3, 9, 9), np.float32))
    assert record["applied"] == {} and model[0] is pool


def test_a_rewrite_that_changes_the_output_shape_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = rewrites.Rewrite("pool_drops_ceil", "", nn.MaxPool2d, lambda m, s: nn.MaxPool2d(2, 2), ())
    monkeypatch.setitem(rewrites.REWRITES, wrong.name, wrong)
    model = nn.Sequential(nn.MaxPool2d(2, 2, ceil_mode=True)).eval()
    with pytest.raises(
        rewrites.RewriteError, match=r"changed an output.s shape: export with --rewrites none"
    ):
        _proven(model, [wrong.name], np.zeros((1, 1, 5, 5), np.float32))


def test_an_average_pool_that_is_not_a_conv_is_left_alone() -> None:
    kept = [nn.AvgPool2d(3, 2, 1, count_include_pad=False), nn.AvgPool2d(3, 2, 1, ceil_mode=True)]
    for pool in kept:
        model = nn.Sequential(nn.Conv2d(3, 4, 1), pool).eval()
        record = _proven(model, ["avgpool_conv"], np.ones((1, 3, 9, 9), np.float32))
        assert record["applied"] == {} and model[1] is pool


def test_a_context_makes_each_artifact_from_the_rewrites_of_its_route() -> None:
    from edgeexport.export.context import StageContext

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Hardswish(), nn.AvgPool2d(3, 2, 1)).eval()
    inputs = np.random.default_rng(3).normal(size=(2, 3, 8, 8)).astype(np.float32)
    full = copy.deepcopy(model)
    applied = rewrites.rewrite_proven(full, model, rewrites.AUTO, inputs)["applied"]
    ref = type("Ref", (), {"inputs": inputs})()
    ctx = StageContext(None, None, model, None, inputs, ref, rewritten=full, rewrites=applied)  # type: ignore[arg-type]
    assert ctx.model_for("ncnn_fp32") is model and ctx.model_for("tflite_int8") is full
    et = ctx.model_for("executorch_int8")
    assert isinstance(et[1], nn.Hardswish) and isinstance(et[2], rewrites.AvgPoolConv)
    assert ctx.model_for("executorch_fp32") is et  # made once
    assert ctx.rewrites_for("executorch_fp32") == {"avgpool_conv": 1}


@pytest.mark.slow
def test_the_int8_tflite_files_of_mobilenetv3_keep_no_hard_swish_for_xnnpack_to_refuse() -> None:
    from test_parity_matrix import exported

    _, manifest = exported("mobilenetv3_small")
    arts = {a["id"]: a for a in manifest["artifacts"]}
    assert manifest["reference"]["rewrites"]["applied"] == {"hardswish_relu6": 19, "hardsigmoid_relu6": 9}
    for art in ("tflite_int8", "tflite_int8_aeq"):
        assert arts[art]["config"]["rewrites"] == {"hardswish_relu6": 19, "hardsigmoid_relu6": 9}
        assert "HARD_SWISH" not in arts[art]["details"]["ops"], art
    assert arts["tflite_fp32"]["details"]["ops"]["HARD_SWISH"] == 19  # fp32 keeps the model as built
    assert "rewrites" not in arts["onnx_int8"]["config"]
