"""Where does a rewrite gain? The same artifacts exported with and without it, timed interleaved in ONE
process, so the per-route choice in export/rewrites.py (``Rewrite.routes``) is a measurement.

    python benchmarks/rewrite_gain.py --model shufflenet_v1 --rewrite avgpool_conv
    python benchmarks/rewrite_gain.py --model mobilenetv3_small --rewrite hardswish_relu6,hardsigmoid_relu6

Exports the card twice into temporary folders: once with ``--rewrites none``, once with the named
rewrites applied on EVERY route (not only their measured ones). Then, for every artifact both exports
made (NCHW inputs; ``*_nhwc``/``*_io8`` variants are skipped), loads the pair with the runtime adapters
and times them in turn, ``--rounds`` rounds of ``--runs`` runs each on the card's first reference image,
and prints the median of the round medians (ms) for each side, the change, and whether the artifact
currently takes the rewrite. Writes benchmarks/results/rewrite_gain/<card>-<stamp>.json with the CPU's
flags. Compare only ratios from one run: the CPU model changes between machines.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edgeexport import cards, runtimes  # noqa: E402
from edgeexport.bench import environment  # noqa: E402
from edgeexport.export import pipeline, rewrites  # noqa: E402


def export(card: Any, root: Path, wanted: tuple[str, ...], formats: tuple[str, ...], threads: int) -> Any:
    options = pipeline.ExportOptions(formats=formats, root=root, rewrites=wanted, threads=threads)
    manifest, run = pipeline.export_with_context(card, options, log=lambda m: None)
    return manifest, run.stage.reference.inputs[:1].copy()


def everywhere(card: Any, names: tuple[str, ...], formats: tuple[str, ...]) -> None:
    """Patch the named rewrites to apply on every route this export plans (for this process only)."""
    every = tuple(a for a, _ in pipeline.planned(card, pipeline.ExportOptions(formats=formats)))
    for name in names:
        rewrites.REWRITES[name] = dataclasses.replace(rewrites.REWRITES[name], routes=every)


def timed(session: Any, x: list[np.ndarray], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        session.run(x)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1e6


def compare(pair: dict[str, Any], x: np.ndarray, threads: int, rounds: int, runs: int) -> dict[str, float]:
    sessions = {}
    for side, (root, art) in pair.items():
        runtime = runtimes.runtime_for(art.format)
        path = str(root / art.file)
        sessions[side] = runtimes.load(runtime, path, threads, **runtimes.artifact_options(art.config))
        for _ in range(5):
            sessions[side].run([x])
    medians: dict[str, list[float]] = {side: [] for side in sessions}
    for _ in range(rounds):
        for side, session in sessions.items():
            medians[side].append(timed(session, [x], runs))
    return {side: statistics.median(values) for side, values in medians.items()}


def takes_it_now(art_id: str, artifacts: dict[str, Any], routes: dict[str, tuple[str, ...]]) -> bool:
    """Whether the artifact is made with any of the rewrites today: itself or an ancestor on a measured route
    (``onnx_int8`` inherits what ``onnx_fp32`` was made from)."""
    chain = []
    at: str | None = art_id
    while at:
        chain.append(at.removesuffix("_io8").removesuffix("_nhwc"))
        at = artifacts[at].parent if at in artifacts else None
    return any(a in r for a in chain for r in routes.values())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="shufflenet_v1")
    p.add_argument("--rewrite", default="avgpool_conv", help="one or more names, comma-separated")
    p.add_argument("--formats", default="onnx,tflite,executorch,ncnn")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--runs", type=int, default=30)
    args = p.parse_args()
    card = cards.get_card(args.model)
    names = rewrites.names([n.strip() for n in args.rewrite.split(",")])
    formats = tuple(f.strip() for f in args.formats.split(","))
    measured_routes = {n: rewrites.REWRITES[n].routes for n in names}
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeexport-rewrite-gain-") as tmp:
        without_root, with_root = Path(tmp) / "without", Path(tmp) / "with"
        without, x = export(card, without_root, (), formats, max(args.threads, 2))
        everywhere(card, names, formats)
        with_, _ = export(card, with_root, names, formats, max(args.threads, 2))
        applied = with_.reference["rewrites"]["applied"]
        for art_id, art in without.artifacts.items():
            other = with_.artifacts.get(art_id)
            if art_id.endswith(("_nhwc", "_io8")) or "_nhwc_" in art_id or not other:
                continue
            if art.status != "ok" or other.status != "ok" or runtimes.runtime_for(art.format) is None:
                continue
            if runtimes.unavailable(runtimes.runtime_for(art.format) or ""):
                continue
            pair = {"without": (without_root / card.name, art), "with": (with_root / card.name, other)}
            ms = compare(pair, x, args.threads, args.rounds, args.runs)
            rows.append({"artifact": art_id, "without_ms": ms["without"], "with_ms": ms["with"],
                         "change": ms["with"] / ms["without"] - 1,
                         "route_now": takes_it_now(art_id, without.artifacts, measured_routes)})  # fmt: skip
            print(f"{art_id}: {ms['without']:.2f} -> {ms['with']:.2f} ms", file=sys.stderr, flush=True)
    env = environment.collect(args.threads)
    cpu = env["cpu"]
    flags = ", ".join(k for k, v in (cpu.get("features") or {}).items() if v)
    print(
        f"\n{card.name}, rewrites {', '.join(names)} (applied: {applied}); {cpu.get('model')} ({flags}); "
        f"{args.threads} thread(s), median of {args.rounds} rounds x {args.runs} runs, one process\n"
    )
    print("| artifact | without (ms) | with (ms) | change | takes it now |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['artifact']} | {r['without_ms']:.2f} | {r['with_ms']:.2f} | {r['change']:+.0%} | "
              f"{'yes' if r['route_now'] else 'no'} |")  # fmt: skip
    out = REPO / "benchmarks" / "results" / "rewrite_gain"
    out.mkdir(parents=True, exist_ok=True)
    saved = out / f"{card.name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    doc = {"environment": env, "card": card.name, "rewrites": list(names), "applied": applied,
           "threads": args.threads, "rows": rows}  # fmt: skip
    saved.write_text(json.dumps(doc, indent=1))
    print(f"\nsaved: {saved}")


if __name__ == "__main__":
    main()
