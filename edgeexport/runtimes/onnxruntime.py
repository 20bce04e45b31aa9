"""ONNX Runtime: CPU execution provider (or XNNPACK where the build has it), full graph optimisation."""

from __future__ import annotations

from typing import Any

import numpy as np

ONNX_TYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int16)": "int16", "tensor(int32)": "int32",
    "tensor(int64)": "int64", "tensor(bool)": "bool",
}  # fmt: skip


def unavailable() -> str | None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError as error:
        return f"onnxruntime is not installed ({error}); pip install onnxruntime"
    return None


def version() -> str:
    import onnxruntime as ort

    return str(ort.__version__)


def providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def _options(threads: int) -> Any:
    """The session options every OrtSession uses, timed or profiled: the profile measures the same graph."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return opts


class OrtSession:
    def __init__(
        self,
        path: str,
        threads: int,
        provider: str = "cpu",
        optimized_path: str | None = None,
        shapes: dict[str, list[int]] | None = None,  # dynamic dimensions need no fixing: inputs give them
    ) -> None:
        import onnxruntime as ort

        self._args = (path, threads, provider)
        opts = _options(threads)
        if optimized_path:
            opts.optimized_model_filepath = optimized_path
        chosen: list[Any]
        if provider == "xnnpack":
            if "XnnpackExecutionProvider" not in ort.get_available_providers():
                raise RuntimeError("this onnxruntime build has no XNNPACK execution provider")
            chosen = [("XnnpackExecutionProvider", {"intra_op_num_threads": threads}), "CPUExecutionProvider"]
        else:
            chosen = ["CPUExecutionProvider"]
        self._providers = chosen
        self._session = ort.InferenceSession(path, sess_options=opts, providers=chosen)
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.input_types = [i.type for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        feed = dict(zip(self.input_names, inputs, strict=True))
        return list(self._session.run(None, feed))

    def profile(self, inputs: list[np.ndarray]) -> dict[str, Any]:
        """ORT's own profiler on a fresh session with the same options (bench/profile.py)."""
        import json
        import tempfile
        from pathlib import Path

        import onnxruntime as ort

        from edgeexport.bench import profile

        path, threads, _ = self._args
        opts = _options(threads)
        with tempfile.TemporaryDirectory(prefix="edgeexport-profile-") as tmp:
            opts.enable_profiling = True
            opts.profile_file_prefix = str(Path(tmp) / "ort")
            session = ort.InferenceSession(path, sess_options=opts, providers=self._providers)
            feed = dict(zip(self.input_names, inputs, strict=True))
            for _ in range(profile.PROFILE_RUNS + 1):  # ort_nodes drops each node's first (cold) run
                session.run(None, feed)
            events = json.loads(Path(session.end_profiling()).read_text())
        quantized = any(e.get("args", {}).get("op_name") == "DequantizeLinear" or
                        str(e.get("args", {}).get("op_name", "")).startswith(("QLinear", "QGemm"))
                        for e in events)  # fmt: skip
        nodes = profile.ort_nodes(events, profile.PROFILE_RUNS, quantized)
        note = "ORT profiler: kernel time per node after graph optimisation, mean of the warm runs"
        return profile.summary("onnxruntime profiler", nodes, None, note)

    def describe(self) -> list[dict[str, Any]]:
        """Each input: name, shape (-1 where dynamic), dtype (ONNX inputs carry no quantization)."""
        return [
            {"name": i.name, "shape": [d if isinstance(d, int) and d >= 0 else -1 for d in i.shape],
             "dtype": ONNX_TYPES.get(i.type, i.type), "quantization": None}
            for i in self._session.get_inputs()
        ]  # fmt: skip


def load(path: str, threads: int, **options: Any) -> OrtSession:
    return OrtSession(path, threads, **options)
