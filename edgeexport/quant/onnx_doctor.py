"""Per-layer quantization doctor for ONNX QDQ int8 (the library; ``cli/doctor.py`` prints it).

Runs the float model and the int8 QDQ model on the same real inputs with ONNX Runtime's own debugging
tools (``onnxruntime.quantization.qdq_loss_debug``) and prints, per layer in graph order:
  qdq SQNR    how much quantizing this tensor alone loses (its float value vs its Q->DQ value), dB;
  model SQNR  how far the int8 model's tensor is from the float model's (errors accumulated so far), dB.
Layers with the lowest qdq SQNR are the ones that lose the most; the first layer whose model SQNR falls
below ``--diverge-db`` is where the int8 model starts to go its own way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeexport.artifact import Manifest
from edgeexport.errors import EdgeExportError


@dataclass(frozen=True)
class LayerError:
    index: int
    tensor: str
    node: str
    op: str  # Conv, HardSwish, Mul, ...; "Conv (depthwise)" when group == channels
    qdq_db: float
    model_db: float


def _producers(model: Any) -> dict[str, tuple[int, str, str]]:
    """tensor name -> (graph position, node name, op label)."""
    out = {}
    for i, node in enumerate(model.graph.node):
        op = node.op_type
        if op == "Conv":
            group = next((a.i for a in node.attribute if a.name == "group"), 1)
            op = "Conv (depthwise)" if group > 1 else "Conv"
        for tensor in node.output:
            out[tensor] = (i, node.name, op)
    return out


def fused_activations(float_model: Any, qdq_model: Any) -> dict[str, Any]:
    """Relu/Clip outputs that ORT's quantizer folded into the quantization of the layer before.

    ORT drops a Relu or Clip that follows a Conv and quantizes the Conv's output over the activation's
    range instead, under the activation's tensor name: the QuantizeLinear does the clamping. The QDQ
    model's tensor of that name is then the activation's INPUT, and ``qdq_loss_debug`` would count the
    clamp itself as quantization loss (1.6-4.8 dB "SQNR" at every ReLU, measured). Returns, per such tensor,
    the float activation to apply before comparing.
    """
    from onnx import numpy_helper

    qdq_producers = {o: n.op_type for n in qdq_model.graph.node for o in n.output}
    consts = {i.name: float(numpy_helper.to_array(i)) for i in float_model.graph.initializer if not i.dims}
    out: dict[str, Any] = {}
    for node in float_model.graph.node:
        if node.op_type not in ("Relu", "Clip") or qdq_producers.get(node.output[0]) == node.op_type:
            continue
        low, high = 0.0, np.inf
        if node.op_type == "Clip":  # bounds are inputs from opset 11, attributes before
            attrs = {a.name: a.f for a in node.attribute}
            given = [consts.get(name) for name in node.input[1:3]] + [None, None]
            low = next((v for v in (given[0], attrs.get("min")) if v is not None), -np.inf)
            high = next((v for v in (given[1], attrs.get("max")) if v is not None), np.inf)
        out[node.output[0]] = lambda x, lo=low, hi=high: np.clip(x, lo, hi)
    return out


def diagnose_onnx(
    float_model: Path, qdq_model: Path, inputs: np.ndarray, input_name: str
) -> list[LayerError]:
    import onnx
    from onnxruntime.quantization import qdq_loss_debug as dbg

    from edgeexport.quant.ort import CalibrationReader, pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        pre_process(float_model, prepared)
        float_aug, qdq_aug = Path(tmp) / "float_aug.onnx", Path(tmp) / "qdq_aug.onnx"
        dbg.modify_model_output_intermediate_tensors(str(prepared), str(float_aug))
        dbg.modify_model_output_intermediate_tensors(str(qdq_model), str(qdq_aug))
        float_acts = dbg.collect_activations(str(float_aug), CalibrationReader(input_name, inputs))
        qdq_acts = dbg.collect_activations(str(qdq_aug), CalibrationReader(input_name, inputs))
        float_graph = onnx.load(str(prepared))
        producers = _producers(float_graph)
        fused = fused_activations(float_graph, onnx.load(str(qdq_model)))
    matching = dbg.create_activation_matching(qdq_acts, float_acts)
    for tensor, activation in fused.items():
        if tensor in matching:  # compare the quantized tensor with the activation's output, not its input
            matching[tensor]["pre_qdq"] = [activation(np.asarray(a)) for a in matching[tensor]["pre_qdq"]]
    errors = dbg.compute_activation_error(matching)
    rows = []
    for tensor, err in errors.items():
        if tensor not in producers or "xmodel_err" not in err:
            continue
        index, node, op = producers[tensor]
        rows.append(LayerError(index, tensor, node, op, float(err["qdq_err"]), float(err["xmodel_err"])))
    return sorted(rows, key=lambda r: r.index)


def worst(rows: Sequence[LayerError], n: int) -> list[LayerError]:
    return sorted(rows, key=lambda r: r.qdq_db)[:n]


def first_divergence(rows: Sequence[LayerError], threshold_db: float) -> LayerError | None:
    return next((r for r in rows if r.model_db < threshold_db), None)


def diagnose(card: str, artifact: str, root: Path, images: int) -> tuple[list[LayerError], dict[str, Any]]:
    folder = root / card
    manifest = Manifest.load(folder)
    if manifest is None:
        raise EdgeExportError(f"no export of {card!r} under {root}; run `make export MODEL={card}` first")
    if artifact not in manifest.artifacts:
        from edgeexport.registry import suggest

        raise EdgeExportError(
            f"{card} has no artifact {artifact!r}{suggest(artifact, list(manifest.artifacts))}"
        )
    art = manifest.artifacts[artifact]
    if art.format != "onnx" or art.precision.kind != "int8" or art.config.get("format") != "QDQ":
        raise EdgeExportError(
            f"the doctor reads ONNX QDQ int8 artifacts (e.g. onnx_int8); {artifact} is {art.format} "
            f"{art.precision.kind}"
        )
    if art.parent is None or art.parent not in manifest.artifacts:
        raise EdgeExportError(f"{artifact} records no float parent to compare with")
    ref = np.load(folder / "reference.npz")
    inputs = np.asarray(ref["inputs"][:images], dtype=np.float32)
    rows = diagnose_onnx(
        folder / manifest.artifacts[art.parent].file,
        folder / art.file,
        inputs,
        manifest.reference["input"]["name"],
    )
    return rows, {"artifact": artifact, "parent": art.parent, "images": int(inputs.shape[0])}
