"""``--device ssh://...`` end to end against real parts: a real OpenSSH server (Debian's sshd, started here as
this test's own process on a loopback port with its own host and user keys) and, as the board's python3,
the emulated aarch64 Python of `make arm-env` (qemu-user), so the board really runs ARM builds of numpy and
onnxruntime. `make test` builds .arm/ first (the Makefile's test target depends on arm-env)."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import handmade_card

from edgeexport.bench import report

REPO = Path(__file__).resolve().parent.parent
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Server:
    port: int
    config: Path  # the client's ssh_config: this server's key and known_hosts
    folder: Path
    process: subprocess.Popen[bytes]

    def url(self, workdir: Path) -> str:
        return f"ssh://{getpass.getuser()}@127.0.0.1:{self.port}{workdir}"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sshd(folder: Path) -> Server:
    if not Path(SSHD).is_file():
        pytest.fail("no sshd: `make setup` installs Debian's openssh-server (scripts/debian-packages.txt)")
    _keygen(folder / "host_key")
    _keygen(folder / "user_key")
    shutil.copy(folder / "user_key.pub", folder / "authorized_keys")
    port = _free_port()
    (folder / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "PermitRootLogin prohibit-password\n"
    )
    host_key = (folder / "host_key.pub").read_text().split()[:2]
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_key)}\n")
    (folder / "ssh_config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {folder / 'user_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    with open(folder / "sshd.log", "wb") as log:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")], stderr=log)
    deadline = time.monotonic() + 10
    while b"Server listening" not in (folder / "sshd.log").read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            _kill_tree(process)
            pytest.fail(f"sshd did not start: {(folder / 'sshd.log').read_text()[-500:]}")
        time.sleep(0.05)
    return Server(port, folder / "ssh_config", folder, process)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        _kill_tree(server.process)


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """The server and every session it started (a dropped board)."""
    import psutil

    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    process.kill()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    process.wait()


@pytest.fixture(scope="module")
def board_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The board's python3: the emulated aarch64 Python with its ARM wheels (a wrapper around qemu-user)."""
    ready = REPO / ".arm" / "ready"
    if not ready.is_file():
        pytest.fail("no emulated aarch64 Python: run `make arm-env` (`make test` does it first)")
    arm = json.loads(ready.read_text())
    path = tmp_path_factory.mktemp("board") / "python3"
    path.write_text(
        "#!/bin/sh\n"
        f'export PYTHONPATH="{arm["site"]}${{PYTHONPATH:+:$PYTHONPATH}}" PYTHONNOUSERSITE=1\n'
        'export EDGEEXPORT_EMULATED_CPU=neoverse-n1 EDGEEXPORT_PYTHON="$0"\n'
        f'exec {arm["qemu"]} -L {arm["sysroot"]} -cpu neoverse-n1 {arm["python"]} "$@"\n'
    )
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def two_cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two small ONNX cards built with onnx.helper (two artifacts: one to finish, one to drop during)."""
    root = handmade_card(tmp_path_factory.mktemp("cards"))
    shutil.copytree(root / "handmade", root / "handmade2")
    manifest = json.loads((root / "handmade2" / "manifest.json").read_text())
    (root / "handmade2" / "manifest.json").write_text(json.dumps(dict(manifest, card="handmade2")))
    return root


def bench(server: Server, workdir: Path, *args: str, python: Path | str, **kw) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "edgeexport.bench", "--device", server.url(workdir), "--ssh-config",
        str(server.config), "--device-python", str(python), "--min-runs", "5", "--min-time", "0.2",
        "--warmup-runs", "2", "--warmup-time", "0.1", "--results-dir", str(workdir.parent / "results"), *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600, **kw)


def test_bench_on_an_emulated_arm_board_over_ssh(
    sshd: Server, board_python: Path, two_cards: Path, tmp_path: Path
) -> None:
    args = ["--runtime", "onnxruntime", "--artifacts", str(two_cards), "--model", "handmade"]
    first = bench(sshd, tmp_path / "board", *args, "--json", str(tmp_path / "a.json"), python=board_python)
    assert first.returncode == 0, first.stderr
    doc = report.load_json(tmp_path / "a.json")
    assert set(report.DOC_KEYS) <= set(doc) and doc["device"] == sshd.url(tmp_path / "board")
    (r,) = doc["results"]
    assert set(report.RESULT_KEYS) <= set(r)
    env = doc["environment"]
    assert env["cpu"]["architecture"] == "aarch64" and env["cpu"]["core"] == "Neoverse-N1"
    assert env["emulated"] and env["emulated_cpu"] == "neoverse-n1"
    assert env["packages"]["onnxruntime"] and r["runtime_version"]
    # parity judged on the board against the PyTorch reference; latency marked emulated, not reported
    assert r["status"] == "ok" and r["parity"]["passed"] and r["sha256_verified"]
    assert r["accuracy"]["top1"] == 0.75
    assert r["latency_ms"] is None and r["emulated_timing"]["latency_ms"]["n"] >= 5
    shown = " ".join(first.stdout.split())  # the table's title may wrap
    assert "EMULATED neoverse-n1: timings are not latencies" in shown and "(aarch64): Neoverse-N1" in shown
    assert doc["transfer"]["files_sent"] > 3
    assert (tmp_path / "board" / "artifacts" / "handmade" / "handmade.onnx_fp32.onnx").is_file()

    again = bench(
        sshd, tmp_path / "board", *args, "--profile", "--json", str(tmp_path / "b.json"), python=board_python
    )
    assert again.returncode == 0, again.stderr
    second = report.load_json(tmp_path / "b.json")
    transfer = second["transfer"]
    assert transfer["files_sent"] == 0 and transfer["files_unchanged"] == doc["transfer"]["files_sent"]
    (profiled,) = second["results"]  # --profile ran on the board: ORT's profiler, per node
    assert profiled["profile"]["source"] == "onnxruntime profiler" and profiled["profile"]["nodes"]


def test_a_connection_dropped_mid_run_keeps_what_was_measured(
    board_python: Path, two_cards: Path, tmp_path: Path
) -> None:
    """Two cards; a server of this test's own and its sessions are killed once the first result exists on
    the board."""
    (tmp_path / "sshd").mkdir()
    sshd = start_sshd(tmp_path / "sshd")
    workdir = tmp_path / "board"
    results = workdir / ".edgeexport-results"
    cmd_args = ["--runtime", "onnxruntime", "--artifacts", str(two_cards), "--json", str(tmp_path / "r.json")]
    with subprocess.Popen(
        [sys.executable, "-m", "edgeexport.bench", "--device", sshd.url(workdir), "--ssh-config",
         str(sshd.config), "--device-python", str(board_python), "--min-runs", "5", "--min-time", "3",
         "--warmup-runs", "2", "--warmup-time", "0.1", "--results-dir", str(tmp_path / "results"), *cmd_args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        deadline = time.monotonic() + 300
        while len(list(results.glob("2*.json"))) < 1:
            assert proc.poll() is None and time.monotonic() < deadline, (
                proc.stderr.read() if proc.stderr else ""
            )
            time.sleep(0.2)
        time.sleep(2)  # the second artifact's run has started on the board
        _kill_tree(sshd.process)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "connection" in err.lower() or "ssh failed" in err, err
    assert "the 1 results measured before it are saved" in err
    doc = report.load_json(tmp_path / "r.json")
    assert [r["card"] for r in doc["results"]] == ["handmade"] and doc["results"][0]["status"] == "ok"
    assert doc["incomplete"]


def test_unknown_host_key_is_refused_with_the_fix(sshd: Server, two_cards: Path, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    known = str(sshd.folder / "known_hosts")
    config.write_text(sshd.config.read_text().replace(known, str(tmp_path / "none")))
    cmd = [sys.executable, "-m", "edgeexport.bench", "--device", sshd.url(tmp_path), "--ssh-config",
           str(config), "--artifacts", str(two_cards)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 2
    assert "host key is not known or has changed" in out.stderr and f"ssh -p {sshd.port}" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_board_without_numpy_gets_the_pip_line(sshd: Server, two_cards: Path, tmp_path: Path) -> None:
    """The board's python here is this host's own interpreter with no site-packages (-S -I)."""
    bare = tmp_path / "python3"
    bare.write_text(f'#!/bin/sh\nexec {shutil.which("python3.11") or sys.executable} -S -I "$@"\n')
    bare.chmod(0o755)
    out = bench(sshd, tmp_path / "board", "--artifacts", str(two_cards), python=bare)
    assert out.returncode == 2, out.stderr
    assert "has no numpy; on the board: " in out.stderr and "-m pip install numpy" in out.stderr
    assert not (tmp_path / "board" / "artifacts").exists()  # nothing copied to a board that cannot run


def test_model_files_on_the_board(sshd: Server, board_python: Path, tmp_path: Path) -> None:
    """A .tflite written with the TFLite schema, judged against an .onnx built with onnx.helper, on ARM."""
    from foreign_models import onnx_two_outputs, tflite_two_outputs

    onnx_file = onnx_two_outputs(tmp_path / "two.onnx")
    tflite_file = tflite_two_outputs(tmp_path / "two.tflite")
    out = bench(sshd, tmp_path / "board", str(tflite_file), "--against", str(onnx_file),
                "--json", str(tmp_path / "f.json"), python=board_python)  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = report.load_json(tmp_path / "f.json")
    (r,) = doc["results"]
    assert doc["environment"]["cpu"]["architecture"] == "aarch64" and doc["device"]
    assert (
        r["artifact"] == "two.tflite"
        and r["status"] == "ok"
        and r["parity"]["against"] == "two.onnx (onnxruntime)"
    )


def test_predict_on_the_board(
    sshd: Server, board_python: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real ImageNet MobileNetV2, int8 TFLite, a photo of an orange: classified on the emulated board."""
    from test_parity_matrix import exported

    from edgeexport.__main__ import main
    from edgeexport.data import photos

    folder, _ = exported("mobilenet_v2")  # shared with the parity matrix; its log is not this test's output
    capsys.readouterr()
    photo = dict(photos.photo_paths())["opencv:orange.jpg"]
    code = main(["predict", "mobilenet_v2", str(photo), "--artifact", "tflite_int8", "--artifacts",
                 str(folder.parent), "--device", sshd.url(tmp_path / "board"), "--ssh-config",
                 str(sshd.config), "--device-python", str(board_python), "--json"])  # fmt: skip
    (result,) = json.loads(capsys.readouterr().out)
    assert code == 0 and result["top"][0]["class"] == "orange" and result["image"] == str(photo)
    assert result["device"] == sshd.url(tmp_path / "board") and result["runtime"] == "litert"
