"""ONNX -> int8 ONNX with NNCF's post-training quantization (``nncf.quantize`` on the ONNX model; it
writes a QDQ ONNX that ONNX Runtime runs). Nothing hand-written.

- ``onnx_int8_nncf``: NNCF's CPU defaults (int8 symmetric per-channel weights, uint8 activations, its
  activation range estimator, the 7-bit first-layer weights that avoid the u8s8 overflow of x86 CPUs
  without VNNI) with full bias correction (``fast_bias_correction=False``), calibrated on the card's
  calibration images and their mirror images (when fewer than ``MIRROR_BELOW``).
Made only with ``--nncf``. Measured (docs/int8.md): on the real-weights mobilenet_v2, logits SQNR on the
held-out photos 20.3 dB against 13.7 dB for ORT's own quantizer (``onnx_int8``); but NNCF leaves each
Conv -> Clip (ReLU6) unquantized in between, and ORT's QDQ fusion then keeps 39 of its 52 convolutions
in float (its profiler, in the manifest): more accurate, not faster, on ONNX Runtime.
NNCF's telemetry is off: openvino-telemetry is not installed, and ``NNCF_CI`` is set before the import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeexport.artifact import Precision
from edgeexport.export.stages import Variant, versions
from edgeexport.export.stages.onnx_quantize import PARENTS, counts_of, executed_kernels

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "onnx_nncf"
VERSION = "1"
SRC = "onnx"
DST = "onnx"
MIRROR_BELOW = 300  # NNCF's default subset size: a smaller set is doubled with its mirror images
MAX_IMAGES = 300


def tools() -> dict[str, str]:
    return versions("nncf", "onnx", "onnxruntime")


def images_used(n: int) -> tuple[int, bool]:
    """(calibration images NNCF sees, whether mirror images were added) for ``n`` calibration images."""
    return (min(2 * n, MAX_IMAGES), True) if n < MIRROR_BELOW else (min(n, MAX_IMAGES), False)


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    if not options.nncf:  # asked for with --nncf: ORT runs most of its convolutions in float (docstring)
        return []
    n = options.calibration_count or 0
    used, mirrored = images_used(n)
    source = f"{n} images of {card.data.calibration}" + (" and their mirror images" if mirrored else "")
    return [
        Variant(
            "onnx_int8_nncf",
            Precision("int8", "uint8", granularity="per-channel", calibration=f"NNCF PTQ on {source}"),
            {
                "quantizer": "nncf.quantize",
                "preset": "performance",
                "fast_bias_correction": False,
                "overflow_fix": "first_layer",
                "calibration_images": used,
                "mirrored": mirrored,
            },
            parents=PARENTS,
            ext=".onnx",
        )
    ]


def calibration_set(calibration: np.ndarray, mirrored: bool, limit: int) -> np.ndarray:
    images = np.concatenate([calibration, calibration[..., ::-1]]) if mirrored else calibration
    return np.ascontiguousarray(images[:limit], dtype=np.float32)


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    if parent is None:
        raise ValueError("onnx_nncf needs an ONNX parent")
    os.environ.setdefault("NNCF_CI", "1")  # NNCF's telemetry off even if openvino-telemetry is installed
    import nncf
    import onnx

    c = variant.config
    images = calibration_set(ctx.calibration, c["mirrored"], c["calibration_images"])
    model = onnx.load(str(parent))
    name = model.graph.input[0].name
    nncf.set_log_level(40)  # errors only: its progress bars go to the stage log otherwise
    quantized = nncf.quantize(
        model,
        nncf.Dataset([{name: images[i : i + 1]} for i in range(images.shape[0])]),
        preset=nncf.QuantizationPreset.PERFORMANCE,
        subset_size=images.shape[0],
        fast_bias_correction=c["fast_bias_correction"],
    )
    onnx.save(quantized, str(out))
    sample = ctx.reference.inputs[:1]
    return {
        "op_counts": counts_of(out),
        "kernels_after_ort_optimisation": executed_kernels(out, parent, sample),
    }
