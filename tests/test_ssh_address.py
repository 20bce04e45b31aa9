"""``--device`` URLs: git's ssh:// rules (absolute path, /~/ under the home, default work folder)."""

from __future__ import annotations

import pytest

from edgeexport.bench.ssh import DEFAULT_WORKDIR, Address
from edgeexport.errors import UsageError


@pytest.mark.parametrize(
    ("url", "user", "host", "port", "workdir"),
    [
        ("ssh://pi@raspberrypi.local", "pi", "raspberrypi.local", None, DEFAULT_WORKDIR),
        ("ssh://board", None, "board", None, DEFAULT_WORKDIR),
        ("ssh://me@10.0.0.7:2222/tmp/bench/", "me", "10.0.0.7", 2222, "/tmp/bench"),
        ("ssh://me@[fe80::1]:22/~/work", "me", "fe80::1", 22, "work"),
    ],
)
def test_parse(url: str, user: str | None, host: str, port: int | None, workdir: str) -> None:
    a = Address.parse(url)
    assert (a.user, a.host, a.port, a.workdir) == (user, host, port, workdir)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("pi@raspberrypi", "expected ssh://"),
        ("scp://pi@raspberrypi", "expected ssh://"),
        ("ssh://pi@board:99999", "port"),
        ("ssh://pi:secret@board", "no password"),
    ],
)
def test_bad_urls_are_one_line_usage_errors(url: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        Address.parse(url)


def test_by_hand_is_what_a_user_types() -> None:
    assert Address.parse("ssh://pi@board:2222/x").by_hand() == "ssh -p 2222 pi@board"
