"""The report as a user sees it: the real ImageNet MobileNetV2 exported, benched here, reported, and the page
opened in a real browser (Debian's chromium, driven by Playwright; nothing is downloaded). The full-page
screenshot is kept in reports/screenshots/ of the checkout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from playwright import sync_api
from test_parity_matrix import exported

from edgeexport.__main__ import main
from edgeexport.bench.__main__ import main as bench_main

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder, _ = exported("mobilenet_v2")
    tmp = tmp_path_factory.mktemp("report")
    picks = [
        "--artifact",
        "onnx_fp32",
        "--artifact",
        "onnx_int8",
        "--artifact",
        "tflite_fp32",
        "--artifact",
        "tflite_int8",
    ]
    code = bench_main(
        [
            "--model",
            "mobilenet_v2",
            "--artifacts",
            str(folder.parent),
            "--threads",
            "2",
            "--min-runs",
            "10",
            "--min-time",
            "0.3",
            "--warmup-runs",
            "2",
            "--warmup-time",
            "0.1",
            "--results-dir",
            str(tmp / "results"),
            *picks,
        ]
    )
    assert code == 0
    code = main(
        [
            "report",
            "mobilenet_v2",
            "--artifacts",
            str(folder.parent),
            "--results-dir",
            str(tmp / "results"),
            "--out",
            str(tmp / "reports"),
        ]
    )
    assert code == 0
    return tmp / "reports" / "mobilenet_v2" / "index.html", json.loads((folder / "manifest.json").read_text())


def test_the_page_in_a_real_browser(report: tuple[Path, dict]) -> None:
    if not Path(CHROMIUM).is_file():
        pytest.fail("no chromium: `make setup` installs Debian's chromium (scripts/debian-packages.txt)")
    index, manifest = report
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(index.as_uri())
        images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
        rows = page.locator("table.artifacts tbody tr").count()
        answer = page.locator(".answer").first.inner_text()
        links = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
        shots = REPO / "reports" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "mobilenet_v2.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert len(images) >= 3 and all(done and width > 0 for done, width in images), images
    assert rows == len(manifest["artifacts"])
    shipped = answer.split("ship ", 1)[1].split(" on ", 1)[0]
    assert shipped in {"onnx_fp32", "onnx_int8", "tflite_fp32", "tflite_int8"}, answer
    for href in links:
        assert Path(unquote(urlparse(href).path)).exists(), href
    assert (shots / "mobilenet_v2.png").stat().st_size > 50_000
