"""Time a full export of one card into an empty folder, then a cached re-run, in one process.

    python benchmarks/export_time.py --model mobilenetv3_small

Prints both wall times and their ratio, and writes benchmarks/results/export_time-<card>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from edgeexport import cards
from edgeexport.export import pipeline


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="mobilenetv3_small")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    card = cards.get_card(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        options = pipeline.ExportOptions(root=Path(tmp), threads=args.threads)
        quiet = lambda msg: None  # noqa: E731
        start = time.perf_counter()
        first = pipeline.export(card, options, log=quiet)
        full = time.perf_counter() - start
        start = time.perf_counter()
        second = pipeline.export(card, options, log=quiet)
        cached = time.perf_counter() - start
    same = all(first.artifacts[k].sha256 == second.artifacts[k].sha256 for k in first.artifacts)
    result = {
        "card": card.name,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "artifacts": len(first.artifacts),
        "full_export_s": round(full, 1),
        "cached_rerun_s": round(cached, 1),
        "speedup": round(full / cached, 1),
        "rerun_reused_identical_files": same,
        "per_artifact_s": {k: a.seconds for k, a in first.artifacts.items()},
    }
    out = Path(__file__).parent / "results" / f"export_time-{card.name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
