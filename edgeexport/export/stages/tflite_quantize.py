"""TFLite -> quantized TFLite with ai-edge-quantizer (Google's quantizer for LiteRT; what litert-torch's own
fp16/dynamic recipes run internally), on the fp32 file litert-torch wrote.

- ``tflite_fp16w``: weights stored as float16 (FLOAT_CASTING), computed in float32.
- ``tflite_dynrange_w8``: int8 weights, activations quantized at run time by hybrid kernels. Not "int8".
- ``tflite_int8_aeq``: full int8 (per-channel int8 weights, int8 activations), calibrated with GLOBAL
  min/max on the card's real images (the default moving-average calibration clipped logits: PITFALLS);
  float32 inputs/outputs with quantize/dequantize at the edges, or int8 I/O with ``--int8-io``. When the
  card sets ``accuracy_drop`` on labelled data, the accuracy-aware search (edgeexport/quant_search.py)
  keeps the ops that lose the most in float (``NO_QUANTIZE`` recipe entries) until the val drop holds.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeexport.artifact import Precision
from edgeexport.export.stages import Variant, versions
from edgeexport.export.tflite_check import per_channel_hybrid_fc
from edgeexport.runtimes.litert import io_dtypes, op_histogram

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "tflite_quantize"
VERSION = "2"
SRC = "tflite"
DST = "tflite"


def tools() -> dict[str, str]:
    return versions("ai-edge-quantizer", "ai-edge-litert")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    suffix = "_nhwc" if options.nhwc else ""
    parents = (f"tflite_fp32{suffix}",)
    n = options.calibration_count
    io_dtype = "int8" if options.int8_io else "float32"
    # per-channel hybrid FULLY_CONNECTED computes 0.0 before tflite 2.17 (export/tflite_check.py)
    fc = "per-channel" if per_channel_hybrid_fc(options.target or card.target) else "per-tensor"
    return [
        Variant(
            f"tflite_fp16w{suffix}",
            Precision("float16", "float32"),
            {"recipe": "float casting, weights only", "nhwc": options.nhwc},
            parents=parents,
            ext=".tflite",
        ),
        Variant(
            f"tflite_dynrange_w8{suffix}",
            Precision(
                "int8",
                "int8 at run time",
                granularity="per-channel"
                if fc == "per-channel"
                else "per-channel (FULLY_CONNECTED per-tensor)",
                calibration="none (dynamic)",
            ),
            {"recipe": "dynamic_wi8_afp32", "nhwc": options.nhwc, "fully_connected": fc},
            parents=parents,
            ext=".tflite",
        ),
        Variant(
            f"tflite_int8_aeq{suffix}" + ("_io8" if options.int8_io else ""),
            Precision(
                "int8",
                "int8",
                io=io_dtype,
                granularity="per-channel",
                calibration=f"global min/max on {n} images of {card.data.calibration}",
            ),
            {
                "recipe": "static_wi8_ai8",
                "calibration": "global min/max",
                "io": io_dtype,
                "nhwc": options.nhwc,
            },
            parents=parents,
            ext=".tflite",
        ),
    ]


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    if parent is None:
        raise ValueError("tflite_quantize needs the fp32 .tflite as parent")
    details: dict[str, Any] = {}
    if variant.id.startswith("tflite_int8_aeq"):
        with tempfile.TemporaryDirectory() as tmp:
            if ctx.rewrites_for(variant.id) != ctx.rewrites_for(variant.id.replace("int8_aeq", "fp32")):
                parent = _rewritten_fp32(ctx, variant, Path(tmp) / "rewritten_fp32.tflite")
                details["quantized_from"] = "an fp32 .tflite of the rewritten model (config.rewrites)"
            details.update(_static_int8(ctx, variant, parent, out))
    else:
        _weights_quantized(variant, parent, out)
    ops = op_histogram(out)
    return {**details, "ops": ops, "transpose_ops": ops.get("TRANSPOSE", 0), "io_dtypes": io_dtypes(out)}


def _rewritten_fp32(ctx: StageContext, variant: Variant, out: Path) -> Path:
    """The model with this artifact's rewrites, converted to fp32 TFLite as ``tflite_fp32`` is (that file
    is made with fewer rewrites: h-swish as ReLU6 makes fp32 slower), for ai-edge-quantizer to quantize."""
    import litert_torch

    from edgeexport.export.stages.torch_to_tflite import module_and_example

    module, example = module_and_example(ctx, ctx.model_for(variant.id), bool(variant.config["nhwc"]))
    litert_torch.convert(module, (example,)).export(str(out))
    return out


def _weights_quantized(variant: Variant, parent: Path, out: Path) -> None:
    """float16 weights (FLOAT_CASTING) or dynamic-range int8 weights."""
    from ai_edge_quantizer import algorithm_manager, qtyping, recipe
    from ai_edge_quantizer import quantizer as aeq

    if variant.id.startswith("tflite_fp16w"):
        qt = aeq.Quantizer(str(parent))
        qt.add_weight_only_config(
            regex=".*",
            operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
            num_bits=16,
            granularity=qtyping.QuantGranularity.TENSORWISE,
            algorithm_key=algorithm_manager.AlgorithmName.FLOAT_CASTING,
        )
        result = qt.quantize()
    else:
        qt = aeq.Quantizer(str(parent), recipe.dynamic_wi8_afp32())
        if variant.config["fully_connected"] == "per-tensor":  # later configs override the recipe's
            qt.add_dynamic_config(
                regex=".*",
                operation_name=qtyping.TFLOperationName.FULLY_CONNECTED,
                num_bits=8,
                granularity=qtyping.QuantGranularity.TENSORWISE,
            )
        result = qt.quantize()
    result.export_model(str(out), overwrite=True)


def _static_int8(ctx: StageContext, variant: Variant, parent: Path, out: Path) -> dict[str, Any]:
    """Full int8 with global min/max calibration; accuracy-aware when the card asks for it."""
    nhwc = bool(variant.config["nhwc"])
    feeds = _feeds(parent, ctx.calibration, nhwc)
    float_io = variant.config["io"] == "float32"

    def quantize(float_layers: list[str], target: Path) -> None:
        _aeq_int8(parent, target, feeds, float_layers, float_io=float_io, threads=ctx.options.threads)

    if ctx.validation is None or ctx.card.tolerance.accuracy_drop is None:
        quantize([], out)
        return {}
    from edgeexport.quant import search as quant_search
    from edgeexport.quant.tflite_losses import op_losses
    from edgeexport.runtimes import litert

    val = ctx.validation
    val_x, val_y, val_top1 = val.inputs, val.labels, val.top1
    doctor_feeds = _feeds(parent, val_x[: quant_search.DOCTOR_IMAGES], nhwc)

    def most_harmful(path: Path) -> list[str]:
        return [row.output for row in op_losses(parent, path, doctor_feeds)]

    backend = quant_search.Backend(
        quantize, lambda path, threads: litert.load(str(path), threads), most_harmful
    )
    search = quant_search.search(backend, out, val_x, val_y, val_top1, ctx.card.tolerance.accuracy_drop, [])
    return {"accuracy_aware": search}


def _aeq_int8(
    parent: Path,
    out: Path,
    feeds: dict[str, list[dict[str, Any]]],
    float_layers: list[str],
    *,
    float_io: bool,
    threads: int,
) -> None:
    """ai-edge-quantizer static int8, global min/max; ops named by their output tensor stay float."""
    from ai_edge_quantizer import algorithm_manager, calibrator, qtyping, recipe
    from ai_edge_quantizer import quantizer as aeq
    from ai_edge_quantizer.utils import qsv_utils

    qt = aeq.Quantizer(str(parent), recipe.static_wi8_ai8())
    keep_float = [(".*", op) for op in (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT)]
    keep_float = keep_float if float_io else []
    # an op's scope is its output tensor names, each followed by ";"
    keep_float += [(f"^{re.escape(name)};$", qtyping.TFLOperationName.ALL_SUPPORTED) for name in float_layers]
    for regex, op in keep_float:
        qt.update_quantization_recipe(
            regex=regex, operation_name=op, algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE
        )
    cal = calibrator.Calibrator(
        parent.read_bytes(), num_threads=threads, qsv_update_func=qsv_utils.min_max_update
    )
    cal.calibrate(feeds, qt._recipe_manager)  # what Quantizer.calibrate passes, with global min/max
    qt.quantize(cal.get_model_qsvs()).export_model(str(out), overwrite=True)


def _feeds(fp32_path: Path, images: np.ndarray, nhwc: bool) -> dict[str, list[dict[str, Any]]]:
    """ai-edge-quantizer's input format: {signature: [{input name: one batch-1 image}, ...]}."""
    from edgeexport.runtimes.litert import interpreter_module

    interp = interpreter_module().Interpreter(model_path=str(fp32_path))
    signatures = interp.get_signature_list()
    key = next(iter(signatures))
    arg = signatures[key]["inputs"][0]
    batches = [images[i : i + 1] for i in range(images.shape[0])]
    if nhwc:
        batches = [b.transpose(0, 2, 3, 1).copy() for b in batches]
    return {key: [{arg: b} for b in batches]}
