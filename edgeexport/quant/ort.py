"""ONNX Runtime's quantization tools as edgeexport uses them: one ``pre_process`` and one ``static_qdq``,
shared by the ``onnx_quantize`` stage, the doctor, the accuracy-aware search and the int8 benchmarks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from edgeexport.spec import METHODS


class CalibrationReader:
    """ORT CalibrationDataReader over a batch, one image at a time: quantize_static and the doctor use it."""

    def __init__(self, name: str, batch: np.ndarray) -> None:
        self._items = iter([{name: batch[i : i + 1]} for i in range(batch.shape[0])])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:  # qdq_loss_debug iterates its reader
        return iter(self.get_next, None)


def pre_process(float_model: Path, out: Path) -> None:
    """ORT's ``quant_pre_process`` as onnx_int8 runs it: the doctor must compare against the same graph."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(float_model), str(out), skip_symbolic_shape=True)


def static_qdq(
    prepared: Path,
    out: Path,
    calibration: np.ndarray,
    input_name: str,
    *,
    activation_type: str = "QUInt8",
    weight_type: str = "QUInt8",
    method: str = "MinMax",
    per_channel: bool = True,
    reduce_range: bool = False,
    exclude: Sequence[str] = (),
) -> None:
    """ORT ``quantize_static`` in QDQ format, calibrated one image at a time. ``prepared``: the float
    model after ``quant_pre_process``. The one call that onnx_int8 and the int8 benchmarks share."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    ort_method, extra_options = METHODS[method]
    quantize_static(
        str(prepared),
        str(out),
        CalibrationReader(input_name, calibration),
        quant_format=QuantFormat.QDQ,
        activation_type=getattr(QuantType, activation_type),
        weight_type=getattr(QuantType, weight_type),
        per_channel=per_channel,
        reduce_range=reduce_range,
        calibrate_method=getattr(CalibrationMethod, ort_method),
        nodes_to_exclude=list(exclude) or None,
        extra_options=dict(extra_options),
    )
