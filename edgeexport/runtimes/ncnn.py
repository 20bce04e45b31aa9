"""ncnn: runs a ``.ncnn`` artifact, a folder holding the pair pnnx writes (``model.ncnn.param``, the graph as
text, and ``model.ncnn.bin``, the weights), through the ``ncnn`` wheel's ``Net`` and ``Extractor``.

Precision is an option, set and recorded: ncnn's defaults store (and on ARMv8.2+ compute) in fp16, and in bf16
where the CPU has it, even for an fp32 file (max diff ~8e-4 against PyTorch on x86, ~1e-6 with them off).
``fp16=False`` turns every reduced-precision storage and arithmetic off; ``fp16=True`` keeps ncnn's defaults.
Export records which one an artifact was judged with (``config.runtime_options``) and the bench uses it.

``ncnn.Mat(array)`` wraps the array's memory without copying it: every array handed to ncnn is kept alive
until its extraction is done, and outputs are copied out before the extractor goes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PARAM, BIN = "model.ncnn.param", "model.ncnn.bin"
REDUCED = ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage")


class NcnnLoadError(Exception):
    """An ncnn artifact that is missing a file or that ncnn refuses."""


def unavailable() -> str | None:
    try:
        import ncnn  # noqa: F401
    except ImportError as error:
        return f"ncnn is not installed ({error}); pip install ncnn"
    return None


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("ncnn")


def files(folder: str | Path) -> tuple[Path, Path]:
    """The (param, bin) pair of an ncnn artifact folder."""
    root = Path(folder)
    return root / PARAM, root / BIN


class NcnnSession:
    def __init__(self, path: str, threads: int, fp16: bool = False) -> None:
        import ncnn

        param, weights = files(path)
        for f in (param, weights):
            if not f.is_file():
                raise NcnnLoadError(f"{path}: {f.name} is missing (an ncnn artifact is a folder with {PARAM} "
                                    f"and {BIN})")  # fmt: skip
        self._net = net = ncnn.Net()
        net.opt.use_vulkan_compute = False
        net.opt.num_threads = threads
        if not fp16:
            for name in REDUCED:
                setattr(net.opt, name, False)
        if net.load_param(str(param)) != 0:
            raise NcnnLoadError(f"{param}: ncnn cannot parse this graph")
        if net.load_model(str(weights)) != 0:
            raise NcnnLoadError(f"{weights}: ncnn cannot read these weights (not {param.name}'s?)")
        self.settings = {"num_threads": threads, **{n: bool(getattr(net.opt, n)) for n in REDUCED}}
        self.input_names = list(net.input_names())
        self.output_names = list(net.output_names())
        self._ncnn = ncnn

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Batch N inputs run as N extractions (an ncnn Mat has no batch axis); outputs get it back."""
        batch = inputs[0].shape[0]
        per_image: list[list[np.ndarray]] = []
        for b in range(batch):
            kept = [np.ascontiguousarray(x[b], dtype=np.float32) for x in inputs]  # alive while ncnn reads
            extractor = self._net.create_extractor()
            for name, array in zip(self.input_names, kept, strict=True):
                extractor.input(name, self._ncnn.Mat(array))
            outs = []
            for name in self.output_names:
                code, mat = extractor.extract(name)
                if code != 0:
                    raise RuntimeError(f"ncnn: extracting {name} failed (code {code})")
                outs.append(np.array(mat, dtype=np.float32, copy=True))
            del extractor
            per_image.append(outs)
        return [np.stack([image[i] for image in per_image]) for i in range(len(self.output_names))]

    def describe(self) -> list[dict[str, Any]]:
        """Each input: name, shape unknown (-1: a .param's Input layer need not say), float32."""
        return [
            {"name": n, "shape": [-1], "dtype": "float32", "quantization": None} for n in self.input_names
        ]


def load(path: str, threads: int, **options: Any) -> NcnnSession:
    return NcnnSession(path, threads, fp16=bool(options.get("fp16", False)))
