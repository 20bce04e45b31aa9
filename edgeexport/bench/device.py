"""``--device ssh://...``: the same bench, run on the user's board (docs/device.md).

1. check the board: Python >= 3.10, numpy and the runtime(s) asked for, by their installed metadata (a
   missing one is one line with the ``pip install`` to run there, exit 2; nothing is installed);
2. copy what the run needs - the device side of edgeexport, each card's manifest and reference, the chosen
   artifacts - into the work folder, laid out like a bundle; files the board already has with the same
   sha256 are not sent again;
3. run ``python -m edgeexport.bench`` there once per artifact (which itself measures in a fresh process),
   and bring each result back as it is done: a connection that drops mid-run keeps what was measured;
4. return one result document, the board's ``environment`` and ``"device": "ssh://..."`` in it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import shlex
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeexport.bench import PACKAGE_PARENT
from edgeexport.bench.bundle import code_files
from edgeexport.bench.runner import NothingToDo, Plan
from edgeexport.bench.ssh import Address, Connection, DeviceError, DeviceUsageError, quote
from edgeexport.bench.targets import Target
from edgeexport.errors import UsageError
from edgeexport.runtimes import executorch

MIN_PYTHON = (3, 10)
# What the board must have installed for each runtime (any one of the names), and what to install
# ("{py} -m pip install" + this; {py} is the board's python).
PACKAGES = {
    "onnxruntime": (("onnxruntime", "onnxruntime-gpu"), "onnxruntime"),
    "litert": (("ai-edge-litert", "tflite-runtime"), "ai-edge-litert"),
    "ncnn": (("ncnn",), "ncnn"),
    "executorch": (
        ("executorch",),
        f"{executorch.BOARD_NEEDS} && {{py}} -m pip install --no-deps {executorch.PIN}",
    ),
    "torch": (("torch",), "torch"),
    "coreml": (("coremltools",), "coremltools"),
}
PROBE = """
import json, platform
from importlib import metadata
def version(name):
    try:
        return metadata.version(name)
    except Exception:
        return None
names = {names!r}
print(json.dumps({{"python": platform.python_version(), "machine": platform.machine(),
                  "system": platform.system(), "packages": {{n: version(n) for n in names}}}}))
"""
HASHES = """
import hashlib, json
out = {{}}
for name in {names!r}:
    digest = hashlib.sha256()
    try:
        with open(name, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        out[name] = digest.hexdigest()
    except OSError:
        out[name] = None
print(json.dumps(out))
"""
RESULTS = ".edgeexport-results"  # under the work folder


@dataclass
class Board:
    """A reachable board: its connection, Python and what is installed there."""

    connection: Connection
    python: str
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.connection.address.url

    @property
    def workdir(self) -> str:
        return self.connection.address.workdir

    def in_workdir(self, command: str) -> str:
        return f"mkdir -p {quote(self.workdir)} && cd {quote(self.workdir)} && {command}"

    def python_script(self, script: str, *, what: str, in_workdir: bool = False) -> Any:
        """Run a stdlib-only Python script on the board (through stdin); its stdout is JSON."""
        command = f"{shlex.quote(self.python)} -"
        proc = self.connection.run(
            self.in_workdir(command) if in_workdir else command, stdin=script.encode(), what=what
        )
        if proc.returncode == 127:
            raise DeviceUsageError(
                f"{self.url}: the board has no `{self.python}`; install Python >= 3.10 there, or pass "
                "--device-python with the path of the board's python"
            )
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise DeviceError(f"{self.url}: {what} failed on the board: {tail[0]}")
        return json.loads(proc.stdout.decode())


@contextlib.contextmanager
def open_board(args: Any) -> Iterator[Board]:
    """The board ``--device`` names, through ``--ssh-config`` and ``--device-python``; closed on exit."""
    if args.ssh_config is not None and not args.ssh_config.is_file():
        raise UsageError(f"--ssh-config {args.ssh_config}: no such file")
    address = Address.parse(args.device)
    with Connection(address, config=args.ssh_config) as connection:
        yield Board(connection, args.device_python)


def installed(facts: dict[str, Any], runtime: str) -> str | None:
    names, _ = PACKAGES[runtime]
    return next((facts["packages"][n] for n in names if facts["packages"].get(n)), None)


def check(board: Board, requested: str) -> tuple[list[str], list[str]]:
    """(runtimes to run on the board, notes about the others); DeviceUsageError for what the board lacks."""
    names = sorted({"numpy", "pillow", *(n for pkgs, _ in PACKAGES.values() for n in pkgs)})
    if not board.facts:
        board.facts = board.python_script(PROBE.format(names=names), what="checking the board's Python")
    facts = board.facts
    py, url = shlex.quote(board.python), board.url
    version = tuple(int(p) for p in facts["python"].split(".")[:2])
    if version < MIN_PYTHON:
        raise DeviceUsageError(f"{url}: the board's Python is {facts['python']}; the bench needs >= 3.10")
    if not facts["packages"].get("numpy"):
        raise DeviceUsageError(
            f"{url}: the board's Python has no numpy; on the board: {py} -m pip install numpy"
        )
    if requested != "all":
        if requested == "coreml" and facts["system"] != "Darwin":
            raise NothingToDo(f"coreml: unavailable on {url}: Core ML prediction needs macOS", 0)
        if not installed(facts, requested):
            pip = PACKAGES[requested][1].format(py=py)
            raise DeviceUsageError(
                f"{url}: the board has no {requested} runtime; on the board run: {py} -m pip install {pip}"
            )
        return [requested], []
    chosen, notes = [], []
    for runtime, (_, install) in PACKAGES.items():
        pip = install.format(py=py)
        if runtime == "coreml" and facts["system"] != "Darwin":
            notes.append(f"coreml: unavailable on {url}: Core ML prediction needs macOS")
        elif installed(facts, runtime):
            chosen.append(runtime)
        else:
            notes.append(f"{runtime}: not installed on {url} (on the board: {py} -m pip install {pip})")
    if not chosen:
        raise DeviceUsageError(
            f"{url}: the board has no runtime; on the board: {py} -m pip install onnxruntime"
        )
    return chosen, notes


@functools.cache
def digest(path: Path) -> str:
    """A local file's sha256, once per run: naming a file and syncing it both need it."""
    from edgeexport.artifact import sha256_path

    return sha256_path(path)


def remote_name(path: str | Path) -> str:
    """Where a file named on the command line (a model file, inputs, images) goes on the board."""
    local = Path(path)
    return f"files/{digest(local)[:12]}/{local.name}"


def file_args(t: Target) -> list[str]:
    """The board's bench arguments for a model-file target (paths as ``remote_name`` puts them)."""
    o = t.file_options or {}
    args = [remote_name(t.path), "--tolerance", t.kind]
    for flag in ("inputs", "reference"):
        if o.get(flag):
            args += [f"--{flag}", remote_name(o[flag])]
    if o.get("against"):
        args += ["--against", remote_name(o["against"]["path"])]
    for name, shape in (o.get("shapes") or {}).items():
        args += ["--shape", f"{name}={','.join(map(str, shape))}"]
    return args


def needed_files(targets: list[Target]) -> dict[str, Path]:
    """Board path (relative to the work folder) -> local file, laid out like an unpacked bundle."""
    files = {p.relative_to(PACKAGE_PARENT).as_posix(): p for p in code_files()}
    for t in targets:
        if t.file_options is not None:
            o = t.file_options
            extra = [o.get("inputs"), o.get("reference"), (o.get("against") or {}).get("path")]
            for path in [t.path, *(p for p in extra if p)]:
                files[remote_name(path)] = Path(path)
            continue
        folder = Path(t.folder)
        for path in (folder / "manifest.json", folder / "reference.npz", Path(t.path)):
            files[f"artifacts/{t.card}/{path.name}"] = path
    return files


def sync(board: Board, files: dict[str, Path]) -> dict[str, int]:
    """Copy the files the board lacks or has with another sha256; returns what was sent."""
    names = sorted(files)
    there = board.python_script(HASHES.format(names=names), what="listing the work folder", in_workdir=True)
    changed = [n for n in names if there.get(n) != digest(files[n])]
    sent = {"files_sent": len(changed), "files_unchanged": len(names) - len(changed), "bytes_sent": 0}
    if not changed:
        return sent
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in changed:
            tar.add(files[name], arcname=name, recursive=False)
    data = buffer.getvalue()
    sent["bytes_sent"] = len(data)
    proc = board.connection.run(
        board.in_workdir("tar -xzf -"), stdin=data, timeout_s=600, what=f"copying {len(changed)} files"
    )
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["tar failed"]
        raise DeviceError(f"{board.url}: copying to {board.workdir} failed: {why[0]}")
    return sent


def bench_command(board: Board, target: Target, settings: dict[str, Any], options: dict[str, Any]) -> str:
    if target.file_options is not None:
        chosen = file_args(target)
    else:
        chosen = ["--model", target.card, "--artifact", target.artifact, "--artifacts", "artifacts"]
    args = [
        "-m", "edgeexport.bench", "--runtime", target.runtime, "--threads", str(settings["threads"]),
        *chosen, "--min-runs", str(settings["min_runs"]), "--min-time", str(settings["min_time_s"]),
        "--warmup-runs", str(settings["warmup_runs"]), "--warmup-time", str(settings["warmup_time_s"]),
        "--timeout", str(settings["timeout_s"]), "--results-dir", RESULTS, "--json", f"{RESULTS}/last.json",
    ]  # fmt: skip
    if options.get("provider"):
        args += ["--ort-provider", options["provider"]]
    if options.get("xnnpack") is False:
        args.append("--no-xnnpack")
    if settings.get("profile"):
        args.append("--profile")
    run = " ".join(shlex.quote(a) for a in [board.python, *args])
    return board.in_workdir(
        f"mkdir -p {RESULTS} && rm -f {RESULTS}/last.json && {run} >/dev/null 2>{RESULTS}/stderr.txt; "
        f"rc=$?; cat {RESULTS}/last.json 2>/dev/null || tail -n 3 {RESULTS}/stderr.txt >&2; exit $rc"
    )


def measure(
    board: Board,
    target: Target,
    settings: dict[str, Any],
    options: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the board's whole result document or None, the one result for ``target``)."""
    proc = board.connection.run(
        bench_command(board, target, settings, options),
        timeout_s=settings["timeout_s"] + 300,
        what=f"measuring {target.card}/{target.artifact}",
    )
    try:
        doc: dict[str, Any] = json.loads(proc.stdout.decode())
        (result,) = doc["results"]
        return doc, result
    except (ValueError, KeyError):
        tail = " | ".join(proc.stderr.decode(errors="replace").strip().splitlines()[-3:])[:400]
        return None, failed(target, f"the board's bench exited with {proc.returncode}: {tail or 'no output'}")


def failed(target: Target, reason: str) -> dict[str, Any]:
    from edgeexport.bench.runner import record

    return record(target, {}, {"status": "error", "reason": reason}, None)


@dataclass
class Run:
    """What a device run produced so far: the board's first document and every result brought back."""

    base: dict[str, Any] | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    transfer: dict[str, int] = field(default_factory=dict)
    incomplete: str | None = None


def execute(
    board: Board,
    plan: Plan,
    settings: dict[str, Any],
    options: dict[str, dict[str, Any]],
    on_progress: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> Run:
    """Sync, then measure each target on the board. A dropped connection ends the run with ``incomplete``
    set and the results so far kept; the caller saves them and reports the error."""
    run = Run()
    run.transfer = sync(board, needed_files(plan.targets))
    on_progress(
        f"{board.url}: sent {run.transfer['files_sent']} files ({run.transfer['bytes_sent'] / 1e6:.1f} MB), "
        f"{run.transfer['files_unchanged']} already there"
    )
    for k, target in enumerate(plan.targets, 1):
        where = f"{target.card}/{target.artifact} ({target.runtime})"
        on_progress(f"[{k}/{len(plan.targets)}] {where} on {board.url}")
        try:
            doc, result = measure(board, target, settings, options[target.runtime])
        except DeviceError as error:
            run.incomplete = str(error)
            break
        run.base = run.base or doc
        run.results.append(result)
    return run


def document(run: Run, board: Board, settings: dict[str, Any], runtime: str, local: dict[str, Any]) -> dict:
    """One result document like a local run's, with the board's environment and where it ran."""
    doc = dict(run.base or local)
    doc.update(
        command=local["command"],
        runtime=runtime,
        settings=dict(settings, artifacts_root=f"{board.workdir}/artifacts"),
        results=run.results,
        device=board.url,
        device_python=board.python,
        transfer=run.transfer,
    )
    if run.base is None:  # nothing came back: what the probe saw, never this host's environment
        facts = board.facts
        doc["environment"] = {
            "cpu": {"architecture": facts.get("machine"), "model": None, "features": {}},
            "os": {"system": facts.get("system")},
            "python": {"version": facts.get("python")},
            "packages": facts.get("packages", {}),
            "threads": settings["threads"],
            "emulated": None,
            "emulated_cpu": None,
        }
    if run.incomplete:
        doc["incomplete"] = run.incomplete
    return doc
