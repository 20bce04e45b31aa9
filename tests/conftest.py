from __future__ import annotations

import pytest
import torch

# Fixed thread count: results (and BatchNorm calibration) do not depend on the machine's core count.
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def card_names() -> list[str]:
    from edgeexport import cards

    return cards.card_names()
