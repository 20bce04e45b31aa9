"""Is int8 worth shipping? The fastest int8 artifact against the fastest fp32 artifact of every card, from
ONE bench run (one machine, one thread count), so the ratios compare like with like.

    python benchmarks/int8_speed.py                      # the ImageNet-shaped card of every family
    python benchmarks/int8_speed.py --cards mobilenetv3_small,mobilenet_v2 --threads 1
    python benchmarks/int8_speed.py --results benchmarks/results/<run>.json   # re-read a run

Exports what is missing (``--formats``, default every format a runtime here can time: ONNX, TFLite,
ExecuTorch, ncnn), runs ``python -m edgeexport.bench --runtime all`` once over all the cards, and prints
one markdown row per card: the fastest fp32 and int8 artifacts (p50 ms), their speed ratio and whether
it reaches ``--target`` (1.5x). Only artifacts that passed parity in the run count. Writes
benchmarks/results/int8_speed/<stamp>.json (the bench document plus the table; its own folder, so
``report`` does not take it for a bench run) and the CPU's flags.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CARDS = ("mobilenet_v1", "mobilenet_v2", "mobilenetv3_small", "mobilenetv3_large", "shufflenet_v1",
         "shufflenet_v2_x1_0", "mobilenext", "googlenet", "xception", "inception_v3",
         "blazeface")  # fmt: skip
FORMATS = "onnx,tflite,executorch,ncnn"


def export_missing(cards: list[str], root: Path, formats: str, threads: int) -> None:
    for card in cards:
        if (root / card / "manifest.json").exists():
            continue
        print(f"exporting {card} ({formats}) ...", file=sys.stderr, flush=True)
        cmd = [
            sys.executable,
            "-m",
            "edgeexport",
            "export",
            card,
            "--formats",
            formats,
            "--artifacts",
            str(root),
        ]
        subprocess.run([*cmd, "--threads", str(threads)], check=False, stdout=subprocess.DEVNULL)


def bench(cards: list[str], root: Path, threads: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "edgeexport.bench", "--runtime", "all", "--threads", str(threads),
           "--artifacts", str(root), "--json", str(out)]  # fmt: skip
    for card in cards:
        cmd += ["--model", card]
    done = subprocess.run(cmd, check=False)
    if not out.exists():  # the bench said why on stderr (e.g. a card whose export failed)
        raise SystemExit(f"error: the bench wrote no results (exit {done.returncode}); its message is above")
    return json.loads(out.read_text())


def fastest(results: list[dict], kind: str) -> dict | None:
    ok = [r for r in results if r["precision_kind"] == kind and r["status"] == "ok" and r.get("latency_ms")]
    return min(ok, key=lambda r: r["latency_ms"]["p50"], default=None)


def table(doc: dict, target: float) -> list[dict]:
    rows = []
    for card in sorted({r["card"] for r in doc["results"]}):
        results = [r for r in doc["results"] if r["card"] == card]
        fp32, int8 = fastest(results, "fp32"), fastest(results, "int8")
        ratio = fp32["latency_ms"]["p50"] / int8["latency_ms"]["p50"] if fp32 and int8 else None
        rows.append({"card": card, "fp32": fp32, "int8": int8, "ratio": ratio,
                     "reached": ratio is not None and ratio >= target})  # fmt: skip
    return rows


def cell(r: dict | None) -> str:
    return f"{r['artifact']} ({r['runtime']}) {r['latency_ms']['p50']:.2f}" if r else "-"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cards", default=",".join(CARDS))
    p.add_argument("--artifacts", type=Path, default=REPO / "artifacts")
    p.add_argument("--formats", default=FORMATS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--target", type=float, default=1.5, help="int8 / fp32 speed ratio to reach (1.5)")
    p.add_argument("--results", type=Path, help="read this bench run instead of running one")
    args = p.parse_args()
    cards = [c.strip() for c in args.cards.split(",") if c.strip()]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = REPO / "benchmarks" / "results" / "int8_speed"
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.results:
        doc = json.loads(args.results.read_text())
    else:
        export_missing(cards, args.artifacts, args.formats, max(args.threads, 2))
        doc = bench(cards, args.artifacts, args.threads, out_dir / f"{stamp}-bench.json")
    rows = table(doc, args.target)
    cpu = doc["environment"]["cpu"]
    flags = ", ".join(k for k, v in (cpu.get("features") or {}).items() if v)
    threads = doc["settings"]["threads"]
    print(f"\n{cpu.get('model')} ({cpu['architecture']}; {flags}), {threads} thread(s), one run, p50 ms\n")
    print("| card | fastest fp32 | fastest int8 | int8 / fp32 speed |")
    print("|---|---|---|---|")
    for row in rows:
        ratio = (
            f"{row['ratio']:.2f}x" + ("" if row["reached"] else " (below target)") if row["ratio"] else "-"
        )
        print(f"| {row['card']} | {cell(row['fp32'])} | {cell(row['int8'])} | {ratio} |")
    summary = [{"card": r["card"], "ratio": r["ratio"], "reached": r["reached"],
                "fp32": r["fp32"] and {k: r["fp32"][k] for k in ("artifact", "runtime", "latency_ms")},
                "int8": r["int8"] and {k: r["int8"][k] for k in ("artifact", "runtime", "latency_ms")}}
               for r in rows]  # fmt: skip
    saved = out_dir / f"{stamp}.json"
    saved.write_text(json.dumps({"environment": doc["environment"], "settings": doc["settings"],
                                 "target": args.target, "rows": summary}, indent=1))  # fmt: skip
    print(f"\nsaved: {saved}")


if __name__ == "__main__":
    main()
