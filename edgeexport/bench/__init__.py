"""The on-device bench harness: ``python -m edgeexport.bench``. See docs/bench.md.

Device-side code: it imports numpy, the standard library and one runtime adapter at a time; never torch
and never the exporter or the model side (``edgeexport.{export,quant,zoo,data,cards}``; tests/test_walls.py).
rich and psutil are optional.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA = "edgeexport.bench/1"
# The folder that holds the edgeexport package (a checkout, an unpacked bundle or site-packages): the
# harness's children get it on their path, so an unpacked bundle runs without installing anything.
PACKAGE_PARENT = Path(__file__).resolve().parent.parent.parent
# The device side of the package, below edgeexport/: what a bundle ships and what the device-purity and
# walls tests hold to numpy + one runtime (torch and executorch need torch itself: RuntimeInfo.needs_torch).
DEVICE_SIDE = (
    "__init__.py",
    "errors.py",
    "registry.py",
    "parity.py",
    "artifact.py",
    "defaults.py",
    "images.py",
    "runtimes",
    "bench",
)
EMULATED_ENV = "EDGEEXPORT_EMULATED_CPU"
# The command that starts this Python, for the harness's child processes when ``sys.executable`` cannot be
# started directly: an emulated board's python is a wrapper script around qemu-user (docs/device.md).
PYTHON_ENV = "EDGEEXPORT_PYTHON"
