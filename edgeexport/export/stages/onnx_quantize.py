"""ONNX -> int8 ONNX with ONNX Runtime's own quantization tools (nothing hand-written).

- ``onnx_dynamic_w8``: ``quantize_dynamic``. Weights int8, activations quantized at run time. Restricted to
  MatMul/Gemm by default: on CNNs every Conv becomes ConvInteger, ~20x slower and inaccurate (measured);
  ``dynamic_ops = ["Conv", "MatMul", "Gemm"]`` in the export options asks for it anyway.
- ``onnx_int8``: ``quantize_static``, QDQ format, per-channel weights, uint8 activations, calibrated on the
  card's real calibration images after ``quant_pre_process``. Weights are uint8 by default (u8u8): on
  x86 with AVX2 but no VNNI, ORT's u8s8 kernels (VPMADDUBSW) saturate, and MobileNetV2 fell from top-1
  agreement 81 % (exact int8 arithmetic) to 50 %; u8u8 computes exactly on x86 and ARM alike, so one
  file gives the same numbers on both (benchmarks/int8_settings.py, docs/int8.md). s8s8 on x86 leaves
  about half the convolutions in float after graph optimisation.
Each artifact records, from ORT's profiler, which nodes compute in integers and which in float.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeexport.artifact import Precision
from edgeexport.export.stages import Variant, versions
from edgeexport.export.stages.torch_to_onnx import op_counts
from edgeexport.quant.ort import pre_process, static_qdq
from edgeexport.spec import TYPES

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "onnx_quantize"
VERSION = "3"
SRC = "onnx"
DST = "onnx"
PARENTS = ("onnx_fp32_sim", "onnx_fp32")
CONVERSIONS = ("QuantizeLinear", "DequantizeLinear")


def tools() -> dict[str, str]:
    return versions("onnx", "onnxruntime")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    o = options
    calibration = f"{o.calibration_method} on {options.calibration_count} images of {card.data.calibration}"
    act, weight = (TYPES[o.int8_types][i].removeprefix("Q").lower() for i in (0, 1))
    return [
        Variant(
            "onnx_dynamic_w8",
            Precision("int8", "int8 at run time", granularity="per-channel", calibration="none (dynamic)"),
            {"op_types": list(o.dynamic_ops), "per_channel": True, "weight_type": "QInt8"},
            parents=PARENTS,
            ext=".onnx",
        ),
        Variant(
            "onnx_int8",
            Precision(weight, act, granularity="per-channel", calibration=calibration),
            {
                "format": "QDQ",
                "activation_type": TYPES[o.int8_types][0],
                "weight_type": TYPES[o.int8_types][1],
                "per_channel": True,
                "reduce_range": o.reduce_range,
                "calibrate_method": o.calibration_method,
                "calibration_images": options.calibration_count,
                "nodes_to_exclude": list(o.nodes_to_exclude),
            },
            parents=PARENTS,
            ext=".onnx",
        ),
    ]


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if parent is None:
        raise ValueError("onnx_quantize needs an ONNX parent")
    c = variant.config
    details: dict[str, Any] = {}
    if variant.id == "onnx_dynamic_w8":
        quantize_dynamic(
            str(parent),
            str(out),
            op_types_to_quantize=c["op_types"],
            per_channel=c["per_channel"],
            weight_type=QuantType.QInt8,
        )
    else:
        with tempfile.TemporaryDirectory() as tmp:
            prepared = Path(tmp) / "prepared.onnx"
            pre_process(parent, prepared)

            def quantize(exclude: list[str], target: Path) -> None:
                static_qdq(
                    prepared,
                    target,
                    ctx.calibration,
                    ctx.card.input.name,
                    activation_type=c["activation_type"],
                    weight_type=c["weight_type"],
                    method=c["calibrate_method"],
                    per_channel=c["per_channel"],
                    reduce_range=c["reduce_range"],
                    exclude=exclude,
                )

            if ctx.validation is not None and ctx.card.tolerance.accuracy_drop is not None:
                from edgeexport.quant import search as quant_search

                val = ctx.validation
                val_x, val_y, val_top1 = val.inputs, val.labels, val.top1
                backend = quant_search.ort_backend(quantize, parent, val_x, ctx.card.input.name)
                details["accuracy_aware"] = quant_search.search(
                    backend,
                    out,
                    val_x,
                    val_y,
                    val_top1,
                    ctx.card.tolerance.accuracy_drop,
                    list(c["nodes_to_exclude"]),
                )
            else:
                quantize(list(c["nodes_to_exclude"]), out)
    sample = ctx.reference.inputs[:1]
    details.update(
        op_counts=counts_of(out), kernels_after_ort_optimisation=executed_kernels(out, parent, sample)
    )
    return details


def counts_of(path: Path) -> dict[str, int]:
    import onnx

    return op_counts(onnx.load(str(path)))


def executed_kernels(path: Path, float_parent: Path, sample: np.ndarray) -> dict[str, Any]:
    """What ORT actually runs after its graph optimisation, from its profiler (bench/profile.py): which
    nodes compute in integers and which in float, with their time on this machine."""
    from edgeexport.runtimes.onnxruntime import OrtSession

    found = OrtSession(str(path), threads=1).profile([np.ascontiguousarray(sample, dtype=np.float32)])
    nodes = found["nodes"]
    int8 = Counter(n["op"] for n in nodes if n["fast"] and n["op"] not in CONVERSIONS)
    floating = found["outside"]
    convs = counts_of(float_parent).get("Conv", 0)
    int8_convs = sum(v for k, v in int8.items() if "Conv" in k)
    compute = [n for n in nodes if n["op"] not in CONVERSIONS]
    integer = len(compute) - sum(floating.values())
    return {
        "int8": dict(int8.most_common()),
        "float": floating,
        "float_ms": found["outside_ms"],
        "total_ms": found["total_ms"],
        "summary": f"{int8_convs} of {convs} convolutions run in int8; {integer} of {len(compute)} compute "
        "nodes in integers (ORT profiler); in float: "
        + (", ".join(f"{v} {k}" for k, v in floating.items()) or "none"),
    }
