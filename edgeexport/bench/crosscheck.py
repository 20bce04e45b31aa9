"""Cross-checks one artifact's outputs on one machine (or emulated CPU) against PyTorch and against another
machine's outputs of the same file; used by scripts/arm-parity.py (docs/arm.md).

Results come in the shape ``python -m edgeexport.bench parity`` writes (one dict per artifact, with its
``parity`` block and the name of its saved outputs). Two judgements per artifact and CPU:

- against PyTorch (reference.npz): every manifest tolerance that x86 met, the other CPU meets too;
- against x86's outputs of the same file: the artifact's own manifest tolerances (what it may differ from
  PyTorch, it may differ from x86); fp32 additionally within ``VS_X86`` (per metric the stricter).
  Bit-identity and max |diff| are reported beside the verdict, never required.

numpy only, like the rest of the harness: no torch, no subprocess.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeexport.bench import parity_only
from edgeexport.parity import ParityReport, judge, metrics

X86 = "x86"
RAN = ("ok", "parity miss")  # statuses of a run that produced outputs
# fp32 artifacts against x86, same file: the export tolerance, whatever looser one a manifest records.
# int8 has none of its own: two CPUs' integer kernels may round requantization differently (LiteRT
# XNNPACK ARM vs x86: ~2e-3 in cosine); what must hold is the artifact's tolerance against PyTorch.
# Nor has fp16: a CPU with fp16 arithmetic (ARMv8.2+) computes an fp16 artifact in fp16 where x86 and
# ARMv8.0 compute it in fp32 (ncnn_fp16, mobilenetv3_small: neoverse-n1 vs x86 max |diff| 4.4e-3, cosine
# 0.99996; cortex-a57 vs x86 4.2e-7): that is the artifact doing what it is for.
VS_X86 = {
    "fp32": {"max_abs": 1e-4, "cosine": 0.99999},
}
UPPER_BOUNDS = ("max_abs", "mean_abs")  # as edgeexport.parity.judge: everything else is a lower bound


def limits_vs_x86(kind: str, artifact_limits: dict[str, float]) -> dict[str, float]:
    """The tolerance of another CPU's outputs against x86's: the artifact's own manifest limits, and for
    fp32 the ``VS_X86`` limits too (a metric in both takes the stricter limit)."""
    limits = dict(artifact_limits)
    for metric, fixed in VS_X86.get(kind, {}).items():
        own = limits.get(metric, fixed)
        limits[metric] = min(own, fixed) if metric in UPPER_BOUNDS else max(own, fixed)
    return limits


def vs_torch(x86: dict[str, Any] | None, arm: dict[str, Any]) -> list[str]:
    """Misses of ``arm`` against PyTorch: every tolerance that x86 met, ARM must meet as well."""
    if arm["status"] not in RAN:
        return [f"did not run: {arm['status']}: {arm.get('reason')}"]
    met_on_x86 = {c["metric"] for c in ((x86 or {}).get("parity") or {}).get("checks", []) if c["ok"]}
    misses = []
    for check in (arm.get("parity") or {}).get("checks", []):
        if check["metric"] in met_on_x86 and not check["ok"]:
            misses.append(
                f"{check['metric']} {check['value']:.6g} misses {check['op']} {check['limit']:g} on ARM "
                "(x86 met it)"
            )
    return misses


def vs_x86(
    x86_outputs: Sequence[Sequence[np.ndarray]],
    arm_outputs: Sequence[Sequence[np.ndarray]],
    kind: str,
    artifact_limits: dict[str, float],
    *,
    classification: bool = True,
) -> tuple[ParityReport, bool]:
    """(ARM's outputs judged against x86's with ``limits_vs_x86(kind, artifact_limits)``, bit-identical?)."""
    limits = limits_vs_x86(kind, artifact_limits)
    rep = judge(metrics(x86_outputs, arm_outputs, classification=classification), limits)
    identical = len(x86_outputs) == len(arm_outputs) and all(
        len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        for a, b in zip(x86_outputs, arm_outputs, strict=True)
    )
    return rep, identical


def _x86_summary(rep: ParityReport, identical: bool) -> dict[str, Any]:
    return {
        "max_abs": rep.max_abs,
        "cosine": rep.cosine,
        "cosine_mean": rep.cosine_mean,
        "top1_agreement": rep.top1_agreement,
        "bit_identical": identical,
        "checks": [dict(c.__dict__, ok=c.ok) for c in rep.checks],
        "passed": rep.passed,
    }


def compare_artifact(
    artifact: str,
    kind: str,
    limits: dict[str, float],
    x86: dict[str, Any] | None,
    arms: dict[str, dict[str, Any]],
    x86_dir: Path | None,
    arm_dirs: dict[str, Path],
) -> dict[str, Any]:
    """One row: x86 and each emulated CPU against PyTorch, and each CPU against x86 (``limits``: the
    artifact's manifest tolerances); ``misses`` gate."""
    applied = limits_vs_x86(kind, limits)
    row: dict[str, Any] = {
        "artifact": artifact,
        "kind": kind,
        "vs_x86_limits": applied,
        "vs_torch": {},
        "vs_x86": {},
        "misses": [],
    }
    if not applied:
        row["misses"].append("the manifest records no tolerance for this artifact: ARM vs x86 not judged")
    if x86 is not None:
        row["vs_torch"][X86] = _torch_summary(x86)
    if x86 is None or x86["status"] not in RAN:
        row["misses"].append(f"x86: did not run ({(x86 or {}).get('status', 'missing')}): nothing to compare")
    for cpu, arm in arms.items():
        row["vs_torch"][cpu] = _torch_summary(arm)
        row["misses"] += [f"{cpu}: {m}" for m in vs_torch(x86, arm)]
        if x86 is None or x86["status"] not in RAN or arm["status"] not in RAN or x86_dir is None:
            continue
        x86_out = parity_only.load_outputs(x86_dir / x86["outputs"])
        arm_out = parity_only.load_outputs(arm_dirs[cpu] / arm["outputs"])
        rep, identical = vs_x86(x86_out, arm_out, kind, limits)
        row["vs_x86"][cpu] = _x86_summary(rep, identical)
        row["misses"] += [f"{cpu} vs x86: {m}" for m in rep.misses]
    row["passed"] = not row["misses"]
    return row


def _torch_summary(r: dict[str, Any]) -> dict[str, Any]:
    par = r.get("parity") or {}
    return {
        "status": r["status"],
        "cosine": par.get("cosine"),
        "cosine_mean": par.get("cosine_mean"),
        "top1_agreement": par.get("top1_agreement"),
        "max_abs": par.get("max_abs"),
        "passed": par.get("passed"),
        "reason": r.get("reason"),
    }


def old_runtime_findings(
    artifacts: Sequence[str],
    results: dict[str, dict[str, Any]],
    x86_results: dict[str, dict[str, Any]],
    x86_dir: Path,
    old_dir: Path,
    kinds: dict[str, str],
    limits: dict[str, dict[str, float]],
) -> list[dict[str, Any]]:
    """Per artifact: does the older runtime run it, and how do its outputs compare with x86's."""
    found = []
    for artifact in artifacts:
        r = results.get(artifact) or {"status": "missing", "reason": None}
        item: dict[str, Any] = {
            "artifact": artifact,
            "status": r["status"],
            "runs": r["status"] in RAN,
            "reason": r.get("reason") if r["status"] not in RAN else None,
            "runtime_version": r.get("runtime_version"),
        }
        if item["runs"]:
            item["vs_torch"] = _torch_summary(r)
            xr = x86_results.get(artifact)
            if xr and xr["status"] in RAN:
                rep, identical = vs_x86(
                    parity_only.load_outputs(x86_dir / xr["outputs"]),
                    parity_only.load_outputs(old_dir / r["outputs"]),
                    kinds[artifact],
                    limits[artifact],
                )
                item["vs_x86_litert"] = _x86_summary(rep, identical)
        found.append(item)
    return found


# --- report ----------------------------------------------------------------------------------------------


def _f(value: Any, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return format(value, spec)


def _cosine(kind: str) -> str:
    """The cosine a table shows: int8 is judged on the mean over samples, float on the worst sample."""
    return "cosine_mean" if kind in ("int8", "w8") else "cosine"


def _cosine_label(kind: str) -> str:
    return "mean" if _cosine(kind) == "cosine_mean" else "worst"


def _torch_cell(s: dict[str, Any] | None, kind: str) -> str:
    if not s:
        return "-"
    if s["status"] not in RAN:
        return s["status"]
    cos = _f(s.get(_cosine(kind)), ".5f")
    return f"{cos} {_f(s['top1_agreement'], '.0%')}" + ("" if s["passed"] else "*")


def _x86_cell(s: dict[str, Any] | None, kind: str) -> str:
    if not s:
        return "-"
    if s["bit_identical"]:
        return "identical"
    cos = _f(s.get(_cosine(kind)), ".6f")
    return f"{_f(s['max_abs'], '.1e')} {cos} {_f(s['top1_agreement'], '.0%')}" + (
        "" if s["passed"] else " MISS"
    )


def _limits_text(limits: dict[str, float]) -> str:
    ops = {m: "<=" if m in UPPER_BOUNDS else ">=" for m in limits}
    return " ".join(f"{m}{ops[m]}{v:g}" for m, v in limits.items()) or "none"


def table(rows: list[dict[str, Any]], cpus: Sequence[str]) -> str:
    head1 = ["artifact", "cosine", X86, *cpus]
    body1 = [
        [
            r["artifact"],
            _cosine_label(r["kind"]),
            *(_torch_cell(r["vs_torch"].get(c), r["kind"]) for c in (X86, *cpus)),
        ]
        for r in rows
    ]
    head2 = ["artifact", "cosine", *cpus, "verdict", "tolerance"]
    body2 = [
        [
            r["artifact"],
            _cosine_label(r["kind"]),
            *(_x86_cell(r["vs_x86"].get(c), r["kind"]) for c in cpus),
            "ok" if r["passed"] else "MISS",
            _limits_text(r.get("vs_x86_limits") or {}),
        ]
        for r in rows
    ]
    return "\n".join(
        [
            "vs PyTorch (reference.npz): cosine (int8: mean over samples; fp: worst sample), top-1 agreement;"
            " * = misses a manifest tolerance",
            _grid(head1, body1),
            "",
            "ARM vs x86, same file: max |diff|, cosine, top-1 agreement (or identical); judged with the "
            "tolerance shown",
            _grid(head2, body2),
        ]
    )


def _grid(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(r) for r in body)])


def old_runtime_text(items: list[dict[str, Any]]) -> list[str]:
    """One line per artifact of ``old_runtime_findings``."""
    lines = []
    for item in items:
        extra = ""
        if item.get("vs_x86_litert"):
            v = item["vs_x86_litert"]
            extra = " - vs x86 LiteRT: " + (
                "identical"
                if v["bit_identical"]
                else f"max |diff| {v['max_abs']:.2e}, mean cosine {v['cosine_mean']:.6f}, "
                f"top-1 {v['top1_agreement']:.0%}" + ("" if v["passed"] else " (beyond its tolerance)")
            )
        state = "runs" if item["runs"] else f"CANNOT RUN: {item['reason']}"
        lines.append(f"  {item['artifact']}: {state}{extra}")
    return lines
