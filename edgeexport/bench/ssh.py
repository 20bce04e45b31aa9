"""A board over OpenSSH: ``ssh://[user@]host[:port][/workdir]``, through the user's own ``ssh`` client.

Everything goes through the ``ssh`` program, so the user's ``~/.ssh/config``, keys and agent apply (or the
file given with ``--ssh-config``). Host keys are checked as ssh checks them: an unknown or changed key is a
one-line error telling the user to connect once by hand; nothing here turns checking off. ``BatchMode`` means
ssh never waits for a password; ``ConnectTimeout`` and ``ServerAlive*`` bound every wait, so a board that
drops off the network ends the run with an error instead of hanging. One master connection is shared by
every command of a run (``ControlMaster``) and closed at the end.

The work folder follows git's ``ssh://`` URLs: ``/path`` is absolute, ``/~/path`` is under the login's home;
with no path, ``~/edgeexport-bench``.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from edgeexport.errors import EdgeExportError, UsageError

DEFAULT_WORKDIR = "edgeexport-bench"  # relative: under the login's home
CONNECT_TIMEOUT_S = 15
ALIVE_INTERVAL_S = 10
ALIVE_COUNT = 3  # the connection is declared dead after ALIVE_INTERVAL_S * ALIVE_COUNT silent seconds


class DeviceError(EdgeExportError):
    """The board could not be reached, or the connection dropped: exit 1 (results so far are kept)."""


class DeviceUsageError(UsageError):
    """The board is reachable but cannot run the bench as asked (login refused, host key, missing package)."""


@dataclass(frozen=True)
class Address:
    url: str
    host: str
    user: str | None = None
    port: int | None = None
    workdir: str = DEFAULT_WORKDIR

    @classmethod
    def parse(cls, url: str) -> Address:
        parts = urlsplit(url)
        if parts.scheme != "ssh" or not parts.hostname:
            raise UsageError(f"--device {url!r}: expected ssh://[user@]host[:port][/workdir]")
        try:
            port = parts.port
        except ValueError:
            raise UsageError(f"--device {url!r}: the port is not a number in 1-65535") from None
        if parts.password is not None or parts.query or parts.fragment:
            raise UsageError(f"--device {url!r}: no password, query or fragment (ssh keys log in)")
        path = parts.path
        if path in ("", "/"):
            workdir = DEFAULT_WORKDIR
        elif path.startswith("/~/"):
            workdir = path[3:].rstrip("/") or DEFAULT_WORKDIR
        else:
            workdir = path.rstrip("/")
        return cls(url=url, host=parts.hostname, user=parts.username, port=port, workdir=workdir)

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def by_hand(self) -> str:
        """The ssh command a user would type to log in to this board."""
        port = f"-p {self.port} " if self.port else ""
        return f"ssh {port}{self.destination}"


@dataclass
class Connection:
    """Runs commands on the board; as a context manager, it closes the shared master connection on exit."""

    address: Address
    config: Path | None = None
    _control: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def __enter__(self) -> Connection:
        self._control = tempfile.TemporaryDirectory(prefix="edgeexport-ssh-")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._control is not None:
            subprocess.run([*self._base(), "-O", "exit", self.address.destination], capture_output=True)
            self._control.cleanup()
            self._control = None

    def _base(self) -> list[str]:
        cmd = ["ssh"]
        if self.config is not None:
            cmd += ["-F", str(self.config)]
        if self.address.port:
            cmd += ["-p", str(self.address.port)]
        cmd += [
            "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}",
            "-o", f"ServerAliveInterval={ALIVE_INTERVAL_S}",
            "-o", f"ServerAliveCountMax={ALIVE_COUNT}",
        ]  # fmt: skip
        if self._control is not None:
            path = Path(self._control.name) / "master"
            cmd += ["-o", "ControlMaster=auto", "-o", f"ControlPath={path}", "-o", "ControlPersist=120"]
        return cmd

    def run(
        self, script: str, *, stdin: bytes | None = None, timeout_s: float = 120.0, what: str = "a command"
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``script`` (a POSIX shell command line) in the work folder's parent (the login's home).

        Raises DeviceUsageError for a refused login or host key, DeviceError when ssh itself fails
        (exit 255: unreachable, dropped) or the command outlives ``timeout_s``. The command's own exit
        status is the caller's to read.
        """
        cmd = [*self._base(), self.address.destination, script]
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise DeviceError(f"{self.address.url}: {what} took over {timeout_s:g} s; gave up") from None
        except FileNotFoundError:
            raise DeviceUsageError("--device needs the OpenSSH client (no `ssh` here): install it") from None
        if proc.returncode == 255:
            raise self._ssh_failure(proc.stderr.decode(errors="replace"), what)
        return proc

    def _ssh_failure(self, stderr: str, what: str) -> EdgeExportError:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else "ssh exited with 255"
        a = self.address
        if "Host key verification failed" in stderr or "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
            return DeviceUsageError(
                f"{a.url}: the board's host key is not known or has changed; check it and accept it once "
                f"with `{a.by_hand()}` (edgeexport never turns host key checking off)"
            )
        if "Permission denied" in stderr:
            return DeviceUsageError(
                f"{a.url}: the board refused the login ({last}); set up a key with "
                f"`ssh-copy-id {'-p ' + str(a.port) + ' ' if a.port else ''}{a.destination}` or --ssh-config"
            )
        return DeviceError(f"{a.url}: ssh failed during {what}: {last}")


def quote(path: str) -> str:
    """A remote path for the shell: relative paths stay relative to the login's home."""
    return shlex.quote(path)
