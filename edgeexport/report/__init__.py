"""``python -m edgeexport report CARD``: the manifest and every bench result of a card, side by side, and
the artifact to ship per device (docs/report.md). Host side: reads JSON, draws with matplotlib."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgeexport.report import figures, page
from edgeexport.report.gather import Facts, gather, result_files
from edgeexport.report.recommend import Answer, candidate, recommend


@dataclass(frozen=True)
class Budget:
    max_drop: float | None = None  # accuracy points (labelled data)
    max_size: int | None = None  # bytes
    max_memory: int | None = None  # bytes of peak memory


def answers(facts: Facts, budget: Budget, *, seeded: bool) -> list[Answer]:
    """One answer per (device, thread count), from the newest run of each."""
    newest = {run.group: run for run in facts.runs}  # runs are sorted oldest first
    found = []
    labelled = bool(facts.manifest.get("reference", {}).get("labelled"))
    for (device, threads), run in sorted(newest.items()):
        cands = [candidate(r, facts.entry(r["artifact"])) for r in run.results]
        found.append(
            recommend(
                device,
                threads,
                cands,
                max_drop=budget.max_drop,
                max_size=budget.max_size,
                max_memory=budget.max_memory,
                seeded=seeded,
                labelled=labelled,
            )
        )
    return found


def build(
    card: str,
    root: Path,
    results_dir: Path,
    given: list[Path] | None,
    out_root: Path,
    budget: Budget,
    *,
    seeded: bool,
) -> tuple[Path, list[Answer], Facts]:
    facts = gather(card, root, result_files(results_dir, given))
    out = out_root / card
    folder = out / "figures"
    drawn: dict[str, list[Path]] = {"quality": [], "latency": [], "size": []}
    newest = {run.group: run for run in facts.runs}
    for run in newest.values():
        drawn["quality"] += [p for p in [figures.latency_vs_quality(facts, run, folder)] if p]
        drawn["latency"] += [p for p in [figures.distributions(facts, run, folder)] if p]
    drawn["size"] += [p for p in [figures.size_and_memory(facts, folder)] if p]
    drawn["arm"] = [p for p in [figures.arm_matrix(facts, folder)] if p]
    drawn["doctor"] = figures.doctor_curves(facts, folder)
    found = answers(facts, budget, seeded=seeded)
    page.write_markdown(facts, found, drawn, out / "report.md")
    return page.write_html(facts, found, drawn, out / "index.html"), found, facts
