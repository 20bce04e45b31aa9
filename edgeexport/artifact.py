"""Artifacts and the manifest that describes them (``artifacts/<card>/manifest.json``).

Each entry says what the file is (weight / activation / I/O dtypes, granularity, calibration), where it
came from (parent sha256, stage@version, config, tool versions, calibration-set hash) and how it fared
(status, reason, parity). Nothing time-dependent goes into what is hashed; ``seconds`` is reported only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "failed", "not runnable here"]
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Precision:
    """What an artifact computes in. Its id and file name follow from this, never from marketing."""

    weights: str  # float32 | float16 | int8
    activations: str  # float32 | float16 | int8 | uint8 | "int8 at run time" (dynamic)
    io: str = "float32"
    granularity: str | None = None  # per-channel | per-tensor (quantized weights only)
    calibration: str | None = None  # e.g. "MinMax on 13 real photos"

    @property
    def kind(self) -> Literal["fp32", "fp16", "w8", "int8"]:
        """Which tolerance class judges it: int8 when activations are stored in 8 bits; w8 when only the
        weights are (weight-only or dynamic-range: activations float, or quantized at run time)."""
        if self.activations in ("int8", "uint8"):
            return "int8"
        if self.weights in ("int8", "uint8"):
            return "w8"
        if "float16" in (self.weights, self.activations):
            return "fp16"
        return "fp32"


@dataclass
class Artifact:
    id: str  # e.g. onnx_fp32, onnx_int8, tflite_dynrange_w8
    format: str  # onnx | tflite | mlpackage
    file: str  # relative to the card's artifact folder
    precision: Precision
    stage: str  # name@version
    parent: str | None  # parent artifact id
    config: dict[str, Any] = field(default_factory=dict)
    status: Status = "ok"
    reason: str | None = None
    sha256: str | None = None
    parent_sha256: str | None = None
    size: int | None = None
    tools: dict[str, str] = field(default_factory=dict)
    calibration_sha256: str | None = None
    seconds: float | None = None
    cache_key: str | None = None
    parity: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)  # op counts, kernels that run in int8, ...

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @property
    def status_line(self) -> str:
        """``ok``, ``ok (fallback: ...)``, ``failed: <reason>``: what a person reads."""
        text: str = self.status
        if self.details.get("fallback"):
            text += f" (fallback: {self.details['fallback']})"
        return text + (f": {self.reason}" if self.reason else "")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Artifact:
        d = dict(d)
        d["precision"] = Precision(**d["precision"])
        return cls(**d)


def jsonable(value: Any) -> Any:
    """JSON has no inf/nan: write them as strings so every reader can parse the manifest."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def sha256_path(path: Path) -> str:
    """sha256 of a file, or of a directory package (.mlpackage) as sorted relative paths + contents."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        if path.is_dir():
            h.update(str(p.relative_to(path)).encode() + b"\0")
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def size_of(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


@contextlib.contextmanager
def atomic_output(final: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it into place only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    tmp = tmp_dir / final.name
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"the stage wrote nothing to {tmp}")
        if final.is_dir():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so C++ and tqdm output too) to
    ``log_path`` for the duration: converters are chatty, the terminal shows progress lines instead."""
    import sys

    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def write_json_atomic(path: Path, data: Any) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(jsonable(data), indent=2, sort_keys=False) + "\n")


# A file named by a manifest is one plain name inside the card's folder: never a path, '..' or absolute.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_NEEDED = {"id": str, "format": str, "file": str, "status": str, "precision": dict}


def plain_name(name: Any) -> bool:
    return isinstance(name, str) and bool(PLAIN_NAME.fullmatch(name)) and ".." not in name


def read_manifest_file(path: Path) -> dict[str, Any]:
    """``manifest.json``, checked before anything trusts it: JSON, a table with ``card`` and a list of
    ``artifacts`` that each have the keys every reader uses, every ``file`` one plain name in the folder.
    A ManifestError naming the file and what is wrong otherwise."""
    from edgeexport.errors import ManifestError

    try:
        text = path.read_text()
    except OSError as error:
        raise ManifestError(f"{path}: cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: is not text; re-export the card") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ManifestError(f"{path}: is not valid JSON ({error}); re-export the card") from None
    if isinstance(data, dict) and data.get("manifest_version", MANIFEST_VERSION) != MANIFEST_VERSION:
        raise ManifestError(
            f"{path}: manifest version {data['manifest_version']!r}, this edgeexport reads "
            f"{MANIFEST_VERSION}; re-export the card"
        )
    problem = _manifest_problem(data)
    if problem:
        raise ManifestError(f"{path}: is not an edgeexport manifest ({problem}); re-export the card")
    return data  # type: ignore[no-any-return]


def _manifest_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not a table"
    if not isinstance(data.get("card"), str):
        return "no 'card' name"
    arts = data.get("artifacts")
    if not isinstance(arts, list):
        return "'artifacts' is not a list"
    for i, art in enumerate(arts):
        if not isinstance(art, dict):
            return f"artifacts[{i}] is not a table"
        for key, kind in _NEEDED.items():
            if not isinstance(art.get(key), kind):
                return f"artifacts[{i}] has no {key!r}"
        if not plain_name(art["file"]):
            return f"artifacts[{i}].file {art['file']!r} is not a plain file name in the card's folder"
    ref = data.get("reference", {})
    if not isinstance(ref, dict) or ("file" in ref and not plain_name(ref["file"])):
        return "'reference' is not a table with a plain file name"
    return None


@dataclass
class Manifest:
    card: str
    reference: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    target: dict[str, str] = field(default_factory=dict)  # the oldest runtimes the artifacts load in

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
            "card": self.card,
            "target": self.target,
            "reference": self.reference,
            "artifacts": [a.to_dict() for a in self.artifacts.values()],
        }

    def save(self, folder: Path) -> Path:
        path = folder / "manifest.json"
        write_json_atomic(path, self.to_dict())
        return path

    @classmethod
    def load(cls, folder: Path) -> Manifest | None:
        path = folder / "manifest.json"
        if not path.exists():
            return None
        d = read_manifest_file(path)
        if d.get("manifest_version") != MANIFEST_VERSION:
            return None
        try:
            arts = [Artifact.from_dict(a) for a in d.get("artifacts", [])]
        except (TypeError, KeyError) as error:  # keys this version does not know, or lacks
            from edgeexport.errors import ManifestError

            raise ManifestError(f"{path}: an artifact entry this version cannot read ({error})") from None
        return cls(
            card=d["card"],
            reference=d.get("reference", {}),
            artifacts={a.id: a for a in arts},
            target=d.get("target", {}),
        )
