"""``python -m edgeexport train <card>``: the reference training loop (edgeexport/zoo/train.py)."""

from __future__ import annotations

import argparse

from edgeexport.cli import add_model_argument, model_name
from edgeexport.defaults import THREADS_HELP, at_least_one, default_threads


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    p.add_argument(
        "--data", default=None, help="fashion_mnist or folder:/path (default: the card's evaluation data)"
    )
    p.add_argument("--steps", type=at_least_one, default=3000, help="optimizer steps (the budget)")
    p.add_argument("--batch", type=at_least_one, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=200, help="linear warm-up steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=at_least_one, default=default_threads(), help=THREADS_HELP)
    p.add_argument(
        "--init", choices=("scratch", "card"), default="scratch", help="card: fine-tune its weights"
    )
    p.add_argument("--out", default=None, help="weights file (default: weights/<card>.pt)")
    p.add_argument("--resume", default=None, help="checkpoint to resume from")
    p.add_argument("--checkpoint-every", type=int, default=500)


def main(args: argparse.Namespace) -> int:
    from edgeexport import cards
    from edgeexport.zoo.train import train

    train(cards.get_card(str(model_name(args))), args)
    return 0
