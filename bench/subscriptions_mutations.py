"""The mutations that make the events of bench.subscriptions, and when each was committed.

Every event is a record created by ``create<Plural>`` (one item for a single
event, ``batch`` items for the sustained load), named with the run's prefix so
that the run's records can be told apart and removed. For each record the
driver notes, in wall-clock time (``time.time()``, which the subscriber
processes read too), when its mutation's HTTP answer arrived: the commit
happened before.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx
import orjson

from bench.api_load import BenchError

_TIMEOUT_S = 60.0


class Mutator:
    """Creates records of ``label`` through one server's GraphQL endpoint."""

    def __init__(self, url: str, token: str, label: str, plural: str, prefix: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.query = (
            f"mutation($items: [{label}CreateItem!]!) {{ create{plural}(items: $items) "
            "{ records { id } userErrors { field message } } }"
        )
        self.field = f"create{plural}"
        self.prefix = prefix
        self._numbers = itertools.count(1)

    def _body(self, count: int) -> bytes:
        items = [{"fields": {"name": f"{self.prefix} {next(self._numbers)}"}} for _ in range(count)]
        return orjson.dumps({"query": self.query, "variables": {"items": items}})

    def _ids(self, response: httpx.Response) -> list[str]:
        """The created records' ids, or :class:`BenchError` naming what went wrong."""
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        payload = (answer.get("data") or {}).get(self.field) or {}
        if response.status_code != 200 or answer.get("errors") or payload.get("userErrors"):
            raise BenchError(f"mutation failed (HTTP {response.status_code}): {response.text[:500]}")
        return [record["id"] for record in payload["records"]]

    def create_one(self, client: httpx.Client) -> tuple[str, float]:
        """Create one record (one event); its id and when the answer arrived."""
        response = client.post(self.url, content=self._body(1), headers=self.headers, timeout=_TIMEOUT_S)
        answered = time.time()
        (record_id,) = self._ids(response)
        return record_id, answered

    async def drive(
        self, events_per_second: float, batch: int, seconds: float, in_flight: int
    ) -> dict[str, float]:
        """Create ``batch`` records per mutation at ``events_per_second`` for ``seconds``.

        Mutations start on a fixed schedule (an open loop, as independent
        writers would send them) with at most ``in_flight`` unanswered; when
        the server falls behind they go out as soon as one is answered, and
        the achieved rate says so. Returns when each created record's answer arrived.
        """
        mutations = max(1, round(events_per_second * seconds / batch))
        interval = batch / events_per_second
        answered: dict[str, float] = {}
        gate = asyncio.Semaphore(in_flight)
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)

        async def one(client: httpx.AsyncClient, body: bytes) -> None:
            try:
                response = await client.post(self.url, content=body, headers=self.headers)
                now = time.time()
                for record_id in self._ids(response):
                    answered[record_id] = now
            finally:
                gate.release()

        async with httpx.AsyncClient(timeout=_TIMEOUT_S, limits=limits) as client:
            tasks = []
            start = time.monotonic()
            for n in range(mutations):
                await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
                await gate.acquire()
                tasks.append(asyncio.create_task(one(client, self._body(batch))))
            await asyncio.gather(*tasks)
        return answered
