"""``unpack`` writes nothing unless the archive is a plain bundle: files and folders only, sha256 verified."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from edgeexport.bench.bundle import LISTING, UnsafeArchiveError, unpack
from edgeexport.errors import EdgeExportError


def _file(name: str, data: bytes = b"xxx") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, target: str, *, hard: bool = False) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info, b""


def _special(name: str, kind: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind  # a character device (/dev/null's numbers) or a FIFO
    info.devmajor, info.devminor = 1, 3
    return info, b""


def _dir(name: str) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info, b""


def _archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], *, listing: bool = True) -> Path:
    """An archive of ``members``, with a BUNDLE.json listing the regular files under ``bundle/``."""
    if listing:
        sums = {
            m.name.removeprefix("bundle/"): hashlib.sha256(d).hexdigest()
            for m, d in members
            if m.isreg() and m.name.startswith("bundle/")
        }
        members = [*members, _file(f"bundle/{LISTING}", json.dumps({"files": sums}).encode())]
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _cve_2025_4517_members() -> list[tuple[tarfile.TarInfo, bytes]]:
    """The published PATH_MAX symlink-chain technique: nested symlinked folders with names so long that the
    resolved path passes PATH_MAX, then a long ``../`` link and a hard link through it."""
    comp = "d" * 247
    steps = "abcdefghijklmnop"
    path, step_path, members = "", "", []
    for step in steps:
        members.append(_dir(f"bundle/{path}{comp}"))
        members.append(_link(f"bundle/{path}{step}", comp))
        path += comp + "/"
        step_path += step + "/"
    long_link = "l" * 254
    members.append(_link(f"bundle/{step_path}{long_link}", "../" * len(steps)))
    members.append(_link("bundle/escape", f"{step_path}{long_link}/../../.."))
    members.append(_link("bundle/escape-file", "escape/outside.txt", hard=True))
    members.append(_file("bundle/escape/new-file.txt", b"pwned"))
    return members


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([_file("../evil")], "'..'"),
        ([_file("bundle/../../evil")], "'..'"),
        ([_file("/tmp/evil-absolute")], "plain relative path"),
        ([_file("bundle\\..\\evil")], "plain relative path"),
        ([_link("bundle/link", "/etc/passwd")], "a link"),
        ([_link("bundle/inside", "ok.txt")], "a link"),  # even a harmless link: a bundle needs none
        ([_link("bundle/hard", "bundle/ok.txt", hard=True)], "a link"),
        ([_link("bundle/a", "."), _link("bundle/a/a/a/b", "../../..")], "a link"),
        (_cve_2025_4517_members(), "a link"),
        ([_special("bundle/null", tarfile.CHRTYPE)], "special file"),
        ([_special("bundle/pipe", tarfile.FIFOTYPE)], "special file"),
        ([_file("bundle/ok.txt")], "appears twice"),
        ([_file("other/x.txt")], "one top folder"),
    ],
    ids=[
        "dotdot",
        "inner-dotdot",
        "absolute",
        "backslash",
        "abs-link",
        "inner-link",
        "hardlink",
        "link-chain",
        "cve-2025-4517",
        "char-device",
        "fifo",
        "duplicate",
        "two-tops",
    ],
)
def test_unpack_refuses_and_writes_nothing(tmp_path: Path, members: list, why: str) -> None:
    (tmp_path / "outside.txt").write_text("keep me")
    archive = _archive(tmp_path / "evil.tar.gz", [_file("bundle/ok.txt"), *members])
    into = tmp_path / "deep" / "into"
    into.mkdir(parents=True)
    with pytest.raises(UnsafeArchiveError, match=why):
        unpack(archive, into)
    assert _tree(tmp_path / "deep") == ["into"]  # not even a staging folder is left
    assert (tmp_path / "outside.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "evil.tar.gz", "outside.txt"]


def test_unpack_checks_every_file_against_the_listing(tmp_path: Path) -> None:
    members = [_file("bundle/a.txt", b"good")]
    lying = {"files": {"a.txt": hashlib.sha256(b"other").hexdigest()}}
    archive = _archive(
        tmp_path / "x.tgz", [*members, _file(f"bundle/{LISTING}", json.dumps(lying).encode())], listing=False
    )
    with pytest.raises(UnsafeArchiveError, match="sha256 differs"):
        unpack(archive, tmp_path / "into")
    assert _tree(tmp_path / "into") == []
    empty = _file(f"bundle/{LISTING}", b'{"files": {}}')
    unlisted = _archive(tmp_path / "y.tgz", [_file("bundle/a.txt"), empty], listing=False)
    with pytest.raises(UnsafeArchiveError, match="does not list"):
        unpack(unlisted, tmp_path / "into")
    with pytest.raises(UnsafeArchiveError, match=f"no bundle/{LISTING}"):
        unpack(_archive(tmp_path / "z.tgz", [_file("bundle/a.txt")], listing=False), tmp_path / "into")


def test_unpack_checks_artifacts_against_their_export_manifest(tmp_path: Path) -> None:
    entry = {"id": "onnx_fp32", "format": "onnx", "file": "m.onnx", "status": "ok",
             "precision": {"weights": "float32", "activations": "float32"},
             "sha256": hashlib.sha256(b"exported").hexdigest()}  # fmt: skip
    manifest = {"card": "m", "artifacts": [entry]}
    archive = _archive(tmp_path / "x.tgz", [
        _file("bundle/artifacts/m/manifest.json", json.dumps(manifest).encode()),
        _file("bundle/artifacts/m/m.onnx", b"tampered"),
    ])  # fmt: skip
    with pytest.raises(UnsafeArchiveError, match="differs from m's manifest"):
        unpack(archive, tmp_path / "into")
    assert _tree(tmp_path / "into") == []


def test_unpack_extracts_a_clean_archive_and_never_overwrites(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "ok.tar.gz", [_dir("bundle"), _file("bundle/a/b.txt"), _file("bundle/c")])
    tops = unpack(archive, tmp_path / "into")
    assert tops == [(tmp_path / "into" / "bundle").resolve()]
    expected = ["bundle", f"bundle/{LISTING}", "bundle/a", "bundle/a/b.txt", "bundle/c"]
    assert _tree(tmp_path / "into") == expected
    assert (tmp_path / "into" / "bundle" / "a" / "b.txt").read_bytes() == b"xxx"
    (tmp_path / "into" / "bundle" / "c").write_text("a result the user keeps")
    with pytest.raises(EdgeExportError, match="already exists"):
        unpack(archive, tmp_path / "into")
    assert (tmp_path / "into" / "bundle" / "c").read_text() == "a result the user keeps"


def test_unpack_cli_gives_one_line_error(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "evil.tar.gz", [_file("../evil")])
    out = subprocess.run(
        [sys.executable, "-m", "edgeexport.bench", "unpack", str(archive), "--into", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error: refusing '../evil'")
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_package_folder_artifact_ships_file_by_file(onnx_root: Path, tmp_path: Path) -> None:
    """An .mlpackage is a folder: every file in it is listed and checked, and the folder as a whole must
    have the sha256 the export manifest recorded (a bundle of any card with Core ML artifacts)."""
    import shutil

    from edgeexport.artifact import sha256_path
    from edgeexport.bench.bundle import bundle

    root = tmp_path / "root"
    shutil.copytree(onnx_root, root)
    package = root / "handmade" / "handmade.coreml_fp32.mlpackage"
    (package / "Data").mkdir(parents=True)
    (package / "Manifest.json").write_text("{}")
    (package / "Data" / "weights.bin").write_bytes(b"\x00" * 64)
    manifest = json.loads((root / "handmade" / "manifest.json").read_text())
    manifest["artifacts"].append(
        {"id": "coreml_fp32", "format": "coreml", "file": package.name, "status": "ok",
         "precision": {"weights": "float32", "activations": "float32"}, "config": {},
         "sha256": sha256_path(package), "size": 66}
    )  # fmt: skip
    (root / "handmade" / "manifest.json").write_text(json.dumps(manifest))
    archive = bundle(["handmade"], root=root, out=tmp_path / "b.tgz")
    (top,) = unpack(archive, tmp_path / "device")
    assert sha256_path(top / "artifacts" / "handmade" / package.name) == sha256_path(package)
    (package / "Data" / "weights.bin").write_bytes(b"\x01" * 64)  # changed after export: refused to bundle
    with pytest.raises(EdgeExportError, match="sha256 differs from the manifest"):
        bundle(["handmade"], root=root, out=tmp_path / "c.tgz")
