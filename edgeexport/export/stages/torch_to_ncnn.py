"""PyTorch -> ncnn through pnnx: ``model.ncnn.param`` + ``model.ncnn.bin``, one artifact (a folder holding
the pair), fp32 weights and fp16 weights.

Route: ``torch.jit.trace`` -> TorchScript -> the ``pnnx`` binary from the pnnx wheel, run here as a
subprocess. TorchScript is the input pnnx is built around (its ONNX reader is newer and covers less), and
running the binary ourselves rather than ``pnnx.convert`` is what lets a failure be seen: ``pnnx.convert``
ignores the subprocess's exit code, and pnnx writes every output beside its input, so it runs in a private
temporary folder with each output named, and only the ncnn pair is kept.

- ``ncnn_fp32``: fp32 weights (``fp16=0``), judged with ncnn's fp16/bf16 storage and arithmetic off.
- ``ncnn_fp16``: fp16 weights (pnnx's default ``fp16=1``), judged with ncnn's defaults (fp16 storage, and
  fp16 arithmetic on CPUs that have it): what an Android app gets unless it changes ``net.opt``.
Both record the options they were judged with in ``config.runtime_options``; the bench runs them the same way.
ncnn's int8 tools (ncnn2table, ncnn2int8) are in no wheel: there is no ncnn int8 artifact.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeexport.artifact import Precision
from edgeexport.errors import ConversionError
from edgeexport.export.stages import Variant, versions
from edgeexport.runtimes.ncnn import BIN, PARAM

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "torch_to_ncnn"
VERSION = "1"
SRC = "torch"
DST = "ncnn"
PNNX_TIMEOUT_S = 900


def tools() -> dict[str, str]:
    return versions("torch", "pnnx")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    return [
        Variant(
            "ncnn_fp32",
            Precision("float32", "float32"),
            {"converter": "pnnx (TorchScript)", "fp16_weights": False, "runtime_options": {"fp16": False}},
            ext=".ncnn",
        ),
        Variant(
            "ncnn_fp16",
            Precision("float16", "float16"),
            {"converter": "pnnx (TorchScript)", "fp16_weights": True, "runtime_options": {"fp16": True}},
            ext=".ncnn",
        ),
    ]


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    import torch

    with tempfile.TemporaryDirectory(prefix="edgeexport-pnnx-") as work:
        folder = Path(work)
        with torch.no_grad():
            traced = torch.jit.trace(ctx.model_for(variant.id), (ctx.example,))
        traced.save(str(folder / "model.pt"))
        param, weights = _pnnx(folder, list(ctx.example.shape), bool(variant.config["fp16_weights"]))
        out.mkdir()
        param.replace(out / PARAM)
        weights.replace(out / BIN)
    return {"layers": layer_histogram(out / PARAM), "converter": "pnnx (TorchScript)"}


def _pnnx(folder: Path, shape: list[int], fp16: bool) -> tuple[Path, Path]:
    import pnnx

    named = {key: folder / name for key, name in (
        ("ncnnparam", PARAM), ("ncnnbin", BIN), ("pnnxparam", "model.pnnx.param"),
        ("pnnxbin", "model.pnnx.bin"), ("pnnxpy", "model_pnnx.py"), ("pnnxonnx", "model.pnnx.onnx"),
        ("ncnnpy", "model_ncnn.py"),
    )}  # fmt: skip
    command = [
        pnnx.EXEC_PATH,
        str(folder / "model.pt"),
        "inputshape=[" + ",".join(str(d) for d in shape) + "]f32",
        f"fp16={int(fp16)}",
        *(f"{key}={path}" for key, path in named.items()),
    ]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=PNNX_TIMEOUT_S)
    print(done.stdout, done.stderr, sep="\n", flush=True)  # into the stage's log
    tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
    if done.returncode != 0:
        raise ConversionError(f"pnnx exited with code {done.returncode}: {tail}")
    param, weights = named["ncnnparam"], named["ncnnbin"]
    for f in (param, weights):
        if not f.is_file() or f.stat().st_size == 0:
            raise ConversionError(f"pnnx exited 0 but wrote no {f.name}: {tail}")
    return param, weights


def layer_histogram(param: Path) -> dict[str, int]:
    """ncnn layer type -> count, from the .param text (magic line, counts line, then one layer a line)."""
    lines = param.read_text().splitlines()[2:]
    return dict(Counter(line.split()[0] for line in lines if line.strip()).most_common())
