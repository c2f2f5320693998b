"""The machine a benchmark runs on, in the words and figures its report starts with.

The same code on the same kind of machine has measured more than twice as fast
one day as another (shared virtual cores), so figures from different days are
comparable only beside a measure of the machine's speed at the time: the
reference loop, a fixed piece of pure-Python work timed right before the
benchmark. Twice its milliseconds means about half the speed, for Rapport's
Python and for a database sharing the cores alike.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

_REFERENCE_ITERATIONS = 2_000_000
_REFERENCE_RUNS = 3


def _reference_work() -> int:
    total = 0
    for i in range(_REFERENCE_ITERATIONS):
        total += i * i % 7
    return total


def reference_loop_ms() -> float:
    """The median time of the reference work, in milliseconds."""
    times = []
    for _ in range(_REFERENCE_RUNS):
        started = time.perf_counter()
        _reference_work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def cpu_model() -> str:
    """The processor's model name, as the kernel says it ("" where it does not)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""


def machine() -> str:
    """``N cores (model), reference loop M ms``, measured now: call it before the benchmark's load."""
    model = cpu_model()
    cores = f"{os.cpu_count()} cores" + (f" ({model})" if model else "")
    return f"{cores}, reference loop {reference_loop_ms():.0f} ms (bench/machine.py)"
