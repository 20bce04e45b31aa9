"""One .tar.gz to carry to a device: a card's artifacts, its reference and manifest, and the bench code.

    python -m edgeexport.bench bundle --model mobilenetv3_small [--out PATH]
    python -m edgeexport.bench unpack FILE [--into DIR]     # or: tar xzf FILE

The archive holds one folder, ``edgeexport-bench-<card>/``, laid out like a checkout (``edgeexport/``,
``artifacts/<card>/``), so ``cd`` into it and ``python -m edgeexport.bench`` finds its artifacts.
Artifacts that failed at export are left out; every file's sha256 is checked against the manifest first
and listed in ``BUNDLE.json``. ``unpack`` accepts only regular files and folders with plain relative names,
refuses the whole archive before writing anything otherwise, writes into a staging folder, checks every file
against ``BUNDLE.json`` and the export manifests, and only then renames the folder into place.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath

from edgeexport.artifact import read_manifest_file
from edgeexport.bench import DEVICE_SIDE, PACKAGE_PARENT
from edgeexport.bench.targets import read_manifest, reference_problem, select_cards
from edgeexport.errors import EdgeExportError, UsageError
from edgeexport.runtimes import executorch

LISTING = "BUNDLE.json"  # every file of the bundle with its sha256, checked by unpack
README = """edgeexport bench bundle ({cards}), made {created}

Needs Python >= 3.10, numpy and one runtime:
    python3 -m venv ~/edgeexport-venv && . ~/edgeexport-venv/bin/activate
    pip install numpy onnxruntime ai-edge-litert ncnn   # psutil and rich are optional; pillow for predict
    python -m edgeexport.bench --runtime onnxruntime --threads 4
    python -m edgeexport.bench --runtime litert --threads 4
    python -m edgeexport.bench --runtime ncnn --threads 4
ExecuTorch's Python runtime needs torch (the .pte files run without it only in a native app):
    {executorch_install}
    python -m edgeexport.bench --runtime executorch --threads 4
Results land in benchmarks/results/<timestamp>-<runtime>.json. See docs/bench.md in the repository.
"""


class UnsafeArchiveError(UsageError):
    """An archive that is not a plain bundle: a link, a special file, an unsafe name or a wrong sha256."""


def code_files() -> list[Path]:
    files = []
    for rel in DEVICE_SIDE:
        path = PACKAGE_PARENT / "edgeexport" / rel
        if path.is_dir():
            files += sorted(p for p in path.glob("*.py") if p.is_file())
        else:
            files.append(path)
    return files


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


def bundle(
    cards: list[str] | None,
    *,
    root: Path,
    out: Path | None = None,
    include_torch: bool = False,
) -> Path:
    """The archive of ``cards``; the ``.pt2`` (eager PyTorch) artifacts only with ``include_torch``."""
    from edgeexport.artifact import sha256_path

    chosen = select_cards(root, cards)
    if not chosen:
        raise EdgeExportError(f"no exported model under {root}; run `make export MODEL=...` first")
    top = "edgeexport-bench-" + ("-".join(chosen) if len(chosen) <= 2 else "models")
    out = out or root / f"{top}.tar.gz"
    files: dict[str, Path] = {p.relative_to(PACKAGE_PARENT).as_posix(): p for p in code_files()}
    for name, folder in chosen.items():
        manifest = read_manifest(folder)
        dest = f"artifacts/{name}"
        files[f"{dest}/manifest.json"] = folder / "manifest.json"
        reference = manifest["reference"].get("file", "reference.npz")
        problem = reference_problem(folder, manifest)
        if problem:
            raise EdgeExportError(problem)
        files[f"{dest}/{reference}"] = folder / reference
        for entry in manifest["artifacts"]:
            path = folder / entry["file"]
            if entry["status"] == "failed" or not entry.get("sha256") or not path.exists():
                continue
            if entry["format"] == "pt2" and not include_torch:
                continue
            if sha256_path(path) != entry["sha256"]:
                raise EdgeExportError(f"{path}: sha256 differs from the manifest; re-export {name}")
            if path.is_dir():  # a package (.mlpackage): its files, each listed with its own sha256
                for inner in sorted(p for p in path.rglob("*") if p.is_file()):
                    files[f"{dest}/{entry['file']}/{inner.relative_to(path).as_posix()}"] = inner
            else:
                files[f"{dest}/{entry['file']}"] = path
    readme = README.format(
        cards=", ".join(chosen),
        created=time.strftime("%Y-%m-%d %H:%M"),
        executorch_install=executorch.install_command(),
    ).encode()
    sums = {rel: sha256_path(path) for rel, path in files.items()}
    sums["BUNDLE.txt"] = hashlib.sha256(readme).hexdigest()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        for rel, path in files.items():
            tar.add(path, arcname=f"{top}/{rel}", recursive=False)
        _add_bytes(tar, f"{top}/BUNDLE.txt", readme)
        _add_bytes(tar, f"{top}/{LISTING}", json.dumps({"files": sums}, indent=1, sort_keys=True).encode())
    os.replace(partial, out)
    return out


def _safe_name(member: tarfile.TarInfo) -> PurePosixPath:
    """The member's name as a relative path, or UnsafeArchiveError: a bundle holds only plain names."""
    name = member.name
    drive = len(name) > 1 and name[1] == ":"
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or drive:
        raise UnsafeArchiveError(f"refusing {name!r}: not a plain relative path")
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafeArchiveError(f"refusing {name!r}: '..', '.' or an empty part in the path")
    return PurePosixPath(*parts)


def check_members(members: list[tarfile.TarInfo]) -> tuple[str, dict[PurePosixPath, tarfile.TarInfo]]:
    """The archive's one top folder and its regular files, or UnsafeArchiveError before anything is written.

    A bundle needs no links: symbolic links, hard links, devices and FIFOs are refused whatever they point
    at, so no member can be written through a link made by an earlier member (CVE-2025-4517's technique).
    """
    files: dict[PurePosixPath, tarfile.TarInfo] = {}
    dirs: set[PurePosixPath] = set()
    for member in members:
        path = _safe_name(member)
        if member.isdir():
            dirs.add(path)
        elif member.isreg():
            if path in files:
                raise UnsafeArchiveError(f"refusing {member.name!r}: it appears twice")
            files[path] = member
        else:
            kind = "link" if member.issym() or member.islnk() else "special file"
            raise UnsafeArchiveError(
                f"refusing {member.name!r}: a {kind}; bundles hold only files and folders"
            )
    tops = {p.parts[0] for p in (*files, *dirs)}
    if len(tops) != 1 or any(len(p.parts) == 1 for p in files):
        raise UnsafeArchiveError(f"refusing the archive: one top folder expected, found {sorted(tops)}")
    parents = {parent for p in files for parent in p.parents}
    clash = sorted(str(p) for p in files if p in parents or p in dirs)
    if clash:
        raise UnsafeArchiveError(f"refusing {clash[0]!r}: both a file and a folder")
    return tops.pop(), files


def _listed(tar: tarfile.TarFile, top: str, files: dict[PurePosixPath, tarfile.TarInfo]) -> dict[str, str]:
    """BUNDLE.json's file -> sha256 table, which must name exactly the archive's files."""
    entry = files.get(PurePosixPath(top, LISTING))
    stream = tar.extractfile(entry) if entry else None
    if stream is None:
        raise UnsafeArchiveError(f"refusing the archive: no {top}/{LISTING}; make it with `bench bundle`")
    try:
        listed = json.loads(stream.read(1 << 24))["files"]
    except (ValueError, KeyError, TypeError) as error:
        raise UnsafeArchiveError(f"refusing the archive: {top}/{LISTING} is not readable ({error})") from None
    present = {str(p.relative_to(top)) for p in files} - {LISTING}
    if not isinstance(listed, dict) or set(listed) != present:
        extra = sorted(present - set(listed)) if isinstance(listed, dict) else sorted(present)
        raise UnsafeArchiveError(f"refusing the archive: {LISTING} does not list {extra[:3] or 'its files'}")
    return listed


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, expected: str) -> str:
    source = tar.extractfile(member)
    if source is None:
        raise UnsafeArchiveError(f"refusing {member.name!r}: unreadable member")
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != expected:
        raise UnsafeArchiveError(f"refusing {member.name!r}: its sha256 differs from {LISTING}")
    return digest.hexdigest()


def _check_manifests(staging: Path, sums: dict[str, str]) -> None:
    """Every shipped artifact must have the sha256 its export manifest recorded (a package folder, such as
    an .mlpackage, as a whole)."""
    from edgeexport.artifact import sha256_path

    for manifest_path in staging.glob("artifacts/*/manifest.json"):
        card = manifest_path.parent.name
        try:
            manifest = read_manifest_file(manifest_path)
        except EdgeExportError as error:
            raise UnsafeArchiveError(f"refusing the archive: {error}") from None
        ref = manifest.get("reference") or {}
        ref_rel = f"artifacts/{card}/{ref.get('file', 'reference.npz')}"
        if ref.get("sha256") and sums.get(ref_rel) != ref["sha256"]:
            raise UnsafeArchiveError(f"refusing {ref_rel}: missing, or not the file {card}'s manifest lists")
        for entry in manifest["artifacts"]:
            rel = f"artifacts/{card}/{entry.get('file')}"
            folder = staging / rel
            digest = sums.get(rel) or (sha256_path(folder) if folder.is_dir() else None)
            if digest is not None and digest != entry.get("sha256"):
                raise UnsafeArchiveError(f"refusing {rel}: its sha256 differs from {card}'s manifest")


def unpack(archive: Path, into: Path | None = None) -> list[Path]:
    """Check every member, write into a fresh staging folder, verify sha256s, then rename into place.

    Returns the top folder. On any refusal nothing is left in ``into`` (the staging folder is removed).
    """
    target = (into or Path.cwd()).resolve()
    if not archive.exists():
        raise UsageError(f"{archive}: no such file")
    if not archive.is_file() or not tarfile.is_tarfile(archive):
        raise UsageError(f"{archive}: not a tar archive; make one with `edgeexport.bench bundle`")
    if target.exists() and not target.is_dir():
        raise UsageError(f"--into {target} is a file, not a folder")
    try:
        return _unpack(archive, target)
    except (
        tarfile.TarError,
        EOFError,
        zlib.error,
        gzip.BadGzipFile,
        lzma.LZMAError,
    ) as error:  # the staging folder is already removed
        raise UsageError(f"{archive}: truncated or corrupt archive ({error}); nothing was unpacked") from None


def _unpack(archive: Path, target: Path) -> list[Path]:
    with tarfile.open(archive, "r:*") as tar:
        top, files = check_members(tar.getmembers())
        listed = _listed(tar, top, files)
        final = target / top
        if final.exists() or final.is_symlink():
            raise UsageError(f"{final} already exists; remove it or unpack with --into another folder")
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{top}.", suffix=".partial", dir=target))
        try:
            sums = {}
            for path, member in files.items():
                rel = str(path.relative_to(top))
                if rel != LISTING:
                    sums[rel] = _write(tar, member, staging.joinpath(*path.parts[1:]), listed[rel])
            _check_manifests(staging, sums)
            (staging / LISTING).write_text(json.dumps({"files": listed}, indent=1, sort_keys=True))
            staging.chmod(0o755)
            os.rename(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return [final]
