"""``python -m edgeexport list``: every card with parameters, MACs, input and weights source."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(int(n))


def rows() -> list[dict[str, object]]:
    from edgeexport import cards
    from edgeexport.zoo import builder, complexity

    out = []
    for card in cards.all_cards():
        c = complexity.measure(builder.build_architecture(card), card.input.shape)
        weights = (
            card.weights.source
            if card.weights.source == "seeded"
            else (card.weights.package or card.weights.path)
        )
        out.append(
            {
                "card": card.name,
                "architecture": card.architecture.name,
                "task": card.task,
                "params": c.params,
                "macs": c.macs,
                "input": list(card.input.shape),
                "outputs": [list(s) for s in c.output_shapes],
                "weights": weights,
            }
        )
    return out


def main(args: argparse.Namespace) -> int:
    table = rows()
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title="edgeexport model cards")
    for col in ("card", "architecture", "params", "MACs", "input", "outputs", "weights"):
        t.add_column(col, justify="right" if col in ("params", "MACs") else "left")
    for r in table:
        t.add_row(
            str(r["card"]),
            str(r["architecture"]),
            f"{r['params']:,}",
            _human(float(r["macs"])),  # type: ignore[arg-type]
            "x".join(map(str, r["input"])),  # type: ignore[call-overload]
            " ".join("x".join(map(str, s)) for s in r["outputs"]),  # type: ignore[attr-defined]
            str(r["weights"]),
        )
    Console(width=max(Console().width, 140)).print(t)
    return 0
