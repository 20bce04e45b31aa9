"""make arm-parity: the comparison logic (host-side, fast) and one artifact under an emulated CPU (slow)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeexport.bench import parity_only

REPO = Path(__file__).resolve().parent.parent
ARM_READY = REPO / ".arm" / "ready"


def _driver():
    spec = importlib.util.spec_from_file_location("arm_parity", REPO / "scripts" / "arm-parity.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


arm = _driver()


def _result(status: str = "ok", checks: list[tuple[str, float, str, float, bool]] = (), **extra) -> dict:
    parity = {
        "checks": [
            {"metric": m, "value": v, "op": op, "limit": lim, "ok": ok} for m, v, op, lim, ok in checks
        ],
        "cosine": 0.9,
        "top1_agreement": 0.5,
        "max_abs": 0.1,
        "passed": all(c[4] for c in checks),
    }
    return {"status": status, "parity": parity, "reason": None, **extra}


def _samples(rows: np.ndarray) -> list[list[np.ndarray]]:
    return [[r.reshape(1, -1).astype(np.float32)] for r in rows]


# --- against PyTorch: ARM meets every tolerance x86 met ---------------------------------------------------


def test_vs_torch_arm_may_miss_what_x86_missed_too():
    x86 = _result(
        "parity miss", [("cosine", 0.97, ">=", 0.95, True), ("top1_agreement", 0.33, ">=", 0.8, False)]
    )
    a = _result(
        "parity miss", [("cosine", 0.97, ">=", 0.95, True), ("top1_agreement", 0.5, ">=", 0.8, False)]
    )
    assert arm.vs_torch(x86, a) == []


def test_vs_torch_arm_missing_what_x86_met_is_a_miss():
    x86 = _result(
        "parity miss", [("cosine", 0.97, ">=", 0.95, True), ("top1_agreement", 0.33, ">=", 0.8, False)]
    )
    a = _result(
        "parity miss", [("cosine", 0.90, ">=", 0.95, False), ("top1_agreement", 0.33, ">=", 0.8, False)]
    )
    misses = arm.vs_torch(x86, a)
    assert len(misses) == 1 and misses[0].startswith("cosine 0.9 ") and "x86 met it" in misses[0]


def test_vs_torch_a_run_that_broke_is_a_miss():
    x86 = _result("ok", [("cosine", 1.0, ">=", 0.99999, True)])
    assert arm.vs_torch(x86, {"status": "crashed", "reason": "exit -11"}) == [
        "did not run: crashed: exit -11"
    ]


# --- against x86: the same file's outputs ------------------------------------------------------------------


def test_vs_x86_fp32_within_tolerance_and_not_identical():
    x = np.random.default_rng(0).normal(size=(3, 1000))
    rep, identical = arm.vs_x86(_samples(x), _samples(x + 5e-5), "fp32")
    assert rep.passed and not identical


def test_vs_x86_fp32_beyond_max_abs_is_a_miss():
    x = np.random.default_rng(0).normal(size=(3, 1000))
    y = x.copy()
    y[1, 7] += 1e-3
    rep, _ = arm.vs_x86(_samples(x), _samples(y), "fp32")
    assert [c.metric for c in rep.misses] == ["max_abs"]


def test_vs_x86_int8_identical():
    x = np.random.default_rng(1).normal(size=(4, 10))
    rep, identical = arm.vs_x86(_samples(x), _samples(x.copy()), "int8")
    assert identical and rep.passed and rep.top1_agreement == 1.0


def test_vs_x86_int8_a_top1_flip_is_a_miss_even_when_cosine_is_high():
    x = np.zeros((2, 10))
    x[:, 3], x[:, 4] = 1.0, 0.999
    y = x.copy()
    y[0, 4] = 1.001  # sample 0's arg-max moves from 3 to 4
    rep, identical = arm.vs_x86(_samples(x), _samples(y), "int8")
    assert not identical and rep.cosine > 0.999
    assert [c.metric for c in rep.misses] == ["top1_agreement"] and rep.top1_agreement == 0.5


def test_compare_artifact_reads_saved_outputs(tmp_path):
    x = np.random.default_rng(2).normal(size=(3, 1, 1000)).astype(np.float32)
    (tmp_path / "x86").mkdir()
    (tmp_path / "a57").mkdir()
    (tmp_path / "n1").mkdir()
    parity_only.save_outputs(tmp_path / "x86" / "c.a.npz", [[s] for s in x])
    parity_only.save_outputs(tmp_path / "a57" / "c.a.npz", [[s] for s in x])
    parity_only.save_outputs(tmp_path / "n1" / "c.a.npz", [[s + 1e-3] for s in x])
    ok = [("max_abs", 1e-7, "<=", 1e-4, True), ("cosine", 1.0, ">=", 0.99999, True)]
    row = arm.compare_artifact(
        "a",
        "fp32",
        _result("ok", ok, outputs="c.a.npz"),
        {"a57": _result("ok", ok, outputs="c.a.npz"), "n1": _result("ok", ok, outputs="c.a.npz")},
        tmp_path / "x86",
        {"a57": tmp_path / "a57", "n1": tmp_path / "n1"},
    )
    assert row["vs_x86"]["a57"]["bit_identical"] and row["vs_x86"]["a57"]["passed"]
    assert not row["vs_x86"]["n1"]["passed"] and not row["passed"]
    (miss,) = row["misses"]
    assert miss.startswith("n1 vs x86: max_abs 0.001") and miss.endswith("(tolerance <= 0.0001)")


def test_compare_artifact_without_x86_outputs_is_a_miss(tmp_path):
    row = arm.compare_artifact("a", "fp32", {"status": "error", "reason": "x"}, {}, tmp_path, {})
    assert not row["passed"] and row["misses"][0].startswith("x86: did not run (error)")


def test_outputs_round_trip(tmp_path):
    outs = [
        [np.arange(4, dtype=np.float32).reshape(1, 4) + i, np.ones((1, 2), np.float32) * i] for i in range(3)
    ]
    parity_only.save_outputs(tmp_path / "o.npz", outs)
    back = parity_only.load_outputs(tmp_path / "o.npz")
    assert len(back) == 3
    for s, t in zip(outs, back, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(s, t, strict=True))


def test_table_marks_misses_and_identity():
    rows = [
        {
            "artifact": "onnx_int8",
            "passed": False,
            "vs_torch": {
                "x86": {"status": "parity miss", "cosine": 0.82, "top1_agreement": 1 / 3, "passed": False}
            },
            "vs_x86": {
                "n1": {
                    "bit_identical": False,
                    "max_abs": 0.05,
                    "cosine": 0.81,
                    "top1_agreement": 1 / 3,
                    "passed": False,
                }
            },
        },
        {
            "artifact": "tflite_int8",
            "passed": True,
            "vs_torch": {},
            "vs_x86": {"n1": {"bit_identical": True, "passed": True}},
        },
    ]
    text = arm.table(rows, ["n1"])
    assert "0.82000 33%*" in text and "MISS" in text and "identical" in text


# --- one artifact under emulation -------------------------------------------------------------------------


def _export_root() -> Path | None:
    for root in (os.environ.get("EDGEEXPORT_ARM_ARTIFACTS"), REPO / "artifacts", "/tmp/art"):
        if root and (Path(root) / "mobilenetv3_small" / "mobilenetv3_small.tflite_int8.tflite").exists():
            return Path(root)
    return None


@pytest.mark.slow
@pytest.mark.arm
@pytest.mark.skipif(not ARM_READY.exists(), reason=".arm/ready missing: run `make arm-env`")
@pytest.mark.skipif(_export_root() is None, reason="no export of mobilenetv3_small: `make export` first")
def test_one_artifact_under_emulated_neoverse_n1(tmp_path):
    ready = json.loads(ARM_READY.read_text())
    root = _export_root()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(
        PYTHONPATH=f"{REPO}{os.pathsep}{ready['site']}",
        PYTHONNOUSERSITE="1",
        EDGEEXPORT_EMULATED_CPU="neoverse-n1",
    )
    cmd = [
        ready["qemu"],
        "-L",
        ready["sysroot"],
        "-cpu",
        "neoverse-n1",
        ready["python"],
        "-m",
        "edgeexport.bench",
        "parity",
        "--runtime",
        "litert",
        "--artifacts",
        str(root),
        "--model",
        "mobilenetv3_small",
        "--artifact",
        "tflite_int8",
        "--images",
        "2",
        "--out-dir",
        str(tmp_path / "arm"),
    ]
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: this card's int8 misses its tolerance anyway
    doc = json.loads((tmp_path / "arm" / "parity-litert.json").read_text())
    envi = doc["environment"]
    assert doc["complete"] and envi["emulated"] and envi["emulated_cpu"] == "neoverse-n1"
    assert envi["cpu"]["architecture"] == "aarch64" and envi["cpu"]["features"]["dotprod"]
    (r,) = doc["results"]
    assert r["status"] in arm.RAN and r["latency_ms"] is None and r["timing"] is None and not r["samples_ns"]
    # the same file on this x86 host: full-int8 LiteRT (XNNPACK) was bit-identical
    host = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeexport.bench",
            "parity",
            "--runtime",
            "litert",
            "--artifacts",
            str(root),
            "--model",
            "mobilenetv3_small",
            "--artifact",
            "tflite_int8",
            "--images",
            "2",
            "--out-dir",
            str(tmp_path / "x86"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert host.returncode in (0, 1), host.stderr[-2000:]
    name = "mobilenetv3_small.tflite_int8.npz"
    rep, identical = arm.vs_x86(
        parity_only.load_outputs(tmp_path / "x86" / name),
        parity_only.load_outputs(tmp_path / "arm" / name),
        "int8",
    )
    assert identical and rep.passed
