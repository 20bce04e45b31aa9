"""Results out: the versioned JSON document, CSV, the terminal table, and ``compare A.json B.json``.

rich is optional (a device may have only numpy and a runtime): without it everything prints as text.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from edgeexport.artifact import jsonable
from edgeexport.bench import SCHEMA, stats
from edgeexport.errors import UsageError

DOC_KEYS = (
    "schema", "created", "edgeexport", "command", "runtime", "settings", "environment", "results", "device",
)  # fmt: skip
RESULT_KEYS = (
    "card", "artifact", "runtime", "format", "precision_kind", "file", "file_size_bytes", "sha256",
    "sha256_verified", "manifest_status", "options", "status", "reason", "runtime_version", "timing",
    "latency_ms", "emulated_timing", "samples_ns", "memory", "parity", "accuracy",
)  # fmt: skip
CSV_COLUMNS = (
    "card", "artifact", "runtime", "status", "file_size_bytes", "load_s", "first_inference_ms", "n",
    "mean_ms", "std_ms", "min_ms", "p50_ms", "p50_ci_lo_ms", "p50_ci_hi_ms", "p90_ms", "p99_ms", "max_ms",
    "cv", "peak_mb", "resident_mb", "parity_passed", "cosine", "cosine_mean", "max_abs", "top1_agreement",
    "accuracy_top1", "emulated",
)  # fmt: skip


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Under a temporary name, then renamed: a full disk leaves no half-written result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(jsonable(doc), indent=1) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:  # ValueError: not JSON, or not text at all
        raise UsageError(f"{path}: cannot read a bench result ({error})") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a JSON {type(doc).__name__}, not a bench result")
    if doc.get("schema") != SCHEMA:
        raise UsageError(f"{path}: schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    results = doc.get("results")
    needed = ("card", "artifact", "runtime", "status")
    if not isinstance(results, list) or not all(
        isinstance(r, dict) and all(k in r for k in needed) for r in results
    ):
        raise UsageError(
            f"{path}: its 'results' are not a list of bench results (each with {', '.join(needed)})"
        )
    return doc


def _latency(r: dict[str, Any]) -> dict[str, Any] | None:
    return r.get("latency_ms") or (r.get("emulated_timing") or {}).get("latency_ms")


def _timing(r: dict[str, Any]) -> dict[str, Any]:
    return r.get("timing") or (r.get("emulated_timing") or {}).get("timing") or {}


def flat_row(r: dict[str, Any]) -> dict[str, Any]:
    lat, mem, par = _latency(r) or {}, r.get("memory") or {}, r.get("parity") or {}
    ci = lat.get("p50_ci95") or [None, None]
    mb = lambda v: None if v is None else round(v / 1e6, 2)  # noqa: E731
    return {
        "card": r["card"],
        "artifact": r["artifact"],
        "runtime": r["runtime"],
        "status": r["status"],
        "file_size_bytes": r.get("file_size_bytes"),
        "load_s": _timing(r).get("load_s"),
        "first_inference_ms": _timing(r).get("first_inference_ms"),
        "n": lat.get("n"),
        **{f"{k}_ms": lat.get(k) for k in ("mean", "std", "min", "p50")},
        "p50_ci_lo_ms": ci[0],
        "p50_ci_hi_ms": ci[1],
        **{f"{k}_ms": lat.get(k) for k in ("p90", "p99", "max")},
        "cv": lat.get("cv"),
        "peak_mb": mb(mem.get("peak_bytes")),
        "resident_mb": mb(mem.get("resident_bytes")),
        "parity_passed": par.get("passed"),
        "cosine": par.get("cosine"),
        "cosine_mean": par.get("cosine_mean"),
        "max_abs": par.get("max_abs"),
        "top1_agreement": par.get("top1_agreement"),
        "accuracy_top1": (r.get("accuracy") or {}).get("top1"),
        "emulated": r.get("emulated_timing") is not None,
    }


def write_csv(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for r in doc["results"]:
            writer.writerow(flat_row(r))


def _fmt(value: Any, spec: str = ".2f") -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return format(value, spec)


def table_rows(doc: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    emulated = doc["environment"].get("emulated")
    head = ["model", "artifact", "runtime", "status", "MB", "load s", "first ms"]
    head += ["p50 ms [95% CI]", "p90", "p99", "CV %", "n", "peak MB", "parity", "top-1"]
    if emulated:
        head[7] = "EMULATED p50 ms"
    rows = []
    for r in doc["results"]:
        f = flat_row(r)
        ci = f"[{_fmt(f['p50_ci_lo_ms'])}, {_fmt(f['p50_ci_hi_ms'])}]" if f["p50_ms"] is not None else ""
        par = r.get("parity") or {}
        verdict = "not judged" if not par.get("limits") else ("ok" if par.get("passed") else "MISS")
        parity = "-" if not par else f"{verdict} cos {_fmt(f['cosine'], '.5f')}"
        status = r["status"] + ("" if r.get("manifest_status", "ok") == "ok" else " *")
        rows.append(
            [
                r["card"],
                r["artifact"],
                r["runtime"],
                status,
                _fmt(None if f["file_size_bytes"] is None else f["file_size_bytes"] / 1e6, ".1f"),
                _fmt(f["load_s"], ".3f"),
                _fmt(f["first_inference_ms"]),
                f"{_fmt(f['p50_ms'])} {ci}".strip(),
                _fmt(f["p90_ms"]),
                _fmt(f["p99_ms"]),
                _fmt(None if f["cv"] is None else 100 * f["cv"], ".1f"),
                _fmt(f["n"], "d"),
                _fmt(f["peak_mb"], ".1f"),
                parity,
                _fmt(f["accuracy_top1"], ".3f"),
            ]
        )
    return head, rows


def print_table(head: list[str], rows: list[list[str]], title: str) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
        print(title)
        for line in [head, *rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        return
    console = Console()
    if not console.is_terminal:  # a pipe or a log file: don't squeeze the table into 80 columns
        console = Console(width=220)
    table = Table(title=title)
    for h in head:
        table.add_column(h)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _key(r: dict[str, Any]) -> tuple[str, str]:
    return r["card"], r["artifact"]


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Per artifact in both: median(B) / median(A) with a bootstrap CI from the stored raw samples."""
    b_by = {_key(r): r for r in b["results"] if r.get("samples_ns")}
    rows = []
    for ra in a["results"]:
        rb = b_by.get(_key(ra))
        if not ra.get("samples_ns") or rb is None:
            continue
        ratio, lo, hi = stats.ratio_of_medians(ra["samples_ns"], rb["samples_ns"])
        significant = not lo <= 1.0 <= hi
        verdict = ("B slower" if ratio > 1 else "B faster") if significant else "no significant difference"
        rows.append(
            {
                "card": ra["card"],
                "artifact": ra["artifact"],
                "a_p50_ms": (_latency(ra) or {}).get("p50"),
                "b_p50_ms": (_latency(rb) or {}).get("p50"),
                "ratio": ratio,
                "ci95": [lo, hi],
                "significant": significant,
                "verdict": verdict,
                "emulated": bool(ra.get("emulated_timing") or rb.get("emulated_timing")),
            }
        )
    return rows


def _describe(doc: dict[str, Any]) -> str:
    env = doc["environment"]
    cpu = env["cpu"]
    s = doc["settings"]
    emulated = f", EMULATED {env['emulated_cpu']}" if env.get("emulated") else ""
    return (
        f"{doc['runtime']} on {cpu.get('model') or cpu.get('architecture')}, {s['threads']} threads{emulated}"
    )


def print_compare(
    rows: list[dict[str, Any]], a: dict[str, Any], b: dict[str, Any], names: tuple[str, str]
) -> None:
    print(f"A = {names[0]}: {_describe(a)}")
    print(f"B = {names[1]}: {_describe(b)}")
    head = ["model", "artifact", "A p50 ms", "B p50 ms", "B/A", "95% CI", "verdict"]
    body = [
        [
            r["card"],
            r["artifact"],
            _fmt(r["a_p50_ms"], ".3f"),
            _fmt(r["b_p50_ms"], ".3f"),
            f"{r['ratio']:.3f}",
            f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]",
            r["verdict"] + (" (emulated)" if r["emulated"] else ""),
        ]
        for r in rows
    ]
    print_table(head, body, "ratio of medians B/A; significant when the CI excludes 1")
