"""``python -m edgeexport export <card>``: every artifact for a card, with parity, and a summary table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeexport.cli import add_model_argument, model_name, print_json
from edgeexport.defaults import THREADS_HELP, artifacts_root, default_threads
from edgeexport.errors import UsageError
from edgeexport.spec import FORMATS, METHODS, PRECISIONS, TYPES

if TYPE_CHECKING:
    from edgeexport.artifact import Manifest


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_argument(p, required=False)
    p.add_argument("--all", action="store_true", help="export every card: yours and the built-in")
    p.add_argument("--json", action="store_true", help="print the manifests' artifacts as JSON, not a table")
    p.add_argument("--formats", default=",".join(FORMATS), help="comma list: " + ",".join(FORMATS))
    p.add_argument("--precisions", default=",".join(PRECISIONS), help="comma list: fp32,fp16,int8")
    p.add_argument("--calibration", default="MinMax", help=f"static int8 calibration: {', '.join(METHODS)}")
    p.add_argument("--calibration-count", type=int, default=None, help="calibration images (default: all)")
    p.add_argument("--nhwc", action="store_true", help="TFLite with NHWC inputs/outputs (to_channel_last_io)")
    p.add_argument("--int8-io", action="store_true", help="TFLite full int8 with int8 inputs/outputs")
    p.add_argument(
        "--int8-types",
        default="u8u8",
        choices=tuple(TYPES),
        help="ORT static int8 activation+weight types (default u8u8: no x86 AVX2 saturation; docs/int8.md)",
    )
    p.add_argument("--reduce-range", action="store_true", help="ORT static int8 with 7-bit weights")
    p.add_argument(
        "--nncf",
        action="store_true",
        help="also onnx_int8_nncf: NNCF's post-training quantization (more accurate; ORT runs it mostly in "
        "float: docs/int8.md)",
    )
    p.add_argument(
        "--rewrites",
        default="auto",
        metavar="auto|none|NAME,...",
        help="export-friendly rewrites, proven equal in float before export (default auto: every one that "
        "applies; docs/int8.md)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help=THREADS_HELP,
    )
    p.add_argument("--artifacts", type=Path, default=artifacts_root(), help="artifacts root (%(default)s)")
    p.add_argument(
        "--target",
        metavar="onnxruntime=V,tflite=V",
        help="oldest runtimes the artifacts must load in (default: the card's [target]; docs/runtimes.md)",
    )


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def summary(manifest: Manifest) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"{manifest.card}: artifacts")
    cols = ("artifact", "weights / act / io", "size", "cos mean", "cos worst", "max abs", "top-1", "status")
    for col in cols:
        t.add_column(col)
    for a in manifest.artifacts.values():
        p = a.parity or {}
        top1 = p.get("top1_agreement")
        style = {"ok": "green", "failed": "red"}.get(a.status, "yellow")
        t.add_row(
            a.id,
            f"{a.precision.weights} / {a.precision.activations} / {a.precision.io}",
            f"{a.size / 1e6:.2f} MB" if a.size else "-",
            f"{p['cosine_mean']:.6f}" if isinstance(p.get("cosine_mean"), float) else "-",
            f"{p['cosine']:.6f}" if isinstance(p.get("cosine"), float) else "-",
            f"{p['max_abs']:.2e}" if isinstance(p.get("max_abs"), float) else "-",
            f"{top1:.1%}" if isinstance(top1, float) else "-",
            f"[{style}]{escape(a.status_line)}[/]",
        )
    Console(width=max(Console().width, 150)).print(t)


def _target(text: str | None) -> Any:
    """``onnxruntime=1.18,tflite=2.17`` -> RuntimeTarget; a runtime not named keeps the default."""
    from edgeexport.spec import RuntimeTarget

    if not text:
        return None
    given = {}
    for pair in text.split(","):
        name, sep, version = pair.strip().partition("=")
        if not sep or name not in ("onnxruntime", "tflite"):
            raise UsageError(f"--target {text!r}: expected onnxruntime=V,tflite=V (e.g. onnxruntime=1.18)")
        given[name] = version
    return RuntimeTarget(**given)


def _rewrites(text: str) -> tuple[str, ...]:
    from edgeexport.export import rewrites

    try:
        return rewrites.names(list(_split(text)))
    except ValueError as error:
        raise UsageError(f"--rewrites {text!r}: {error}") from None


def main(args: argparse.Namespace) -> int:
    name = model_name(args)
    if not name and not args.all:
        raise UsageError(
            "name a model card (e.g. mobilenetv3_small) or pass --all; `python -m edgeexport list` shows them"
        )
    from edgeexport import cards
    from edgeexport.export import pipeline
    from edgeexport.spec import ExportOptions

    options = ExportOptions(
        formats=_split(args.formats),
        precisions=_split(args.precisions),
        calibration_method=args.calibration,
        calibration_count=args.calibration_count,
        nhwc=args.nhwc,
        int8_io=args.int8_io,
        int8_types=args.int8_types,
        reduce_range=args.reduce_range,
        rewrites=_rewrites(args.rewrites),
        nncf=args.nncf,
        threads=args.threads,
        root=args.artifacts,
        target=_target(args.target),
    )
    names = cards.card_names() if args.all or not name else [name]
    failed, documents = 0, []
    for card in names:
        manifest, run = pipeline.export_with_context(cards.get_card(card), options)
        bad = pipeline.failed_in_run(manifest, run)
        failed += len(bad)
        path = options.root / manifest.card / "manifest.json"
        if args.json:
            documents.append({"card": manifest.card, "manifest": str(path), "failed": bad,
                              "artifacts": [a.to_dict() for a in manifest.artifacts.values()]})  # fmt: skip
            continue
        summary(manifest)
        print(
            f"{manifest.card}: {len(run.done) - len(bad)} of {len(run.done)} artifacts of this run "
            f"not failed; manifest: {path}"
        )
        print(
            f"next: python -m edgeexport.bench --model {manifest.card}   then   "
            f"python -m edgeexport report {manifest.card}"
        )
    if args.json:
        print_json(documents)
    return 1 if failed else 0
