"""PyTorch -> ExecuTorch ``.pte`` with the XNNPACK delegate: fp32, and static int8 through PT2E.

- ``executorch_fp32``: ``torch.export`` -> ``to_edge_transform_and_lower`` with ``XnnpackPartitioner`` ->
  ``to_executorch``.
- ``executorch_int8``: ExecuTorch's ``XNNPACKQuantizer`` (symmetric per-channel int8 weights, int8
  activations) through PT2E: ``prepare_pt2e`` -> calibration on the card's real images -> ``convert_pt2e``,
  then lowered like fp32. Float in, float out: the quantize/dequantize at the edges are in the program.

The details record what XNNPACK took and what it left to ExecuTorch's portable kernels (the delegation
report of ``executorch.devtools.backend_debug``): partition count, delegated node count and every operator
left outside with its count (``getitem``, the unpacking of a partition's outputs, is not an operator and is
left out). Whether the program loads is the parity gate's business: it runs the file in ExecuTorch's runtime,
so a program with a missing operator fails at export, not on the phone.

executorch 1.4.1 is pinned: it is the release built against torch 2.13 (this project's pin); 1.5.x follows
torch 2.14.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeexport.artifact import Precision
from edgeexport.export.stages import Variant, versions
from edgeexport.quant import pt2e
from edgeexport.runtimes.executorch import quiet_import

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "torch_to_executorch"
VERSION = "1"
SRC = "torch"
DST = "pte"


def tools() -> dict[str, str]:
    return versions("torch", "executorch", "torchao")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    n = options.calibration_count
    return [
        Variant("executorch_fp32", Precision("float32", "float32"), {"delegate": "XNNPACK"}, ext=".pte"),
        Variant(
            "executorch_int8",
            Precision(
                "int8",
                "int8",
                granularity="per-channel",
                calibration=f"PT2E observers (min/max) on {n} images of {card.data.calibration}",
            ),
            {
                "delegate": "XNNPACK",
                "quantizer": "XNNPACKQuantizer symmetric per-channel",
                "calibration_images": n,
            },
            ext=".pte",
        ),
    ]


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    import torch

    with quiet_import():
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

    module = ctx.model_for(variant.id) if variant.precision.kind == "fp32" else _quantized(ctx, variant.id)
    program = torch.export.export(module, (ctx.example,))
    edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    details = delegation(edge.exported_program().graph_module)
    out.write_bytes(edge.to_executorch().buffer)
    return details


def _quantized(ctx: StageContext, artifact_id: str) -> Any:
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    return pt2e.quantize(
        ctx.model_for(artifact_id), ctx.example, quantizer, pt2e.calibration_batches(ctx.calibration)
    )


def delegation(graph_module: Any) -> dict[str, Any]:
    """Partitions, delegated nodes and the operators left outside XNNPACK (name -> count)."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(graph_module)
    table = info.get_operator_delegation_dataframe()
    outside = {
        str(row.op_type): int(row.occurrences_in_non_delegated_graphs)
        for row in table.itertuples()
        if row.op_type not in ("Total", "getitem") and row.occurrences_in_non_delegated_graphs
    }
    return {
        "delegate": "XNNPACK",
        "partitions": int(info.num_delegated_subgraphs),
        "delegated_nodes": int(info.num_delegated_nodes),
        "outside_delegate": dict(sorted(outside.items(), key=lambda kv: -kv[1])),
        "outside_delegate_nodes": sum(outside.values()),
    }
