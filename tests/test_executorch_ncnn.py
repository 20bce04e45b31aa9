"""ExecuTorch and ncnn: what the registry-driven parity matrix does not cover by itself.

- ExecuTorch: a file that is not a program is refused before ExecuTorch sees it (ExecuTorch 1.4 can abort
  the process on one); a program that converts but cannot load (an operator the runtime lacks) fails at
  load with its error named, and fails export through the parity gate; the delegation report is recorded.
- ncnn: an artifact is a pair of files kept as one (folder): one sha256 over both, a change to either is
  a mismatch, the cache and the bundle carry both; pnnx's exit code is checked; ncnn's precision options
  are set from the manifest and recorded; ncnn reads arrays the adapter keeps alive.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgeexport import cards, runtimes
from edgeexport.artifact import sha256_path
from edgeexport.errors import ConversionError
from edgeexport.export import pipeline

pytest.importorskip("executorch")
pytest.importorskip("ncnn")
from edgeexport.runtimes import executorch as et_runtime
from edgeexport.runtimes import ncnn as ncnn_runtime

SHORT = ["--min-runs", "5", "--min-time", "0.1", "--warmup-runs", "1", "--warmup-time", "0", "--threads", "1"]
CUSTOM_OP = """
import sys, torch
lib = torch.library.Library("edgeexport_test", "DEF")
lib.define("twice(Tensor x) -> Tensor")
lib.define("twice.out(Tensor x, *, Tensor(a!) out) -> Tensor(a!)")
lib.impl("twice", lambda x: x * 2, "CompositeExplicitAutograd")
lib.impl("twice.out", lambda x, *, out: out.copy_(x * 2), "CompositeExplicitAutograd")
class M(torch.nn.Module):
    def forward(self, x):
        return torch.ops.edgeexport_test.twice(x) + 1
from executorch.exir import EdgeCompileConfig, to_edge
program = to_edge(torch.export.export(M(), (torch.randn(1, 3),)),
                  compile_config=EdgeCompileConfig(_check_ir_validity=False)).to_executorch()
open(sys.argv[1], "wb").write(program.buffer)
"""


@pytest.fixture(scope="module")
def unloadable_pte(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real .pte calling a custom operator that ExecuTorch's runtime has no kernel for."""
    path = tmp_path_factory.mktemp("pte") / "custom_op.pte"
    made = subprocess.run([sys.executable, "-c", CUSTOM_OP, str(path)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-2000:]
    return path


@pytest.mark.parametrize(
    "content", [b"", b"\x00" * 7, bytes(range(256)) * 4, b"PK\x03\x04 this is a zip, not a program"]
)
def test_executorch_refuses_a_file_that_is_not_a_program(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pte"
    path.write_bytes(content)
    with pytest.raises(et_runtime.ProgramLoadError, match="not an ExecuTorch program"):
        et_runtime.load(str(path), 1)


@pytest.mark.slow
def test_executorch_names_the_missing_operator_error(unloadable_pte: Path) -> None:
    named = r"0x:?14 \(OperatorMissing.*Missing operator: .*edgeexport_test::twice"
    with pytest.raises(et_runtime.ProgramLoadError, match=named):
        et_runtime.load(str(unloadable_pte), 1)


@pytest.mark.slow
def test_a_program_that_cannot_load_fails_export(
    unloadable_pte: Path, tmp_path: Path, write_tiny_card: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The converter "succeeds" (writes a real program) but ExecuTorch cannot load it: export fails it."""
    from edgeexport.export.stages import torch_to_executorch

    def writes_the_unloadable(ctx: Any, variant: Any, parent: Any, out: Path) -> dict[str, Any]:
        out.write_bytes(unloadable_pte.read_bytes())
        return {}

    monkeypatch.setattr(torch_to_executorch, "run", writes_the_unloadable)
    card = cards.load_card_file(write_tiny_card(tmp_path, "unloadable", 32))
    options = pipeline.ExportOptions(formats=("executorch",), precisions=("fp32",), root=tmp_path / "a")
    art = pipeline.export(card, options, log=lambda m: None).artifacts["executorch_fp32"]
    assert art.status == "failed"
    assert "OperatorMissing" in (art.reason or ""), art.reason


@pytest.mark.slow
def test_the_delegation_report_is_recorded() -> None:
    """From the parity matrix's export of the default card (shared, cached): what XNNPACK took and left."""
    from test_parity_matrix import exported

    _, manifest = exported("mobilenetv3_small")
    arts = {a["id"]: a for a in manifest["artifacts"]}
    for artifact in ("executorch_fp32", "executorch_int8"):
        details = arts[artifact]["details"]
        assert arts[artifact]["status"] == "ok", arts[artifact]["reason"]
        assert details["delegate"] == "XNNPACK"
        assert details["partitions"] >= 1
        assert details["delegated_nodes"] > details["outside_delegate_nodes"]
        assert sum(details["outside_delegate"].values()) == details["outside_delegate_nodes"]
        assert "getitem" not in details["outside_delegate"]
    assert arts["executorch_int8"]["precision"]["granularity"] == "per-channel"


# --- ncnn ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ncnn_card(tmp_path_factory: pytest.TempPathFactory, write_tiny_card: Callable) -> cards.ModelCard:
    return cards.load_card_file(write_tiny_card(tmp_path_factory.mktemp("cards"), "tinyncnn", 32))


@pytest.fixture(scope="module")
def ncnn_root(ncnn_card: cards.ModelCard, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny card's ncnn artifacts (fp32 and fp16 weights), exported once for this module: ~10 s."""
    root = tmp_path_factory.mktemp("artifacts")
    pipeline.export(ncnn_card, pipeline.ExportOptions(formats=("ncnn",), root=root), log=lambda m: None)
    return root


def entries(folder: Path) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in json.loads((folder / "manifest.json").read_text())["artifacts"]}


def bench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "edgeexport.bench", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


@pytest.mark.slow
def test_an_ncnn_artifact_is_one_folder_holding_the_pair(ncnn_root: Path) -> None:
    folder = ncnn_root / "tinyncnn"
    arts = entries(folder)
    for artifact, fp16 in (("ncnn_fp32", False), ("ncnn_fp16", True)):
        entry = arts[artifact]
        assert entry["status"] == "ok", entry["reason"]
        path = folder / entry["file"]
        assert {p.name for p in path.iterdir()} == {ncnn_runtime.PARAM, ncnn_runtime.BIN}
        assert entry["sha256"] == sha256_path(path)
        assert entry["config"]["runtime_options"] == {"fp16": fp16}
        assert entry["details"]["layers"]["Convolution"] > 0
    fp32, fp16 = (folder / arts[a]["file"] / ncnn_runtime.BIN for a in ("ncnn_fp32", "ncnn_fp16"))
    assert 0.45 < fp16.stat().st_size / fp32.stat().st_size < 0.55  # fp16 weights: half the bytes


@pytest.mark.slow
def test_a_change_to_either_file_is_a_sha256_mismatch(ncnn_root: Path, tmp_path: Path) -> None:
    for name in (ncnn_runtime.PARAM, ncnn_runtime.BIN):
        root = tmp_path / name
        shutil.copytree(ncnn_root, root)
        path = root / "tinyncnn" / entries(root / "tinyncnn")["ncnn_fp32"]["file"] / name
        data = bytearray(path.read_bytes())
        data[-2] ^= 1
        path.write_bytes(bytes(data))
        out = bench("--runtime", "ncnn", "--artifacts", str(root), "--artifact", "ncnn_fp32",
                    "--results-dir", str(tmp_path / "r"), *SHORT)  # fmt: skip
        assert out.returncode == 1, out.stdout + out.stderr
        assert "sha256 mismatch" in out.stdout, out.stdout


@pytest.mark.slow
def test_reexport_reuses_the_pair_and_rewrites_it_when_half_is_gone(
    ncnn_card: cards.ModelCard, ncnn_root: Path, tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(ncnn_root, root)
    log: list[str] = []
    pipeline.export(ncnn_card, pipeline.ExportOptions(formats=("ncnn",), root=root), log=log.append)
    assert sum("(cached)" in line for line in log) == 2, log
    folder = root / "tinyncnn"
    (folder / entries(folder)["ncnn_fp16"]["file"] / ncnn_runtime.BIN).unlink()
    log.clear()
    pipeline.export(ncnn_card, pipeline.ExportOptions(formats=("ncnn",), root=root), log=log.append)
    assert [line for line in log if "(cached)" in line] == [line for line in log if "ncnn_fp32: ok" in line]
    assert not any("ncnn_fp16" in line and "(cached)" in line for line in log), log
    entry = entries(folder)["ncnn_fp16"]
    assert entry["status"] == "ok" and entry["sha256"] == sha256_path(folder / entry["file"])


@pytest.mark.slow
def test_the_bundle_carries_both_files_and_the_board_runs_them(ncnn_root: Path, tmp_path: Path) -> None:
    out = bench(
        "bundle", "--model", "tinyncnn", "--artifacts", str(ncnn_root), "--out", str(tmp_path / "b.tar.gz")
    )
    assert out.returncode == 0, out.stderr
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        names = tar.getnames()
    for artifact in ("ncnn_fp32", "ncnn_fp16"):
        for name in (ncnn_runtime.PARAM, ncnn_runtime.BIN):
            assert any(n.endswith(f"tinyncnn.{artifact}.ncnn/{name}") for n in names), names
    unpacked = bench("unpack", str(tmp_path / "b.tar.gz"), "--into", str(tmp_path / "board"))
    assert unpacked.returncode == 0, unpacked.stderr
    board = next((tmp_path / "board").iterdir())
    run = bench("--runtime", "ncnn", "--results-dir", str(tmp_path / "r"), "--json", str(tmp_path / "r.json"),
                *SHORT, cwd=board)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    results = {r["artifact"]: r for r in json.loads((tmp_path / "r.json").read_text())["results"]}
    assert {a: r["status"] for a, r in results.items()} == {"ncnn_fp32": "ok", "ncnn_fp16": "ok"}
    assert results["ncnn_fp16"]["options"]["fp16"] is True  # as export judged it
    assert results["ncnn_fp32"]["options"]["fp16"] is False


@pytest.mark.slow
def test_precision_options_are_set_and_readable(ncnn_root: Path) -> None:
    folder = ncnn_root / "tinyncnn"
    path = str(folder / entries(folder)["ncnn_fp32"]["file"])
    exact = runtimes.load("ncnn", path, 1)
    default = runtimes.load("ncnn", path, 1, fp16=True)
    assert not any(exact.settings[k] for k in ncnn_runtime.REDUCED)  # type: ignore[attr-defined]
    assert default.settings["use_fp16_storage"]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_ncnn_reads_arrays_that_stay_alive(ncnn_root: Path) -> None:
    """ncnn.Mat wraps memory without copying: inputs made on the fly (non-contiguous views, float64 that
    must be converted) still give PyTorch's outputs, twice in a row."""
    folder = ncnn_root / "tinyncnn"
    ref = np.load(folder / "reference.npz")
    session = runtimes.load("ncnn", str(folder / entries(folder)["ncnn_fp32"]["file"]), 1)
    x = ref["inputs"][:2]
    for made in (
        lambda: x.astype(np.float64),
        lambda: np.asfortranarray(x),
        lambda: x[:, :, ::-1, :][:, :, ::-1],
    ):
        for _ in range(2):
            out = session.run([made()])[0]
            np.testing.assert_allclose(out, ref["output_0"][:2].reshape(out.shape), atol=1e-4)


def test_a_pnnx_failure_is_a_conversion_error(tmp_path: Path) -> None:
    from edgeexport.export.stages import torch_to_ncnn

    (tmp_path / "model.pt").write_bytes(b"not torchscript")
    with pytest.raises(ConversionError, match=r"pnnx exited with code|pnnx exited 0 but wrote no"):
        torch_to_ncnn._pnnx(tmp_path, [1, 3, 32, 32], fp16=False)
