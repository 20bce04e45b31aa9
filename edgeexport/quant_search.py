"""Accuracy-aware static int8: keep the most harmful layers in float until the card's target holds.

Used by onnx_quantize when the card sets ``tolerance.accuracy_drop`` and its data is labelled. The
search never looks at the test set: it measures the drop on the ``val`` split (train images disjoint
from the calibration images). Each round quantizes, measures the drop against PyTorch fp32 on val, and,
while it misses, asks the doctor (ORT's qdq_loss_debug) which quantized tensor loses the most and adds
the node that produces it to ``nodes_to_exclude``. The latency cost of every float island is measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgeexport.doctor import diagnose_onnx, worst

MAX_ROUNDS = 8
DOCTOR_IMAGES = 32


def top1_drop(model: Path, inputs: np.ndarray, labels: np.ndarray, float_top1: float, name: str) -> float:
    from edgeexport.runtimes.onnxruntime import OrtSession

    session = OrtSession(str(model), threads=2)
    hits = sum(
        int(np.asarray(session.run([inputs[i : i + 1]])[0]).argmax()) == int(labels[i])
        for i in range(len(labels))
    )
    return 100.0 * (float_top1 - hits / len(labels))


def median_latency_ms(model: Path, x: np.ndarray, runs: int = 50) -> float:
    from edgeexport.runtimes.onnxruntime import OrtSession

    session = OrtSession(str(model), threads=1)
    for _ in range(5):
        session.run([x])
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        session.run([x])
        samples.append(time.perf_counter_ns() - start)
    return float(np.median(samples)) / 1e6


def search(
    quantize: Callable[[list[str], Path], None],
    float_model: Path,
    out: Path,
    val_inputs: np.ndarray,
    val_labels: np.ndarray,
    float_top1: float,
    target_drop: float,
    input_name: str,
    start_excluded: list[str],
) -> dict[str, Any]:
    """Quantize into ``out`` with more and more nodes excluded until the val drop <= target."""
    excluded = list(start_excluded)
    history: list[dict[str, Any]] = []
    drop = float("inf")
    quantize(excluded, out)
    first_latency = median_latency_ms(out, val_inputs[:1])
    for _ in range(MAX_ROUNDS + 1):
        drop = top1_drop(out, val_inputs, val_labels, float_top1, input_name)
        history.append({"excluded": list(excluded), "val_drop_points": round(drop, 3)})
        if drop <= target_drop or len(excluded) - len(start_excluded) >= MAX_ROUNDS:
            break
        rows = diagnose_onnx(float_model, out, val_inputs[:DOCTOR_IMAGES], input_name)
        candidates = [r for r in worst(rows, len(rows)) if r.node and r.node not in excluded]
        if not candidates:
            break
        excluded.append(candidates[0].node)
        quantize(excluded, out)
    final_latency = median_latency_ms(out, val_inputs[:1])
    return {
        "target_drop_points": target_drop,
        "met_on_val": drop <= target_drop,
        "kept_in_float": excluded[len(start_excluded) :],
        "rounds": history,
        "latency_ms_1_thread": {
            "all_int8": round(first_latency, 3),
            "with_float_layers": round(final_latency, 3),
        },
    }
