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
    wrong = rewrites.Rewrite("relu_as_identity", "nn.ReLU -> identity", nn.ReLU, lambda m: nn.Identity())
    monkeypatch.setitem(rewrites.REWRITES, wrong.name, wrong)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    inputs = np.random.default_rng(1).normal(size=(2, 3, 8, 8)).astype(np.float32)
    with pytest.raises(ValueError, match=r"changed the float outputs by .* --rewrites none"):
        _proven(model, [wrong.name], inputs)


def test_a_model_without_the_modules_is_left_alone() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    inputs = np.zeros((1, 3, 8, 8), np.float32)
    record = _proven(model, rewrites.AUTO, inputs)
    assert record["applied"] == {} and record["used_by"] == []


def test_rewrite_names_are_checked() -> None:
    assert rewrites.names("auto") == rewrites.AUTO
    assert rewrites.names(["none"]) == ()
    assert rewrites.names(["hardswish_relu6"]) == ("hardswish_relu6",)
    with pytest.raises(ValueError, match=r"unknown rewrite 'hardswish'.*choose from auto, none"):
        rewrites.names(["hardswish"])


def test_only_the_routes_that_gain_take_the_rewritten_model() -> None:
    assert rewrites.used_by("tflite_int8") and rewrites.used_by("tflite_int8_aeq_nhwc_io8")
    assert not any(rewrites.used_by(a) for a in ("onnx_int8", "executorch_int8", "tflite_fp32"))


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
