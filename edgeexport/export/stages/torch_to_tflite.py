"""PyTorch -> TFLite with litert-torch (no TensorFlow): fp32, and full int8 through the PT2E quantizer.

- ``tflite_fp32``: ``litert_torch.convert``.
- ``tflite_int8``: PT2E (``prepare_pt2e`` -> calibration on the card's real images -> ``convert_pt2e``),
  symmetric per-channel int8 weights, int8 activations. litert-torch gives this file int8 inputs AND
  outputs (it has no float-I/O option); for float I/O use ``tflite_int8_aeq`` (tflite_quantize.py).
  PT2E has converted silently wrong models before (PITFALLS): the parity gate catches it, and the
  details record how far the .tflite is from the quantized torch module it came from.
With ``--nhwc`` the model is wrapped in ``to_channel_last_io`` (NHWC input, NHWC 4-D outputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeexport.artifact import Precision
from edgeexport.export.stages import Variant, versions
from edgeexport.quant import pt2e
from edgeexport.runtimes.litert import io_dtypes, op_histogram

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "torch_to_tflite"
VERSION = "1"
SRC = "torch"
DST = "tflite"
FIDELITY_IMAGES = 64


def tools() -> dict[str, str]:
    return versions("torch", "litert-torch", "torchao")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    suffix = "_nhwc" if options.nhwc else ""
    n = options.calibration_count
    return [
        Variant(
            f"tflite_fp32{suffix}", Precision("float32", "float32"), {"nhwc": options.nhwc}, ext=".tflite"
        ),
        Variant(
            f"tflite_int8{suffix}",
            Precision(
                "int8",
                "int8",
                io="int8",
                granularity="per-channel",
                calibration=f"PT2E observers (min/max) on {n} images of {card.data.calibration}",
            ),
            {"nhwc": options.nhwc, "quantizer": "PT2E symmetric per-channel", "calibration_images": n},
            ext=".tflite",
        ),
    ]


def module_and_example(ctx: StageContext, model: Any, nhwc: bool) -> tuple[Any, Any]:
    """``model`` and its example input as the TFLite file takes them (channels last with ``--nhwc``)."""
    import litert_torch

    if not nhwc:
        return model, ctx.example
    n_out = len(ctx.reference.outputs[0])
    four_d = [i for i in range(n_out) if ctx.reference.outputs[0][i].ndim == 4]
    wrapped = litert_torch.to_channel_last_io(model, args=[0], outputs=four_d or None).eval()
    return wrapped, ctx.example.permute(0, 2, 3, 1).contiguous()


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    import litert_torch
    import torch

    nhwc = bool(variant.config["nhwc"])
    module, example = module_and_example(ctx, ctx.model_for(variant.id), nhwc)
    details: dict[str, Any] = {}
    if variant.id.startswith("tflite_fp32"):
        litert_torch.convert(module, (example,)).export(str(out))
    else:
        quantized = _pt2e(module, example, ctx, nhwc)
        from litert_torch.quantize import pt2e_quantizer as pq
        from litert_torch.quantize.quant_config import QuantConfig

        qz = pq.PT2EQuantizer().set_global(pq.get_symmetric_quantization_config(is_per_channel=True))
        litert_torch.convert(quantized, (example,), quant_config=QuantConfig(pt2e_quantizer=qz)).export(
            str(out)
        )
        details["tflite_vs_quantized_torch_cosine"] = _fidelity(quantized, out, ctx, nhwc, torch)
    ops = op_histogram(out)
    details.update({"ops": ops, "transpose_ops": ops.get("TRANSPOSE", 0), "io_dtypes": io_dtypes(out)})
    return details


def _pt2e(module: Any, example: Any, ctx: StageContext, nhwc: bool) -> Any:
    from litert_torch.quantize import pt2e_quantizer as pq
    from torchao.quantization.pt2e import move_exported_model_to_eval

    qz = pq.PT2EQuantizer().set_global(pq.get_symmetric_quantization_config(is_per_channel=True))
    batches = pt2e.calibration_batches(ctx.calibration, nhwc=nhwc)
    return move_exported_model_to_eval(pt2e.quantize(module, example, qz, batches, fold_quantize=False))


def _fidelity(quantized: Any, path: Path, ctx: StageContext, nhwc: bool, torch: Any) -> float:
    """Worst cosine between the .tflite and the quantized torch module it was converted from, on the first
    FIDELITY_IMAGES reference images (the fake-quantized torch module is slow)."""
    from edgeexport.runtimes.litert import LiteRTSession

    session = LiteRTSession(str(path), threads=ctx.options.threads)
    worst = 1.0
    for i in range(min(FIDELITY_IMAGES, ctx.reference.inputs.shape[0])):
        x = ctx.reference.inputs[i : i + 1]
        xt = torch.from_numpy(x.transpose(0, 2, 3, 1).copy() if nhwc else x.copy())
        with torch.no_grad():
            ref = quantized(xt)
        ref = ref[0] if isinstance(ref, tuple | list) else ref
        a = np.asarray(ref, dtype=np.float64).ravel()
        b = np.asarray(session.run([x])[0], dtype=np.float64).ravel()
        denom = float(np.linalg.norm(a) * np.linalg.norm(b)) or 1.0
        worst = min(worst, float(np.dot(a, b)) / denom)
    return worst
