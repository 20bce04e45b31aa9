"""Accuracy-aware static int8: keep the most harmful layers in float until the card's target holds.

Used by onnx_quantize (ORT ``nodes_to_exclude``) and by tflite_quantize (ai-edge-quantizer's
``NO_QUANTIZE`` recipe entries) when the card sets ``tolerance.accuracy_drop`` and its data is labelled.
The search never looks at the test set: it measures the drop on the ``val`` split (train images disjoint
from the calibration images). Each round quantizes, measures the drop against PyTorch fp32 on val, and,
while it misses, asks a doctor which layer loses the most and keeps it in float:
  ORT: ``qdq_loss_debug``'s own-quantization SQNR per tensor (edgeexport/doctor.py);
  TFLite: the SNR each op loses between its inputs and its output, float model vs int8 model, from
  ai-edge-quantizer's own validator (edgeexport/tflite_doctor.py).
The latency cost of every float island is measured (median, 1 thread).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_ROUNDS = 8
DOCTOR_IMAGES = 32


@dataclass(frozen=True)
class Backend:
    """One kind of int8 artifact: how to write it with some layers in float, run it, and diagnose it."""

    quantize: Callable[[list[str], Path], None]  # layers kept in float -> writes the artifact
    session: Callable[[Path, int], Any]  # (path, threads) -> object with run([x]) -> outputs
    most_harmful: Callable[[Path], list[str]]  # layer names of the artifact, most harmful first


def top1_drop(session: Any, inputs: np.ndarray, labels: np.ndarray, float_top1: float) -> float:
    hits = sum(
        int(np.asarray(session.run([inputs[i : i + 1]])[0]).argmax()) == int(labels[i])
        for i in range(len(labels))
    )
    return 100.0 * (float_top1 - hits / len(labels))


def median_latency_ms(session: Any, x: np.ndarray, runs: int = 50) -> float:
    for _ in range(5):
        session.run([x])
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        session.run([x])
        samples.append(time.perf_counter_ns() - start)
    return float(np.median(samples)) / 1e6


def search(
    backend: Backend,
    out: Path,
    val_inputs: np.ndarray,
    val_labels: np.ndarray,
    float_top1: float,
    target_drop: float,
    start_excluded: list[str],
) -> dict[str, Any]:
    """Quantize into ``out`` with more and more layers in float until the val drop <= target."""
    excluded = list(start_excluded)
    history: list[dict[str, Any]] = []
    drop = float("inf")
    backend.quantize(excluded, out)
    first_latency = median_latency_ms(backend.session(out, 1), val_inputs[:1])
    for _ in range(MAX_ROUNDS + 1):
        drop = top1_drop(backend.session(out, 2), val_inputs, val_labels, float_top1)
        history.append({"excluded": list(excluded), "val_drop_points": round(drop, 3)})
        if drop <= target_drop or len(excluded) - len(start_excluded) >= MAX_ROUNDS:
            break
        candidates = [name for name in backend.most_harmful(out) if name not in excluded]
        if not candidates:
            break
        excluded.append(candidates[0])
        backend.quantize(excluded, out)
    # the same file timed twice would report noise as a cost: time again only if layers went float
    final_latency = (
        median_latency_ms(backend.session(out, 1), val_inputs[:1])
        if excluded != start_excluded
        else first_latency
    )
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


def ort_backend(
    quantize: Callable[[list[str], Path], None], float_model: Path, val_inputs: np.ndarray, input_name: str
) -> Backend:
    from edgeexport.quant.onnx_doctor import diagnose_onnx, worst
    from edgeexport.runtimes.onnxruntime import OrtSession

    def most_harmful(path: Path) -> list[str]:
        rows = diagnose_onnx(float_model, path, val_inputs[:DOCTOR_IMAGES], input_name)
        return [r.node for r in worst(rows, len(rows)) if r.node]

    return Backend(quantize, lambda path, threads: OrtSession(str(path), threads=threads), most_harmful)
