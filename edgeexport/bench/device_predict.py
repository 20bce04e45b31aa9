"""``predict ... --device ssh://...``: the same top classes, computed on the board (docs/device.md).

Copies what the board lacks (the device side of edgeexport, the card's manifest, the one artifact and the
images, compared by sha256), runs ``python -m edgeexport.bench predict --json`` there and prints its answer
with the local image names. The board needs numpy, Pillow and the artifact's runtime; nothing is installed.
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from edgeexport.bench import predict
from edgeexport.errors import UsageError

# The ssh side (and numpy, through the bench runner) is imported in run(): `python -m edgeexport --help`
# builds this command's parser and stays light.


def main(args: argparse.Namespace) -> int:
    """The predict command: here, or on the board with --device."""
    return predict.show(run(args) if args.device else predict.predict(args), as_json=args.json)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from edgeexport import runtimes
    from edgeexport.bench import PACKAGE_PARENT, device
    from edgeexport.bench.bundle import code_files
    from edgeexport.bench.ssh import DeviceError, DeviceUsageError

    folder, manifest, entry = predict.resolve(args.target, args.artifact, args.artifacts)
    runtime = args.runtime or runtimes.runtime_for(entry["format"])
    if runtime is None or (folder / entry["file"]).is_dir():
        raise UsageError(f"{entry['id']}: predict on a board runs .onnx and .tflite artifacts")
    images = predict.image_files(args.images)
    card = manifest["card"]
    files = {p.relative_to(PACKAGE_PARENT).as_posix(): p for p in code_files()}
    files[f"artifacts/{card}/manifest.json"] = folder / "manifest.json"
    files[f"artifacts/{card}/{entry['file']}"] = folder / entry["file"]
    remote = {device.remote_name(image): image for image in images}
    files.update(remote)
    with device.open_board(args) as board:
        device.check(board, runtime)
        if not board.facts["packages"].get("pillow"):
            raise DeviceUsageError(
                f"{board.url}: the board's Python has no Pillow (predict reads images with it); "
                f"on the board: {shlex.quote(board.python)} -m pip install pillow"
            )
        device.sync(board, files)
        argv = [board.python, "-m", "edgeexport.bench", "predict", card, *remote, "--artifact", entry["id"],
                "--artifacts", "artifacts", "--runtime", runtime, "--threads", str(args.threads),
                "--top", str(args.top), "--json"]  # fmt: skip
        proc = board.connection.run(
            board.in_workdir(" ".join(shlex.quote(a) for a in argv)), timeout_s=900, what="predict"
        )
    if proc.returncode != 0:
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        error = DeviceUsageError if proc.returncode == 2 else DeviceError
        raise error(f"{board.url}: predict failed on the board: {last}")
    results: list[dict[str, Any]] = json.loads(proc.stdout.decode())
    for r in results:
        r["image"] = str(remote.get(r["image"], r["image"]))
        r["device"] = board.url
    return results
