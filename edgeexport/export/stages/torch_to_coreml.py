"""PyTorch -> Core ML mlprogram with coremltools, from ``torch.export`` (the ``torch.jit.trace`` path
failed on ShuffleNetV2 here): fp16 (the default Core ML precision), fp32, and int8 weights
(``linear_quantize_weights``, per-channel symmetric) on top of fp16 compute.

Prediction needs macOS. Everywhere the package is verified structurally: it loads, is an mlprogram, has
the expected inputs/outputs, and its op histogram is recorded (int8 weights must show up as
``constexpr_affine_dequantize`` ops: coremltools skips small tensors silently by default).
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeexport.artifact import Precision
from edgeexport.errors import ConversionError
from edgeexport.export.stages import Variant, versions

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "torch_to_coreml"
VERSION = "1"
SRC = "torch"
DST = "mlpackage"


def tools() -> dict[str, str]:
    return versions("torch", "coremltools")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    return [
        Variant(
            "coreml_fp16", Precision("float16", "float16"), {"compute_precision": "FLOAT16"}, ext=".mlpackage"
        ),
        Variant(
            "coreml_fp32", Precision("float32", "float32"), {"compute_precision": "FLOAT32"}, ext=".mlpackage"
        ),
        Variant(
            "coreml_fp16_w8",
            Precision("int8", "float16", granularity="per-channel", calibration="none (weights only)"),
            {
                "compute_precision": "FLOAT16",
                "weights": "linear_symmetric int8 per-channel",
                "weight_threshold": 0,
            },
            ext=".mlpackage",
        ),
    ]


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    import coremltools as ct
    import numpy as np
    import torch

    from edgeexport.export.stages.torch_to_onnx import output_names

    names = output_names(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every warning into this artifact's log, not once per process
        program = torch.export.export(ctx.model_for(variant.id), (ctx.example,)).run_decompositions({})
        model = ct.convert(
            program,
            convert_to="mlprogram",
            compute_precision=getattr(ct.precision, variant.config["compute_precision"]),
            minimum_deployment_target=ct.target.iOS16,
            inputs=[ct.TensorType(name=ctx.card.input.name, shape=ctx.card.input.shape, dtype=np.float32)],
            outputs=[ct.TensorType(name=n, dtype=np.float32) for n in names],
        )
        if "weights" in variant.config:
            from coremltools.optimize.coreml import (
                OpLinearQuantizerConfig,
                OptimizationConfig,
                linear_quantize_weights,
            )

            config = OptimizationConfig(
                global_config=OpLinearQuantizerConfig(
                    mode="linear_symmetric",
                    dtype="int8",
                    granularity="per_channel",
                    weight_threshold=variant.config["weight_threshold"],
                )
            )
            model = linear_quantize_weights(model, config=config)
        model.save(str(out))
    details = verify(out, [ctx.card.input.name], names)
    if "weights" in variant.config and not details["ops"].get("constexpr_affine_dequantize"):
        raise ConversionError(
            "linear_quantize_weights quantized no weight (no constexpr_affine_dequantize op)"
        )
    return details


def verify(path: Path, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    """Structural check that needs no macOS: spec type, I/O names and shapes, op histogram."""
    import coremltools as ct

    spec = ct.utils.load_spec(str(path))
    if spec.WhichOneof("Type") != "mlProgram":
        raise ConversionError(f"{path.name} is not an mlprogram")
    ins = [i.name for i in spec.description.input]
    outs = [o.name for o in spec.description.output]
    if ins != inputs or outs != outputs:
        raise ConversionError(f"{path.name} has inputs {ins} / outputs {outs}, expected {inputs} / {outputs}")
    ops: Counter[str] = Counter()

    def walk(block: Any) -> None:
        for op in block.operations:
            ops[op.type] += 1
            for inner in op.blocks:
                walk(inner)

    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            walk(block)
    return {
        "spec_version": spec.specificationVersion,
        "inputs": {i.name: list(i.type.multiArrayType.shape) for i in spec.description.input},
        "outputs": outs,
        "ops": dict(sorted(ops.items())),
        "verified": "structurally (spec, inputs/outputs, op histogram)",
    }
