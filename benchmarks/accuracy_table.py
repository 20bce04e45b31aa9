"""Top-1 accuracy of every exported artifact of the labelled cards, from their manifests (no re-run).

    python benchmarks/accuracy_table.py [--artifacts artifacts] [--cards '*_fmnist']

Prints one markdown row per card: PyTorch fp32 top-1 on the full test set, then each artifact's drop in
points against it (``*`` marks a drop over the card's ``accuracy_drop``, ``-`` an artifact that did not
run here), and the weights' training record.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
from pathlib import Path

COLUMNS = ("onnx_fp32_sim", "tflite_fp32", "onnx_dynamic_w8", "onnx_int8", "tflite_dynrange_w8",
           "tflite_int8", "tflite_int8_aeq", "executorch_fp32", "executorch_int8", "ncnn_fp32",
           "ncnn_fp16")  # fmt: skip
REPO = Path(__file__).resolve().parent.parent


def row(manifest: dict) -> list[str]:
    by_id = {a["id"]: a for a in manifest["artifacts"]}
    ref_top1 = None
    cells = []
    for art_id in COLUMNS:
        acc = ((by_id.get(art_id) or {}).get("parity") or {}).get("accuracy")
        if not acc:
            cells.append("-")
            continue
        ref_top1 = acc["pytorch_top1"]
        over = acc["max_drop"] is not None and acc["drop_points"] > acc["max_drop"]
        cells.append(f"{acc['drop_points']:+.2f}" + ("*" if over else ""))
    record = REPO / "weights" / f"{manifest['card']}.json"
    steps = json.loads(record.read_text())["steps"] if record.exists() else "-"
    top1 = f"{100 * ref_top1:.2f} %" if ref_top1 is not None else "-"
    return [manifest["card"], top1, *cells, str(steps)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=REPO / "artifacts")
    p.add_argument("--cards", default="*_fmnist", help="glob over card names")
    args = p.parse_args()
    head = ["card", "PyTorch top-1", *COLUMNS, "train steps"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for path in sorted(args.artifacts.glob("*/manifest.json")):
        manifest = json.loads(path.read_text())
        if fnmatch.fnmatch(manifest["card"], args.cards):
            print("| " + " | ".join(row(manifest)) + " |")


if __name__ == "__main__":
    main()
