"""``python -m edgeexport report CARD``: the page that names the artifact to ship (edgeexport/report/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgeexport.cli import add_model_argument, model_name
from edgeexport.defaults import artifacts_root, results_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    p.add_argument("--results", type=Path, action="append", help="more bench JSONs or folders of them")
    p.add_argument("--results-dir", type=Path, default=results_dir(), help="bench results (%(default)s)")
    p.add_argument("--artifacts", type=Path, default=artifacts_root(), help="artifacts root (%(default)s)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="reports root (%(default)s)")
    p.add_argument("--max-drop", type=float, help="most accuracy points an artifact may lose (labelled data)")
    p.add_argument("--max-size", type=float, help="largest file to ship, MB")
    p.add_argument("--max-memory", type=float, help="most peak memory, MB")


def main(args: argparse.Namespace) -> int:
    from edgeexport import cards
    from edgeexport.report import Budget, build

    name = model_name(args)
    assert name is not None  # required
    try:
        seeded = cards.get_card(name).weights.source == "seeded"
    except Exception:  # an export whose card is not here: say nothing about its weights
        seeded = False
    mb = lambda v: None if v is None else int(v * 1e6)  # noqa: E731
    budget = Budget(args.max_drop, mb(args.max_size), mb(args.max_memory))
    index, answers, facts = build(
        name, args.artifacts, args.results_dir, args.results, args.out, budget, seeded=seeded
    )
    for answer in answers:
        for line in answer.lines():
            print(line)
        print()
    if not facts.runs:
        print(
            f"no bench results for {name} under {args.results_dir}: run "
            f"`python -m edgeexport.bench --model {name}` first"
        )
    for skipped in facts.skipped:
        print(f"skipped {skipped}")
    print(f"report: {index}")
    return 0
