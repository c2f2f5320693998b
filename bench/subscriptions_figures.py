"""The figures of bench.subscriptions: delivery latencies, delivered rates, server memory.

Latency is the receipt time at the subscriber minus a commit time, both
read from ``time.time()`` on this one machine. The commit itself is not
observable from outside the server, so it is bracketed:

- the event's ``at`` (epoch milliseconds, taken when the mutation builds its
  outbox statement, right before its write transaction runs) is *before* the
  commit: latencies from it are upper bounds, and the targets are judged on them;
- the time the mutation's HTTP answer reached the driver is *after* the
  commit: latencies from it are lower bounds (negative when the event
  overtook the answer).
"""

from __future__ import annotations

import datetime
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.subscriptions_clients import Deliveries


@dataclass(frozen=True, slots=True)
class Latency:
    """Delivery latencies of one scenario over all its (event, subscriber) deliveries, in ms."""

    events: int
    deliveries: int
    p50_ms: float  # from the event's ``at``: conservative
    p99_ms: float
    answer_p50_ms: float  # from the mutation's HTTP answer: optimistic
    answer_p99_ms: float
    slowest_ms: float  # the median over events of the time until the last subscriber had it (from ``at``)
    delivered_per_second: float  # events that reached every subscriber, per second (see ``delivery_rate``)
    missing: int
    duplicates: int
    strays: int
    failures: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """Every subscriber got every event once, and no connection failed."""
        return not (self.missing or self.duplicates or self.failures)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (``nan`` when there are none)."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def delivery_rate(completions: Sequence[float], batch: int) -> float:
    """Events per second between the first and the last event reaching its last subscriber.

    Events come ``batch`` to a mutation, and a batch arrives together, so the
    first batch opens the interval and is not counted in it: a server that
    keeps up with a schedule of one batch every ``batch / rate`` seconds
    scores ``rate``; one that falls behind stretches the interval.
    """
    if len(completions) <= batch:
        return math.nan
    ordered = sorted(completions)
    span = ordered[-1] - ordered[0]
    return (len(ordered) - batch) / span if span > 0 else math.nan


def _epoch(at: str) -> float:
    return datetime.datetime.fromisoformat(at).timestamp()


def latency(deliveries: Deliveries, answered: Mapping[str, float], batch: int) -> Latency:
    """The latencies of the events created by the mutations ``answered`` (record id -> time of the
    answer), as ``deliveries`` received them."""
    from_at: list[float] = []
    from_answer: list[float] = []
    slowest: list[float] = []
    completions: list[float] = []
    for record_id, answer in answered.items():
        times = deliveries.times.get(record_id)
        if not times:
            continue
        at = _epoch(deliveries.at[record_id])
        from_at += [t - at for t in times]
        from_answer += [t - answer for t in times]
        slowest.append(max(times) - at)
        completions.append(max(times))
    from_at.sort()
    from_answer.sort()
    return Latency(
        events=len(answered),
        deliveries=len(from_at),
        p50_ms=percentile(from_at, 0.50) * 1000,
        p99_ms=percentile(from_at, 0.99) * 1000,
        answer_p50_ms=percentile(from_answer, 0.50) * 1000,
        answer_p99_ms=percentile(from_answer, 0.99) * 1000,
        slowest_ms=statistics.median(slowest) * 1000 if slowest else math.nan,
        delivered_per_second=delivery_rate(completions, batch),
        missing=deliveries.missing,
        duplicates=deliveries.duplicates,
        strays=deliveries.strays,
        failures=tuple(deliveries.failures),
    )


def commit_rate(answered: Mapping[str, float], batch: int) -> float:
    """Events per second committed, between the first and the last mutation's answer (as above)."""
    return delivery_rate(list(answered.values()), batch)


def resident_kib(pid: int) -> int:
    """The resident memory of process ``pid`` (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for process {pid}")
