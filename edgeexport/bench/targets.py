"""What to benchmark: exported cards under the artifacts root and the artifacts each runtime runs.

A card is a folder with a manifest.json. A runtime runs the artifacts whose ``format`` is in its
formats and that were written (sha256 recorded, file present); artifacts that failed their parity gate
are measured too (their speed is still worth knowing) but the result says the manifest failed them.
The ``torch`` runtime runs the ``.pt2`` ExportedProgram export wrote (``pt2_fp32``), as the eager
reference point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeexport.artifact import MANIFEST_VERSION, Precision, read_manifest_file
from edgeexport.errors import EdgeExportError, UnknownNameError
from edgeexport.registry import suggest
from edgeexport.runtimes import RUNTIMES, artifact_options


@dataclass(frozen=True)
class Target:
    card: str
    artifact: str
    format: str
    runtime: str
    path: str  # the artifact file
    folder: str  # the card's artifact folder (reference.npz)
    kind: str  # fp32 | fp16 | int8: which tolerance class
    limits: dict[str, float] = field(default_factory=dict)
    limits_from: str | None = None  # the manifest entry whose parity checks gave the limits
    manifest_status: str = "ok"
    manifest_reason: str | None = None
    size: int | None = None
    sha256: str | None = None
    nhwc: bool = False
    classification: bool = True
    # How export ran the artifact when it judged it (the manifest entry's config.runtime_options, e.g.
    # ncnn's fp16 storage): the bench runs it the same way, over the runtime's own options
    runtime_options: dict[str, Any] = field(default_factory=dict)
    # A model file given on the command line (no manifest): its inputs, reference and shapes (bench/files.py)
    file_options: dict[str, Any] | None = None


def exported_cards(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "manifest.json").is_file()}


def read_manifest(folder: Path) -> dict[str, Any]:
    data = read_manifest_file(folder / "manifest.json")
    if data.get("manifest_version") != MANIFEST_VERSION:
        raise EdgeExportError(
            f"{folder / 'manifest.json'}: manifest version {data.get('manifest_version')!r}, "
            f"this bench reads {MANIFEST_VERSION}; re-export with this version"
        )
    return data


def select_cards(root: Path, wanted: list[str] | None) -> dict[str, Path]:
    found = exported_cards(root)
    if not wanted:
        return found
    for name in wanted:
        if name not in found:
            raise UnknownNameError(f"no exported model {name!r} under {root}{suggest(name, list(found))}")
    return {name: found[name] for name in wanted}


def _limits(entry: dict[str, Any]) -> dict[str, float]:
    checks = (entry.get("parity") or {}).get("checks") or []
    return {c["metric"]: float(c["limit"]) for c in checks}


def _kind(entry: dict[str, Any]) -> str:
    return Precision(**entry["precision"]).kind


def limits_for(manifest: dict[str, Any], entry: dict[str, Any] | None, kind: str) -> tuple[dict, str | None]:
    """The entry's own recorded tolerances, else those of another artifact of the same kind."""
    if entry is not None and _limits(entry):
        return _limits(entry), entry["id"]
    for other in manifest["artifacts"]:
        if _kind(other) == kind and _limits(other):
            return _limits(other), other["id"]
    return {}, None


def targets(runtime: str, folder: Path, manifest: dict[str, Any]) -> tuple[list[Target], list[str]]:
    """(what ``runtime`` can run in this card's folder, one line per artifact it skips and why)."""
    card = manifest["card"]
    classification = manifest.get("reference", {}).get("task", "classification") == "classification"
    formats = RUNTIMES.get(runtime).formats
    found, skipped = [], []
    for entry in manifest["artifacts"]:
        if entry["format"] not in formats:
            continue
        path = folder / entry["file"]
        if not entry.get("sha256"):
            skipped.append(f"{card}/{entry['id']}: not written ({entry.get('reason') or entry['status']})")
            continue
        if not path.exists() and entry["status"] == "failed":
            skipped.append(f"{card}/{entry['id']}: {entry['file']} failed at export, not in this bundle")
            continue
        if not path.exists() and entry["format"] == "pt2":  # bundle ships .pt2 only with --include-torch
            skipped.append(
                f"{card}/{entry['id']}: {entry['file']} is not here (bundle --include-torch ships it)"
            )
            continue  # any other file the manifest lists but is missing: runner.plan reports it as missing
        kind = _kind(entry)
        limits, source = limits_for(manifest, entry, kind)
        found.append(
            Target(
                card=card,
                artifact=entry["id"],
                format=entry["format"],
                runtime=runtime,
                path=str(path),
                folder=str(folder),
                kind=kind,
                limits=limits,
                limits_from=source,
                manifest_status=entry["status"],
                manifest_reason=entry.get("reason"),
                size=entry.get("size"),
                sha256=entry["sha256"],
                nhwc=bool((entry.get("config") or {}).get("nhwc")),
                classification=classification,
                runtime_options=artifact_options(entry.get("config")),
            )
        )
    return found, skipped


def reference_problem(folder: Path, manifest: dict[str, Any]) -> str | None:
    """None when the card's reference.npz is the one its manifest recorded, else what is wrong: every
    parity verdict is judged against it, so a replaced or damaged one must not make anything "ok"."""
    from edgeexport.artifact import sha256_path

    ref = manifest.get("reference") or {}
    path = folder / ref.get("file", "reference.npz")
    if not path.is_file():
        return f"{path} is missing: re-export {manifest['card']} (or re-make the bundle)"
    if ref.get("sha256") and sha256_path(path) != ref["sha256"]:
        return f"{path} differs from its manifest entry (sha256): re-export {manifest['card']}"
    return None


def adapter_options(target: Target, options: dict[str, Any]) -> dict[str, Any]:
    """The runtime's options with the artifact's own (from its manifest entry) taking precedence."""
    return {**options, **target.runtime_options}


def filter_artifacts(found: list[Target], wanted: list[str] | None, known: list[str]) -> list[Target]:
    if not wanted:
        return found
    for name in wanted:
        if name not in known:
            raise UnknownNameError(f"no artifact {name!r}{suggest(name, sorted(set(known)))}")
    return [t for t in found if t.artifact in wanted]
