"""PyTorch -> ONNX: the torch.export-based exporter first, the TorchScript exporter as a recorded fallback.

Weights are stored inside the .onnx (one file is what a device wants); inputs and outputs are named;
the result passes ``onnx.checker.check_model(full_check=True)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeexport.artifact import Precision
from edgeexport.errors import ConversionError
from edgeexport.export.stages import Variant, versions

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "torch_to_onnx"
VERSION = "2"  # 2: stack traces (absolute paths) removed
SRC = "torch"
DST = "onnx"
STACK_TRACE = "pkg.torch.onnx.stack_trace"
OPSET = 18  # >= 17; what ORT 1.2x and onnxsim handle well; the dynamo exporter's default is 20


def tools() -> dict[str, str]:
    return versions("torch", "onnx", "onnxscript")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    return [Variant("onnx_fp32", Precision("float32", "float32"), {"opset": OPSET}, ext=".onnx")]


def output_names(ctx: StageContext) -> list[str]:
    n = len(ctx.reference.outputs[0])
    if ctx.card.task == "classification" and n == 1:
        return ["logits"]
    return [f"features_{i}" for i in range(n)]


def _dynamo(ctx: StageContext, model: Any, out: Path, opset: int) -> None:
    import torch

    torch.onnx.export(
        model,
        (ctx.example,),
        str(out),
        dynamo=True,
        opset_version=opset,
        input_names=[ctx.card.input.name],
        output_names=output_names(ctx),
        external_data=False,
        optimize=True,
    )


def _torchscript(ctx: StageContext, model: Any, out: Path, opset: int) -> None:
    import torch

    torch.onnx.export(
        model,
        (ctx.example,),
        str(out),
        dynamo=False,
        opset_version=min(opset, 17),
        input_names=[ctx.card.input.name],
        output_names=output_names(ctx),
        do_constant_folding=True,
    )


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    import onnx

    details: dict[str, Any] = {}
    try:
        _dynamo(ctx, ctx.model_for(variant.id), out, variant.config["opset"])
        details["exporter"] = "torch.export (dynamo)"
    except Exception as error:  # recorded, then the fallback gets its chance
        details["exporter"] = "torchscript (fallback)"
        details["dynamo_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        details["fallback"] = f"torchscript exporter (torch.export failed: {details['dynamo_error'][:120]})"
        _torchscript(ctx, ctx.model_for(variant.id), out, variant.config["opset"])
    if out.with_name(out.name + ".data").exists():
        raise ConversionError(
            "the exporter wrote an external-data side file; weights must be inside the .onnx"
        )
    model = onnx.load(str(out))
    details["stack_traces_removed"] = strip_stack_traces(model)
    onnx.save(model, str(out))
    onnx.checker.check_model(model, full_check=True)
    details["opset"] = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    details["op_counts"] = op_counts(model)
    return details


def strip_stack_traces(model: Any) -> int:
    """Drop the exporter's per-node Python stack traces: they hold absolute paths of this machine (the
    checkout, the venv), so the same model exported from another folder gave other bytes, and the paths
    would ship to the device. The node's name scopes and class hierarchy stay."""
    removed = 0
    for node in model.graph.node:
        keep = [p for p in node.metadata_props if p.key != STACK_TRACE]
        removed += len(node.metadata_props) - len(keep)
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    return removed


def op_counts(model: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))
