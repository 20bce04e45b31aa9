"""make arm-parity: do the exported artifacts compute on ARM what they compute on x86? (docs/arm.md)

Runs the device-side bench in parity mode (``python -m edgeexport.bench parity``: each reference image once,
raw outputs saved, no timing loop, no latency) on this x86 host with the host .venv, and under QEMU
user-mode emulation (``scripts/arm-env.sh`` prepares .arm/) for each emulated CPU: one process per
(CPU, runtime), each running all of that runtime's artifacts, as many processes at once as --jobs.
Then, per artifact and emulated CPU:

1. against PyTorch (reference.npz, the manifest's tolerances): every tolerance that x86 met, ARM meets
   too (an int8 artifact of a random-weight card already misses some on x86; that is not an ARM miss);
2. against x86's outputs of the same file: the artifact's own manifest tolerances (for int8 e.g. mean
   cosine >= 0.95 and top-1 agreement >= 80 %: two CPUs' int8 kernels may round requantization
   differently, but not by more than the artifact may differ from PyTorch; fp16 likewise: ARMv8.2+ computes
   it in fp16); fp32 at least max abs <= 1e-4 and cosine >= 0.99999 (per metric the stricter).
   Bit-identity and max |diff| are reported beside the verdict, never required.

The comparisons and tables live in edgeexport/bench/crosscheck.py; this script runs the processes.

The .tflite artifacts also run under tflite-runtime 2.14.0 (what older boards ship) on one emulated CPU:
which of them it can load is a finding, never a failure. Exit 0 when every check holds, 1 on a parity
miss or a run that broke, 2 when the environment or the artifacts are missing.

    .venv/bin/python scripts/arm-parity.py [--artifacts ROOT] [--model CARD] [--cpu NAME ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgeexport.bench import report  # noqa: E402
from edgeexport.bench.crosscheck import (  # noqa: E402
    VS_X86,
    X86,
    compare_artifact,
    old_runtime_findings,
    old_runtime_text,
    table,
)
from edgeexport.bench.targets import limits_for, read_manifest  # noqa: E402

ARM = REPO / ".arm"
# No ExecuTorch: its Python runtime needs torch, and PyPI's aarch64 torch 2.13.0 (the CUDA build) can be
# neither installed nor imported under emulation here (docs/executorch-ncnn.md)
CI_ARTIFACTS = {
    "onnxruntime": ("onnx_fp32", "onnx_int8"),
    "litert": ("tflite_fp32", "tflite_int8", "tflite_int8_aeq"),
    "ncnn": ("ncnn_fp32", "ncnn_fp16"),
}
CPUS = ("cortex-a57", "neoverse-n1", "neoverse-v1")
TFLITE_OLD = "tflite-runtime-2.14"


@dataclass(frozen=True)
class Job:
    label: str  # x86 | an emulated CPU | tflite-runtime-2.14
    runtime: str
    artifacts: tuple[str, ...]
    cpu: str | None = None  # None: the host itself
    site: str | None = None  # PYTHONPATH folder with the guest's packages
    gating: bool = True

    @property
    def name(self) -> str:
        return f"{self.label}-{self.runtime}"


@dataclass
class Outcome:
    job: Job
    doc: dict[str, Any] | None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # artifact -> result
    wall_s: float = 0.0
    processes: int = 0
    log: str = ""


# --- running the jobs ------------------------------------------------------------------------------------


def read_ready() -> dict[str, Any]:
    path = ARM / "ready"
    if not path.is_file():
        raise SystemExit(_usage(f"{path} is missing: run `make arm-env` (scripts/arm-env.sh) first"))
    ready: dict[str, Any] = json.loads(path.read_text())
    return ready


def _usage(message: str) -> int:
    print(f"arm-parity: error: {message}", file=sys.stderr)
    return 2


def command(
    job: Job, ready: dict[str, Any], args: argparse.Namespace, out_dir: Path, artifacts: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    harness = [
        "-m",
        "edgeexport.bench",
        "parity",
        "--runtime",
        job.runtime,
        "--artifacts",
        str(args.artifacts),
        "--model",
        args.model,
        "--threads",
        str(args.threads),
        "--out-dir",
        str(out_dir),
    ]
    if args.images:
        harness += ["--images", str(args.images)]
    for a in artifacts:
        harness += ["--artifact", a]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if job.cpu is None:
        env["PYTHONPATH"] = str(REPO)
        env.pop("EDGEEXPORT_EMULATED_CPU", None)
        return [sys.executable, *harness], env
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO), str(job.site)]),
        PYTHONNOUSERSITE="1",
        EDGEEXPORT_EMULATED_CPU=job.cpu,
    )
    qemu = [ready["qemu"], "-L", ready["sysroot"], "-cpu", job.cpu, ready["python"]]
    return [*qemu, *harness], env


def run_job(job: Job, ready: dict[str, Any], args: argparse.Namespace, run_dir: Path) -> Outcome:
    """All of the job's artifacts in one process; if it dies, the unfinished one is marked crashed and the
    rest run in a fresh process."""
    out_dir = run_dir / job.name
    outcome = Outcome(job, None)
    remaining = list(job.artifacts)
    start = time.perf_counter()
    while remaining:
        json_path = out_dir / f"parity-{job.runtime}-{outcome.processes}.json"
        cmd, env = command(job, ready, args, out_dir, remaining)
        cmd += ["--json", str(json_path)]
        outcome.processes += 1
        try:
            proc = subprocess.run(
                cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=args.timeout
            )
            log, code = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as error:
            log, code = f"{error.stdout or ''}{error.stderr or ''}\ntimeout after {args.timeout:g} s", None
        outcome.log += f"$ {' '.join(cmd)}\n{log}\n"
        doc = json.loads(json_path.read_text()) if json_path.exists() else None
        if doc is not None:
            outcome.doc = outcome.doc or doc
            for r in doc["results"]:
                outcome.results[r["artifact"]] = r
        remaining = [a for a in remaining if a not in outcome.results]
        if not remaining:
            break
        if doc is not None and doc.get("complete"):
            for a in remaining:  # not run by the plan (not exported, filtered): say so
                outcome.results[a] = {"artifact": a, "status": "error", "reason": "not run (see the log)"}
            break
        tail = " | ".join(log.strip().splitlines()[-3:])[:400]
        why = "timeout" if code is None else "crashed"
        outcome.results[remaining[0]] = {
            "artifact": remaining[0],
            "status": why,
            "reason": f"exit {code}: {tail}",
        }
        remaining = remaining[1:]
    outcome.wall_s = time.perf_counter() - start
    (out_dir / "log.txt").parent.mkdir(parents=True, exist_ok=True)
    (out_dir / "log.txt").write_text(outcome.log)
    return outcome


def plan_jobs(cpus: Sequence[str], tflite_cpu: str | None, ready: dict[str, Any]) -> list[Job]:
    jobs = [Job(X86, rt, arts) for rt, arts in CI_ARTIFACTS.items()]
    for cpu in cpus:  # the longest jobs (ORT fp32 under emulation) first, so two at a time stay busy
        jobs += [Job(cpu, rt, arts, cpu=cpu, site=ready["site"]) for rt, arts in CI_ARTIFACTS.items()]
    if tflite_cpu:
        jobs.append(
            Job(
                TFLITE_OLD,
                "litert",
                CI_ARTIFACTS["litert"],
                cpu=tflite_cpu,
                site=ready["site_tflite"],
                gating=False,
            )
        )
    return jobs


# --- main ------------------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/arm-parity.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=Path, default=REPO / "artifacts", help="artifacts root (%(default)s)")
    p.add_argument("--model", default="mobilenetv3_small")
    p.add_argument("--cpu", action="append", help=f"emulated CPU (repeatable; default: {', '.join(CPUS)})")
    p.add_argument(
        "--tflite-runtime-cpu",
        default="neoverse-n1",
        help="emulated CPU for the tflite-runtime 2.14 run ('none' to skip)",
    )
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes at once (default: cores)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads per process (default 1)")
    p.add_argument("--images", type=int, help="first N reference images only (default: all)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per process")
    p.add_argument("--results-dir", type=Path, default=REPO / "benchmarks" / "results")
    return p.parse_args(argv)


def _exported(args: argparse.Namespace) -> tuple[Path, dict[str, Any], dict[str, str], dict[str, dict]] | str:
    """(card folder, manifest, kind and limits per CI artifact), or why the export cannot be checked."""
    folder = args.artifacts / args.model
    if not (folder / "manifest.json").is_file():
        return f"no export under {folder}: run `make export MODEL={args.model}` (or pass --artifacts)"
    manifest = read_manifest(folder)
    entries = {a["id"]: a for a in manifest["artifacts"]}
    wanted = [a for arts in CI_ARTIFACTS.values() for a in arts]
    absent = [
        a
        for a in wanted
        if a not in entries or not entries[a].get("sha256") or not (folder / entries[a]["file"]).exists()
    ]
    if absent:
        return f"{folder}: {', '.join(absent)} not exported: run `make export MODEL={args.model}`"
    from edgeexport.artifact import Precision

    kinds = {a: Precision(**entries[a]["precision"]).kind for a in wanted}
    limits = {a: limits_for(manifest, entries[a], kinds[a])[0] for a in wanted}  # as the bench judges it
    return folder, manifest, kinds, limits


def _run_all(jobs: list[Job], ready: dict[str, Any], args: argparse.Namespace, run_dir: Path) -> dict:
    def one(job: Job) -> Outcome:
        outcome = run_job(job, ready, args, run_dir)
        states = ", ".join(f"{a} {outcome.results.get(a, {}).get('status')}" for a in job.artifacts)
        print(f"  {job.name}: {outcome.wall_s:.0f} s wall: {states}", flush=True)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        return {o.job.name: o for o in pool.map(one, jobs)}


def _compare_all(outcomes: dict, cpus: tuple[str, ...], kinds: dict, limits: dict, run_dir: Path) -> list:
    rows = []
    for runtime, arts in CI_ARTIFACTS.items():
        x86 = outcomes[f"{X86}-{runtime}"]
        for artifact in arts:
            arms = {
                c: outcomes[f"{c}-{runtime}"].results.get(artifact) or {"status": "missing"} for c in cpus
            }
            rows.append(
                compare_artifact(
                    artifact,
                    kinds[artifact],
                    limits[artifact],
                    x86.results.get(artifact),
                    arms,
                    run_dir / x86.job.name,
                    {c: run_dir / f"{c}-{runtime}" for c in cpus},
                )
            )
    return rows


def _old_runtime(outcomes: dict, kinds: dict, limits: dict, run_dir: Path) -> list:
    old_run = outcomes.get(f"{TFLITE_OLD}-litert")
    if old_run is None:
        return []
    return old_runtime_findings(
        old_run.job.artifacts,
        old_run.results,
        outcomes[f"{X86}-litert"].results,
        run_dir / f"{X86}-litert",
        run_dir / f"{TFLITE_OLD}-litert",
        kinds,
        limits,
    )


def _document(args: argparse.Namespace, argv: Sequence[str] | None, run: dict[str, Any]) -> dict[str, Any]:
    ready, outcomes, run_dir = run["ready"], run["outcomes"], run["run_dir"]
    return {
        "schema": "edgeexport.arm-parity/1",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "card": args.model,
        "artifacts_root": str(args.artifacts),
        "settings": {
            "cpus": list(run["cpus"]),
            "tflite_runtime_cpu": run["tflite_cpu"],
            "threads": args.threads,
            "images": args.images,
            "jobs": args.jobs,
            "artifacts": CI_ARTIFACTS,
            "vs_x86_tolerances": VS_X86,
            "vs_x86_rule": "the artifact's manifest tolerances; fp32 per metric the stricter of those "
            "and vs_x86_tolerances (each comparison records the vs_x86_limits it applied)",
            "vs_torch_rule": "every manifest tolerance x86 met, ARM meets",
        },
        "emulation": {
            "qemu": ready.get("qemu_version"),
            "python": ready.get("python_version"),
            "site": ready.get("site_versions"),
            "site_tflite": ready.get("site_tflite_versions"),
        },
        "passed": run["passed"],
        "comparisons": run["rows"],
        "tflite_runtime_2_14": run["old"],
        "runs": [
            {
                "name": o.job.name,
                "label": o.job.label,
                "runtime": o.job.runtime,
                "emulated_cpu": o.job.cpu,
                "gating": o.job.gating,
                "processes": o.processes,
                "process_wall_s": o.wall_s,
                "outputs_dir": str(run_dir / o.job.name),
                "environment": (o.doc or {}).get("environment"),
                "results": [o.results[a] for a in o.job.artifacts if a in o.results],
            }
            for o in outcomes.values()
        ],
        "wall_s": run["wall_s"],
        "note": "parity only: no latency is measured; process_wall_s/wall_s are CI budget figures",
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    ready = read_ready()
    cpus = tuple(args.cpu or CPUS)
    if "max" in cpus:
        return _usage("-cpu max enables SME, which makes ORT ~15x slower under emulation: name a real core")
    exported = _exported(args)
    if isinstance(exported, str):
        return _usage(exported)
    _, _, kinds, limits = exported
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = ARM / "runs" / stamp
    tflite_cpu = None if args.tflite_runtime_cpu == "none" else args.tflite_runtime_cpu
    jobs = plan_jobs(cpus, tflite_cpu, ready)
    print(
        f"arm-parity: {args.model}: {len(jobs)} processes ({', '.join(j.name for j in jobs)}), "
        f"{args.jobs} at a time; outputs under {run_dir.relative_to(REPO)}",
        flush=True,
    )
    outcomes = _run_all(jobs, ready, args, run_dir)
    rows = _compare_all(outcomes, cpus, kinds, limits, run_dir)
    old = _old_runtime(outcomes, kinds, limits, run_dir)
    passed = all(r["passed"] for r in rows)
    wall = time.perf_counter() - started
    print()
    print(table(rows, cpus))
    if old:
        print(f"\ntflite-runtime 2.14.0 (numpy 1.x) under emulated {tflite_cpu} (a finding, not a gate):")
        print("\n".join(old_runtime_text(old)))
    for r in rows:
        for miss in r["misses"]:
            print(f"MISS {r['artifact']}: {miss}", file=sys.stderr)
    run = {"ready": ready, "outcomes": outcomes, "run_dir": run_dir, "cpus": cpus, "tflite_cpu": tflite_cpu,
           "passed": passed, "rows": rows, "old": old, "wall_s": wall}  # fmt: skip
    out = args.results_dir / f"arm-parity-{stamp}.json"
    report.write_json(out, _document(args, argv, run))
    print(
        f"\n{'PASSED' if passed else 'FAILED'}: arm-parity of {args.model} on {', '.join(cpus)} "
        f"in {wall:.0f} s; results: {out}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
