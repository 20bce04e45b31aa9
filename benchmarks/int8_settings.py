"""Choose ORT static int8 settings by measurement: one card, a grid of settings, one process.

    python benchmarks/int8_settings.py --model mobilenet_v2
    python benchmarks/int8_settings.py --model mobilenetv3_small_fmnist --methods MinMax

For every combination of activation/weight type (U8S8, U8U8, S8S8), reduce_range and calibration method,
quantizes the card's simplified fp32 ONNX with ONNX Runtime's ``quantize_static`` (QDQ, per-channel) on
the card's calibration images, then runs it on the card's reference inputs twice:
  - ``ort``: ONNX Runtime as shipped (graph optimisation on: the int8 kernels of THIS CPU run);
  - ``sim``: graph optimisation off, so every QDQ pair is computed in float: what an exact int8 kernel
    would give. The gap between the two is the CPU's kernels, not the quantization.
Writes benchmarks/results/int8_settings-<card>.json and prints a table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from edgeexport import cards, parity
from edgeexport.export import pipeline, reference
from edgeexport.quant.ort import pre_process, static_qdq
from edgeexport.spec import METHODS, TYPES


def run(path: Path, inputs: np.ndarray, optimise: bool) -> list[list[np.ndarray]]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    if not optimise:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return [session.run(None, {name: inputs[i : i + 1]}) for i in range(inputs.shape[0])]


def main() -> None:

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--types", default="u8s8,u8u8,s8s8")
    p.add_argument("--methods", default="MinMax,Percentile", help=", ".join(METHODS))
    p.add_argument("--reduce-range", default="no,yes", help="no, yes or no,yes")
    args = p.parse_args()
    card = cards.get_card(args.model)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        options = pipeline.ExportOptions(formats=("onnx",), precisions=("fp32",), root=Path(tmp))
        exported, ctx = pipeline.export_with_context(card, options, log=lambda m: None)
        fp32 = Path(tmp) / card.name / exported.artifacts["onnx_fp32_sim"].file
        prepared = Path(tmp) / "prepared.onnx"
        pre_process(fp32, prepared)
        ref_top1 = reference.top1(ctx.stage.reference.outputs, ctx.stage.reference.labels)
        grid = itertools.product(
            args.types.split(","),
            [r == "yes" for r in args.reduce_range.split(",")],
            args.methods.split(","),
        )
        for types, reduce_range, method in grid:
            act, weight = TYPES[types]
            out = Path(tmp) / f"{types}-{reduce_range}-{method}.onnx"
            start = time.perf_counter()
            static_qdq(
                prepared,
                out,
                ctx.stage.calibration,
                card.input.name,
                activation_type=act,
                weight_type=weight,
                method=method,
                reduce_range=reduce_range,
            )
            row: dict[str, object] = {
                "types": types,
                "reduce_range": reduce_range,
                "method": method,
                "quantize_seconds": round(time.perf_counter() - start, 1),
            }
            for mode, optimise in (("ort", True), ("sim", False)):
                outputs = run(out, ctx.stage.reference.inputs, optimise)
                rep = parity.metrics(ctx.stage.reference.outputs, outputs, classification=True)
                row[mode] = {
                    "cosine_mean": round(rep.cosine_mean, 5),
                    "cosine_worst": round(rep.cosine, 5),
                    "top1_agreement": round(rep.top1_agreement or 0.0, 4),
                }
                if ref_top1 is not None:
                    top1 = reference.top1(outputs, ctx.stage.reference.labels) or 0.0
                    row[mode]["drop_points"] = round(100 * (ref_top1 - top1), 2)  # type: ignore[index]
            print(json.dumps(row), flush=True)
            results.append(row)
    result = {
        "card": card.name,
        "reference": f"{len(ctx.stage.reference.inputs)} images of {card.data.evaluation or 'real_photos'}",
        "calibration_images": int(ctx.stage.calibration.shape[0]),
        "cpu": platform.processor() or platform.machine(),
        "rows": results,
    }
    out_path = Path(__file__).parent / "results" / f"int8_settings-{card.name}.json"
    out_path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
