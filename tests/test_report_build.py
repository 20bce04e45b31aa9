"""The report from hand-built documents (no export, no bench): what it gathers, skips, draws and writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgeexport.bench import SCHEMA
from edgeexport.report import Budget, build

RNG = np.random.default_rng(1)


def _entry(artifact: str, fmt: str, sqnr: float, status: str = "ok") -> dict:
    return {
        "id": artifact,
        "format": fmt,
        "file": f"c.{artifact}.{fmt}",
        "status": status,
        "size": 3_000_000,
        "precision": {"weights": "int8", "activations": "int8"},
        "stage": "s@1",
        "parent": None,
        "sha256": "ab" * 32,
        "tools": {"onnx": "1.23"},
        "parity": {"cosine_mean": 0.99, "sqnr_db": sqnr, "passed": status == "ok"},
    }


def _result(artifact: str, runtime: str, p50: float, *, emulated: bool = False) -> dict:
    samples = (RNG.normal(p50, 0.02 * p50, 200) * 1e6).astype(int).tolist()
    lat = {"p50": p50, "p50_ci95": [p50 * 0.99, p50 * 1.01], "p90": p50 * 1.1, "p99": p50 * 1.2, "n": 200}
    return {
        "card": "c",
        "artifact": artifact,
        "runtime": runtime,
        "status": "ok",
        "reason": None,
        "file_size_bytes": 3_000_000,
        "manifest_status": "ok",
        "samples_ns": samples,
        "latency_ms": None if emulated else lat,
        "emulated_timing": {"latency_ms": lat} if emulated else None,
        "timing": {"load_s": 0.1, "first_inference_ms": 2.0},
        "memory": {"peak_bytes": 40_000_000},
    }


def _bench(path: Path, results: list[dict], *, device: str | None = None, emulated: bool = False) -> Path:
    cpu = {"model": "Test CPU", "core": "Neoverse-N1" if device else None, "architecture": "aarch64"}
    doc = {
        "schema": SCHEMA,
        "created": "2026-12-03T10:00:00",
        "device": device,
        "runtime": "all",
        "settings": {"threads": 4},
        "results": results,
        "environment": {
            "cpu": cpu,
            "emulated": emulated,
            "emulated_cpu": "neoverse-n1" if emulated else None,
        },
    }
    path.write_text(json.dumps(doc))
    return path


def test_a_report_from_hand_built_documents(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts" / "c"
    folder.mkdir(parents=True)
    manifest = {
        "card": "c",
        "reference": {"labelled": False},
        "target": {"onnxruntime": "1.15"},
        "artifacts": [
            _entry("onnx_fp32", "onnx", 110.0),
            _entry("tflite_int8", "tflite", 14.0),
            _entry("onnx_int8", "onnx", 13.0, status="failed"),
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "doctor-onnx_int8.json").write_text(
        json.dumps(
            {
                "artifact": "onnx_int8",
                "parent": "onnx_fp32_sim",
                "diverge_db": 20.0,
                "layers": [
                    {"index": i, "op": "Conv", "tensor": f"t{i}", "qdq_db": 30.0 - i, "model_db": 25.0 - i}
                    for i in range(10)
                ],
            }
        )
    )
    results = tmp_path / "results"
    results.mkdir()
    from edgeexport.bench import profile

    rows = [{"name": "HARD_SWISH#3", "op": "HARD_SWISH", "kernel": "builtin", "dtype": "int8", "ms": None,
             "fast": False}]  # fmt: skip
    profiled = dict(_result("tflite_int8", "litert", 6.0), profile=profile.summary("litert", rows, 20, "n"))
    _bench(
        results / "a.json",
        [_result("onnx_fp32", "onnxruntime", 10.0), profiled, _result("onnx_int8", "onnxruntime", 4.0)],
    )
    _bench(
        results / "b.json",
        [_result("tflite_int8", "litert", 300.0, emulated=True)],
        device="ssh://pi",
        emulated=True,
    )
    arm = {
        "schema": "edgeexport.arm-parity/1",
        "card": "c",
        "created": "2026-12-03T11:00:00",
        "settings": {"cpus": ["neoverse-n1", "cortex-a57"]},
        "comparisons": [
            {
                "artifact": "tflite_int8",
                "misses": ["cortex-a57 vs x86: cosine 0.9"],
                "vs_x86": {
                    "neoverse-n1": {"bit_identical": True, "max_abs": 0.0},
                    "cortex-a57": {"bit_identical": False, "max_abs": 0.02},
                },
            }
        ],
    }
    (results / "arm-parity-1.json").write_text(json.dumps(arm))
    (results / "broken.json").write_text("{not json")
    index, answers, facts = build(
        "c", tmp_path / "artifacts", results, None, tmp_path / "reports", Budget(), seeded=True
    )
    host, board = sorted(answers, key=lambda a: a.device.startswith("ssh"))
    assert host.best.artifact == "tflite_int8" and host.runner_up.artifact == "onnx_fp32" and host.significant
    assert ("onnx_int8 (onnxruntime)", "failed its parity gate at export (see the manifest)") in host.excluded
    assert board.best is None and "only emulated runs" in board.caveats[0]
    assert facts.arm is not None and len(facts.skipped) == 1 and "broken.json" in facts.skipped[0]
    figures = {p.name for p in (tmp_path / "reports" / "c" / "figures").glob("*.png")}
    assert {"size-memory.png", "arm-parity.png", "doctor-onnx-int8.png"} <= figures
    assert any(name.startswith("latency-vs-quality-this-host") for name in figures)
    page = index.read_text()
    assert page.count("<img ") == len(figures) and "http" not in page.replace("http-equiv", "")
    assert "ship tflite_int8 on litert" in page and "weights are seeded" in page
    md = (tmp_path / "reports" / "c" / "report.md").read_text()
    assert "- this host (Test CPU), 4 threads: ship tflite_int8 on litert" in md
    assert "### Where the time goes" in md and "| HARD_SWISH x1 |" in md and "20 delegate partition" in md
    assert "Where the time goes" in page
