"""One artifact, one fresh process: ``python -m edgeexport.bench.harness SPEC.json OUT.json``.

In the child, in this order (docs/bench.md):
 1. load reference.npz (inputs, outputs, optional labels) and take the memory baseline (VmRSS; the peak
    is reset where Linux allows it) - BEFORE the runtime package is imported;
 2. import the runtime (``import_s``), create the session (``load_s``), read RSS (resident after load);
 3. first inference on the first reference image (``first_inference_ms``);
 4. warm-up: at least ``warmup_runs`` runs AND at least ``warmup_time_s`` seconds;
 5. timed runs, each timed alone with ``time.perf_counter_ns``, until at least ``min_runs`` runs AND at
    least ``min_time_s`` seconds; then VmHWM (peak);
 6. parity: every reference image, one at a time (batch 1), against the PyTorch outputs with the
    tolerances recorded in the manifest; top-1 accuracy when reference.npz has ``labels``.
The parent (``run_target``) writes SPEC, starts the child with this interpreter and reads OUT; a child
that dies without writing OUT (segfault, OOM kill, timeout) is reported as such, not retried.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from edgeexport.bench import PACKAGE_PARENT, PYTHON_ENV, memory, stats
from edgeexport.bench.targets import Target


def timed_runs(run: Callable[[], object], *, min_runs: int, min_time_s: float) -> list[int]:
    """Call ``run`` until it has run ``min_runs`` times AND ``min_time_s`` seconds have passed.

    Each call is timed alone (nanoseconds); the loop itself adds two clock reads and a list append.
    """
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    budget = int(min_time_s * 1e9)
    start = clock()
    while True:
        t0 = clock()
        run()
        t1 = clock()
        append(t1 - t0)
        if len(samples) >= min_runs and t1 - start >= budget:
            return samples


def _labels(ref: Any) -> np.ndarray | None:
    return np.asarray(ref["labels"]).astype(np.int64).ravel() if "labels" in ref.files else None


def _top1(outputs: list[np.ndarray], labels: np.ndarray) -> dict[str, Any]:
    known = [(o, int(label)) for o, label in zip(outputs, labels, strict=True) if label >= 0]
    hits = sum(int(np.asarray(o).ravel().argmax()) == label for o, label in known)
    return {"top1": hits / len(known) if known else None, "n": len(known)}


def _manifest_data(t: dict[str, Any]) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]], Any]:
    """(input samples, PyTorch's outputs for them, labels or None) from the card's reference.npz."""
    ref = np.load(Path(t["folder"]) / "reference.npz")
    inputs = np.asarray(ref["inputs"], dtype=np.float32)
    n_out = len([k for k in ref.files if k.startswith("output_")])
    reference = [[ref[f"output_{k}"][i] for k in range(n_out)] for i in range(inputs.shape[0])]
    samples = [[np.ascontiguousarray(inputs[i : i + 1])] for i in range(inputs.shape[0])]
    return samples, reference, _labels(ref)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    t, s = spec["target"], spec["settings"]
    file_options = t.get("file_options")
    samples: list[list[np.ndarray]] = []
    if file_options is None:
        samples, reference, labels = _manifest_data(t)
    result: dict[str, Any] = {"status": "error", "timing": {}}

    base = memory.baseline()
    from edgeexport import runtimes  # numpy + registry only; the adapter imports its runtime below

    start = time.perf_counter_ns()
    adapter = runtimes.adapter(t["runtime"])
    reason = adapter.unavailable()  # imports the runtime package
    result["timing"]["import_s"] = (time.perf_counter_ns() - start) / 1e9
    if reason:
        return {"status": "unavailable", "reason": f"{t['runtime']}: unavailable: {reason}"}
    options = dict(s.get("options", {}))
    if file_options and file_options.get("shapes"):
        options["shapes"] = file_options["shapes"]
    start = time.perf_counter_ns()
    session = adapter.load(t["path"], s["threads"], **options)
    result["timing"]["load_s"] = (time.perf_counter_ns() - start) / 1e9
    after_load = memory.read()
    result["runtime_version"] = adapter.version()
    if file_options is not None:
        from edgeexport.bench import foreign

        samples = foreign.inputs(session, file_options, Path(t["path"]).name)
    x0 = samples[0]

    start = time.perf_counter_ns()
    session.run(x0)
    result["timing"]["first_inference_ms"] = (time.perf_counter_ns() - start) / 1e6
    warm = timed_runs(lambda: session.run(x0), min_runs=s["warmup_runs"], min_time_s=s["warmup_time_s"])
    timed = timed_runs(lambda: session.run(x0), min_runs=s["min_runs"], min_time_s=s["min_time_s"])
    after_runs = memory.read()
    result["timing"].update(
        warmup_runs=len(warm),
        warmup_s=sum(warm) / 1e9,
        timed_runs=len(timed),
        timed_s=sum(timed) / 1e9,
    )
    result["memory"] = memory.report(base, after_load, after_runs)
    result["latency_ms"] = stats.summarize(timed)
    result["samples_ns"] = timed

    outputs = run_outputs(session, samples, nhwc=t["nhwc"])
    if s.get("profile"):
        result["profile"] = profile_of(session, x0, t["runtime"])
    if file_options is None:
        result.update(judge_outputs(t, outputs, reference, labels))
        return result
    from edgeexport.bench import foreign

    file_options = dict(file_options, output_names=getattr(session, "output_names", None))
    against, source = foreign.reference(file_options, samples, outputs, s["threads"])
    first = outputs[0][0] if outputs and outputs[0] else np.zeros(0)
    t = dict(t, classification=first.ndim == 2 and first.shape[-1] > 1)
    result["inputs"] = {"from": file_options.get("inputs") or "random", "samples": len(samples)}
    result.update(judge_outputs(t, outputs, against, None, source=source))
    if result["status"] == "parity miss" and t["kind"] == "fp32":
        result["reason"] += " (a quantized or fp16 file? judge it with --tolerance int8, w8 or fp16)"
    return result


def profile_of(session: Any, sample: list[np.ndarray], runtime: str) -> dict[str, Any]:
    """``--profile``, after the timed runs (bench/profile.py); a runtime that cannot tell says so."""
    if not hasattr(session, "profile"):
        return {"source": None, "note": f"{runtime}: no per-op profile from this runtime"}
    try:
        return dict(session.profile(sample))
    except Exception as error:  # the measurement stands; the profile says why it is missing
        first = (str(error).strip().splitlines() or [""])[0][:300]
        return {"source": None, "note": f"{runtime}: profiling failed: {type(error).__name__}: {first}"}


def run_outputs(session: Any, samples: list[list[np.ndarray]], *, nhwc: bool) -> list[list[np.ndarray]]:
    """Every sample once, batch 1, in order; NHWC 4-D outputs transposed back to NCHW."""
    outputs = []
    for sample in samples:
        out = session.run([np.ascontiguousarray(x) for x in sample])
        if nhwc:
            out = [o.transpose(0, 3, 1, 2) if o.ndim == 4 else o for o in out]
        outputs.append(out)
    return outputs


NO_REFERENCE = "no reference: give --reference OUT.npz (with --inputs) or --against ANOTHER_FILE"


def judge_outputs(
    t: dict[str, Any],
    outputs: list[list[np.ndarray]],
    reference: list[list[np.ndarray]] | None,
    labels: Any,
    *,
    source: str | None = "PyTorch",
) -> dict[str, Any]:
    """``parity``, ``accuracy``, ``status`` and ``reason`` of a result, from the target's recorded limits."""
    from edgeexport import parity

    result: dict[str, Any] = {"accuracy": None}
    if reference is None:
        return dict(result, parity=None, status="not judged", reason=NO_REFERENCE)
    report = parity.compare(reference, outputs, t["limits"], classification=t["classification"])
    limits = {"limits": t["limits"], "limits_from": t["limits_from"], "against": source}
    result["parity"] = dict(report.to_dict(), **limits)
    if labels is not None and t["classification"]:
        result["accuracy"] = dict(
            _top1([o[0] for o in outputs], labels),
            reference_top1=_top1([r[0] for r in reference], labels)["top1"],
        )
    if not t["limits"]:
        result["status"] = "not judged"
        result["reason"] = "no tolerance recorded in the manifest for this kind of artifact"
    elif report.passed:
        result["status"], result["reason"] = "ok", None
    else:
        result["status"] = "parity miss"
        result["reason"] = "; ".join(map(str, report.misses))
    return result


def main(argv: list[str]) -> int:
    spec_path, out_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(spec_path.read_text())
    from edgeexport.bench.foreign import BadInput

    try:
        result = measure(spec)
    except BadInput as error:
        result = {"status": "bad input", "reason": str(error)}
    except Exception as error:  # reported in the result; the parent decides the exit code
        first = (str(error).strip().splitlines() or [""])[0][:400]
        result = {"status": "error", "reason": f"{type(error).__name__}: {first}"}
        result["traceback"] = traceback.format_exc(limit=-6)
    out_path.write_text(json.dumps(result, default=_jsonable_scalar))
    return 0


def _jsonable_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _child_env() -> dict[str, str]:
    """This interpreter's environment with the folder that holds edgeexport first on the path."""
    env = dict(os.environ)
    paths = [str(PACKAGE_PARENT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_target(target: Target, settings: dict[str, Any], *, timeout_s: float | None) -> dict[str, Any]:
    """Measure ``target`` in a fresh interpreter; always returns a result dict (with a status)."""
    with tempfile.TemporaryDirectory(prefix="edgeexport-bench-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps({"target": asdict(target), "settings": settings}))
        python = shlex.split(os.environ.get(PYTHON_ENV) or "") or [sys.executable]
        cmd = [*python, "-m", "edgeexport.bench.harness", str(spec_path), str(out_path)]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=_child_env(), capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "reason": f"no result after {timeout_s:g} s (--timeout)"}
        wall = time.perf_counter() - start
        if not out_path.exists():
            tail = " | ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-3:])[:400]
            return {"status": "crashed", "reason": f"harness exited with {proc.returncode}: {tail}"}
        result: dict[str, Any] = json.loads(out_path.read_text())
    result["process_wall_s"] = wall
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
