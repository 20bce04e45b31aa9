"""``unpack`` refuses archive members that would land outside the target folder."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from edgeexport.bench.bundle import UnsafeArchiveError, unpack


def _archive(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for m in members:
            if m.isfile():
                data = b"x" * m.size
                tar.addfile(m, io.BytesIO(data))
            else:
                tar.addfile(m)
    return path


def _file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 3
    return info


def _link(name: str, target: str, *, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (_file("../evil"), "'..'"),
        (_file("bundle/../../evil"), "'..'"),
        (_file("/tmp/evil-absolute"), "absolute"),
        (_link("bundle/link", "/etc/passwd"), "absolute link"),
        (_link("bundle/link", "../../outside"), "outside"),
        (_link("bundle/hard", "../outside", hard=True), "outside"),
    ],
)
def test_unpack_refuses_members_that_leave_the_folder(
    tmp_path: Path, member: tarfile.TarInfo, why: str
) -> None:
    archive = _archive(tmp_path / "evil.tar.gz", [_file("bundle/ok.txt"), member])
    into = tmp_path / "into"
    with pytest.raises(UnsafeArchiveError, match=why):
        unpack(archive, into)
    assert not (tmp_path / "evil").exists()
    assert not (into / "bundle" / "ok.txt").exists()  # checked before anything is written


def test_unpack_extracts_a_clean_archive(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "ok.tar.gz", [_file("bundle/a/b.txt"), _link("bundle/l", "a/b.txt")])
    tops = unpack(archive, tmp_path / "into")
    assert tops == [(tmp_path / "into" / "bundle").resolve()]
    assert (tmp_path / "into" / "bundle" / "a" / "b.txt").read_bytes() == b"xxx"


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
