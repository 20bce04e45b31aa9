"""``python -m edgeexport doctor <card> --artifact onnx_int8``: per-layer SQNR of an int8 ONNX artifact.

qdq SQNR: how much quantizing this tensor alone loses; model SQNR: how far the int8 model's tensor is from
the float model's (errors accumulated so far). The lowest qdq SQNR layers lose the most; the first layer
whose model SQNR falls below ``--diverge-db`` is where the int8 model starts to go its own way.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from edgeexport.artifact import write_json_atomic
from edgeexport.cli import add_model_argument, model_name, print_json
from edgeexport.defaults import artifacts_root


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    p.add_argument("--artifact", default="onnx_int8")
    p.add_argument("--images", type=int, default=64, help="reference images to run (default 64)")
    p.add_argument("--top", type=int, default=8, help="how many of the worst layers to mark")
    p.add_argument("--diverge-db", type=float, default=20.0, help="model-SQNR threshold for 'diverges'")
    p.add_argument("--artifacts", type=Path, default=artifacts_root(), help="artifacts root (%(default)s)")
    p.add_argument("--all-layers", action="store_true", help="print every layer, not only compute layers")
    p.add_argument("--json", action="store_true", help="print every layer as JSON, not a table")


COMPUTE = ("Conv", "Gemm", "MatMul", "HardSwish", "HardSigmoid", "Mul", "Add", "Relu", "Clip", "Sigmoid")


def main(args: argparse.Namespace) -> int:
    from edgeexport.quant.onnx_doctor import diagnose, first_divergence, worst

    name = str(model_name(args))
    card = Path(name).stem if name.endswith(".toml") else name
    rows, meta = diagnose(card, args.artifact, Path(args.artifacts), args.images)
    bad = {r.tensor for r in worst(rows, args.top)}
    diverge = first_divergence(rows, args.diverge_db)
    document = {**meta, "card": card, "worst": sorted(bad), "diverge_db": args.diverge_db,
                "first_divergence": asdict(diverge) if diverge else None,
                "layers": [asdict(r) for r in rows]}  # fmt: skip
    # kept beside the artifacts: the report draws the per-layer curve from it
    saved = Path(args.artifacts) / card / f"doctor-{meta['artifact']}.json"
    write_json_atomic(saved, document)
    if args.json:
        print_json(document)
        return 0
    print(f"{card} {meta['artifact']} vs {meta['parent']} on {meta['images']} reference images (SQNR, dB)")
    print(f"{'#':>4}  {'op':<17} {'qdq':>7} {'model':>7}  tensor")
    for r in rows:
        if not args.all_layers and not r.op.startswith(COMPUTE) and r.tensor not in bad:
            continue
        mark = " <- loses the most" if r.tensor in bad else ""
        if diverge is not None and r.tensor == diverge.tensor:
            mark += f" <- first below {args.diverge_db:g} dB"
        print(f"{r.index:>4}  {r.op:<17} {r.qdq_db:>7.1f} {r.model_db:>7.1f}  {r.tensor}{mark}")
    print(
        "worst layers (lowest qdq SQNR): "
        + ", ".join(f"{r.tensor} [{r.op}] {r.qdq_db:.1f} dB" for r in worst(rows, args.top))
    )
    if diverge is None:
        print(f"the int8 model stays above {args.diverge_db:g} dB SQNR at every layer")
    else:
        where = f"layer {diverge.index} {diverge.tensor} [{diverge.op}]"
        print(f"first divergence: {where} at {diverge.model_db:.1f} dB")
    print(f"saved: {saved} (python -m edgeexport report {card} draws it)")
    return 0
