"""``predict``: the top classes an exported artifact gives for real images, on any runtime, on a board too.

    python -m edgeexport predict mobilenet_v2 photo.jpg [more.jpg | a_folder] [--artifact onnx_int8]
    python -m edgeexport predict artifacts/mobilenet_v2/mobilenet_v2.tflite_int8.tflite photo.jpg --json
    python -m edgeexport.bench predict ...            (the same, from an unpacked bundle)

Device side: numpy, Pillow (to read images) and one runtime. The preprocessing (resize, crop, mean, std,
channel order) and the class names come from the export manifest, so a board needs neither torch nor the
card file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeexport.defaults import artifacts_root, at_least_one, default_threads
from edgeexport.errors import EdgeExportError, RuntimeUnavailable, UnknownNameError, UsageError

if TYPE_CHECKING:
    import numpy as np
# numpy, the images and the manifest readers are imported when used: `python -m edgeexport --help`
# builds this command's parser and must stay light (tests/test_exit_codes.py).

PREFERRED = (
    "onnx_fp32",
    "tflite_fp32",
    "onnx_int8",
    "tflite_int8",
)  # when a card is named without --artifact


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="CARD_OR_FILE", help="an exported card's name, or an artifact file")
    p.add_argument("images", nargs="+", type=Path, help="image files or folders of images")
    p.add_argument(
        "--artifact", help=f"the card's artifact id (default: the first of {', '.join(PREFERRED)})"
    )
    p.add_argument("--artifacts", type=Path, default=artifacts_root(), help="artifacts root (%(default)s)")
    p.add_argument("--runtime", help="runtime to run it with (default: the one for its format)")
    p.add_argument("--threads", type=at_least_one, default=default_threads())
    p.add_argument("--top", type=at_least_one, default=5, help="how many classes to print (%(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--device", help="predict on this board: ssh://[user@]host[:port][/workdir]")
    p.add_argument("--device-python", default="python3", help="the board's python (%(default)s)")
    p.add_argument("--ssh-config", type=Path, help="ssh client configuration file (default: ssh's own)")


def resolve(target: str, artifact: str | None, root: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """(the card's folder, its manifest, the artifact's manifest entry)."""
    from edgeexport.bench.targets import read_manifest
    from edgeexport.registry import suggest

    path = Path(target)
    if path.suffix and (path.is_file() or path.is_dir()):
        folder = path.resolve().parent
        if not (folder / "manifest.json").is_file():
            raise UsageError(f"{path}: no manifest.json beside it; predict runs exported artifacts")
        manifest = read_manifest(folder)
        entry = next((a for a in manifest["artifacts"] if a["file"] == path.name), None)
        if entry is None:
            raise UsageError(f"{path}: not listed in {folder / 'manifest.json'}")
        return folder, manifest, entry
    folder = root / target
    if not (folder / "manifest.json").is_file():
        found = sorted(p.parent.name for p in root.glob("*/manifest.json")) if root.is_dir() else []
        raise UnknownNameError(
            f"no exported model {target!r} under {root}{suggest(target, found)}; "
            f"export it first: make export MODEL={target}"
        )
    manifest = read_manifest(folder)
    usable = {a["id"]: a for a in manifest["artifacts"] if a.get("sha256") and (folder / a["file"]).exists()}
    if artifact is None:
        artifact = next((a for a in PREFERRED if a in usable), None) or next(iter(usable), None)
        if artifact is None:
            raise EdgeExportError(f"{target}: no artifact was written; re-export it")
    if artifact not in usable:
        known = [a["id"] for a in manifest["artifacts"]]
        if artifact in known:
            raise EdgeExportError(f"{target}/{artifact} was not written at export (see the manifest)")
        raise UnknownNameError(f"no artifact {artifact!r} in {target}{suggest(artifact, known)}")
    return folder, manifest, usable[artifact]


def image_files(paths: list[Path]) -> list[Path]:
    from edgeexport import images

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix.lower() in images.SUFFIXES)
            if not inside:
                raise UsageError(f"{path}: no images in it ({', '.join(images.SUFFIXES)})")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such image file or folder")
    return found


def scores(logits: np.ndarray) -> np.ndarray:
    """Probabilities: the output as it is when it already is one (softmax inside the model), else softmax."""
    import numpy as np

    x = logits.astype(np.float64).ravel()
    if x.min() >= 0 and abs(x.sum() - 1) < 1e-3:
        return x
    e = np.exp(x - x.max())
    return np.asarray(e / e.sum())


def predict(args: argparse.Namespace) -> list[dict[str, Any]]:
    import numpy as np

    from edgeexport import images, runtimes
    from edgeexport.artifact import sha256_path

    folder, manifest, entry = resolve(args.target, args.artifact, args.artifacts)
    reference = manifest.get("reference", {})
    pre = reference.get("preprocess")
    if not pre:
        raise UsageError(
            f"{manifest['card']} was exported before predict existed (no preprocessing in its manifest); "
            f"re-export it: make export MODEL={manifest['card']}"
        )
    runtime = args.runtime or runtimes.runtime_for(entry["format"])
    if runtime is None or entry["format"] not in runtimes.RUNTIMES.get(runtime).formats:
        raise UsageError(
            f"{entry['id']} is a {entry['format']} file; {args.runtime or 'no runtime'} cannot run it"
        )
    reason = runtimes.unavailable(runtime)
    if reason:
        raise RuntimeUnavailable(f"{runtime}: unavailable: {reason}")
    path = folder / entry["file"]
    if sha256_path(path) != entry["sha256"]:
        raise EdgeExportError(f"{path}: its sha256 differs from the manifest; re-export {manifest['card']}")
    files = image_files(args.images)
    session = runtimes.load(
        runtime, str(path), args.threads, **runtimes.artifact_options(entry.get("config"))
    )
    classes = reference.get("classes")
    results = []
    for file in files:
        x = images.preprocess(images.read_image(file), **{**pre, "hw": tuple(pre["hw"])})[None]
        p = scores(session.run([x])[0])
        top = np.argsort(-p)[: max(1, args.top)]
        results.append(
            {
                "image": str(file),
                "card": manifest["card"],
                "artifact": entry["id"],
                "runtime": runtime,
                "top": [
                    {"index": int(i), "class": classes[i] if classes else str(int(i)), "score": float(p[i])}
                    for i in top
                ],
            }
        )
    return results


def show(results: list[dict[str, Any]], *, as_json: bool) -> int:
    """Print the answer (text, or JSON with --json); the command's entry is device_predict.main."""
    if as_json:
        print(json.dumps(results, indent=1))
        return 0
    for r in results:
        where = f" on {r['device']}" if r.get("device") else ""
        print(f"{r['image']}  ({r['card']}/{r['artifact']}, {r['runtime']}{where})")
        width = max(len(t["class"]) for t in r["top"])
        for rank, t in enumerate(r["top"], 1):
            print(f"  {rank}. {t['class']:<{width}}  {t['score']:.3f}")
    return 0
