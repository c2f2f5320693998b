"""Where a benchmark's CPU goes: the CPU seconds each party's processes used over a window.

On a machine whose few cores the server, the database, the event stream and
the benchmark's own clients share, latency swings with whatever else runs,
and with the machine of the day. CPU time per event swings much less, and it
says what a target rate needs: the parties' sum per event times the rate is
the cores that rate keeps busy, which a machine must have to sustain it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True, slots=True)
class CpuUse:
    """CPU seconds (user and system, all threads) per party over one window; ``unmeasured``: the
    parties with no process to read here, or whose processes ended during the window."""

    seconds: Mapping[str, float]
    unmeasured: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def per_event_ms(self, events: int) -> dict[str, float]:
        return {party: seconds * 1000 / events for party, seconds in self.seconds.items()}


class CpuMeter:
    """Reads the CPU time of each party's processes: ``parties`` maps a name to process ids."""

    def __init__(self, parties: Mapping[str, Sequence[int]]) -> None:
        self._parties = {name: [psutil.Process(pid) for pid in pids] for name, pids in parties.items()}

    def now(self) -> dict[str, float]:
        """Each party's CPU seconds so far (a party with no process here, or none left, is absent)."""
        used = {}
        for name, processes in self._parties.items():
            if not processes:
                continue
            with contextlib.suppress(psutil.NoSuchProcess):
                used[name] = sum(_cpu_seconds(process) for process in processes)
        return used

    def since(self, before: Mapping[str, float]) -> CpuUse:
        """What each party used after ``before`` (a :meth:`now`)."""
        after = self.now()
        used = {name: after[name] - before[name] for name in before if name in after}
        return CpuUse(used, tuple(name for name in self._parties if name not in used))


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def local_listener(url: str) -> int | None:
    """The id of the process on this machine listening at ``url`` (a TCP port of this machine,
    or a ``unix://`` socket), when it may be inspected; ``None`` otherwise."""
    parts = urlsplit(url)
    unix = parts.scheme == "unix"
    if not unix and (parts.hostname not in _LOCAL_HOSTS or parts.port is None):
        return None
    try:
        connections = psutil.net_connections(kind="unix" if unix else "tcp")
    except psutil.AccessDenied:
        return None
    for connection in connections:
        if connection.pid is None:
            continue
        if unix and connection.laddr == parts.path:
            return int(connection.pid)
        if not unix and connection.status == psutil.CONN_LISTEN and connection.laddr.port == parts.port:
            return int(connection.pid)
    return None
