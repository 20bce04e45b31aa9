"""Which op of an ai-edge-quantizer int8 .tflite loses the most, for the accuracy-aware search.

ai-edge-quantizer keeps the float model's tensor names, so its own validator
(``model_validator.compare_model``, SNR metric) compares every tensor of the int8 model with the same
tensor of the float model on the same inputs. That SNR is cumulative (errors so far); what one op loses
is the SNR of its output below the worst SNR of its inputs. Ops are ranked by that loss, and named by
their output tensor, which is what a ``NO_QUANTIZE`` recipe entry matches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Ops that only move or reinterpret data: keeping one in float buys nothing.
PLUMBING = {"QUANTIZE", "DEQUANTIZE", "RESHAPE", "PAD", "TRANSPOSE", "SQUEEZE", "CONCATENATION", "GATHER"}


@dataclass(frozen=True)
class OpLoss:
    op: str
    output: str  # output tensor name
    snr_db: float  # output tensor, int8 model vs float model
    lost_db: float  # worst input SNR minus output SNR


def op_losses(float_path: Path, quant_path: Path, feeds: dict[str, list[dict[str, Any]]]) -> list[OpLoss]:
    """Every compute op of the int8 model with the SNR it loses, most lost first."""
    from ai_edge_quantizer import model_validator
    from ai_edge_quantizer.utils import validation_utils

    from edgeexport.runtimes.litert import interpreter_module

    result = model_validator.compare_model(
        float_path.read_bytes(),
        quant_path.read_bytes(),
        feeds,
        [validation_utils.ValidationErrorMetric.SNR],
        num_threads=2,
    )
    # the validator's SNR is a power ratio (mean signal^2 / mse): in dB, capped at 100 (exact)
    snr = {
        name: min(100.0, 10 * math.log10(max(values["snr"], 1e-10)))
        for name, values in result.get_all_tensor_results().items()
    }
    interp = interpreter_module().Interpreter(model_path=str(quant_path))
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    losses = []
    for op in interp._get_ops_details():
        if op["op_name"] in PLUMBING or not op["outputs"]:
            continue
        out = names[op["outputs"][0]]
        if out not in snr:
            continue
        inputs = [snr[names[i]] for i in op["inputs"] if i >= 0 and names.get(i) in snr]
        start = min(inputs) if inputs else 100.0  # the model input counts as exact
        losses.append(OpLoss(op["op_name"], out, snr[out], start - snr[out]))
    return sorted(losses, key=lambda r: r.lost_db, reverse=True)
