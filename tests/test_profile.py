"""``bench --profile`` (bench/profile.py and the adapters' ``profile``): where an artifact's time goes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeexport.bench import profile


def _op(index: int, name: str, inputs: list[int], outputs: list[int]) -> dict:
    return {"index": index, "op_name": name, "inputs": inputs, "outputs": outputs}


def test_litert_nodes_inside_a_partition_are_told_from_those_left_outside() -> None:
    # conv(0->1) hswish(1->2) conv(2->3); XNNPACK took the convs as two partitions, not the h-swish
    ops = [_op(0, "CONV_2D", [0, 10], [1]), _op(1, "HARD_SWISH", [1], [2]), _op(2, "CONV_2D", [2, 11], [3]),
           _op(3, "DELEGATE", [0], [1]), _op(4, "DELEGATE", [2], [3])]  # fmt: skip
    nodes, partitions = profile.tflite_nodes(ops, 3, lambda op: "int8")
    assert partitions == 2
    summary = profile.summary("litert", nodes, partitions, "note")
    assert summary["outside"] == {"HARD_SWISH": 1} and summary["total_ms"] is None
    assert "off the fast path: HARD_SWISH x1" in profile.lines(summary)[1]


def test_ort_events_become_mean_times_per_node_without_the_cold_run() -> None:
    def event(node: str, op: str, dtype: str, dur: float) -> dict:
        return {"cat": "Node", "name": f"{node}_kernel_time", "dur": dur,
                "args": {"op_name": op, "provider": "CPUExecutionProvider",
                         "input_type_shape": [{dtype: [1, 8]}]}}  # fmt: skip

    cold = [event("conv", "QLinearConv", "uint8", 9000), event("hs", "HardSigmoid", "float", 9000)]
    warm = [event("conv", "QLinearConv", "uint8", 300), event("hs", "HardSigmoid", "float", 100)] * 2
    nodes = profile.ort_nodes(cold + warm + [{"cat": "Session", "name": "x"}], 2, quantized_model=True)
    summary = profile.summary("onnxruntime profiler", nodes, None, "note")
    assert summary["nodes"][0]["name"] == "conv" and summary["nodes"][0]["ms"] == pytest.approx(0.3)
    assert summary["outside"] == {"HardSigmoid": 1} and summary["outside_ms"] == pytest.approx(0.1)
    assert summary["total_ms"] == pytest.approx(0.4)


def test_ort_profiles_a_real_session_and_leaves_no_file_behind(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from edgeexport.runtimes.onnxruntime import OrtSession

    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.ones(108, np.float32).tolist())
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
         helper.make_node("HardSigmoid", ["c"], ["y"], name="hs")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "m.onnx")
    before = set(Path.cwd().iterdir())
    found = OrtSession(str(tmp_path / "m.onnx"), 1).profile([np.ones((1, 3, 16, 16), np.float32)])
    assert set(Path.cwd().iterdir()) == before  # ORT writes its JSON where told: a temp folder
    assert found["runs"] == profile.PROFILE_RUNS and found["total_ms"] > 0
    assert "Conv" in {n["op"] for n in found["nodes"]} and found["outside"] == {}  # a float model


@pytest.mark.slow
def test_the_profiles_of_the_default_cards_int8_files_show_what_runs_off_the_fast_path() -> None:
    from test_parity_matrix import exported

    from edgeexport import runtimes

    folder, manifest = exported("mobilenetv3_small")
    files = {a["id"]: folder / a["file"] for a in manifest["artifacts"]}
    x = [np.load(folder / "reference.npz")["inputs"][:1]]
    aeq = runtimes.load("litert", str(files["tflite_int8_aeq"]), 1).profile(x)
    assert (aeq["partitions"], aeq["outside"]) == (1, {})  # the rewrites: no int8 HARD_SWISH left outside
    fp16 = runtimes.load("litert", str(files["tflite_dynrange_w8"]), 1).profile(x)
    assert fp16["outside"].get("DEPTHWISE_CONV_2D")  # hybrid depthwise is not XNNPACK's
    ort = runtimes.load("onnxruntime", str(files["onnx_int8"]), 1).profile(x)
    assert ort["outside"].get("HardSigmoid") and ort["outside_ms"] > 0
    if runtimes.unavailable("executorch") is None:
        et = runtimes.load("executorch", str(files["executorch_int8"]), 1).profile(x)
        assert et["partitions"] == 1 and et["total_ms"] is None
