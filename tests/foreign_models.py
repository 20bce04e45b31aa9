"""Model files edgeexport did not write: ONNX graphs made with onnx.helper, and .tflite files written
directly in the TFLite flatbuffer schema (ai_edge_litert.schema_py_generated's object API), a route that
shares nothing with litert-torch. Each takes milliseconds to make."""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as fb
from onnx import TensorProto, helper, numpy_helper, save

BIAS = np.array([0.5, -1.0, 2.0], dtype=np.float32)  # per channel: C=3
GAIN = np.array([2.0, 0.5, -1.0], dtype=np.float32)


def onnx_two_outputs(path: Path, *, batch: int | str = 1, dtype: int = TensorProto.FLOAT) -> Path:
    """image [batch,3,4,4] (float32, or uint8 cast to float) -> (image + BIAS, image * GAIN), NCHW."""
    nodes, source = [], "image"
    if dtype != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT))
        source = "x"
    nodes += [
        helper.make_node("Add", [source, "bias"], ["sum"]),
        helper.make_node("Mul", [source, "gain"], ["product"]),
    ]
    graph = helper.make_graph(
        nodes,
        "foreign",
        [helper.make_tensor_value_info("image", dtype, [batch, 3, 4, 4])],
        [
            helper.make_tensor_value_info("sum", TensorProto.FLOAT, [batch, 3, 4, 4]),
            helper.make_tensor_value_info("product", TensorProto.FLOAT, [batch, 3, 4, 4]),
        ],
        [
            numpy_helper.from_array(BIAS.reshape(1, 3, 1, 1), "bias"),
            numpy_helper.from_array(GAIN.reshape(1, 3, 1, 1), "gain"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, path)
    return path


def _buffer(data: np.ndarray | None) -> fb.BufferT:
    b = fb.BufferT()
    b.data = None if data is None else np.frombuffer(data.tobytes(), dtype=np.uint8)
    return b


def _tensor(name: str, shape: list[int], kind: int, buffer: int, quant: tuple[float, int] | None = None):
    t = fb.TensorT()
    t.name, t.shape, t.type, t.buffer = name, shape, kind, buffer
    if quant is not None:
        q = fb.QuantizationParametersT()
        q.scale, q.zeroPoint = [quant[0]], [quant[1]]
        t.quantization = q
    return t


def tflite_two_outputs(path: Path, *, int8: bool = False) -> Path:
    """image [1,4,4,3] NHWC -> (image + BIAS, image * GAIN): ADD and MUL, float32 or int8 with int8 I/O."""
    scale, zero = 0.05, 0
    if int8:
        kind = fb.TensorType.INT8
        bias = np.clip(np.round(BIAS / scale) + zero, -128, 127).astype(np.int8)
        gain_scale = 0.02
        gain = np.round(GAIN / gain_scale).astype(np.int8)
        quant = {"image": (scale, zero), "bias": (scale, zero), "gain": (gain_scale, 0),
                 "sum": (0.1, 0), "product": (0.1, 0)}  # fmt: skip
    else:
        kind, bias, gain, quant = fb.TensorType.FLOAT32, BIAS, GAIN, {}
    buffers = [_buffer(None), _buffer(None), _buffer(bias), _buffer(gain), _buffer(None), _buffer(None)]
    tensors = [
        _tensor("image", [1, 4, 4, 3], kind, 1, quant.get("image")),
        _tensor("bias", [3], kind, 2, quant.get("bias")),
        _tensor("gain", [3], kind, 3, quant.get("gain")),
        _tensor("sum", [1, 4, 4, 3], kind, 4, quant.get("sum")),
        _tensor("product", [1, 4, 4, 3], kind, 5, quant.get("product")),
    ]
    codes = []
    for op in (fb.BuiltinOperator.ADD, fb.BuiltinOperator.MUL):
        c = fb.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = op, op, 2 if int8 else 1
        codes.append(c)
    ops = []
    for index, (inputs, output, options_type, options) in enumerate(
        [
            ([0, 1], 3, fb.BuiltinOptions.AddOptions, fb.AddOptionsT()),
            ([0, 2], 4, fb.BuiltinOptions.MulOptions, fb.MulOptionsT()),
        ]
    ):
        op = fb.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = index, inputs, [output]
        op.builtinOptionsType, op.builtinOptions = options_type, options
        ops.append(op)
    subgraph = fb.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs, subgraph.operators = tensors, [0], [3, 4], ops
    subgraph.name = "main"
    model = fb.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, codes, [subgraph], buffers
    model.description = "written with the TFLite schema by tests/foreign_models.py"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


def tflite_hybrid_fc(path: Path, *, per_channel: bool) -> Path:
    """x [1,4] float32 -> FULLY_CONNECTED with int8 weights [3,4] (one scale, or one per output) -> float32:
    what a dynamic-range quantizer writes."""
    weights = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)
    scales = [0.1, 0.2, 0.3] if per_channel else [0.1]
    w = _tensor("weights", [3, 4], fb.TensorType.INT8, 1)
    q = fb.QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = scales, [0] * len(scales), 0
    w.quantization = q
    tensors = [
        _tensor("x", [1, 4], fb.TensorType.FLOAT32, 0),
        w,
        _tensor("y", [1, 3], fb.TensorType.FLOAT32, 0),
    ]
    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.FULLY_CONNECTED
    code.version = 3
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, -1], [2]
    op.builtinOptionsType, op.builtinOptions = (
        fb.BuiltinOptions.FullyConnectedOptions,
        fb.FullyConnectedOptionsT(),
    )
    subgraph = fb.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs, subgraph.operators = tensors, [0], [2], [op]
    model = fb.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [subgraph]
    model.buffers = [_buffer(None), _buffer(weights)]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path
