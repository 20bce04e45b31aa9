"""The commands of ``python -m edgeexport``, one module each: ``add_arguments(parser)`` and
``main(args) -> exit code``. Argument parsing and printing only; heavy imports (torch, the converters)
happen inside ``main``, so ``--help`` stays fast and torch-free."""

from __future__ import annotations

# command -> one-line help; the module is edgeexport.cli.<command>
COMMANDS = {
    "list": "every model card with parameters, MACs, input and weights",
    "export": "export a card to every format, with parity against PyTorch",
    "doctor": "per-layer SQNR of an int8 artifact against its float parent",
    "train": "train a card's architecture (Fashion-MNIST or an ImageFolder)",
}
