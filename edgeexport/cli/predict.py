"""``python -m edgeexport predict CARD_OR_FILE IMAGE...``: top classes from an exported artifact.

The work is device-side (edgeexport/bench/predict.py), so an unpacked bundle runs the same thing as
``python -m edgeexport.bench predict``."""

from __future__ import annotations

from edgeexport.bench.device_predict import main
from edgeexport.bench.predict import add_arguments

__all__ = ["add_arguments", "main"]
