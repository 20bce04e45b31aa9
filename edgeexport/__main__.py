"""One front door: ``python -m edgeexport {list,export,doctor,train,bench} ...``. Dispatch only."""

from __future__ import annotations

import argparse
import importlib
import sys

from edgeexport.cli import COMMANDS
from edgeexport.errors import EdgeExportError, os_error_line


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m edgeexport",
        description="Export a PyTorch vision model to the formats devices run, with parity; bench, list, "
        "diagnose and train. Exit codes: 0 ok, 1 something failed or missed its gate, 2 a usage error.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "bench", help="the on-device bench harness (same as python -m edgeexport.bench)", add_help=False
    )
    for name, text in COMMANDS.items():
        importlib.import_module(f"edgeexport.cli.{name}").add_arguments(sub.add_parser(name, help=text))
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # the device-side harness has its own parser (python -m edgeexport.bench)
        from edgeexport.bench.__main__ import main as bench_main

        return bench_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        return int(importlib.import_module(f"edgeexport.cli.{args.command}").main(args))
    except EdgeExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:  # disk full, a read-only folder, a file where a folder belongs
        print(f"error: {os_error_line(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
