"""Everything measured about one card: its export manifest and every bench result that ran its artifacts.

Bench results are the ``edgeexport.bench/1`` documents under the results folder (local runs, ``--device``
runs, several thread counts) and any given with ``--results``. Each run becomes a ``Run``: where it ran
(the device URL, or this host's CPU), the thread count, whether it was emulated, and the card's results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeexport.artifact import read_manifest_file
from edgeexport.bench import SCHEMA
from edgeexport.errors import UsageError


@dataclass
class Run:
    source: Path
    device: str  # "ssh://..." or this host's CPU model
    architecture: str
    threads: int
    emulated: bool
    created: str
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def group(self) -> tuple[str, int]:
        return self.device, self.threads


@dataclass
class Facts:
    card: str
    folder: Path
    manifest: dict[str, Any]
    runs: list[Run] = field(default_factory=list)
    arm: dict[str, Any] | None = None  # the newest `make arm-parity` document of this card
    doctor: list[dict[str, Any]] = field(default_factory=list)  # `doctor` runs saved beside the artifacts
    skipped: list[str] = field(default_factory=list)  # result files that could not be read

    def entry(self, artifact: str) -> dict[str, Any] | None:
        return next((a for a in self.manifest["artifacts"] if a["id"] == artifact), None)


def _where(doc: dict[str, Any]) -> tuple[str, str]:
    cpu = doc["environment"]["cpu"]
    name = cpu.get("core") or cpu.get("model") or cpu.get("architecture") or "unknown CPU"
    if doc.get("device"):
        return f"{doc['device']} ({name})", str(cpu.get("architecture"))
    return f"this host ({name})", str(cpu.get("architecture"))


ARM_SCHEMA = "edgeexport.arm-parity/1"


def read_run(path: Path, card: str, doc: dict[str, Any]) -> Run | None:
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"schema {doc.get('schema')!r}")
    results = [r for r in doc["results"] if r.get("card") == card]
    if not results:
        return None
    env = doc["environment"]
    device, architecture = _where(doc)
    return Run(
        source=path,
        device=device,
        architecture=architecture,
        threads=int(doc["settings"]["threads"]),
        emulated=bool(env.get("emulated")),
        created=str(doc.get("created", "")),
        results=results,
    )


def current(results: list[Any], manifest: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The results that measured the files this export lists; the others (an artifact since re-exported,
    or one the manifest does not have) are named, never used to recommend anything."""
    files = {a["id"]: a.get("sha256") for a in manifest["artifacts"]}
    kept, stale = [], []
    for r in results:
        if not isinstance(r, dict) or not isinstance(r.get("artifact"), str):
            stale.append("a result entry without an artifact id")
        elif r["artifact"] not in files:
            stale.append(f"{r['artifact']}: not in this export's manifest")
        elif r.get("sha256") and files[r["artifact"]] and r["sha256"] != files[r["artifact"]]:
            stale.append(
                f"{r['artifact']}: measured another file than the one exported now (re-run the bench)"
            )
        else:
            kept.append(r)
    return kept, stale


def gather(card: str, root: Path, result_files: list[Path]) -> Facts:
    folder = root / card
    path = folder / "manifest.json"
    if not path.is_file():
        raise UsageError(f"no export of {card!r} under {root}; run `make export MODEL={card}` first")
    facts = Facts(card, folder, read_manifest_file(path))
    for saved in sorted(folder.glob("doctor-*.json")):
        try:
            facts.doctor.append(json.loads(saved.read_text()))
        except (OSError, ValueError) as error:
            facts.skipped.append(f"{saved}: {error}")
    for file in sorted(set(result_files)):
        try:
            doc = json.loads(file.read_text())
            if not isinstance(doc, dict):
                raise ValueError(f"a JSON {type(doc).__name__}, not a bench result")
            if doc.get("schema") == ARM_SCHEMA:
                if doc.get("card") == card and (facts.arm is None or doc["created"] >= facts.arm["created"]):
                    facts.arm = doc
                continue
            run = read_run(file, card, doc)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            facts.skipped.append(f"{file}: {error}")
            continue
        if run is not None:
            run.results, stale = current(run.results, facts.manifest)
            facts.skipped += [f"{file}: {line}" for line in stale]
            if run.results:
                facts.runs.append(run)
    facts.runs.sort(key=lambda r: (r.created, str(r.source)))
    return facts


def result_files(results_dir: Path, given: list[Path] | None) -> list[Path]:
    files = sorted(results_dir.glob("*.json")) if results_dir.is_dir() else []
    for path in given or []:
        if path.is_dir():
            files += sorted(path.glob("*.json"))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"--results {path}: no such file or folder")
    return files
