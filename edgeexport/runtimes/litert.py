"""LiteRT (TFLite) interpreter: ai-edge-litert, falling back to tflite_runtime where only that is installed.

XNNPACK is the default delegate; ``xnnpack=False`` uses the built-in kernels only, for comparison.
Quantized inputs/outputs (a scale is recorded) are (de)quantized here with the file's own scale and zero
point, so callers pass and get float32; integer tensors without a scale (ids) pass through as they are. An
NHWC input is fed NCHW data transposed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np


def interpreter_module() -> Any:
    """ai_edge_litert.interpreter, or tflite_runtime.interpreter on boards that ship only that."""
    try:
        from ai_edge_litert import interpreter

        return interpreter
    except ImportError:
        from tflite_runtime import interpreter  # older boards ship only this

        return interpreter


def op_histogram(path: Path | str) -> dict[str, int]:
    """How many of each op a .tflite file holds (read with the interpreter: no TensorFlow)."""
    interp = interpreter_module().Interpreter(model_path=str(path))
    counts = Counter(str(op["op_name"]) for op in interp._get_ops_details())
    return dict(sorted(counts.items()))


def io_dtypes(path: Path | str) -> dict[str, list[str]]:
    interp = interpreter_module().Interpreter(model_path=str(path))
    return {
        "inputs": [d["dtype"].__name__ for d in interp.get_input_details()],
        "outputs": [d["dtype"].__name__ for d in interp.get_output_details()],
    }


def unavailable() -> str | None:
    try:
        interpreter_module()
    except ImportError:
        return "neither ai-edge-litert nor tflite_runtime is installed; pip install ai-edge-litert"
    return None


def version() -> str:
    try:
        from importlib.metadata import version as v

        for dist in ("ai-edge-litert", "tflite-runtime"):
            try:
                return f"{dist} {v(dist)}"
            except Exception:
                continue
    except ImportError:
        pass
    return "unknown"


class LiteRTSession:
    def __init__(
        self, path: str, threads: int, xnnpack: bool = True, shapes: dict[str, list[int]] | None = None
    ) -> None:
        interp = interpreter_module()
        kwargs: dict[str, Any] = {"model_path": path, "num_threads": threads}
        if not xnnpack:
            kwargs["experimental_op_resolver_type"] = interp.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        self._interp = interp.Interpreter(**kwargs)
        for detail in self._interp.get_input_details():
            if shapes and detail["name"] in shapes:
                self._interp.resize_tensor_input(detail["index"], shapes[detail["name"]], strict=True)
        self._interp.allocate_tensors()
        self._inputs = self._interp.get_input_details()
        self._outputs = self._interp.get_output_details()
        self.input_names = [d["name"] for d in self._inputs]
        self.input_dtypes = [np.dtype(d["dtype"]).name for d in self._inputs]
        self.output_dtypes = [np.dtype(d["dtype"]).name for d in self._outputs]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for detail, value in zip(self._inputs, inputs, strict=True):
            shape = tuple(detail["shape"])
            if value.shape != shape and value.ndim == 4 and value.transpose(0, 2, 3, 1).shape == shape:
                value = value.transpose(0, 2, 3, 1)  # NCHW data into an NHWC model
            dtype = np.dtype(detail["dtype"])
            scale, zero = detail["quantization"]
            if dtype.kind in "iu" and scale and value.dtype.kind == "f":
                info = np.iinfo(dtype)
                value = np.clip(np.round(value / scale) + zero, info.min, info.max)
            self._interp.set_tensor(detail["index"], np.ascontiguousarray(value, dtype=dtype))
        self._interp.invoke()
        outputs = []
        for detail in self._outputs:
            value = self._interp.get_tensor(detail["index"])
            scale, zero = detail["quantization"]
            if np.dtype(detail["dtype"]).kind in "iu" and scale:
                value = (value.astype(np.float32) - zero) * scale
            elif value.dtype.kind == "f":
                value = value.astype(np.float32)
            outputs.append(np.array(value))
        return outputs

    def profile(self, inputs: list[np.ndarray]) -> dict[str, Any]:
        """The delegate's partitions and the ops it left on built-in kernels (bench/profile.py); LiteRT's
        Python API times no single op."""
        from edgeexport.bench import profile

        self.run(inputs)
        ops = self._interp._get_ops_details()
        first = next((op["index"] for op in ops if op["op_name"] == "DELEGATE"), len(ops))
        dtypes = {d["index"]: np.dtype(d["dtype"]).name for d in self._interp.get_tensor_details()}

        def dtype_of(op: dict[str, Any]) -> str:
            return next((dtypes.get(t, "?") for t in op["outputs"] if t >= 0), "?")

        nodes, partitions = profile.tflite_nodes(ops, first, dtype_of)
        note = "LiteRT: no per-op times from its Python API; ops outside XNNPACK run on built-in kernels"
        return profile.summary("litert op list after delegation", nodes, partitions, note)

    def describe(self) -> list[dict[str, Any]]:
        """Each input: name, shape (-1 where dynamic), dtype and the (scale, zero point) if quantized."""
        found = []
        for d in self._inputs:
            shape = [int(v) for v in d.get("shape_signature", d["shape"])]
            scale, zero = d["quantization"]
            found.append(
                {"name": d["name"], "shape": shape, "dtype": np.dtype(d["dtype"]).name,
                 "quantization": [float(scale), int(zero)] if scale else None}
            )  # fmt: skip
        return found


def load(path: str, threads: int, **options: Any) -> LiteRTSession:
    return LiteRTSession(path, threads, **options)
