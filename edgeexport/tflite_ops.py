"""Op histogram of a .tflite file, read with the LiteRT interpreter (no TensorFlow, device-safe)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def op_histogram(path: Path | str) -> dict[str, int]:
    from edgeexport.runtimes.litert import _interpreter_module

    interp = _interpreter_module().Interpreter(model_path=str(path))
    counts = Counter(str(op["op_name"]) for op in interp._get_ops_details())
    return dict(sorted(counts.items()))


def io_dtypes(path: Path | str) -> dict[str, list[str]]:
    from edgeexport.runtimes.litert import _interpreter_module

    interp = _interpreter_module().Interpreter(model_path=str(path))
    return {
        "inputs": [d["dtype"].__name__ for d in interp.get_input_details()],
        "outputs": [d["dtype"].__name__ for d in interp.get_output_details()],
    }
