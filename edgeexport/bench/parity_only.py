"""Parity only: ``python -m edgeexport.bench parity --runtime R --out-dir DIR`` (docs/arm.md).

What a CPU computes, not how fast: every chosen artifact of ONE runtime runs in THIS process (under
emulation, importing a runtime costs ~20 s, so one import serves every artifact), each reference image
once (batch 1): no warm-up, no timing loop, no latency. Per artifact:

- its sha256 is checked against the manifest (a mismatch is reported and the artifact not run);
- the raw outputs go to ``DIR/<card>.<artifact>.npz`` (``output_<k>``: N x ..., float32, as in
  reference.npz), so that another machine's outputs of the same file can be compared with them;
- parity against reference.npz with the manifest's tolerances, exactly as the bench harness judges it.

The JSON (``"schema": "edgeexport.bench.parity/1"``; default ``DIR/parity-<runtime>.json``) has the bench's
``environment`` block (emulated, emulated_cpu, CPU features from /proc/cpuinfo) and one result per
artifact in the bench's result shape with ``latency_ms``, ``timing`` and ``emulated_timing`` null; it is
rewritten after every artifact, so a process that dies leaves what it finished (``"complete": false``).
``wall_s`` (load, outputs) is the process's wall-clock for budgeting CI, not a latency of anything.

Exit codes as the bench: 0 done; 1 an artifact errored, or one that passed parity at export misses it
here; 2 usage errors.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from edgeexport.bench import environment, harness, report, runner
from edgeexport.bench.targets import Target, adapter_options
from edgeexport.defaults import artifacts_root
from edgeexport.errors import EdgeExportError, UsageError

SCHEMA = "edgeexport.bench.parity/1"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m edgeexport.bench parity",
        description="Run each artifact once per reference image in one process; save the outputs; judge "
        "parity. No timing loop, no latency.",
    )
    p.add_argument("--runtime", required=True, help="onnxruntime or litert")
    p.add_argument("--model", action="append", help="only this exported card (repeatable)")
    p.add_argument("--artifact", action="append", help="only this artifact id (repeatable)")
    p.add_argument("--artifacts", type=Path, default=artifacts_root(), help="artifacts root (%(default)s)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1: deterministic)")
    p.add_argument("--images", type=int, help="only the first N reference images (default: all)")
    p.add_argument("--ort-provider", choices=("cpu", "xnnpack"), default="cpu")
    p.add_argument("--no-xnnpack", action="store_true", help="LiteRT: built-in kernels only")
    p.add_argument("--out-dir", type=Path, required=True, help="where the outputs (npz) and the JSON go")
    p.add_argument("--json", type=Path, help="the JSON result (default: OUT_DIR/parity-<runtime>.json)")
    return p


def _reference(folder: str, images: int | None) -> tuple[np.ndarray, list[list[np.ndarray]], Any]:
    ref = np.load(Path(folder) / "reference.npz")
    inputs = np.asarray(ref["inputs"], dtype=np.float32)
    if images is not None:
        inputs = inputs[:images]
    n_out = len([k for k in ref.files if k.startswith("output_")])
    reference = [[ref[f"output_{k}"][i] for k in range(n_out)] for i in range(inputs.shape[0])]
    labels = harness._labels(ref)
    return inputs, reference, None if labels is None else labels[: inputs.shape[0]]


def save_outputs(path: Path, outputs: list[list[np.ndarray]]) -> None:
    """``output_<k>`` stacked over the samples: the layout of reference.npz."""
    arrays: dict[str, Any] = {
        f"output_{k}": np.stack([np.asarray(sample[k], dtype=np.float32) for sample in outputs])
        for k in range(len(outputs[0]))
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def load_outputs(path: Path) -> list[list[np.ndarray]]:
    """The inverse of ``save_outputs``: one list of output arrays per sample."""
    with np.load(path) as data:
        keys = sorted((k for k in data.files if k.startswith("output_")), key=lambda k: int(k[7:]))
        stacked = [data[k] for k in keys]
    return [[s[i] for s in stacked] for i in range(stacked[0].shape[0])] if stacked else []


def run_target(
    target: Target, options: dict[str, Any], threads: int, images: int | None, out_dir: Path
) -> dict:
    """One artifact in this process; always returns a result in the bench's shape (plus outputs, wall_s)."""
    from dataclasses import asdict

    from edgeexport import runtimes
    from edgeexport.artifact import sha256_path

    options = adapter_options(target, options)

    verified = sha256_path(Path(target.path)) == target.sha256 if target.sha256 else None
    raw: dict[str, Any] = {"status": "error"}
    outputs_file = None
    wall: dict[str, float] = {}
    if verified is False:
        raw = {"status": "sha256 mismatch", "reason": f"{target.path} differs from its manifest entry"}
    else:
        try:
            adapter = runtimes.adapter(target.runtime)
            start = time.perf_counter()
            session = adapter.load(target.path, threads, **options)
            wall["load"] = time.perf_counter() - start
            raw["runtime_version"] = adapter.version()
            inputs, reference, labels = _reference(target.folder, images)
            start = time.perf_counter()
            samples = [[np.ascontiguousarray(inputs[i : i + 1])] for i in range(inputs.shape[0])]
            outputs = harness.run_outputs(session, samples, nhwc=target.nhwc)
            wall["outputs"] = time.perf_counter() - start
            del session
            out = out_dir / f"{target.card}.{target.artifact}.npz"
            save_outputs(out, outputs)
            outputs_file = out.name
            raw.update(harness.judge_outputs(asdict(target), outputs, reference, labels))
        except Exception as error:  # reported per artifact; the other artifacts still run
            first = (str(error).strip().splitlines() or [""])[0][:400]
            raw = dict(raw, status="error", reason=f"{type(error).__name__}: {first}")
            raw["traceback"] = traceback.format_exc(limit=-6)
    result = runner.record(target, options, raw, verified)
    result.update(timing=None, latency_ms=None, emulated_timing=None, samples_ns=[], memory=None)
    result["outputs"] = outputs_file
    result["wall_s"] = wall or None
    return result


def document(args: argparse.Namespace, results: list[dict[str, Any]], *, complete: bool) -> dict[str, Any]:
    import edgeexport

    return {
        "schema": SCHEMA,
        "mode": "parity-only",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "edgeexport": edgeexport.__version__,
        "command": " ".join(["python -m edgeexport.bench parity", *sys.argv[1:]]),
        "runtime": args.runtime,
        "settings": {
            "threads": args.threads,
            "images": args.images,
            "artifacts_root": str(args.artifacts.resolve()),
        },
        "environment": environment.collect(args.threads),
        "complete": complete,
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.threads < 1:
            raise UsageError(f"--threads must be >= 1, got {args.threads}")
        if args.images is not None and args.images < 1:
            raise UsageError(f"--images must be >= 1, got {args.images}")
        if args.runtime == "all":
            raise UsageError("parity mode runs one runtime per process: --runtime onnxruntime or litert")
        names, _ = runner.resolve_runtimes(args.runtime)
        options = runner.runtime_options(names[0], args.ort_provider, not args.no_xnnpack)
        plan = runner.plan(args.artifacts, names, args.model, args.artifact)
    except runner.NothingToDo as error:
        print(error, file=sys.stdout if error.exit_code == 0 else sys.stderr)
        return error.exit_code
    except EdgeExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for note in plan.notes:
        print(note, file=sys.stderr)
    for problem in plan.references.values():  # outputs judged against another reference mean nothing
        print(f"error: {problem}", file=sys.stderr)
    if plan.references or plan.missing:
        return 1
    if not plan.targets:
        print(f"{args.runtime}: nothing to run under {args.artifacts} for that choice", file=sys.stderr)
        return 1
    out_json = args.json or args.out_dir / f"parity-{args.runtime}.json"
    results: list[dict[str, Any]] = []
    report.write_json(out_json, document(args, results, complete=False))
    for target in plan.targets:
        print(f"{target.card}/{target.artifact} ({target.runtime}) ...", file=sys.stderr, flush=True)
        results.append(run_target(target, options, args.threads, args.images, args.out_dir))
        report.write_json(out_json, document(args, results, complete=False))
        r = results[-1]
        par = r.get("parity") or {}
        print(
            f"{r['card']}/{r['artifact']}: {r['status']}"
            + (f" (cosine {par['cosine']:.6f}, top-1 {par['top1_agreement']})" if par else "")
            + (f": {r['reason']}" if r["reason"] and r["status"] != "ok" else ""),
            flush=True,
        )
    report.write_json(out_json, document(args, results, complete=True))
    print(f"results: {out_json}")
    return runner.exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
