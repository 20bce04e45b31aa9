"""Eager PyTorch as the reference point: runs a ``.pt2`` ExportedProgram written by export (``pt2_fp32``).

The one runtime that needs torch; it never needs the zoo, the cards or the data. ``torch.export.load``
unpickles parts of the archive with ``weights_only=False`` (custom objects, pickled weights, the sample
inputs' fallback), which could run code from a crafted file. So the archive is checked first: no AOTInductor
payload (compiled code), no pickled weight or constant, no custom or opaque object; and every ``torch.load``
made while loading is forced to ``weights_only=True``.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

# torch's TENSOR_CONSTANT_FILENAME_PREFIX; custom_obj_ and opaque_obj_ constants are refused
SAFE_CONSTANT_PREFIX = "tensor_"


class UnsafeProgramError(Exception):
    """A .pt2 archive that would need unpickling or compiled code to load."""


def unavailable() -> str | None:
    try:
        import torch  # noqa: F401
    except ImportError:
        return "torch is not installed (the eager reference needs it): pip install torch"
    return None


def version() -> str:
    import torch

    return str(torch.__version__)


def check_archive(path: str) -> None:
    """Raise UnsafeProgramError unless the archive loads from JSON and raw tensor bytes alone."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UnsafeProgramError(f"{path}: not a .pt2 archive") from None
    with archive:
        for name in archive.namelist():
            if "/aotinductor/" in name:
                raise UnsafeProgramError(f"{path}: holds compiled code ({name}); refusing to load it")
            if not name.endswith(("_weights_config.json", "_constants_config.json")):
                continue
            config = json.loads(archive.read(name)).get("config", {})
            for key, meta in config.items():
                if meta.get("use_pickle"):
                    raise UnsafeProgramError(f"{path}: {key} is pickled; refusing to unpickle it")
                if "constants" in name and not str(meta.get("path_name", "")).startswith(
                    SAFE_CONSTANT_PREFIX
                ):
                    raise UnsafeProgramError(f"{path}: constant {key} is a custom object; refusing it")


@contextlib.contextmanager
def _weights_only(torch: Any) -> Iterator[None]:
    real = torch.load

    def load(*args: Any, **kwargs: Any) -> Any:
        kwargs["weights_only"] = True
        return real(*args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = real


class TorchSession:
    def __init__(self, path: str, threads: int) -> None:
        import torch

        check_archive(path)
        torch.set_num_threads(threads)
        with _weights_only(torch):
            program = torch.export.load(path)
        self._torch = torch
        self._module = program.module()
        self.input_names = list(program.graph_signature.user_inputs)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        with self._torch.no_grad():
            out = self._module(*(self._torch.from_numpy(np.ascontiguousarray(i)) for i in inputs))
        outs = out if isinstance(out, tuple | list) else (out,)
        return [o.detach().numpy() for o in outs]


def load(path: str, threads: int, **options: Any) -> TorchSession:
    return TorchSession(path, threads)
