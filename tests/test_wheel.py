"""edgeexport as a user has it: the wheel installed into a fresh venv, run from an empty folder that holds
only the user's own card and model module. export, bench and list work there, write under that folder, and
the built-in cards (with their trained weights) travel inside the wheel.

The venv gets its third-party packages (torch, onnx, onnxruntime, ...) through a .pth line pointing at this
environment's site-packages instead of a second multi-GB install; edgeexport itself is the wheel, installed
with --no-deps, and the test checks that it is the wheel's copy that runs, never the checkout."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

USER_MODULE = """
import torch
from torch import nn

def tiny_net(num_classes: int = 5) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))
"""
USER_CARD = """name = "mine"
task = "classification"
[architecture]
name = "mymodels:tiny_net"
args = { num_classes = 5 }
[input]
shape = [1, 3, 32, 32]
[preprocess]
mean = [0.5, 0.5, 0.5]
std = [0.25, 0.25, 0.25]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a clean copy: setuptools keeps build/ in the source folder, and stale files there would
    # end up in the wheel.
    source = tmp / "source"
    skip = shutil.ignore_patterns(
        ".venv", ".arm", ".git", "artifacts", "build", "dist", "results", "*.egg-info"
    )
    shutil.copytree(REPO, source, symlinks=True, ignore=skip)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp.glob("edgeexport-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    ask = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(subprocess.check_output([str(venv / "bin" / "python"), "-c", ask], text=True).strip())
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()] or [sysconfig.get_paths()["purelib"]]
    (purelib / "project-deps.pth").write_text("\n".join(deps) + "\n")
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    return venv / "bin" / "python"


def run(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EDGEEXPORT_ARTIFACTS")}
    return subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True, env=env)


def test_export_bench_and_list_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.toml").write_text(USER_CARD)
    (tmp_path / "mymodels.py").write_text(USER_MODULE)
    where = run(installed, tmp_path, "-c", "import edgeexport; print(edgeexport.__file__)")
    assert where.returncode == 0 and str(REPO) not in where.stdout, where.stdout + where.stderr
    assert "site-packages" in where.stdout

    listed = run(installed, tmp_path, "-m", "edgeexport", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["card"]: r for r in json.loads(listed.stdout)}
    assert rows["mine"]["architecture"] == "mymodels:tiny_net" and "mobilenetv3_small" in rows

    load = (
        "from edgeexport import cards; from edgeexport.zoo.builder import build_model; "
        "build_model(cards.get_card('mobilenetv3_small_fmnist')); print('loaded')"
    )
    weights = run(installed, tmp_path, "-c", load)
    assert weights.returncode == 0 and "loaded" in weights.stdout, weights.stderr

    exported = run(
        installed,
        tmp_path,
        "-m",
        "edgeexport",
        "export",
        "mine",
        "--formats",
        "onnx",
        "--precisions",
        "fp32",
        "--threads",
        "1",
    )
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((tmp_path / "artifacts" / "mine" / "manifest.json").read_text())
    assert {a["id"]: a["status"] for a in manifest["artifacts"]} == {"onnx_fp32": "ok", "onnx_fp32_sim": "ok"}

    bench = run(
        installed,
        tmp_path,
        "-m",
        "edgeexport.bench",
        "--runtime",
        "onnxruntime",
        "--threads",
        "1",
        "--min-runs",
        "3",
        "--min-time",
        "0",
        "--warmup-runs",
        "1",
        "--warmup-time",
        "0",
    )
    assert bench.returncode == 0, bench.stderr
    (result,) = (tmp_path / "benchmarks" / "results").glob("*-onnxruntime.json")
    doc = json.loads(result.read_text())
    assert {r["artifact"] for r in doc["results"]} == {"onnx_fp32", "onnx_fp32_sim"}
    assert all(r["status"] == "ok" for r in doc["results"])
    assert not (REPO / "artifacts" / "mine").exists()  # nothing written into the checkout
