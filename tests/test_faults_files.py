"""The faults catalogue, part 2 (docs/faults.md): files and folders -- an export folder that is not
what its manifest says, two exports at once, kill -9, a full disk, an archive cut short. Nothing is lost
or half-written, and the error is one line. The ``case`` in each docstring is the row of docs/faults.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fault_support import TESTS, cli, one_line, tiny, user, write_card

# --- the bench: an export folder that is not what its manifest says ----------------------------------------

SHORT = ["--min-runs", "2", "--min-time", "0.01", "--warmup-runs", "1", "--warmup-time", "0",
         "--threads", "1"]  # fmt: skip


@pytest.fixture
def handmade(onnx_root: Path, tmp_path: Path) -> Path:
    """A private copy of conftest's handmade ONNX card (exported-looking, made in milliseconds)."""
    import shutil

    root = tmp_path / "artifacts"
    shutil.copytree(onnx_root, root)
    return root


def _bench(root: Path, *extra: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cli(
        "edgeexport.bench", "--runtime", "onnxruntime", "--artifacts", str(root), *SHORT, *extra, cwd=cwd
    )


def _manifest(root: Path) -> dict:
    return json.loads((root / "handmade" / "manifest.json").read_text())


def _rewrite_manifest(root: Path, data: object) -> None:
    (root / "handmade" / "manifest.json").write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "a JSON list, not a table"),
        ('{"card": "handmade", "artifacts": [{"id": "x"}]}', "artifacts[0] has no 'format'"),
    ],
)
def test_a_broken_manifest_is_named_by_the_bench(
    handmade: Path, tmp_path: Path, content: str, words: str
) -> None:
    """case 6: a traceback naming no file."""
    (handmade / "handmade" / "manifest.json").write_text(content)
    out = _bench(handmade, cwd=tmp_path)
    assert out.returncode == 1
    one_line(out, "handmade/manifest.json", words, "re-export the card")


def test_a_manifest_file_entry_outside_the_folder_is_refused_by_bundle(
    handmade: Path, tmp_path: Path
) -> None:
    """case 7h: ``"file": "../../etc/hostname"`` made bundle pack /etc/hostname."""
    data = _manifest(handmade)
    data["artifacts"][0]["file"] = "../../../../etc/hostname"
    _rewrite_manifest(handmade, data)
    out = cli(
        "edgeexport.bench",
        "bundle",
        "--artifacts",
        str(handmade),
        "--out",
        str(tmp_path / "b.tgz"),
        cwd=tmp_path,
    )
    assert out.returncode == 1 and not (tmp_path / "b.tgz").exists()
    one_line(out, "is not a plain file name in the card's folder")


def test_a_replaced_reference_is_a_sha256_mismatch(handmade: Path, tmp_path: Path) -> None:
    """case 5: everything was judged "ok" against whatever reference.npz was there."""
    from edgeexport.artifact import sha256_path

    data = _manifest(handmade)
    data["reference"]["sha256"] = sha256_path(handmade / "handmade" / "reference.npz")
    _rewrite_manifest(handmade, data)
    assert _bench(handmade, cwd=tmp_path).returncode == 0  # recorded and unchanged: fine
    ref = handmade / "handmade" / "reference.npz"
    ref.write_bytes(ref.read_bytes()[:100])  # truncated (a BadZipFile that named no file)
    out = _bench(handmade, "--json", str(tmp_path / "r.json"), cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "reference.npz differs from its manifest entry" in out.stderr
    assert [r["status"] for r in json.loads((tmp_path / "r.json").read_text())["results"]] == [
        "sha256 mismatch"
    ]
    bundled = cli(
        "edgeexport.bench",
        "bundle",
        "--artifacts",
        str(handmade),
        "--out",
        str(tmp_path / "b.tgz"),
        cwd=tmp_path,
    )
    assert bundled.returncode == 1 and "reference.npz differs" in bundled.stderr


def test_a_missing_artifact_is_reported_not_dropped(handmade: Path, tmp_path: Path) -> None:
    """case 8: the bench said nothing and exited 0."""
    (handmade / "handmade" / "handmade.onnx_fp32.onnx").unlink()
    out = _bench(handmade, "--json", str(tmp_path / "r.json"), cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    result = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert result["status"] == "missing" and "listed in the manifest but missing" in result["reason"]


def test_results_are_kept_when_the_results_folder_cannot_be_written(handmade: Path, tmp_path: Path) -> None:
    """case 2: a traceback, and the measurements were lost."""
    blocked = tmp_path / "results"
    blocked.write_text("a file where the results folder should be")
    out = _bench(handmade, "--results-dir", str(blocked), cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "onnx_fp32" in out.stdout  # the table came first
    saved = Path(out.stdout.split("results: ")[1].split()[0])
    assert saved.is_file() and "edgeexport-results" in str(saved)
    assert f"could not write {blocked}" in out.stderr
    saved.unlink()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\xff", "cannot read a bench result"),
        (b"[]", "a JSON list, not a bench result"),
        (b'{"schema": "edgeexport.bench/1", "results": [{"card": "x"}]}', "are not a list of bench results"),
    ],
)
def test_compare_of_a_file_that_is_not_a_bench_result(tmp_path: Path, content: bytes, words: str) -> None:
    """case 9i: a binary file or an oddly shaped JSON gave a traceback."""
    from edgeexport.bench import SCHEMA

    odd = tmp_path / "odd.json"
    odd.write_bytes(content.replace(b"edgeexport.bench/1", SCHEMA.encode()))
    out = cli("edgeexport.bench", "compare", str(odd), str(odd), cwd=tmp_path)
    assert out.returncode == 2
    one_line(out, words)


def test_unpack_of_a_truncated_archive_writes_nothing(handmade: Path, tmp_path: Path) -> None:
    """case 9j: a cut-off download gave tarfile's traceback."""
    archive = tmp_path / "b.tgz"
    made = cli(
        "edgeexport.bench", "bundle", "--artifacts", str(handmade), "--out", str(archive), cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    into = tmp_path / "board"
    into.mkdir()
    out = cli("edgeexport.bench", "unpack", str(archive), "--into", str(into), cwd=tmp_path)
    assert out.returncode == 2
    one_line(out, "truncated or corrupt archive", "nothing was unpacked")
    assert list(into.iterdir()) == []


# --- export: the card's folder stays whole -----------------------------------------------------------------


def _export(card: Path, root: Path, *extra: str, cwd: Path, **kw: object) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "edgeexport",
        "export",
        str(card),
        "--artifacts",
        str(root),
        "--threads",
        "1",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen([*argv, *extra], cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]  # fmt: skip


def _done(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.slow
def test_two_exports_of_one_card_at_once_keep_both(tmp_path: Path) -> None:
    """case 3: started together, both exited 0 and the manifest listed only the last one's artifacts."""
    card = write_card(tmp_path, tiny(name="twice"), name="twice")
    root = tmp_path / "artifacts"
    first = _export(card, root, "--formats", "onnx", "--precisions", "fp32", cwd=tmp_path)
    second = _export(card, root, "--formats", "tflite", "--precisions", "fp32", cwd=tmp_path)
    outs = [_done(first), _done(second)]
    assert [o.returncode for o in outs] == [0, 0], [o.stderr[-500:] for o in outs]
    ids = {a["id"] for a in json.loads((root / "twice" / "manifest.json").read_text())["artifacts"]}
    assert {"onnx_fp32", "tflite_fp32"} <= ids
    assert any("waiting for another export of twice" in o.stderr for o in outs)

    # case 4: the model changes (another seed), and only ONNX is exported again: the TFLite file was made
    # from the old model, so it leaves the manifest (named), and bench and bundle never see it as ok
    card.write_text(card.read_text().replace("[input]", "[weights]\nseed = 1\n\n[input]"))
    again = _done(_export(card, root, "--formats", "onnx", "--precisions", "fp32", cwd=tmp_path))
    assert again.returncode == 0, again.stderr[-500:]
    assert "dropped from the manifest, judged against another reference.npz: tflite_fp32" in again.stderr
    ids = {a["id"] for a in json.loads((root / "twice" / "manifest.json").read_text())["artifacts"]}
    assert "tflite_fp32" not in ids and "onnx_fp32" in ids


@pytest.mark.slow
@pytest.mark.parametrize("made", [1, 3])
def test_a_killed_export_leaves_no_partial_file_and_the_next_one_resumes(tmp_path: Path, made: int) -> None:
    """case 10a: kill -9 mid-stage left an empty ``.<file>.<rand>.tmp/`` that nothing ever removed. Killed
    while writing the second artifact, then the fourth (ORT's int8 quantization)."""
    import signal
    import time

    loose = "[tolerance]\nint8_cosine = 0.3\nint8_top1 = 0\nw8_cosine = 0.5\n"  # a random 32x32 net
    card = write_card(tmp_path, tiny(name="killed", extra=loose), name="killed")
    root = tmp_path / "artifacts"
    folder = root / "killed"
    proc = _export(card, root, "--formats", "onnx", "--precisions", "fp32,int8", cwd=tmp_path)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:  # written atomically: a reader sees the old or the new one, never half
            done = len(json.loads((folder / "manifest.json").read_text())["artifacts"]) >= made
        except FileNotFoundError:
            done = False
        if done and any(p.is_dir() for p in folder.glob(".*.tmp")):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the export finished before a stage could be killed"
    left = [p for p in folder.glob(".*.tmp")]
    assert left, "kill -9 mid-stage leaves the stage's temporary folder"
    before = json.loads((folder / "manifest.json").read_text())["artifacts"]
    for entry in before:  # every file the manifest lists is whole: written to a temp name, then renamed
        assert (folder / entry["file"]).exists()
    again = _done(_export(card, root, "--formats", "onnx", "--precisions", "fp32,int8", cwd=tmp_path))
    assert again.returncode == 0, again.stderr[-800:]
    assert (
        not list(folder.glob(".*.tmp"))
        and "temporary folder(s) left by an interrupted export" in again.stderr
    )
    for entry in before:  # what was made before the kill is re-used
        assert f"{entry['id']}: ok (cached)" in again.stderr
    if made > 1:
        return

    (folder / "manifest.json").write_text('{"card": "killed", "artifacts": 7}')  # case 6, on the export side
    fixed = _done(_export(card, root, "--formats", "onnx", "--precisions", "fp32", cwd=tmp_path))
    assert fixed.returncode == 0, fixed.stderr[-800:]
    assert "moved aside to manifest.json.broken-" in fixed.stderr
    assert len(list(folder.glob("manifest.json.broken-*"))) == 1


def test_an_export_that_fails_before_writing_leaves_no_card_folder(user_cards: Path) -> None:
    """case 10b: an empty card folder was left behind."""
    card = write_card(user_cards, user("early", "raises"), name="early")
    out = _done(_export(card, user_cards / "artifacts", cwd=user_cards))
    assert out.returncode == 2
    one_line(out, "raised RuntimeError: CUDA driver not found")
    assert not (user_cards / "artifacts" / "early").exists()


def test_an_artifacts_path_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    """case 9a: FileExistsError from mkdir."""
    (tmp_path / "artifacts").write_text("")
    card = write_card(tmp_path, tiny())
    out = _done(_export(card, tmp_path / "artifacts", cwd=tmp_path))
    assert out.returncode == 2
    one_line(out, "is a file, not a folder")


def test_a_disk_that_fills_up_is_one_line_and_keeps_what_was_there(tmp_path: Path) -> None:
    """case 9h: the OSError of a full disk was a traceback. Simulated with a file-size limit (EFBIG)."""
    import resource
    import signal

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    card = write_card(tmp_path, tiny())
    out = _done(
        _export(card, tmp_path / "artifacts", "--formats", "onnx", cwd=tmp_path, preexec_fn=small_files)
    )
    assert out.returncode == 1
    one_line(out, "File too large")
    folder = tmp_path / "artifacts" / "faulty"
    assert not folder.exists() or not [
        p for p in folder.rglob("*") if p.is_file() and p.name != "reference.npz"
    ]


# --- the report ---------------------------------------------------------------------------------------


def test_a_report_from_missing_or_contradictory_results_says_so_and_recommends_nothing(
    tmp_path: Path,
) -> None:
    """A report built from results that measured other files (re-exported since), an artifact the
    manifest does not list, a result that is a list, or no results at all: it names each one it skips and
    recommends nothing it has no measurement for."""
    from test_report_build import _bench, _entry, _result

    from edgeexport.report import Budget, build

    folder = tmp_path / "artifacts" / "c"
    folder.mkdir(parents=True)
    arts = [_entry("onnx_fp32", "onnx", 100.0), _entry("tflite_int8", "tflite", 14.0)]
    manifest = {"card": "c", "reference": {"labelled": False}, "target": {}, "artifacts": arts}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    results = tmp_path / "results"
    results.mkdir()
    index, answers, facts = build(
        "c", tmp_path / "artifacts", results, None, tmp_path / "r0", Budget(), seeded=True
    )
    assert answers == [] and facts.runs == [] and index.is_file()  # no results: a page that says so

    stale = dict(_result("tflite_int8", "litert", 1.0), sha256="cd" * 32)  # an older file, much faster
    ghost = _result("onnx_int8", "onnxruntime", 0.5)  # not in this export
    _bench(
        results / "a.json", [stale, ghost, dict(_result("onnx_fp32", "onnxruntime", 9.0), sha256="ab" * 32)]
    )
    (results / "b.json").write_text("[1, 2]")
    _, answers, facts = build(
        "c", tmp_path / "artifacts", results, None, tmp_path / "r1", Budget(), seeded=True
    )
    assert [a.best.artifact for a in answers if a.best] == ["onnx_fp32"]
    skipped = "\n".join(facts.skipped)
    assert "tflite_int8: measured another file than the one exported now" in skipped
    assert "onnx_int8: not in this export's manifest" in skipped
    assert "b.json: a JSON list, not a bench result" in skipped
