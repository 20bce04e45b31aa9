"""One .tar.gz to carry to a device: a card's artifacts, its reference and manifest, and the bench code.

    python -m edgeexport.bench bundle --model mobilenetv3_small [--out PATH]
    python -m edgeexport.bench unpack FILE [--into DIR]     # or: tar xzf FILE

The archive holds one folder, ``edgeexport-bench-<card>/``, laid out like a checkout (``edgeexport/``,
``artifacts/<card>/``), so ``cd`` into it and ``python -m edgeexport.bench`` finds its artifacts.
Artifacts that failed at export are left out; every file's sha256 is checked against the manifest first.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path, PurePosixPath

from edgeexport.bench import ARTIFACTS_ROOT, REPO_ROOT
from edgeexport.bench.targets import read_manifest, select_cards
from edgeexport.errors import EdgeExportError

# The device side of the package: numpy-only modules, the runtime adapters, the harness.
CODE = ("edgeexport/__init__.py", "edgeexport/errors.py", "edgeexport/registry.py", "edgeexport/parity.py",
        "edgeexport/artifact.py", "edgeexport/runtimes", "edgeexport/bench")  # fmt: skip
README = """edgeexport bench bundle ({cards}), made {created}

Needs Python >= 3.10, numpy and one runtime:
    python3 -m venv ~/edgeexport-venv && . ~/edgeexport-venv/bin/activate
    pip install numpy onnxruntime ai-edge-litert        # psutil and rich are optional
    python -m edgeexport.bench --runtime onnxruntime --threads 4
    python -m edgeexport.bench --runtime litert --threads 4
Results land in benchmarks/results/<timestamp>-<runtime>.json. See docs/bench.md in the repository.
"""


class UnsafeArchiveError(EdgeExportError):
    """A tar member that would land outside the folder it is unpacked into."""


def _code_files() -> list[Path]:
    files = []
    for rel in CODE:
        path = REPO_ROOT / rel
        if path.is_dir():
            files += sorted(p for p in path.glob("*.py") if p.is_file())
        else:
            files.append(path)
    return files


def _no_cache(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in info.name or info.name.endswith(".pyc") else info


def bundle(cards: list[str] | None, *, root: Path = ARTIFACTS_ROOT, out: Path | None = None) -> Path:
    from edgeexport.artifact import sha256_path

    chosen = select_cards(root, cards)
    if not chosen:
        raise EdgeExportError(f"no exported model under {root}; run `make export MODEL=...` first")
    top = "edgeexport-bench-" + ("-".join(chosen) if len(chosen) <= 2 else "models")
    out = out or root / f"{top}.tar.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as tar:
        for path in _code_files():
            tar.add(path, arcname=f"{top}/{path.relative_to(REPO_ROOT).as_posix()}", filter=_no_cache)
        for name, folder in chosen.items():
            manifest = read_manifest(folder)
            dest = f"{top}/artifacts/{name}"
            tar.add(folder / "manifest.json", arcname=f"{dest}/manifest.json")
            tar.add(folder / manifest["reference"]["file"], arcname=f"{dest}/{manifest['reference']['file']}")
            for entry in manifest["artifacts"]:
                path = folder / entry["file"]
                if entry["status"] == "failed" or not entry.get("sha256") or not path.exists():
                    continue
                if sha256_path(path) != entry["sha256"]:
                    raise EdgeExportError(f"{path}: sha256 differs from the manifest; re-export {name}")
                tar.add(path, arcname=f"{dest}/{entry['file']}")
        text = README.format(cards=", ".join(chosen), created=time.strftime("%Y-%m-%d %H:%M")).encode()
        info = tarfile.TarInfo(f"{top}/BUNDLE.txt")
        info.size, info.mtime, info.mode = len(text), int(time.time()), 0o644
        tar.addfile(info, io.BytesIO(text))
    return out


def check_member(member: tarfile.TarInfo, target: Path) -> None:
    """Raise UnsafeArchiveError unless ``member`` stays inside ``target`` (resolved)."""
    name = member.name
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"refusing {name!r}: absolute path")
    if ".." in parts:
        raise UnsafeArchiveError(f"refusing {name!r}: '..' leaves the target folder")
    dest = (target / name).resolve()
    if not dest.is_relative_to(target):
        raise UnsafeArchiveError(f"refusing {name!r}: resolves outside {target}")
    if member.issym() or member.islnk():
        link = member.linkname
        if link.startswith(("/", "\\")):
            raise UnsafeArchiveError(f"refusing link {name!r} -> {link!r}: absolute link target")
        base = dest.parent if member.issym() else target
        if not (base / link).resolve().is_relative_to(target):
            raise UnsafeArchiveError(f"refusing link {name!r} -> {link!r}: points outside {target}")
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"refusing {name!r}: not a regular file or folder")


def unpack(archive: Path, into: Path | None = None) -> list[Path]:
    """Unpack after checking every member; returns the top-level folders it created."""
    target = (into or Path.cwd()).resolve()
    target.mkdir(parents=True, exist_ok=True)
    if not tarfile.is_tarfile(archive):
        raise EdgeExportError(f"{archive}: not a tar archive")
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            check_member(member, target)
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4, 3.10.12: a second line of defence
            try:
                tar.extractall(target, filter="data")
            except tarfile.FilterError as error:
                raise UnsafeArchiveError(f"refusing {archive}: {error}") from None
        else:
            tar.extractall(target)  # every member passed check_member above
    tops = sorted({PurePosixPath(m.name).parts[0] for m in members if PurePosixPath(m.name).parts})
    return [target / t for t in tops]
