"""The device side really runs without torch and without the exporter: a Python process imports every
device-side module and every registered runtime adapter and runs the bench harness on a tiny artifact;
every Python process it starts (the harness's children too) records its ``sys.modules`` at exit.
torch is installed here: nothing blocks it, so an import of it would show.

Two runtimes are allowed torch, and only these two: ``torch`` (it runs a .pt2) and ``executorch`` (its
Python runtime imports torch and links libtorch). Their adapter modules are imported like the others, but
their runtimes are not asked whether they are available: that would import torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = (
    "torch",
    *(f"edgeexport.{p}" for p in ("zoo", "export", "quant", "data", "cards", "spec", "cli")),
)
RECORDER = """
import atexit, json, os, sys
def _record():
    folder = os.environ.get("EDGEEXPORT_TEST_MODULES")
    if folder:
        with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as f:
            json.dump(sorted(sys.modules), f)
atexit.register(_record)
"""
DEVICE_RUN = """
import importlib, pkgutil, sys
import edgeexport.bench, edgeexport.runtimes
for package in (edgeexport.bench, edgeexport.runtimes):
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
from edgeexport.runtimes import RUNTIMES, adapter
for name in RUNTIMES.names():
    adapter(name).unavailable() if not RUNTIMES.get(name).needs_torch else adapter(name)
EXTRA
from edgeexport.bench.__main__ import main
short = ["--min-runs", "3", "--min-time", "0", "--warmup-runs", "1", "--warmup-time", "0", "--threads", "1"]
sys.exit(main(["--runtime", "all", "--artifacts", sys.argv[1], "--results-dir", sys.argv[2], *short]))
"""


def device_run(root: Path, tmp: Path, extra: str = "") -> tuple[int, dict[int, list[str]], str]:
    (tmp / "site").mkdir()
    (tmp / "site" / "sitecustomize.py").write_text(RECORDER)
    (tmp / "modules").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(tmp / "site"), EDGEEXPORT_TEST_MODULES=str(tmp / "modules"))
    code = DEVICE_RUN.replace("EXTRA", extra)
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), str(tmp / "results")], capture_output=True, text=True, env=env
    )
    seen = {int(p.stem): json.loads(p.read_text()) for p in (tmp / "modules").glob("*.json")}
    return out.returncode, seen, out.stderr


def forbidden(seen: dict[int, list[str]]) -> list[str]:
    return sorted({m for mods in seen.values() for m in mods if m.startswith(FORBIDDEN) and
                   (m in FORBIDDEN or m.startswith(tuple(f + "." for f in FORBIDDEN)))})  # fmt: skip


def test_only_torch_and_executorch_may_need_torch() -> None:
    from edgeexport.runtimes import RUNTIMES

    assert {n for n in RUNTIMES.names() if RUNTIMES.get(n).needs_torch} == {"torch", "executorch"}


def test_device_side_imports_no_torch_and_no_exporter(onnx_root: Path, tmp_path: Path) -> None:
    code, seen, stderr = device_run(onnx_root, tmp_path)
    assert code == 0, stderr
    assert len(seen) >= 2, "the harness child did not run (or did not record)"
    assert any("edgeexport.bench.harness" in mods for mods in seen.values())
    assert forbidden(seen) == []


@pytest.mark.parametrize(
    "extra", ["import edgeexport.cards", "import importlib; importlib.import_module('torch')"]
)
def test_the_purity_check_catches_a_crossing(onnx_root: Path, tmp_path: Path, extra: str) -> None:
    code, seen, stderr = device_run(onnx_root, tmp_path, extra)
    assert code == 0, stderr
    assert forbidden(seen), "an import of the exporter side or torch went unnoticed"
