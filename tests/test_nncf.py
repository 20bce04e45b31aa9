"""``--nncf``: onnx_int8_nncf through NNCF's post-training quantization, judged like every int8 artifact."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from conftest import TINY_CARD

from edgeexport.export.stages import onnx_nncf


def test_nncf_makes_a_judged_int8_onnx_with_its_kernels_measured(tmp_path: Path) -> None:
    # random weights at 32x32: int8 of any quantizer is far from fp32 (cosine ~0.7); judged, loosely
    loose = "[tolerance]\nint8_cosine = 0.5\nint8_top1 = 0.0\n"
    (tmp_path / "tiny.toml").write_text(TINY_CARD.format(name="tiny", size=32) + loose)
    cmd = [sys.executable, "-m", "edgeexport", "export", "tiny.toml", "--formats", "onnx", "--precisions",
           "int8", "--nncf", "--json", "--artifacts", str(tmp_path / "a")]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert out.returncode == 0, out.stderr
    (doc,) = json.loads(out.stdout)
    art = next(a for a in doc["artifacts"] if a["id"] == "onnx_int8_nncf")
    assert art["status"] == "ok" and art["parity"]["kind"] == "int8" and art["tools"]["nncf"] == "3.4.0"
    assert 0.5 <= art["parity"]["cosine_mean"] < 1.0
    assert art["config"]["mirrored"] and art["config"]["calibration_images"] == 2 * 32
    assert (
        "compute nodes in integers (ORT profiler)"
        in art["details"]["kernels_after_ort_optimisation"]["summary"]
    )
    assert "onnx_int8_nncf" not in {a["id"] for a in _plain_export(tmp_path)}  # opt-in only


def _plain_export(tmp_path: Path) -> list[dict]:
    from edgeexport.cards import load_card_file
    from edgeexport.export import pipeline
    from edgeexport.spec import ExportOptions

    card = load_card_file(tmp_path / "tiny.toml")
    return [{"id": i} for i, _ in pipeline.planned(card, ExportOptions(formats=("onnx",)))]


def test_nncf_is_installed_without_its_telemetry_package() -> None:
    assert importlib.util.find_spec("nncf") is not None
    assert importlib.util.find_spec("openvino_telemetry") is None  # so NNCF's telemetry is its stub


def test_calibration_images_are_mirrored_only_when_few() -> None:
    assert onnx_nncf.images_used(32) == (64, True)
    assert onnx_nncf.images_used(1000) == (300, False)
