"""Why int8 flips a photo's top-1: PyTorch's own top-1/top-2 margin against the int8 model's error.

    python benchmarks/int8_agreement.py --model mobilenet_v2
    python benchmarks/int8_agreement.py --model mobilenet_v2 \
        --extra folder:$HOME/.cache/edgeexport/more-photos

Quantizes the card's simplified fp32 ONNX with ORT ``quantize_static`` (QDQ, per-channel, u8u8) once per
calibration method, on the card's calibration images, and runs each on the held-out photos (plus, with
``--extra``, the images of an ImageFolder, all of them unseen: ``scripts/fetch-more-photos.sh`` unpacks
22 natural photos from the PyPI package mvtb-images there). For every photo it prints PyTorch's margin
between its top two logits and each int8 model's RMS logit error, both in units of that photo's logit
standard deviation, and whether int8 kept PyTorch's top-1. A photo flips when its margin is within reach
of the error; top-1 agreement then measures how many near-ties the photos hold as much as it measures
the quantization. Per-set summaries (mean cosine, SQNR, top-1 agreement, top-5 overlap) are printed too.
Writes benchmarks/results/int8_agreement-<card>.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from edgeexport import cards, data, parity
from edgeexport.export import pipeline
from edgeexport.quant.ort import pre_process, static_qdq
from edgeexport.runtimes.onnxruntime import OrtSession
from edgeexport.spec import METHODS


def logits_of(path: Path, inputs: np.ndarray) -> np.ndarray:
    session = OrtSession(str(path), threads=2)
    return np.concatenate([session.run([inputs[i : i + 1]])[0] for i in range(len(inputs))])


def summary(ref: np.ndarray, out: np.ndarray) -> dict[str, object]:
    rep = parity.metrics([[r[None]] for r in ref], [[o[None]] for o in out], classification=True)
    agree = round((rep.top1_agreement or 0.0) * len(ref))
    return {
        "n": len(ref),
        "cosine_mean": round(rep.cosine_mean, 4),
        "sqnr_db": round(rep.sqnr_db, 2),
        "top1_agreement": f"{agree}/{len(ref)}",
        "top5_overlap": round(rep.top5_overlap or 0.0, 3),
    }


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--methods", default="MinMax,MeanMinMax,Percentile99.99", help=", ".join(METHODS))
    p.add_argument("--extra", help="folder:DIR of more unseen images (every image of every class is used)")
    args = p.parse_args()
    card = cards.get_card(args.model)
    methods = args.methods.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        options = pipeline.ExportOptions(formats=("onnx",), precisions=("fp32",), root=Path(tmp))
        exported, ctx = pipeline.export_with_context(card, options, log=lambda m: None)
        inputs = ctx.stage.reference.inputs
        ref = np.concatenate([o[0] for o in ctx.stage.reference.outputs])
        ids = list(ctx.stage.reference.ids)
        sets = {"heldout": slice(0, len(ids))}
        if args.extra:
            extra = [data.load(args.extra, split) for split in ("train", "test")]
            x2 = data.preprocess_batch([im for s in extra for im in s.images], card.preprocess, card.input)
            with torch.no_grad():
                y2 = ctx.stage.model(torch.from_numpy(x2)).numpy()
            inputs, ref = np.concatenate([inputs, x2]), np.concatenate([ref, y2])
            ids += [f"extra:{i}" for s in extra for i in s.ids]
            sets.update(extra=slice(sets["heldout"].stop, len(ids)), all=slice(0, len(ids)))
        fp32 = Path(tmp) / card.name / exported.artifacts["onnx_fp32_sim"].file
        prepared = Path(tmp) / "prepared.onnx"
        pre_process(fp32, prepared)
        outs = {}
        for method in methods:
            out = Path(tmp) / f"{method}.onnx"
            static_qdq(prepared, out, ctx.stage.calibration, card.input.name, method=method)
            outs[method] = logits_of(out, inputs)
    std = ref.std(axis=1)
    top2 = np.sort(ref, axis=1)[:, -2:]
    margin = (top2[:, 1] - top2[:, 0]) / std
    err = {m: np.sqrt(((o - ref) ** 2).mean(axis=1)) / std for m, o in outs.items()}
    kept = {m: o.argmax(1) == ref.argmax(1) for m, o in outs.items()}
    print(f"{'photo':40s} margin | " + " | ".join(f"{m:>15s}" for m in methods))
    for i in np.argsort(margin):
        cells = " | ".join(f"{'ok  ' if kept[m][i] else 'FLIP'} err {err[m][i]:.3f}" for m in methods)
        print(f"{ids[i]:40s} {margin[i]:6.3f} | {cells}")
    flipped = np.zeros(len(ids), bool)
    for m in methods:
        flipped |= ~kept[m]
    result = {
        "card": card.name,
        "calibration_images": int(ctx.stage.calibration.shape[0]),
        "median_margin": round(float(np.median(margin)), 3),
        "largest_margin_flipped": round(float(margin[flipped].max()), 3) if flipped.any() else None,
        "methods": {
            m: {
                "median_error": round(float(np.median(err[m])), 3),
                **{name: summary(ref[s], outs[m][s]) for name, s in sets.items()},
            }
            for m in methods
        },
        "photos": [
            {"id": ids[i], "margin": round(float(margin[i]), 4)}
            | {m: {"kept": bool(kept[m][i]), "error": round(float(err[m][i]), 4)} for m in methods}
            for i in range(len(ids))
        ],
    }
    print(json.dumps({k: v for k, v in result.items() if k != "photos"}, indent=1))
    out_path = Path(__file__).parent / "results" / f"int8_agreement-{card.name}.json"
    out_path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
