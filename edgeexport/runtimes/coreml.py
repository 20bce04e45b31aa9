"""Core ML: prediction needs macOS. Elsewhere this adapter only says why it cannot run."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

REASON = "Core ML prediction needs macOS"
PLATFORMS = ("Darwin",)  # platform.system() values it can run on: elsewhere no install helps


def unavailable() -> str | None:
    if platform.system() not in PLATFORMS:
        return REASON
    try:
        import coremltools  # noqa: F401
    except ImportError:
        return "coremltools is not installed; pip install coremltools"
    return None


def version() -> str:
    import coremltools as ct

    return str(ct.__version__)


class CoreMLSession:
    def __init__(self, path: str, threads: int) -> None:
        import coremltools as ct

        self._model = ct.models.MLModel(path, compute_units=ct.ComputeUnit.CPU_ONLY)
        spec = self._model.get_spec()
        self.input_names = [i.name for i in spec.description.input]
        self.output_names = [o.name for o in spec.description.output]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        result = self._model.predict(dict(zip(self.input_names, inputs, strict=True)))
        return [np.asarray(result[name], dtype=np.float32) for name in self.output_names]


def load(path: str, threads: int, **options: Any) -> CoreMLSession:
    return CoreMLSession(path, threads)
