"""What a .tflite asks of the runtime that reads it, checked against the card's oldest target.

Measured with tflite-runtime 2.14: a dynamic-range (hybrid: float activations, int8 weights) FULLY_CONNECTED
whose weights have one scale per output channel computes exactly 0.0 - the pre-2.17 hybrid kernel reads one
legacy scale, which is 0 when there are several (tensorflow/lite/kernels/fully_connected.cc; TFLite's
converter marks such an op version 12, first read by 2.17: tools/versioning/runtime_version.cc). The
tflite_quantize stage therefore quantizes FULLY_CONNECTED weights per tensor for targets below 2.17; this
check makes sure no such op reaches a file meant for them. Read-only: the TFLite schema's object API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeexport.errors import ConversionError
from edgeexport.spec import RuntimeTarget, version_tuple

# The first TFLite release whose hybrid FULLY_CONNECTED reads per-channel scales.
PER_CHANNEL_HYBRID_FC = (2, 17)


def per_channel_hybrid_fc(target: RuntimeTarget) -> bool:
    """Whether the target reads hybrid FULLY_CONNECTED ops with per-channel weight scales."""
    return version_tuple(target.tflite, "target.tflite")[:2] >= PER_CHANNEL_HYBRID_FC


def hybrid_fc_per_channel(path: Path) -> int:
    """How many hybrid FULLY_CONNECTED ops of the file have per-channel int8 weights."""
    from ai_edge_litert import schema_py_generated as fb

    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(path.read_bytes(), 0))
    found = 0
    for subgraph in model.subgraphs or []:
        for op in subgraph.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            if max(code.builtinCode, code.deprecatedBuiltinCode) != fb.BuiltinOperator.FULLY_CONNECTED:
                continue
            source, weights = (subgraph.tensors[i] for i in op.inputs[:2])
            scales = weights.quantization.scale if weights.quantization is not None else None
            hybrid = source.type == fb.TensorType.FLOAT32 and weights.type == fb.TensorType.INT8
            found += int(hybrid and scales is not None and len(scales) > 1)
    return found


def check_tflite(path: Path, target: RuntimeTarget) -> dict[str, Any]:
    done: dict[str, Any] = {"target": f"tflite>={target.tflite}"}
    if not per_channel_hybrid_fc(target):
        count = hybrid_fc_per_channel(path)
        if count:
            raise ConversionError(
                f"{count} hybrid FULLY_CONNECTED ops with per-channel weights: tflite {target.tflite} "
                "computes 0.0 for them (2.17 is the first that reads them); quantize them per tensor "
                "or raise target.tflite"
            )
        done["hybrid_fully_connected"] = "per-tensor weights (none per-channel)"
    return done
