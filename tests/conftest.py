from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from edgeexport.artifact import sha256_path

# Fixed thread count: results (and BatchNorm calibration) do not depend on the machine's core count.
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def card_names() -> list[str]:
    from edgeexport import cards

    return cards.card_names()


TINY_CARD = """
name = "{name}"
task = "classification"
[architecture]
name = "mobilenet_v3"
args = {{ variant = "small", num_classes = 10 }}
[input]
shape = [1, 3, {size}, {size}]
[preprocess]
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
"""


def _write_tiny_card(folder: Path, name: str, size: int) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(TINY_CARD.format(name=name, size=size))
    return path


@pytest.fixture(scope="session")
def write_tiny_card() -> Callable[[Path, str, int], Path]:
    """``write_tiny_card(folder, name, size)``: a MobileNetV3-Small card (seeded weights, 10 classes,
    size x size RGB) for pipeline tests; returns its path."""
    return _write_tiny_card


def handmade_card(root: Path) -> Path:
    """An exported-looking card without the exporter: Flatten + Gemm built with onnx.helper, its
    reference computed with numpy, a manifest entry as export writes it. Takes well under a second."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(48, 10)).astype(np.float32), rng.normal(size=10).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"]),
            helper.make_node("Gemm", ["flat", "w", "b"], ["logits"]),
        ],
        "handmade",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder = root / "handmade"
    folder.mkdir(parents=True)
    onnx.save(model, folder / "handmade.onnx_fp32.onnx")
    x = rng.normal(size=(4, 3, 4, 4)).astype(np.float32)
    out = (x.reshape(4, 1, 48) @ w + b).astype(np.float32)
    labels = out.argmax(-1).ravel()
    labels[3] = (labels[3] + 1) % 10  # one image the model gets wrong: top-1 must come out 3 of 4
    np.savez(
        folder / "reference.npz",
        inputs=x,
        ids=np.asarray(list("abcd")),
        output_0=out,
        labels=labels,
    )
    checks = [
        {"metric": "max_abs", "op": "<=", "limit": 1e-4},
        {"metric": "cosine", "op": ">=", "limit": 0.99999},
    ]
    entry = {
        "id": "onnx_fp32", "format": "onnx", "file": "handmade.onnx_fp32.onnx", "status": "ok",
        "precision": {"weights": "float32", "activations": "float32"}, "config": {},
        "sha256": sha256_path(folder / "handmade.onnx_fp32.onnx"), "size": 1, "parity": {"checks": checks},
    }  # fmt: skip
    manifest = {
        "manifest_version": 1,
        "card": "handmade",
        "reference": {"task": "classification"},
        "artifacts": [entry],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="session")
def onnx_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return handmade_card(tmp_path_factory.mktemp("handmade"))


@pytest.fixture
def user_cards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder for cards whose ``architecture.name`` is ``fault_models:<builder>`` (tests/fault_models.py),
    importable in this process."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return tmp_path
