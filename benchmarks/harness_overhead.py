"""Does the bench's timing loop change what it measures? One ONNX session, one process, two loops.

    python benchmarks/harness_overhead.py [--artifacts /tmp/art] [--threads 2]

Alternating blocks (the order flips every block) of ``--runs`` inferences of mobilenetv3_small
onnx_fp32: the harness's ``timed_runs`` (each call timed alone) and a bare ``for`` loop over
``session.run`` timed as a whole. Reports
  ratio_of_medians      median over blocks of wall time per call, harness / bare (target: within 2 %);
  reported_p50_vs_bare  median over blocks of the harness's reported p50, over the bare per-call median;
  repeat_cv             CV of the harness's median over ``--repeats`` runs with the default settings
                        (at least 50 runs and 2 s each): how reproducible one bench number is.
Prints JSON and writes benchmarks/results/harness_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edgeexport import runtimes
from edgeexport.bench import environment
from edgeexport.bench.harness import timed_runs
from edgeexport.defaults import artifacts_root, results_dir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=artifacts_root())
    p.add_argument("--model", default="mobilenetv3_small")
    p.add_argument("--artifact", default="onnx_fp32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--blocks", type=int, default=20)
    p.add_argument("--runs", type=int, default=50, help="inferences per block")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    folder = args.artifacts / args.model
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(a for a in manifest["artifacts"] if a["id"] == args.artifact)
    session = runtimes.load("onnxruntime", str(folder / entry["file"]), args.threads)
    x = np.ascontiguousarray(np.load(folder / "reference.npz")["inputs"][:1])

    def run() -> object:
        return session.run([x])

    timed_runs(run, min_runs=20, min_time_s=0.5)  # warm-up
    harness_wall, harness_p50, bare_wall = [], [], []
    for block in range(args.blocks):
        for which in ("harness", "bare") if block % 2 == 0 else ("bare", "harness"):
            start = time.perf_counter_ns()
            if which == "harness":
                samples = timed_runs(run, min_runs=args.runs, min_time_s=0.0)
                harness_wall.append((time.perf_counter_ns() - start) / args.runs)
                harness_p50.append(float(np.median(samples)))
            else:
                for _ in range(args.runs):
                    session.run([x])
                bare_wall.append((time.perf_counter_ns() - start) / args.runs)
    medians = [float(np.median(timed_runs(run, min_runs=50, min_time_s=2.0))) for _ in range(args.repeats)]
    result = {
        "artifact": f"{args.model}/{args.artifact}",
        "threads": args.threads,
        "cpu": environment.cpu()["model"],
        "blocks": args.blocks,
        "runs_per_block": args.runs,
        "bare_ms_per_call": float(np.median(bare_wall)) / 1e6,
        "harness_ms_per_call": float(np.median(harness_wall)) / 1e6,
        "ratio_of_medians": float(np.median(harness_wall) / np.median(bare_wall)),
        "reported_p50_vs_bare": float(np.median(harness_p50) / np.median(bare_wall)),
        "repeat_medians_ms": [m / 1e6 for m in medians],
        "repeat_cv": float(np.std(medians, ddof=1) / np.mean(medians)),
    }
    out = results_dir() / "harness_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
