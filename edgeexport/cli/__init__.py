"""The commands of ``python -m edgeexport``, one module each: ``add_arguments(parser)`` and
``main(args) -> exit code``. Argument parsing and printing only; heavy imports (torch, the converters)
happen inside ``main``, so ``--help`` stays fast and torch-free."""

from __future__ import annotations

import argparse

# command -> one-line help; the module is edgeexport.cli.<command>
COMMANDS = {
    "list": "every model card with parameters, MACs, input and weights",
    "export": "export a card to every format, with parity against PyTorch",
    "doctor": "per-layer SQNR of an int8 artifact against its float parent",
    "train": "train a card's architecture (Fashion-MNIST or an ImageFolder)",
    "predict": "top-5 classes of images from an exported artifact (any runtime; no torch needed)",
    "report": "one page per card: every artifact measured, and which one to ship where",
}


def add_model_argument(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """A card is named the same way everywhere: ``--model NAME`` (as in ``make ... MODEL=NAME`` and
    ``python -m edgeexport.bench --model NAME``), or a path to a .toml; export, doctor and train also take
    it as their first word (``export mobilenetv3_small``)."""
    p.add_argument("model", nargs="?", metavar="MODEL", help="model card: a name from `list` or a .toml path")
    p.add_argument("--model", dest="model_option", metavar="MODEL", help="the same, as an option")
    p.set_defaults(model_required=required)


def model_name(args: argparse.Namespace) -> str | None:
    from edgeexport.errors import UsageError

    given = {n for n in (args.model, args.model_option) if n}
    if len(given) > 1:
        raise UsageError(f"two model cards named ({' and '.join(sorted(given))}); name one")
    if not given and args.model_required:
        raise UsageError("name a model card (e.g. mobilenetv3_small); `python -m edgeexport list` shows them")
    return given.pop() if given else None


def print_json(value: object) -> None:
    import json

    print(json.dumps(value, indent=2, default=str))
