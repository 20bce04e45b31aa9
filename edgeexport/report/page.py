"""The report as one self-contained HTML page (figures inline, no CDN, no script) and as Markdown."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

from edgeexport.report.figures import quality
from edgeexport.report.gather import Facts, Run
from edgeexport.report.recommend import Answer

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; }
body { color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 12px; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
.answer { background: #eef6ee; border-left: 4px solid #2a7a2a; padding: .6em 1em; }
.answer.none { background: #fbeeee; border-color: #a22; }
.caveat { color: #8a4b00; } img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
code { background: #f6f6f6; padding: 0 3px; }
"""


NUMBER = re.compile(r"^(EMULATED )?[-+]?[\d.]+(e[-+]?\d+)?( \[[\d., ]+\]| dB| pt)?$|^-$")


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def _mb(value: Any) -> str:
    return "-" if not value else f"{value / 1e6:.1f}"


def artifact_rows(facts: Facts) -> list[list[str]]:
    """One row per exported artifact: what it is and how it did at export."""
    rows = []
    for a in facts.manifest["artifacts"]:
        p = a.get("precision") or {}
        parity = a.get("parity") or {}
        q, label = quality(facts, a["id"])
        rows.append(
            [
                a["id"],
                a["format"],
                f"{p.get('weights')}/{p.get('activations')}/{p.get('io', 'float32')}",
                _mb(a.get("size")),
                f"{parity['cosine_mean']:.5f}" if parity.get("cosine_mean") is not None else "-",
                "-" if q is None else (f"{q:.2f} pt" if label.startswith("accuracy") else f"{q:.1f} dB"),
                a["status"] + (f": {a['reason']}" if a.get("reason") else ""),
            ]
        )
    return rows


ARTIFACT_HEAD = ["artifact", "format", "weights/act/io", "MB", "cos mean", "drop or SQNR", "export status"]
RUN_HEAD = ["artifact", "runtime", "status", "p50 ms [95% CI]", "p90", "p99", "load s", "first ms", "peak MB"]


def run_rows(run: Run) -> list[list[str]]:
    rows = []
    for r in run.results:
        lat = r.get("latency_ms") or (r.get("emulated_timing") or {}).get("latency_ms") or {}
        timing = r.get("timing") or (r.get("emulated_timing") or {}).get("timing") or {}
        ci = lat.get("p50_ci95")
        p50 = (
            "-"
            if lat.get("p50") is None
            else f"{lat['p50']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
        )
        rows.append(
            [
                r["artifact"],
                r["runtime"],
                r["status"] + (f": {r['reason']}" if r.get("reason") else ""),
                ("EMULATED " if r.get("emulated_timing") else "") + p50,
                _ms(lat.get("p90")),
                _ms(lat.get("p99")),
                _ms(timing.get("load_s")),
                _ms(timing.get("first_inference_ms")),
                _mb((r.get("memory") or {}).get("peak_bytes")),
            ]
        )
    return rows


PROFILE_HEAD = ["artifact", "runtime", "where the time goes (--profile)", "off the fast path"]


def profile_rows(run: Run) -> list[list[str]]:
    """One row per profiled artifact of a run (bench --profile); none when the run was not profiled."""
    from edgeexport.bench import profile

    rows = []
    for r in run.results:
        found = r.get("profile")
        if not found:
            continue
        if not found.get("source"):
            rows.append([r["artifact"], r["runtime"], found.get("note") or "-", "-"])
            continue
        first, off, _ = profile.lines(found)
        rows.append([r["artifact"], r["runtime"], first, off.removeprefix("off the fast path: ")])
    return rows


def provenance_rows(facts: Facts) -> list[list[str]]:
    rows = []
    for a in facts.manifest["artifacts"]:
        tools = ", ".join(f"{k} {v}" for k, v in sorted((a.get("tools") or {}).items()))
        rows.append(
            [
                a["id"],
                a.get("stage") or "-",
                a.get("parent") or "(the PyTorch model)",
                (a.get("sha256") or "-")[:16],
                (a.get("calibration_sha256") or "-")[:16],
                tools,
            ]
        )
    return rows


PROVENANCE_HEAD = ["artifact", "stage", "parent", "sha256", "calibration sha256", "tools"]


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    cell = lambda c: f'<td class="{"num" if NUMBER.match(c) else "text"}">{html.escape(c)}</td>'  # noqa: E731
    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def write_html(facts: Facts, answers: list[Answer], figures: dict[str, list[Path]], out: Path) -> Path:
    parts = [
        f"<!doctype html><html lang=en><meta charset=utf-8><title>edgeexport report: {facts.card}</title>",
        f"<style>{STYLE}</style><body><h1>{html.escape(facts.card)}: which artifact to ship</h1>",
    ]
    parts.append("<h2 id=answer>The answer</h2>")
    if not answers:
        parts.append(
            '<p class="answer none">No bench results for this card yet: run '
            f"<code>python -m edgeexport.bench --model {html.escape(facts.card)}</code>.</p>"
        )
    for answer in answers:
        cls = "answer" if answer.best else "answer none"
        lines = "".join(
            f'<p class="{"caveat" if line.startswith("Caveat") else ""}">{html.escape(line)}</p>'
            for line in answer.lines()
        )
        parts.append(f'<div class="{cls}" data-device="{html.escape(answer.device)}">{lines}</div>')
    parts.append("<h2 id=artifacts>Artifacts</h2>" + _table(ARTIFACT_HEAD, artifact_rows(facts), "artifacts"))
    for run in facts.runs:
        title = f"{run.device}, {run.threads} threads" + (" (EMULATED)" if run.emulated else "")
        parts.append(
            f"<h2>Measured: {html.escape(title)}</h2><p>from <code>{html.escape(str(run.source))}"
            f"</code>, {html.escape(run.created)}</p>" + _table(RUN_HEAD, run_rows(run), "run")
        )
        profiled = profile_rows(run)
        if profiled:
            parts.append("<h3>Where the time goes</h3>" + _table(PROFILE_HEAD, profiled, "profile"))
    parts.append("<h2 id=figures>Figures</h2>")
    for paths in figures.values():
        parts += [_img(p) for p in paths]
    parts.append("<h2 id=provenance>Provenance</h2>" + _table(PROVENANCE_HEAD, provenance_rows(facts)))
    target = facts.manifest.get("target")
    if target:
        parts.append(f"<p>Oldest runtimes these artifacts load in: {html.escape(str(target))}.</p>")
    parts.append(
        '<p>Files: <a href="report.md">report.md</a>, figures in <a href="figures/">figures/</a>.</p>'
    )
    out.write_text("\n".join(parts) + "</body></html>\n")
    return out


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    esc = lambda c: c.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows])


def write_markdown(facts: Facts, answers: list[Answer], figures: dict[str, list[Path]], out: Path) -> Path:
    text = [f"# {facts.card}: which artifact to ship", "", "## The answer", ""]
    for answer in answers:
        text += [f"- {line}" for line in answer.lines()] + [""]
    text += ["## Artifacts", "", _md_table(ARTIFACT_HEAD, artifact_rows(facts)), ""]
    for run in facts.runs:
        text += [
            f"## Measured: {run.device}, {run.threads} threads",
            "",
            _md_table(RUN_HEAD, run_rows(run)),
            "",
        ]
        profiled = profile_rows(run)
        if profiled:
            text += ["### Where the time goes", "", _md_table(PROFILE_HEAD, profiled), ""]
    text += ["## Figures", ""] + [f"![{p.stem}](figures/{p.name})" for ps in figures.values() for p in ps]
    text += ["", "## Provenance", "", _md_table(PROVENANCE_HEAD, provenance_rows(facts)), ""]
    out.write_text("\n".join(text))
    return out
