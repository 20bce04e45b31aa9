"""ONNX -> simplified ONNX with onnxsim (onnxslim if onnxsim fails); op counts before and after."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeexport.artifact import Precision
from edgeexport.export.stages import Variant, versions
from edgeexport.export.stages.torch_to_onnx import op_counts

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "onnx_simplify"
VERSION = "1"
SRC = "onnx"
DST = "onnx"


def tools() -> dict[str, str]:
    return versions("onnx", "onnxsim", "onnxslim")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    return [
        Variant("onnx_fp32_sim", Precision("float32", "float32"), {}, parents=("onnx_fp32",), ext=".onnx")
    ]


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    import onnx

    if parent is None:
        raise ValueError("onnx_simplify needs an ONNX parent")
    model = onnx.load(str(parent))
    details: dict[str, Any] = {"op_counts_before": op_counts(model)}
    try:
        import onnxsim

        simplified, ok = onnxsim.simplify(model)
        if not ok:
            raise RuntimeError("onnxsim's own check of the simplified model failed")
        details["tool"] = "onnxsim"
    except Exception as error:  # recorded; onnxslim gets its chance
        import onnxslim

        details["onnxsim_error"] = f"{type(error).__name__}: {str(error)[:300]}"
        simplified = onnxslim.slim(model)
        details["tool"] = "onnxslim"
        details["fallback"] = f"onnxslim (onnxsim failed: {details['onnxsim_error'][:120]})"
    onnx.checker.check_model(simplified, full_check=True)
    onnx.save(simplified, str(out))
    details["op_counts_after"] = op_counts(simplified)
    return details
