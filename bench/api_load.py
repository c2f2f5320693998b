"""Driving a GraphQL endpoint for bench.api: a correctness round in Python, then wrk.

wrk (C, epoll, one thread by default) generates the load from its own
process; ``api_wrk.lua`` feeds it the request bodies and checks every
response, so a run that measured error responses is recognised as such.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

WRK_SCRIPT = Path(__file__).with_name("api_wrk.lua")
WRK_INSTALL_HINT = "install wrk: `apt-get install -y wrk` (Debian, Ubuntu) or `brew install wrk` (macOS)"
_RESULT_PREFIX = "WRK_RESULT "


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


@dataclass(frozen=True, slots=True)
class Load:
    """Figures of one wrk run, or the medians of several."""

    per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # transport errors, non-200 answers and bodies with "errors"


def median_load(runs: Sequence[Load]) -> Load:
    """The median of each figure over repeated runs; requests and errors are summed."""
    return Load(
        per_second=statistics.median(r.per_second for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        requests=sum(r.requests for r in runs),
        errors=sum(r.errors for r in runs),
    )


def wrk_path() -> str:
    """The wrk executable, or :class:`BenchError` saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(f"wrk not found on PATH; {WRK_INSTALL_HINT}")
    return path


def run_wrk(
    url: str, bodies_file: Path, token: str, *, connections: int, seconds: float, threads: int
) -> Load:
    """Run wrk against ``url`` for ``seconds`` with ``connections`` open connections."""
    command = [
        wrk_path(), f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds:g}s",
        "--timeout", "10s", "--latency", "-s", str(WRK_SCRIPT), url, "--", str(bodies_file), token,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        output = (done.stderr or done.stdout).strip()[-500:]
        raise BenchError(f"wrk failed (exit {done.returncode}): {output}")
    raw = json.loads(lines[-1].removeprefix(_RESULT_PREFIX))
    transport = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return Load(
        per_second=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        requests=raw["requests"],
        errors=transport + raw["bad"],
    )


def check_answers(
    url: str, bodies: Sequence[str], token: str, valid: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Send each body once; return the ``data`` of each answer.

    Raises :class:`BenchError` at the first answer that is not 200, carries
    ``errors``, or whose data ``valid`` rejects (e.g. a missing account).
    """
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answers = []
    with httpx.Client(timeout=30) as client:
        for body in bodies:
            response = client.post(url, content=body, headers=headers)
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if response.status_code != 200 or "errors" in answer or not valid(answer.get("data") or {}):
                raise BenchError(
                    f"bad answer (HTTP {response.status_code}) to {body[:200]}: {response.text[:500]}"
                )
            answers.append(answer["data"])
    return answers


def first_difference(a: Any, b: Any, path: str = "data") -> str | None:
    """Where two JSON values differ first (``None`` when equal): for a readable mismatch message."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"
