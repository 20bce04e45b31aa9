"""Any model file, in the harness's child process: its inputs, and what to compare its outputs with.

Device-side (numpy + the runtime adapters). Inputs are seeded random values of each input's declared shape
and dtype unless an .npz gives them; a quantized input gets values on its own quantization grid, handed
over as float32 so that another file (``--against``) can take the same values. Parity needs a reference:
an .npz of outputs for the given inputs, or a second file run on the same inputs in the same process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SAMPLES = 8  # random input samples: the first is timed, all are compared


class BadInput(ValueError):
    """Input the user must fix (a dynamic dimension, a missing key): the bench exits 2 with this line."""


def check_static(described: list[dict[str, Any]], file: str) -> None:
    for d in described:
        if any(v < 0 for v in d["shape"]):
            fixed = ",".join("1" if v < 0 else str(v) for v in d["shape"])
            raise BadInput(
                f"{file}: input {d['name']!r} has a dynamic dimension (shape {d['shape']}); "
                f"fix it with --shape {d['name']}={fixed}"
            )


def random_sample(described: list[dict[str, Any]], rng: np.random.Generator) -> list[np.ndarray]:
    sample = []
    for d in described:
        shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
        if d.get("quantization"):
            scale, zero = d["quantization"]
            info = np.iinfo(dtype)
            q = rng.integers(info.min, int(info.max) + 1, size=shape)
            sample.append(((q - zero) * scale).astype(np.float32))
        elif dtype.kind == "f":
            sample.append(rng.standard_normal(shape).astype(dtype))
        elif dtype.kind == "b":
            sample.append(rng.random(shape) < 0.5)
        elif dtype.kind in "iu":
            high = min(int(np.iinfo(dtype).max), 255) + 1
            sample.append(rng.integers(0, high, size=shape).astype(dtype))
        else:
            raise BadInput(f"input {d['name']!r} has dtype {dtype.name}; give its values with --inputs")
    return sample


def _stacked(data: Any, key: str, shape: tuple[int, ...]) -> np.ndarray:
    value = np.asarray(data[key])
    if value.shape == shape:
        return value[None]
    if value.shape[1:] == shape:
        return value
    raise BadInput(f"{key!r}: shape {list(value.shape)}, expected {list(shape)} or N x {list(shape)}")


def load_npz(
    path: str, names: list[str], shapes: list[tuple[int, ...]], prefix: str
) -> list[list[np.ndarray]]:
    """Samples from an .npz keyed by tensor name or ``<prefix>_<k>``: one sample, or N stacked."""
    with np.load(path, allow_pickle=False) as data:
        columns = []
        for k, (name, shape) in enumerate(zip(names, shapes, strict=True)):
            key = name if name in data.files else f"{prefix}_{k}"
            if key not in data.files:
                raise BadInput(f"{path}: no array {name!r} (or {prefix}_{k}); it has {sorted(data.files)}")
            columns.append(_stacked(data, key, shape))
    counts = {len(c) for c in columns}
    if len(counts) != 1:
        raise BadInput(f"{path}: the arrays hold different numbers of samples ({sorted(counts)})")
    return [[c[i] for c in columns] for i in range(counts.pop())]


def inputs(session: Any, options: dict[str, Any], file: str) -> list[list[np.ndarray]]:
    described = session.describe()
    for d in described:
        if d["name"] in options.get("shapes", {}):
            d["shape"] = list(options["shapes"][d["name"]])
    check_static(described, file)
    if options.get("inputs"):
        shapes = [tuple(d["shape"]) for d in described]
        return load_npz(options["inputs"], [d["name"] for d in described], shapes, "input")
    rng = np.random.default_rng(options.get("seed", 0))
    return [random_sample(described, rng) for _ in range(options.get("samples", SAMPLES))]


def fit(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` in ``shape``: as it is, or NCHW <-> NHWC when that is what differs."""
    if value.shape == shape or value.ndim != 4:
        return value
    if value.transpose(0, 2, 3, 1).shape == shape:
        return np.ascontiguousarray(value.transpose(0, 2, 3, 1))
    if value.transpose(0, 3, 1, 2).shape == shape:
        return np.ascontiguousarray(value.transpose(0, 3, 1, 2))
    return value


def run_all(session: Any, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    return [session.run([np.ascontiguousarray(x) for x in sample]) for sample in samples]


def reference(
    options: dict[str, Any], samples: list[list[np.ndarray]], outputs: list[list[np.ndarray]], threads: int
) -> tuple[list[list[np.ndarray]] | None, str | None]:
    """(the outputs to compare with, where they came from), or (None, None) when nothing was given."""
    if options.get("reference"):
        shapes = [tuple(o.shape) for o in outputs[0]]
        names = options.get("output_names") or [f"output_{k}" for k in range(len(shapes))]
        ref = load_npz(options["reference"], names, shapes, "output")
        if len(ref) != len(outputs):
            raise BadInput(f"{options['reference']}: {len(ref)} samples for {len(outputs)} inputs")
        return ref, Path(options["reference"]).name
    against = options.get("against")
    if not against:
        return None, None
    from edgeexport import runtimes

    other = runtimes.load(against["runtime"], against["path"], threads)
    shapes = [tuple(d["shape"]) for d in other.describe()]
    theirs = run_all(other, [[fit(x, s) for x, s in zip(sample, shapes, strict=True)] for sample in samples])
    mine = [tuple(o.shape) for o in outputs[0]]
    fitted = [[fit(o, s) for o, s in zip(sample, mine, strict=True)] for sample in theirs]
    return fitted, f"{Path(against['path']).name} ({against['runtime']})"
