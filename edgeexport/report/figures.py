"""The report's figures, with matplotlib's Agg backend (no display): each written as PNG and SVG.

- latency vs quality per device and thread count, the Pareto front marked (quality: accuracy drop on
  labelled data, else SQNR against PyTorch from the export manifest);
- latency distributions per artifact, box plots of the raw samples;
- file size and peak memory per artifact.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from edgeexport.report.gather import Facts, Run


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    fig.savefig(folder / f"{name}.svg", bbox_inches="tight")
    _pyplot().close(fig)
    return png


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def quality(facts: Facts, artifact: str) -> tuple[float | None, str]:
    """(value, label): the accuracy drop in points where the data is labelled, else SQNR in dB."""
    parity = (facts.entry(artifact) or {}).get("parity") or {}
    drop = (parity.get("accuracy") or {}).get("drop_points")
    if drop is not None:
        return float(drop), "accuracy drop vs PyTorch (points, lower is better)"
    sqnr = parity.get("sqnr_db")
    return (
        float(sqnr) if sqnr is not None and math.isfinite(sqnr) else None
    ), "SQNR vs PyTorch (dB, higher is better)"


def pareto(points: list[tuple[float, float, str]], higher_better: bool) -> list[tuple[float, float, str]]:
    """The points no other point beats on both latency (lower) and quality."""
    front, best = [], None
    for x, y, name in sorted(points, key=lambda p: (p[0], -p[1] if higher_better else p[1])):
        if best is None or (y > best if higher_better else y < best):
            front.append((x, y, name))
            best = y
    return front


def latency_vs_quality(facts: Facts, run: Run, folder: Path) -> Path | None:
    points = []
    label = ""
    for r in run.results:
        lat = r.get("latency_ms") or {}
        q, label = quality(facts, r["artifact"])
        if lat.get("p50") is not None and q is not None:
            points.append((float(lat["p50"]), q, f"{r['artifact']} ({r['runtime']})"))
    if not points:
        return None
    higher = label.startswith("SQNR")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    points.sort()
    front = pareto(points, higher)
    on_front = {p[2] for p in front}
    ax.plot(
        [p[0] for p in front], [p[1] for p in front], color="#cc3311", lw=1.5, zorder=2, label="Pareto front"
    )
    for k, (x, y, name) in enumerate(points, 1):  # numbers on the plot, names in the legend: no overlaps
        color = "#cc3311" if name in on_front else "#4477aa"
        ax.scatter([x], [y], color=color, zorder=3, label=f"{k}  {name}")
        ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax.set_xlabel("p50 latency (ms)")
    ax.set_ylabel(label)
    ax.set_title(f"{facts.card}: latency vs quality - {run.device}, {run.threads} threads", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, folder, f"latency-vs-quality-{slug(run.device)}-{run.threads}t")


def distributions(facts: Facts, run: Run, folder: Path) -> Path | None:
    rows = [
        (f"{r['artifact']}\n{r['runtime']}", [s / 1e6 for s in r["samples_ns"]])
        for r in run.results
        if r.get("samples_ns") and r.get("latency_ms")
    ]
    if not rows:
        return None
    rows.sort(key=lambda row: sorted(row[1])[len(row[1]) // 2])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(rows)), 4.2))
    ax.boxplot([row[1] for row in rows], showfliers=True, flierprops={"markersize": 2})
    ax.set_xticks(range(1, len(rows) + 1), [row[0] for row in rows], fontsize=7)
    ax.set_ylabel("latency per run (ms)")
    ax.set_title(f"{facts.card}: latency distributions - {run.device}, {run.threads} threads", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, folder, f"latency-{slug(run.device)}-{run.threads}t")


def doctor_curves(facts: Facts, folder: Path) -> list[Path]:
    """The doctor's per-layer SQNR of each int8 artifact it examined: what quantizing each tensor alone
    loses (qdq) and how far the int8 model has drifted by then (model)."""
    drawn = []
    for doc in facts.doctor:
        layers = doc.get("layers") or []
        if not layers:
            continue
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(9, 3.8))
        ax.plot(
            [r["index"] for r in layers], [r["qdq_db"] for r in layers], lw=1, label="qdq SQNR (this tensor)"
        )
        ax.plot(
            [r["index"] for r in layers], [r["model_db"] for r in layers], lw=1.5, label="model SQNR (so far)"
        )
        ax.axhline(
            doc.get("diverge_db", 20.0), color="#cc3311", lw=0.8, ls="--", label="divergence threshold"
        )
        ax.set_xlabel("layer (graph order)")
        ax.set_ylabel("SQNR vs float (dB)")
        ax.set_title(f"{facts.card}: doctor, {doc.get('artifact')} vs {doc.get('parent')}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        drawn.append(_save(fig, folder, f"doctor-{slug(str(doc.get('artifact')))}"))
    return drawn


def arm_matrix(facts: Facts, folder: Path) -> Path | None:
    """`make arm-parity`'s x86-vs-ARM comparison: each artifact on each emulated CPU, its largest difference
    from x86's outputs ("=" when bit-identical), green where every check held, red where one missed."""
    doc = facts.arm
    if not doc or not doc.get("comparisons"):
        return None
    cpus = list(doc["settings"]["cpus"])
    rows = doc["comparisons"]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.8 * len(cpus) + 2.5, 0.45 * len(rows) + 1.3))
    for i, row in enumerate(rows):
        for j, cpu in enumerate(cpus):
            cell = (row.get("vs_x86") or {}).get(cpu)
            missed = any(m.startswith(cpu) for m in row.get("misses", []))
            text = "-" if cell is None else ("=" if cell.get("bit_identical") else f"{cell['max_abs']:.1e}")
            ax.add_patch(plt.Rectangle((j, i), 1, 1, color="#f4c7c3" if missed else "#cfe8cf"))
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8)
    ax.set_xlim(0, len(cpus))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([j + 0.5 for j in range(len(cpus))], cpus, fontsize=8)
    ax.set_yticks([i + 0.5 for i in range(len(rows))], [r["artifact"] for r in rows], fontsize=8)
    ax.set_title(
        f"{facts.card}: ARM (QEMU) vs x86 outputs, max |diff| ('=': bit-identical) - {doc['created'][:10]}",
        fontsize=9,
    )
    return _save(fig, folder, "arm-parity")


def size_and_memory(facts: Facts, folder: Path) -> Path | None:
    sizes = {a["id"]: a["size"] / 1e6 for a in facts.manifest["artifacts"] if a.get("size")}
    peaks: dict[str, float] = {}
    for run in facts.runs:
        for r in run.results:
            peak = (r.get("memory") or {}).get("peak_bytes")
            if peak:
                peaks[r["artifact"]] = max(peaks.get(r["artifact"], 0.0), peak / 1e6)
    if not sizes:
        return None
    names = sorted(sizes, key=lambda n: sizes[n])
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.35 * len(names) + 1.5), sharey=True)
    left.barh(names, [sizes[n] for n in names], color="#4477aa")
    left.set_xlabel("file size (MB)")
    right.barh(names, [peaks.get(n, 0.0) for n in names], color="#ee7733")
    right.set_xlabel("peak memory in the bench (MB, largest over runs; 0: not measured)")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{facts.card}: size and peak memory", fontsize=9)
    return _save(fig, folder, "size-memory")
