"""Keeping Python's cyclic garbage collector out of the way of batch jobs.

A batch job (scoring, training, embedding) allocates millions of short-lived
records and arrays; reference counting frees them, but every few hundred
thousand allocations the cyclic collector also walks the whole heap, which
grows with the job. On the 100,000-customer demo that walking was 30% of a
full scoring run (18 s of 59 s) and freed a few hundred objects. Within
:func:`collector_paused` it does not run; the cycles made meanwhile (few and
small) wait for its next pass after the last paused job ends (not forced
then: in a server, a full pass stalls every connection).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_paused_jobs = 0  # jobs inside collector_paused(); they may overlap in a server's event loop
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector while the block runs (nested and overlapping blocks allowed)."""
    global _paused_jobs, _was_enabled
    if _paused_jobs == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _paused_jobs += 1
    try:
        yield
    finally:
        _paused_jobs -= 1
        if _paused_jobs == 0 and _was_enabled:
            gc.enable()
