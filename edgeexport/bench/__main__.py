"""python -m edgeexport.bench: measure exported artifacts on this machine (docs/bench.md).

    python -m edgeexport.bench --runtime onnxruntime --threads 4      every exported card under artifacts/
    python -m edgeexport.bench --runtime all --model mobilenetv3_small --artifact onnx_fp32
    python -m edgeexport.bench --device ssh://pi@raspberrypi.local --runtime litert   docs/device.md
    python -m edgeexport.bench compare A.json B.json                 ratio of medians B/A with a 95 % CI
    python -m edgeexport.bench bundle --model mobilenetv3_small [--out PATH]
    python -m edgeexport.bench unpack FILE [--into DIR]
    python -m edgeexport.bench parity --runtime onnxruntime --out-dir DIR   outputs + parity only, no timing
    python -m edgeexport.bench predict CARD_OR_FILE IMAGE...          top-5 classes (bench/predict.py)

Exit codes: 0 done (also: the one runtime asked for cannot exist on this OS, e.g. Core ML on Linux);
1 a run failed, an artifact that passed parity at export misses it here, or nothing is exported;
2 a usage error (unknown name, runtime package not installed, provider missing).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeexport.bench import files
from edgeexport.defaults import THREADS_HELP, artifacts_root, default_threads, results_dir
from edgeexport.errors import EdgeExportError, UsageError, os_error_line

SUBCOMMANDS = ("compare", "bundle", "unpack", "parity", "predict")


def _positive(kind: Callable[[str], Any], zero: bool = True) -> Callable[[str], Any]:
    """A finite number >= 0 (or > 0 when ``zero`` is False): NaN and inf are refused too."""

    def parse(text: str) -> Any:
        value = kind(text)
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"must be a finite number {'>=' if zero else '>'} 0, got {text}")
        return value

    return parse


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m edgeexport.bench",
        description="Measure exported artifacts: latency, memory, load time, parity. "
        "Other commands: compare A.json B.json | bundle --model CARD | unpack FILE.",
    )
    runtime_help = "onnxruntime, litert, executorch, ncnn, torch, coreml or all (default)"
    p.add_argument("--runtime", default="all", help=runtime_help)
    p.add_argument("--threads", type=int, default=default_threads(), help=THREADS_HELP)
    p.add_argument("--model", action="append", help="only this exported card (repeatable)")
    p.add_argument("--artifact", action="append", help="only this artifact id, e.g. onnx_fp32 (repeatable)")
    p.add_argument("--artifacts", type=Path, default=artifacts_root(), help="artifacts root (%(default)s)")
    p.add_argument("--ort-provider", choices=("cpu", "xnnpack"), default="cpu")
    p.add_argument("--no-xnnpack", action="store_true", help="LiteRT: built-in kernels only")
    p.add_argument("--min-runs", type=_positive(int), default=50)
    p.add_argument("--min-time", type=_positive(float), default=2.0, help="seconds of timed runs, at least")
    p.add_argument("--warmup-runs", type=_positive(int), default=10)
    p.add_argument("--warmup-time", type=_positive(float), default=0.5, help="seconds of warm-up, at least")
    p.add_argument(
        "--timeout", type=_positive(float, zero=False), default=1800.0, help="seconds per artifact process"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile each artifact per op, after timing (docs/bench.md)",
    )
    p.add_argument("--results-dir", type=Path, default=results_dir(), help="where results go (%(default)s)")
    p.add_argument("--json", type=Path, help="also write the JSON result here")
    p.add_argument("--csv", type=Path, help="also write one CSV row per artifact here")
    files.add_arguments(p)
    p.add_argument("--device", help="run on this board: ssh://[user@]host[:port][/workdir] (docs/device.md)")
    p.add_argument("--device-python", default="python3", help="the board's python (%(default)s)")
    p.add_argument("--ssh-config", type=Path, help="ssh client configuration file (default: ssh's own)")
    return p


def run(argv: list[str]) -> int:
    from edgeexport.bench import runner

    args = run_parser().parse_args(argv)
    if args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    settings = {
        "threads": args.threads,
        "min_runs": max(1, args.min_runs),
        "min_time_s": args.min_time,
        "warmup_runs": args.warmup_runs,
        "warmup_time_s": args.warmup_time,
        "timeout_s": args.timeout,
        "profile": args.profile,
        "artifacts_root": str(args.artifacts.resolve()),
    }
    if args.device:
        return on_device(args, settings)
    if args.files:
        plan = runner.Plan(files.targets(args))
        names = sorted({t.runtime for t in plan.targets})
        for name in names:
            reason = runner.unavailable(name)
            if reason:
                raise runner.NothingToDo(f"{name}: unavailable: {reason}", 2)
    else:
        names, notes = runner.resolve_runtimes(args.runtime)
        plan = planned(args, names, notes)
    options = {n: runner.runtime_options(n, args.ort_provider, not args.no_xnnpack) for n in names}
    results = runner.execute(plan, settings, options)
    bad = [r["reason"] for r in results if r["status"] == "bad input"]
    if bad:  # a file the user must fix: one line each, no table
        for reason in bad:
            print(f"error: {reason}", file=sys.stderr)
        return 2
    return finish(args, runner.document(args.runtime, settings, results))


def planned(args: argparse.Namespace, names: list[str], notes: list[str]) -> Any:
    from edgeexport.bench import runner

    plan = runner.plan(args.artifacts, names, args.model, args.artifact)
    for note in notes + plan.notes:
        print(note, file=sys.stderr)
    if not plan.targets and not plan.missing:
        raise runner.NothingToDo(f"{args.runtime}: nothing to run under {args.artifacts} for that choice", 1)
    return plan


def on_device(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from edgeexport.bench import device, runner

    with device.open_board(args) as board:
        if args.files:
            plan = runner.Plan(files.targets(args))
            names = sorted({t.runtime for t in plan.targets})
            for name in names:
                device.check(board, name)
        else:
            names, notes = device.check(board, args.runtime)
            plan = planned(args, names, notes)
        xnnpack = not args.no_xnnpack
        options = {n: runner.runtime_options(n, args.ort_provider, xnnpack, local=False) for n in names}
        done = device.execute(board, plan, settings, options)
    doc = device.document(done, board, settings, args.runtime, runner.document(args.runtime, settings, []))
    code = finish(args, doc)
    if done.incomplete:
        kept = len(done.results)
        print(f"error: {done.incomplete}; the {kept} results measured before it are saved", file=sys.stderr)
        return 1
    return code


def _save(report: Any, folder: Path, name: str, doc: dict[str, Any]) -> tuple[Path, list[str]]:
    """Write the results under ``folder``; when that fails (read-only, full, a file), under the temp folder
    instead, so a run is never lost: (where they went, what could not be written)."""
    lost: list[str] = []
    for where in (folder, Path(tempfile.gettempdir()) / "edgeexport-results"):
        out = where / f"{name}.json"
        k = 1
        while out.exists():
            k += 1
            out = where / f"{name}-{k}.json"
        try:
            report.write_json(out, doc)
            return out, lost
        except OSError as error:
            lost.append(f"{out}: {error.strerror or error}")
    raise EdgeExportError(f"could not write the results anywhere: {'; '.join(lost)}")


def finish(args: argparse.Namespace, doc: dict[str, Any]) -> int:
    """Print the table, save the document (results dir, --json, --csv) and say where it went."""
    from edgeexport.bench import report, runner

    results = doc["results"]
    head, rows = report.table_rows(doc)
    env = doc["environment"]
    cpu = env["cpu"]
    title = (
        f"{cpu.get('core') or cpu.get('model') or cpu['architecture']} - {doc['settings']['threads']} threads"
    )
    if doc.get("device"):
        title = f"{doc['device']} ({cpu['architecture']}): {title}"
    if env["emulated"]:
        title += f" - EMULATED {env['emulated_cpu']}: timings are not latencies"
    report.print_table(head, rows, title)
    if any(r["manifest_status"] != "ok" for r in results):
        print("* failed its parity gate at export (see the manifest); measured anyway")
    print_profiles(results)
    sys.stdout.flush()
    for r in results:
        if r["reason"] and r["status"] != "ok":
            print(
                f"{r['card']}/{r['artifact']} ({r['runtime']}): {r['status']}: {r['reason']}", file=sys.stderr
            )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    label = args.runtime + ("-device" if doc.get("device") else "")
    out, lost = _save(report, args.results_dir, f"{stamp}-{label}", doc)
    for extra, write in ((args.json, report.write_json), (args.csv, report.write_csv)):
        if extra:
            try:
                write(extra, doc)
            except OSError as error:
                lost.append(f"{extra}: {error.strerror or error}")
    print(f"results: {out}")
    if lost:  # measured, shown and saved somewhere: still a failure to do what was asked
        print(f"error: could not write {'; '.join(lost)}", file=sys.stderr)
        return 1
    cards = sorted({r["card"] for r in results if r["card"] != "file"})
    if cards:
        where = f" --results {out}" if args.results_dir.resolve() != results_dir().resolve() else ""
        for card in cards:
            print(f"report: python -m edgeexport report {card}{where}")
    return runner.exit_code(results)


def print_profiles(results: list[dict[str, Any]]) -> None:
    """``--profile``: a few lines per artifact under the table (the whole profile is in the JSON)."""
    from edgeexport.bench import profile

    for r in results:
        found = r.get("profile")
        if not found:
            continue
        print(f"profile {r['card']}/{r['artifact']} ({r['runtime']}):")
        said = profile.lines(found) if found.get("source") else [found["note"]]
        for line in said:
            print(f"  {line}")


def compare(argv: list[str]) -> int:
    from edgeexport.bench import report

    p = argparse.ArgumentParser(prog="python -m edgeexport.bench compare")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--json", action="store_true", help="print the comparison as JSON, not a table")
    args = p.parse_args(argv)
    a, b = report.load_json(args.a), report.load_json(args.b)
    try:
        rows = report.compare(a, b)
        if not rows:
            raise UsageError(f"{args.a} and {args.b} have no artifact in common (with samples)")
        if args.json:
            print(json.dumps({"a": str(args.a), "b": str(args.b), "rows": rows}, indent=2))
            return 0
        report.print_compare(rows, a, b, (str(args.a), str(args.b)))
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a result edited or cut by hand
        raise UsageError(
            f"{args.a} or {args.b} is not a complete bench result ({type(error).__name__}: {error})"
        ) from None
    return 0


def bundle(argv: list[str]) -> int:
    from edgeexport.bench.bundle import bundle as make

    p = argparse.ArgumentParser(prog="python -m edgeexport.bench bundle")
    p.add_argument("--model", action="append", help="card to bundle (repeatable; default: every one)")
    p.add_argument("--artifacts", type=Path, default=artifacts_root(), help="artifacts root (%(default)s)")
    p.add_argument("--out", type=Path)
    p.add_argument("--include-torch", action="store_true", help="also ship the .pt2 (the board needs torch)")
    args = p.parse_args(argv)
    out = make(args.model, root=args.artifacts, out=args.out, include_torch=args.include_torch)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def unpack(argv: list[str]) -> int:
    from edgeexport.bench.bundle import unpack as extract

    p = argparse.ArgumentParser(prog="python -m edgeexport.bench unpack")
    p.add_argument("file", type=Path)
    p.add_argument("--into", type=Path, help="target folder (default: the current one)")
    args = p.parse_args(argv)
    for top in extract(args.file, args.into):
        print(f"unpacked {top}; next: cd {top} && python -m edgeexport.bench --runtime onnxruntime")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    try:
        if command == "compare":
            return compare(argv[1:])
        if command == "bundle":
            return bundle(argv[1:])
        if command == "unpack":
            return unpack(argv[1:])
        if command == "predict":
            from edgeexport.bench import device_predict, predict

            p = argparse.ArgumentParser(prog="python -m edgeexport.bench predict")
            predict.add_arguments(p)
            return device_predict.main(p.parse_args(argv[1:]))
        if command == "parity":
            from edgeexport.bench import parity_only

            return parity_only.main(argv[1:])
        return run(argv)
    except EdgeExportError as error:
        from edgeexport.bench.runner import NothingToDo

        code = error.exit_code
        if isinstance(error, NothingToDo):
            print(error, file=sys.stdout if code == 0 else sys.stderr)
        else:
            print(f"error: {error}", file=sys.stderr)
        return code
    except OSError as error:
        print(f"error: {os_error_line(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
