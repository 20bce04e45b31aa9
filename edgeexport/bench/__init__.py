"""The on-device bench harness: ``python -m edgeexport.bench``. See docs/bench.md.

Device-side code: it imports numpy, the standard library and one runtime adapter at a time; never torch
and never the exporter or the model side (``edgeexport.{export,quant,zoo,data,cards}``; tests/test_walls.py).
rich and psutil are optional.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA = "edgeexport.bench/1"
# The checkout (or the unpacked bundle): edgeexport/ sits directly below it.
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS_ROOT = REPO_ROOT / "artifacts"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
EMULATED_ENV = "EDGEEXPORT_EMULATED_CPU"
