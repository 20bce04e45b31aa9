"""The ``torch`` runtime runs a .pt2 ExportedProgram and refuses one that would need unpickling."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from edgeexport import runtimes
from edgeexport.runtimes.torch_eager import UnsafeProgramError


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU()).eval()
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model, (torch.zeros(1, 3, 8, 8),)), buffer)
    path = tmp_path_factory.mktemp("pt2") / "m.pt2"
    path.write_bytes(buffer.getvalue())
    return path, model


def test_runs_the_exported_program(program: tuple[Path, torch.nn.Module]) -> None:
    path, model = program
    x = np.random.default_rng(0).normal(size=(1, 3, 8, 8)).astype(np.float32)
    (out,) = runtimes.load("torch", str(path), 1).run([x])
    with torch.no_grad():
        np.testing.assert_array_equal(out, model(torch.from_numpy(x)).numpy())


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None], add: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for name in a.namelist():
            data = change.get(name.split("/", 1)[1], a.read(name))
            if data is not None:
                b.writestr(name, data)
        for name, data in add.items():
            b.writestr(f"archive/{name}", data)
    return dst


def test_refuses_pickled_weights(program: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    path, _ = program
    key = "data/weights/model_weights_config.json"
    config = json.loads(zipfile.ZipFile(path).read(f"archive/{key}"))
    first = next(iter(config["config"]))
    config["config"][first]["use_pickle"] = True
    bad = _rewrite(path, tmp_path / "pickled.pt2", {key: json.dumps(config).encode()}, {})
    with pytest.raises(UnsafeProgramError, match="pickled"):
        runtimes.load("torch", str(bad), 1)


def test_refuses_compiled_code(program: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    bad = _rewrite(program[0], tmp_path / "aoti.pt2", {}, {"data/aotinductor/model/model.so": b"\x7fELF"})
    with pytest.raises(UnsafeProgramError, match="compiled code"):
        runtimes.load("torch", str(bad), 1)


def test_refuses_custom_object_constants(program: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    config = {"config": {"obj": {"path_name": "custom_obj_0", "use_pickle": False}}}
    key = "data/constants/model_constants_config.json"
    bad = _rewrite(program[0], tmp_path / "obj.pt2", {key: json.dumps(config).encode()}, {})
    with pytest.raises(UnsafeProgramError, match="custom object"):
        runtimes.load("torch", str(bad), 1)
