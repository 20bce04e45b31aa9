"""Runtime adapters, one file each, one shape: ``load(path, threads) -> session``; ``session.run(inputs)``.

Device-side code: adapters import numpy and their own runtime only. Two runtimes need torch itself and say so
(``needs_torch``): ``torch``, which runs a ``.pt2`` file, and ``executorch``, whose Python runtime links
libtorch. Neither ever imports the zoo.
An adapter whose package is missing reports why via ``unavailable()``; nothing is installed at run time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from edgeexport.errors import RuntimeUnavailable
from edgeexport.registry import Registry


class Session(Protocol):
    input_names: list[str]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]: ...

    def describe(self) -> list[dict[str, Any]]: ...  # name, shape (-1: dynamic), dtype, quantization


@dataclass(frozen=True)
class RuntimeInfo:
    name: str
    module: str  # edgeexport.runtimes.<module>
    formats: tuple[str, ...]  # artifact formats it runs
    needs_torch: bool = False  # its runtime package imports torch (a board must install it)


RUNTIMES: Registry[RuntimeInfo] = Registry("runtime")
for _info in (
    RuntimeInfo("onnxruntime", "onnxruntime", ("onnx",)),
    RuntimeInfo("litert", "litert", ("tflite",)),
    RuntimeInfo("coreml", "coreml", ("mlpackage",)),
    RuntimeInfo("torch", "torch_eager", ("pt2",), needs_torch=True),
    RuntimeInfo("executorch", "executorch", ("pte",), needs_torch=True),
    RuntimeInfo("ncnn", "ncnn", ("ncnn",)),
):
    RUNTIMES.add(_info.name, _info)


def adapter(name: str) -> Any:
    return importlib.import_module(f"edgeexport.runtimes.{RUNTIMES.get(name).module}")


def unavailable(name: str) -> str | None:
    """None when the runtime can run here, else the reason it cannot."""
    return adapter(name).unavailable()  # type: ignore[no-any-return]


def load(name: str, path: str, threads: int, **options: Any) -> Session:
    reason = unavailable(name)
    if reason:
        raise RuntimeUnavailable(f"{name}: unavailable: {reason}")
    return adapter(name).load(path, threads, **options)  # type: ignore[no-any-return]


def artifact_options(config: dict[str, Any] | None) -> dict[str, Any]:
    """The adapter options an artifact was judged with at export (its manifest ``config.runtime_options``,
    e.g. ncnn's ``fp16``): every later run of it (bench, parity, predict) loads it the same way."""
    return dict((config or {}).get("runtime_options") or {})


def runtime_for(fmt: str) -> str | None:
    for name in RUNTIMES.names():
        if fmt in RUNTIMES.get(name).formats:
            return name
    return None
