"""The exit-code contract of every command: 0 ok; 1 something failed or missed its gate; 2 a usage error
only. Each case is the real command in a fresh process, with its one-line message checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_CARD


def tiny(name: str, extra: str = "") -> str:
    """conftest's tiny MobileNetV3-Small card at 32x32, with ``extra`` TOML sections."""
    return TINY_CARD.format(name=name, size=32) + extra


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd)


def one_line(out: subprocess.CompletedProcess[str], *words: str) -> None:
    """The error is one line, ``error: ...`` (after progress lines, or argparse's usage line)."""
    lines = out.stderr.strip().splitlines()
    last = lines[-1] if lines else ""
    assert last.startswith(("error:", "python -m edgeexport")) and "error:" in last, out.stderr
    assert "Traceback" not in out.stderr
    for word in words:
        assert word in out.stderr, (word, out.stderr)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["edgeexport", "export"], ["name a model card"]),
        (["edgeexport", "export", "mobilenetv3_smal"], ["did you mean 'mobilenetv3_small'"]),
        (["edgeexport", "export", "a", "--model", "b"], ["two model cards"]),
        (["edgeexport", "export", "mobilenetv3_small", "--formats", "tflight"], ["did you mean 'tflite'"]),
        (["edgeexport", "export", "mobilenetv3_small", "--threads", "0"], ["threads must be >= 1"]),
        (["edgeexport", "doctor"], ["name a model card"]),
        (["edgeexport", "train"], ["name a model card"]),
        (["edgeexport", "train", "--model", "nosuch_card"], ["no model card 'nosuch_card'"]),
        (["edgeexport", "list", "--jsn"], ["unrecognized arguments"]),
        (["edgeexport", "nosuch"], ["invalid choice"]),
        (["edgeexport.bench", "--runtime", "onnxrutime"], ["did you mean 'onnxruntime'"]),
        (["edgeexport.bench", "--threads", "0"], ["--threads must be >= 1"]),
        (["edgeexport.bench", "compare", "missing-a.json", "missing-b.json"], ["cannot read a bench result"]),
        (["edgeexport.bench", "unpack", "missing.tar.gz"], ["missing.tar.gz: no such file"]),
    ],
)
def test_usage_errors_exit_2(argv: list[str], words: list[str], tmp_path: Path) -> None:
    out = run(*argv, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    one_line(out, *words)


def test_failures_exit_1(tmp_path: Path) -> None:
    nothing = run("edgeexport.bench", "--runtime", "onnxruntime", cwd=tmp_path)
    assert nothing.returncode == 1 and "make export MODEL=" in nothing.stderr
    no_export = run("edgeexport", "doctor", "--model", "mobilenetv3_small", cwd=tmp_path)
    assert no_export.returncode == 1, no_export.stderr
    one_line(no_export, "no export of 'mobilenetv3_small'")
    bundle = run("edgeexport.bench", "bundle", cwd=tmp_path)
    assert bundle.returncode == 1 and "no exported model" in bundle.stderr
    (tmp_path / "nodata.toml").write_text(tiny("nodata", '[data]\ncalibration = "folder:/no/such"'))
    data = run("edgeexport", "export", "nodata.toml", "--formats", "onnx", cwd=tmp_path)
    assert data.returncode == 1, data.stderr  # data that cannot be read is a failure, not a usage error
    one_line(data, "/no/such")


def test_export_exits_1_when_an_artifact_misses_its_gate(tmp_path: Path) -> None:
    (tmp_path / "strict.toml").write_text(tiny("strict", "[tolerance]\nfp32_max_abs = 1e-30"))
    out = run("edgeexport", "export", "strict.toml", "--formats", "onnx", "--precisions", "fp32", "--json",
              cwd=tmp_path)  # fmt: skip
    assert out.returncode == 1, out.stderr
    (doc,) = json.loads(out.stdout)
    assert doc["failed"] == ["onnx_fp32", "onnx_fp32_sim"]
    arts = {a["id"]: a for a in doc["artifacts"]}
    assert arts["onnx_fp32"]["status"] == "failed" and "max_abs" in arts["onnx_fp32"]["reason"]
    ok = run("edgeexport", "export", "--model", "strict.toml", "--formats", "pt2", "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr  # the eager .pt2 computes exactly what PyTorch does
    short = ("--min-runs", "3", "--min-time", "0", "--warmup-runs", "1", "--warmup-time", "0")
    bench = run(
        "edgeexport.bench", "--runtime", "torch", "--threads", "1", *short, "--json", "t.json", cwd=tmp_path
    )
    assert bench.returncode == 0, bench.stderr
    (r,) = json.loads((tmp_path / "t.json").read_text())["results"]
    assert (r["artifact"], r["runtime"], r["status"]) == ("pt2_fp32", "torch", "ok")


def test_help_exits_0_and_imports_no_torch() -> None:
    out = run("edgeexport", "--help")
    assert out.returncode == 0 and "export" in out.stdout
    code = "import sys; from edgeexport.__main__ import parser; parser(); print(sorted(sys.modules))"
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(probe.stdout.replace("'", '"'))
    assert not [m for m in loaded if m == "torch" or m.startswith(("torch.", "onnx", "numpy"))]


def _bench_json(root: Path, tmp: Path, *extra: str) -> tuple[int, dict]:
    out = run("edgeexport.bench", "--runtime", "onnxruntime", "--artifacts", str(root), "--results-dir",
              str(tmp / "results"), "--json", str(tmp / "r.json"), "--min-runs", "3", "--min-time", "0",
              "--warmup-runs", "1", "--warmup-time", "0", "--threads", "1", *extra)  # fmt: skip
    return out.returncode, json.loads((tmp / "r.json").read_text())


@pytest.mark.parametrize("fault", ["sha256", "timeout", "crash"])
def test_a_bench_run_that_breaks_exits_1_and_says_why(onnx_root: Path, tmp_path: Path, fault: str) -> None:
    import shutil

    root = tmp_path / "root"
    shutil.copytree(onnx_root, root)
    model = root / "handmade" / "handmade.onnx_fp32.onnx"
    extra: tuple[str, ...] = ()
    if fault == "sha256":
        model.write_bytes(model.read_bytes() + b"\0")  # changed after export
    elif fault == "timeout":
        extra = ("--timeout", "0.01")
    else:  # a file that is not a model, with its sha256 in the manifest: the harness's load fails
        model.write_bytes(b"not an onnx model")
        manifest = json.loads((root / "handmade" / "manifest.json").read_text())
        from edgeexport.artifact import sha256_path

        manifest["artifacts"][0]["sha256"] = sha256_path(model)
        (root / "handmade" / "manifest.json").write_text(json.dumps(manifest))
    code, doc = _bench_json(root, tmp_path, *extra)
    (r,) = doc["results"]
    expected = {"sha256": "sha256 mismatch", "timeout": "timeout", "crash": ("error", "crashed")}[fault]
    assert code == 1 and r["status"] in expected and r["reason"], r


def test_train_writes_weights_a_card_can_load(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / cls / f"{i}.png"
            )
    (tmp_path / "tiny.toml").write_text(tiny("tiny"))
    data = f"folder:{tmp_path / 'imgs'}"
    budget = ("--steps", "3", "--batch", "4", "--warmup", "1", "--threads", "1")
    out = run(
        "edgeexport", "train", "--model", "tiny.toml", "--data", data, *budget, "--out", "w.pt", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    record = json.loads((tmp_path / "w.json").read_text())
    assert record["steps"] == 3 and 0.0 <= record["test_top1"] <= 1.0
    assert len(record["sha256"]) == 64
