"""[target]: the oldest runtimes a card's artifacts must load in (docs/runtimes.md). What export writes for
it; the loading itself, in onnxruntime 1.15 and tflite-runtime 2.14, is tests/test_old_runtimes.py."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from foreign_models import onnx_two_outputs, tflite_hybrid_fc

from edgeexport import cards
from edgeexport.cli.export import _target
from edgeexport.errors import CardError, ConversionError, UsageError
from edgeexport.export import compat
from edgeexport.export.stages import tflite_quantize
from edgeexport.export.tflite_check import check_tflite
from edgeexport.spec import ExportOptions, RuntimeTarget


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"onnxruntime": "1.13"}, ">= 1.14"),
        ({"tflite": "2.13"}, ">= 2.14"),
        ({"onnxruntime": "latest"}, "version"),
    ],
)
def test_targets_that_cannot_be_met_are_card_errors(fields: dict, says: str) -> None:
    with pytest.raises(CardError, match=says):
        RuntimeTarget(**fields)


def test_a_card_states_its_target(tmp_path: Path, write_tiny_card) -> None:
    path = write_tiny_card(tmp_path, "targeted", 32)
    path.write_text(path.read_text() + '[target]\nonnxruntime = "1.18"\n')
    assert cards.load_card_file(path).target == RuntimeTarget(onnxruntime="1.18", tflite="2.14")
    path.write_text(path.read_text() + 'tflite_runtime = "2.14"\n')
    with pytest.raises(CardError, match="tflite_runtime: unknown key"):
        cards.load_card_file(path)


def test_export_flag() -> None:
    assert _target("onnxruntime=1.18") == RuntimeTarget(onnxruntime="1.18")
    assert _target("tflite=2.17,onnxruntime=1.20") == RuntimeTarget("1.20", "2.17")
    with pytest.raises(UsageError, match="expected onnxruntime=V,tflite=V"):
        _target("ort=1.18")


def test_onnx_is_stamped_with_the_targets_ir_and_loses_unused_imports(tmp_path: Path) -> None:
    path = onnx_two_outputs(tmp_path / "m.onnx")
    model = onnx.load(path)
    model.ir_version = 10
    model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, path)
    done = compat.conform_onnx(path, RuntimeTarget(onnxruntime="1.15"))
    again = onnx.load(path)
    assert again.ir_version == 9 and [o.domain for o in again.opset_import] == [""]
    assert done["ir_version_written"] == 10 and done["unused_opsets_dropped"] == ["com.microsoft:1"]
    model.ir_version = 10
    onnx.save(model, path)
    assert compat.conform_onnx(path, RuntimeTarget(onnxruntime="1.18"))["ir_version"] == 10


def test_an_opset_the_target_cannot_read_is_an_error_not_a_rewrite(tmp_path: Path) -> None:
    path = onnx_two_outputs(tmp_path / "m.onnx")
    model = onnx.load(path)
    model.opset_import[0].version = 20
    onnx.save(model, path)
    before = path.read_bytes()
    with pytest.raises(ConversionError, match=r"opset ai\.onnx 20 is newer than onnxruntime 1\.16 reads"):
        compat.conform_onnx(path, RuntimeTarget(onnxruntime="1.16"))
    assert path.read_bytes() == before


def test_per_channel_hybrid_fully_connected_is_refused_below_2_17(tmp_path: Path) -> None:
    per_channel = tflite_hybrid_fc(tmp_path / "pc.tflite", per_channel=True)
    with pytest.raises(ConversionError, match="1 hybrid FULLY_CONNECTED ops with per-channel weights"):
        check_tflite(per_channel, RuntimeTarget(tflite="2.14"))
    assert check_tflite(per_channel, RuntimeTarget(tflite="2.17"))["target"] == "tflite>=2.17"
    per_tensor = tflite_hybrid_fc(tmp_path / "pt.tflite", per_channel=False)
    assert "hybrid_fully_connected" in check_tflite(per_tensor, RuntimeTarget(tflite="2.14"))


def test_the_dynamic_range_recipe_follows_the_target() -> None:
    card = cards.get_card("mobilenetv3_small")

    def fc(options: ExportOptions) -> str:
        (variant,) = [v for v in tflite_quantize.variants(card, options) if v.id == "tflite_dynrange_w8"]
        return str(variant.config["fully_connected"])

    assert fc(ExportOptions()) == "per-tensor"
    assert fc(ExportOptions(target=RuntimeTarget(tflite="2.17"))) == "per-channel"
