"""One front door: ``python -m edgeexport {list,export,...}``."""

from __future__ import annotations

import argparse
import sys

from edgeexport.errors import EdgeExportError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edgeexport", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="every model card with parameters, MACs, input and weights")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.add_parser(
        "bench", help="the on-device bench harness (same as python -m edgeexport.bench)", add_help=False
    )
    ex = sub.add_parser("export", help="export a card to every format, with parity against PyTorch")
    from edgeexport.cli_export import add_arguments

    add_arguments(ex)
    dr = sub.add_parser("doctor", help="per-layer SQNR of an int8 artifact against its float parent")
    from edgeexport.doctor import add_arguments as doctor_arguments

    doctor_arguments(dr)
    tr = sub.add_parser("train", help="train a card's architecture (Fashion-MNIST or an ImageFolder)")
    from edgeexport.train import add_arguments as train_arguments

    train_arguments(tr)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # the device-side harness has its own parser (python -m edgeexport.bench)
        from edgeexport.bench.__main__ import main as bench_main

        return bench_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        if args.command == "list":
            from edgeexport import cli_list

            return cli_list.main(args)
        if args.command == "doctor":
            from edgeexport import doctor

            return doctor.main(args)
        if args.command == "train":
            from edgeexport import train

            return train.main(args)
        if args.command == "export":
            from edgeexport import cli_export

            return cli_export.main(args)
    except EdgeExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
