"""``python -m edgeexport.bench FILE ...``: model files the exporter did not write (tests/foreign_models.py):
several outputs, float/int8/uint8 inputs, NHWC against NCHW, dynamic dimensions, given inputs and
references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from foreign_models import BIAS, GAIN, onnx_two_outputs, tflite_two_outputs
from onnx import TensorProto

from edgeexport.bench import report
from edgeexport.bench.__main__ import main
from edgeexport.bench.files import TOLERANCES
from edgeexport.spec import Tolerance

QUICK = ["--min-runs", "5", "--min-time", "0.05", "--warmup-runs", "1", "--warmup-time", "0"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("foreign")
    x = np.random.default_rng(1).normal(size=(3, 1, 3, 4, 4)).astype(np.float32)
    b, g = BIAS.reshape(1, 3, 1, 1), GAIN.reshape(1, 3, 1, 1)
    np.savez(d / "inputs.npz", image=x)
    np.savez(d / "right.npz", sum=x + b, product=x * g)
    np.savez(d / "wrong.npz", sum=x + b, product=x * g + 1)
    return {
        "onnx": onnx_two_outputs(d / "two.onnx"),
        "dynamic": onnx_two_outputs(d / "dynamic.onnx", batch="N"),
        "uint8": onnx_two_outputs(d / "uint8.onnx", dtype=TensorProto.UINT8),
        "tflite": tflite_two_outputs(d / "two.tflite"),
        "int8": tflite_two_outputs(d / "int8.tflite", int8=True),
        "inputs": d / "inputs.npz",
        "right": d / "right.npz",
        "wrong": d / "wrong.npz",
    }


def bench(tmp_path: Path, *args: object) -> tuple[int, dict | None]:
    out = tmp_path / "result.json"
    out.unlink(missing_ok=True)
    code = main([*map(str, args), *QUICK, "--results-dir", str(tmp_path / "results"), "--json", str(out)])
    return code, (report.load_json(out) if out.exists() else None)


def by_file(doc: dict) -> dict[str, dict]:
    return {r["artifact"]: r for r in doc["results"]}


def test_files_without_a_reference_are_measured_not_judged(files: dict, tmp_path: Path) -> None:
    code, doc = bench(tmp_path, files["onnx"], files["tflite"], files["uint8"])
    assert code == 0
    assert set(report.DOC_KEYS) <= set(doc)
    for r in doc["results"]:
        assert set(report.RESULT_KEYS) <= set(r)
        assert r["status"] == "not judged" and "--reference" in r["reason"]
        assert r["latency_ms"]["n"] >= 5 and r["memory"]["peak_bytes"] > 0
        assert r["inputs"] == {"from": "random", "samples": 8} and r["sha256"]
    assert {r["runtime"] for r in doc["results"]} == {"onnxruntime", "litert"}


def test_nhwc_tflite_against_nchw_onnx_on_the_same_inputs(files: dict, tmp_path: Path) -> None:
    code, doc = bench(tmp_path, files["tflite"], "--against", files["onnx"])
    (r,) = doc["results"]
    assert code == 0 and r["status"] == "ok", r["reason"]
    assert r["parity"]["against"] == "two.onnx (onnxruntime)" and r["parity"]["max_abs"] < 1e-6


def test_int8_io_file_is_judged_by_the_tolerance_asked_for(files: dict, tmp_path: Path) -> None:
    code, doc = bench(tmp_path, files["int8"], "--against", files["onnx"])
    (r,) = doc["results"]
    assert code == 1 and r["status"] == "parity miss" and "--tolerance int8" in r["reason"]
    assert r["parity"]["cosine"] > 0.999  # int8 on the file's own grid: close, not fp32-exact
    code, doc = bench(tmp_path, files["int8"], "--against", files["onnx"], "--tolerance", "int8")
    assert code == 0 and doc["results"][0]["status"] == "ok"


def test_given_inputs_and_reference(files: dict, tmp_path: Path) -> None:
    code, doc = bench(tmp_path, files["onnx"], "--inputs", files["inputs"], "--reference", files["right"])
    (r,) = doc["results"]
    assert code == 0 and r["status"] == "ok" and r["parity"]["n"] == 3
    assert r["inputs"]["samples"] == 3 and r["parity"]["against"] == "right.npz"
    code, doc = bench(tmp_path, files["onnx"], "--inputs", files["inputs"], "--reference", files["wrong"])
    assert code == 1 and doc["results"][0]["status"] == "parity miss"


def test_a_dynamic_dimension_names_the_flag_that_fixes_it(
    files: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = bench(tmp_path, files["dynamic"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and doc is None
    assert err == [
        "error: dynamic.onnx: input 'image' has a dynamic dimension (shape [-1, 3, 4, 4]); "
        "fix it with --shape image=1,3,4,4"
    ]
    code, doc = bench(tmp_path, files["dynamic"], "--shape", "image=1,3,4,4", "--against", files["tflite"])
    assert code == 0 and doc["results"][0]["status"] == "ok"


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--reference", "right"], "--reference needs the --inputs"),
        (["--runtime", "litert"], "a .onnx file runs on onnxruntime, not --runtime litert"),
        (["--model", "x"], "with model files, name the files only"),
        (["--shape", "image=1,x"], "expected NAME=D,D,..."),
    ],
)
def test_usage_errors(
    files: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    extra = [str(files.get(e, e)) for e in extra]
    assert bench(tmp_path, files["onnx"], *extra) == (2, None)
    assert says in capsys.readouterr().err


def test_not_a_model_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"not read")
    assert bench(tmp_path, weights) == (2, None)
    assert "reads .onnx and .tflite files, not .pt" in capsys.readouterr().err


def test_tolerances_are_the_exporters() -> None:
    t = Tolerance()
    assert TOLERANCES["fp32"] == {"max_abs": t.fp32_max_abs, "cosine": t.fp32_cosine}
    assert TOLERANCES["fp16"] == {"cosine": t.fp16_cosine}
    assert TOLERANCES["w8"] == {"cosine_mean": t.w8_cosine}
    assert TOLERANCES["int8"] == {"cosine_mean": t.int8_cosine}
    assert json.dumps(TOLERANCES["none"]) == "{}"
