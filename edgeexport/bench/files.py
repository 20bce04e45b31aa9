"""``python -m edgeexport.bench model.onnx|model.tflite [...]``: any model file, not only exported cards.

The parent side: checks the command line and makes one target per file (the runtime from the extension).
The child (bench/foreign.py) makes the inputs - seeded random values of each input's declared shape and
dtype, or ``--inputs`` - and compares the outputs with ``--reference`` or with ``--against`` another file
run on the same inputs; with neither, parity is "not judged". ``--tolerance`` names the limits to judge by
(the exporter's own, per precision class: a file's precision cannot be read from every format).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edgeexport.bench.targets import Target
from edgeexport.errors import UsageError

RUNTIME_FOR = {".onnx": "onnxruntime", ".tflite": "litert"}
# The exporter's tolerances per precision class (edgeexport.spec.Tolerance; tests/test_bench_files.py
# holds the two equal), and "none" to report the metrics without judging them.
TOLERANCES: dict[str, dict[str, float]] = {
    "fp32": {"max_abs": 1e-4, "cosine": 0.99999},
    "fp16": {"cosine": 0.9999},
    "w8": {"cosine_mean": 0.98},
    "int8": {"cosine_mean": 0.95},
    "none": {},
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files", nargs="*", type=Path, help="model files to bench (.onnx, .tflite) instead of cards"
    )
    p.add_argument("--inputs", type=Path, help="model files: input samples (.npz keyed by input name)")
    p.add_argument("--reference", type=Path, help="model files: the expected outputs for --inputs (.npz)")
    p.add_argument("--against", type=Path, help="model files: compare with this file on the same inputs")
    p.add_argument(
        "--shape", action="append", default=[], metavar="NAME=D,D,..", help="fix a dynamic input's shape"
    )
    p.add_argument("--tolerance", choices=tuple(TOLERANCES), default="fp32", help="model files: limits")


def _runtime(path: Path) -> str:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    runtime = RUNTIME_FOR.get(path.suffix.lower())
    if runtime is None:
        raise UsageError(
            f"{path}: the bench reads .onnx and .tflite files, not {path.suffix or 'this'}; "
            "export a PyTorch model first (`make export MODEL=...`)"
        )
    return runtime


def shapes(pairs: list[str]) -> dict[str, list[int]]:
    found = {}
    for pair in pairs:
        name, sep, dims = pair.partition("=")
        try:
            shape = [int(d) for d in dims.split(",")]
        except ValueError:
            shape = []
        if not sep or not name or not shape or min(shape) < 1:
            raise UsageError(
                f"--shape {pair!r}: expected NAME=D,D,... with positive sizes, e.g. input=1,3,224,224"
            )
        found[name] = shape
    return found


def targets(args: argparse.Namespace) -> list[Target]:
    from edgeexport.artifact import sha256_path

    if args.model or args.artifact:
        raise UsageError("--model/--artifact choose exported cards; with model files, name the files only")
    if args.reference and not args.inputs:
        raise UsageError("--reference needs the --inputs it was computed from")
    if args.reference and args.against:
        raise UsageError("give --reference or --against, not both")
    for extra in (args.inputs, args.reference):
        if extra is not None and not extra.is_file():
            raise UsageError(f"{extra}: no such file")
    options: dict[str, Any] = {"shapes": shapes(args.shape), "seed": 0}
    if args.inputs:
        options["inputs"] = str(args.inputs.resolve())
    if args.reference:
        options["reference"] = str(args.reference.resolve())
    if args.against:
        options["against"] = {"path": str(args.against.resolve()), "runtime": _runtime(args.against)}
    found = []
    for path in args.files:
        runtime = _runtime(path)
        if args.runtime not in ("all", runtime):
            raise UsageError(f"{path}: a {path.suffix} file runs on {runtime}, not --runtime {args.runtime}")
        found.append(
            Target(
                card="file",
                artifact=path.name,
                format=path.suffix.lstrip(".").lower(),
                runtime=runtime,
                path=str(path.resolve()),
                folder=str(path.resolve().parent),
                kind=args.tolerance,
                limits=TOLERANCES[args.tolerance],
                limits_from=f"--tolerance {args.tolerance}",
                size=path.stat().st_size,
                sha256=sha256_path(path),
                file_options=options,
            )
        )
    return found
