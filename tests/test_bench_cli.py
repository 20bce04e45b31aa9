"""python -m edgeexport.bench end to end on a tiny exported card, with torch made unimportable."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeexport import cards
from edgeexport.bench import SCHEMA, report
from edgeexport.export import pipeline

REPO = Path(__file__).resolve().parent.parent
SHORT = ["--min-runs", "5", "--min-time", "0.1", "--warmup-runs", "1", "--warmup-time", "0", "--threads", "1"]
# A meta-path finder in a sitecustomize: every Python started with this folder on PYTHONPATH (the
# harness's children too) fails to import the listed packages.
BLOCKER = """
import os, sys
_BLOCKED = tuple(m for m in os.environ.get("EDGEEXPORT_TEST_BLOCK", "").split(",") if m)
class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BLOCKED:
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, _Blocker())
"""


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory, write_tiny_card: Callable) -> Path:
    """A tiny card exported by the real pipeline to ONNX and TFLite (fp32 only): ~40 s, slow tests only."""
    card_file = write_tiny_card(tmp_path_factory.mktemp("cards"), "tinybench", 32)
    root = tmp_path_factory.mktemp("artifacts")
    options = pipeline.ExportOptions(formats=("onnx", "tflite"), precisions=("fp32",), root=root)
    pipeline.export(cards.load_card_file(card_file), options, log=lambda m: None)
    return root


@pytest.fixture(scope="session")
def blocker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("blocker")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    return folder


def bench(*args: str, block: str = "", path: Path | None = None, cwd: Path | None = None, **kw: str):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(kw)
    if path is not None:
        env["PYTHONPATH"] = str(path)
        env["EDGEEXPORT_TEST_BLOCK"] = block
    return subprocess.run(
        [sys.executable, "-m", "edgeexport.bench", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def test_unknown_runtime_is_one_line_with_a_suggestion() -> None:
    out = bench("--runtime", "nosuch")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert "no runtime 'nosuch'" in out.stderr
    close = bench("--runtime", "onnxrutime")
    assert close.returncode == 2 and "did you mean 'onnxruntime'?" in close.stderr


@pytest.mark.skipif(platform.system() == "Darwin", reason="Core ML runs on macOS")
def test_coreml_off_macos_says_why_and_exits_0(onnx_root: Path) -> None:
    out = bench("--runtime", "coreml", "--artifacts", str(onnx_root))
    assert out.returncode == 0
    assert out.stdout.strip() == "coreml: unavailable: Core ML prediction needs macOS"


def test_nothing_exported_points_at_make_export(tmp_path: Path) -> None:
    out = bench("--runtime", "onnxruntime", "--artifacts", str(tmp_path))
    assert out.returncode == 1
    assert "make export MODEL=" in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="session")
def no_torch_run(onnx_root: Path, blocker: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("run")
    out = bench(
        "--runtime", "onnxruntime", "--artifacts", str(onnx_root), "--results-dir", str(tmp / "results"),
        "--json", str(tmp / "r.json"), "--csv", str(tmp / "r.csv"), *SHORT,
        block="torch,torchvision", path=blocker,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert len(list((tmp / "results").glob("*-onnxruntime.json"))) == 1
    assert (tmp / "r.csv").read_text().startswith("card,artifact,runtime,status")
    return json.loads((tmp / "r.json").read_text())


def test_bench_runs_with_torch_unimportable(no_torch_run: dict) -> None:
    by_id = {r["artifact"]: r for r in no_torch_run["results"]}
    assert set(by_id) == {"onnx_fp32"}
    r = by_id["onnx_fp32"]
    assert r["status"] == "ok", r["reason"]
    assert r["parity"]["passed"] and r["parity"]["limits"] == {"max_abs": 1e-4, "cosine": 0.99999}
    assert r["accuracy"]["top1"] == 0.75 and r["accuracy"]["n"] == 4  # labels: 3 of 4 agree with the model
    assert r["accuracy"]["reference_top1"] == 0.75


def test_result_json_schema(no_torch_run: dict) -> None:
    doc = no_torch_run
    assert doc["schema"] == SCHEMA
    assert set(report.DOC_KEYS) <= set(doc)
    env = doc["environment"]
    assert {"cpu", "os", "python", "packages", "threads", "emulated"} <= set(env)
    assert env["emulated"] is False and env["threads"] == 1
    assert isinstance(env["cpu"]["features"], dict)
    for r in doc["results"]:
        assert set(report.RESULT_KEYS) <= set(r)
        lat = r["latency_ms"]
        for key in ("mean", "std", "min", "p50", "p90", "p99", "max", "cv"):
            assert isinstance(lat[key], float)
        assert lat["n"] == len(r["samples_ns"]) >= 5 and all(isinstance(s, int) for s in r["samples_ns"])
        assert lat["min"] <= lat["p50_ci95"][0] <= lat["p50"] <= lat["p50_ci95"][1] <= lat["max"]
        mem = r["memory"]
        assert mem["source"] and mem["peak_bytes"] > 0 and mem["resident_bytes"] > 0
        assert {"import_s", "load_s", "first_inference_ms"} <= set(r["timing"])
        assert r["emulated_timing"] is None and r["sha256_verified"] is True


def test_emulated_run_reports_no_latency(onnx_root: Path, tmp_path: Path) -> None:
    out = bench(
        "--runtime", "onnxruntime", "--artifacts", str(onnx_root), "--artifact", "onnx_fp32",
        "--results-dir", str(tmp_path), "--json", str(tmp_path / "e.json"), *SHORT,
        EDGEEXPORT_EMULATED_CPU="neoverse-n1",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["environment"]["emulated"] and doc["environment"]["emulated_cpu"] == "neoverse-n1"
    (r,) = doc["results"]
    assert r["latency_ms"] is None and r["timing"] is None
    assert r["emulated_timing"]["latency_ms"]["n"] >= 5


def test_compare_cli(no_torch_run: dict, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(no_torch_run))
    out = bench("compare", str(tmp_path / "a.json"), str(tmp_path / "a.json"))
    assert out.returncode == 0, out.stderr
    assert "onnx_fp32" in out.stdout and "no significant difference" in out.stdout


@pytest.mark.slow
def test_bundle_runs_from_its_own_folder(tiny_root: Path, blocker: Path, tmp_path: Path) -> None:
    made = bench(
        "bundle", "--model", "tinybench", "--artifacts", str(tiny_root), "--out", str(tmp_path / "b.tgz")
    )
    assert made.returncode == 0, made.stderr
    out = bench("unpack", str(tmp_path / "b.tgz"), "--into", str(tmp_path / "device"))
    assert out.returncode == 0, out.stderr
    top = tmp_path / "device" / "edgeexport-bench-tinybench"
    assert (top / "artifacts" / "tinybench" / "reference.npz").exists()
    assert not (top / "edgeexport" / "pipeline.py").exists()
    run = bench("--runtime", "all", *SHORT, "--profile", block="torch,rich,psutil", path=blocker, cwd=top)
    assert run.returncode == 0, run.stderr
    (result,) = (top / "benchmarks" / "results").glob("*-all.json")
    doc = json.loads(result.read_text())
    # --profile from the bundle, torch blocked: every artifact's runtime says where its time goes
    assert all(r["profile"]["source"] in ("onnxruntime profiler", "litert op list after delegation")
               for r in doc["results"]), [r["profile"] for r in doc["results"]]  # fmt: skip
    assert "off the fast path:" in run.stdout
    assert doc["settings"]["artifacts_root"] == str(top / "artifacts")
    manifest = json.loads((tiny_root / "tinybench" / "manifest.json").read_text())
    shipped = {a["id"] for a in manifest["artifacts"] if a["status"] != "failed"}  # failed ones stay home
    assert {p.name for p in (top / "artifacts" / "tinybench").glob("tinybench.*")} == {
        a["file"] for a in manifest["artifacts"] if a["id"] in shipped
    }
    assert {r["artifact"] for r in doc["results"]} == shipped
    assert all(r["status"] == "ok" for r in doc["results"])
    # A board that has torch installed: the default runtimes still run to exit 0 (the torch runtime never
    # reaches for the zoo; without --include-torch there is no .pt2 for it to run).
    with_torch = bench(*SHORT, cwd=top)
    assert with_torch.returncode == 0, with_torch.stderr


@pytest.mark.slow
def test_litert_and_onnxruntime_on_a_real_export(tiny_root: Path, blocker: Path, tmp_path: Path) -> None:
    out = bench(
        "--runtime", "all", "--artifacts", str(tiny_root), "--no-xnnpack", "--results-dir", str(tmp_path),
        "--json", str(tmp_path / "r.json"), *SHORT, block="torch", path=blocker,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert {r["artifact"]: r["runtime"] for r in doc["results"]} == {
        "onnx_fp32": "onnxruntime", "onnx_fp32_sim": "onnxruntime", "tflite_fp32": "litert",
    }  # fmt: skip
    assert {r["options"].get("xnnpack") for r in doc["results"] if r["runtime"] == "litert"} == {False}
    for r in doc["results"]:  # a miss is fine only where export already failed the artifact
        assert r["status"] == "ok" or r["manifest_status"] == "failed", r
