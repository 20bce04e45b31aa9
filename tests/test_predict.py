"""``predict`` on the real ImageNet MobileNetV2 (torchvision's weights): real photos with a known class, fp32
and int8, ONNX Runtime and LiteRT, locally and from an unpacked bundle with torch unimportable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_bench_cli import BLOCKER, bench
from test_parity_matrix import exported

from edgeexport.__main__ import main
from edgeexport.data import photos

pytestmark = pytest.mark.slow
# Photos whose ImageNet class is not in doubt (OpenCV's documentation examples, unpacked by `make setup`).
KNOWN = {
    "opencv:orange.jpg": "orange",
    "opencv:squirrel_cls.jpg": "fox squirrel, eastern fox squirrel, Sciurus niger",
}


@pytest.fixture(scope="module")
def known_photos() -> dict[str, Path]:
    paths = dict(photos.photo_paths())
    return {KNOWN[name]: paths[name] for name in KNOWN}


@pytest.fixture(scope="module")
def mobilenet_v2() -> Path:
    folder, _ = exported("mobilenet_v2")  # shared with the parity matrix: one export per session
    return folder


@pytest.mark.parametrize("artifact", ["onnx_fp32", "onnx_int8", "tflite_fp32", "tflite_int8"])
def test_known_photos_get_their_class(
    mobilenet_v2: Path, known_photos: dict[str, Path], artifact: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["predict", "mobilenet_v2", *map(str, known_photos.values()), "--artifact", artifact, "--json"]
    assert main([*args, "--artifacts", str(mobilenet_v2.parent)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["top"][0]["class"] for r in results] == list(known_photos)
    assert all(r["top"][0]["score"] > 0.5 and len(r["top"]) == 5 for r in results)


def test_an_artifact_file_and_a_folder_print_text(
    mobilenet_v2: Path, known_photos: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in known_photos.values():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "notes.txt").write_text("not an image")
    assert (
        main(["predict", str(mobilenet_v2 / "mobilenet_v2.onnx_int8.onnx"), str(folder), "--top", "2"]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("orange.jpg  (mobilenet_v2/onnx_int8, onnxruntime)") and "1. orange" in out[1]
    assert len(out) == 6  # two images, a header and two classes each


def test_from_a_bundle_without_torch(
    mobilenet_v2: Path, known_photos: dict[str, Path], tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    made = bench("bundle", "--model", "mobilenet_v2", "--artifacts", str(mobilenet_v2.parent),
                 "--out", str(tmp_path / "b.tgz"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert bench("unpack", str(tmp_path / "b.tgz"), "--into", str(tmp_path / "board")).returncode == 0
    top = tmp_path / "board" / "edgeexport-bench-mobilenet_v2"
    photo = str(known_photos["orange"])
    run = bench("predict", "mobilenet_v2", photo, "--artifact", "tflite_int8", "--json",
                block="torch", path=blocker, cwd=top)  # fmt: skip
    assert run.returncode == 0, run.stderr
    (result,) = json.loads(run.stdout)
    assert result["top"][0]["class"] == "orange" and result["runtime"] == "litert"


def test_unknown_card_and_missing_image_are_usage_errors(
    mobilenet_v2: Path, known_photos: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(mobilenet_v2.parent)
    assert main(["predict", "mobilenet_v3", str(known_photos["orange"]), "--artifacts", root]) == 2
    assert "no exported model 'mobilenet_v3'" in capsys.readouterr().err
    assert main(["predict", "mobilenet_v2", "/nonexistent.jpg", "--artifacts", root]) == 2
    assert "/nonexistent.jpg: no such image file or folder" in capsys.readouterr().err
