"""The subscribers of bench.subscriptions: processes holding many ``graphql-transport-ws`` connections.

Ten thousand subscribers cannot be ten thousand processes, nor share the
server's process (their receiving would be counted as the server's work), so
a few worker processes each hold a share of the connections on one uvloop.
Each connection (a :class:`~bench.websocket_client.LeanConnection`, whose
reading costs little beside the server's sending) subscribes to ``changes`` on
the benchmark's label and notes the wall-clock time (``time.time()``, the
clock the driver reads too) at which each event's message is read, before it
is parsed. The parent steers the workers over
pipes: resize, wait for a number of deliveries, collect what arrived.

The receipt times include the worker's own queueing: with thousands of
connections in a process, the last one is read after the others, so the
figures are upper bounds of what one client would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import resource
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import orjson
import uvloop

from bench.api_load import BenchError
from bench.websocket_client import LeanConnection

CHANGES = (
    "subscription($labels: [String!]) { changes(labels: $labels) { seq type label ids fields actor at } }"
)
_PROTOCOLS = ("graphql-transport-ws",)
_PONG = orjson.dumps({"type": "pong"})
_OPENING_AT_ONCE = 32  # handshakes in flight per worker: more only lengthens the server's accept queue
_HANDSHAKE_TIMEOUT_S = 120.0
_COMMAND_TIMEOUT_S = 900.0  # a worker that says nothing for this long is stuck


def raise_open_files_limit() -> None:
    """Let this process (and the processes it starts) hold as many sockets as the hard limit allows."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass(slots=True)
class Deliveries:
    """What the subscribers received of the events expected in one phase."""

    times: dict[str, list[float]] = field(default_factory=dict)  # record id -> receipt time per subscriber
    at: dict[str, str] = field(default_factory=dict)  # record id -> the event's ``at`` (ISO-8601)
    missing: int = 0  # (event, subscriber) pairs never delivered
    duplicates: int = 0  # deliveries of an event a subscriber already had
    strays: int = 0  # deliveries of events not expected in this phase (late ones from an earlier phase)
    failures: list[str] = field(default_factory=list)  # connections lost, error messages

    def add(self, other: Deliveries) -> None:
        """Fold another worker's deliveries into these."""
        for record_id, times in other.times.items():
            self.times.setdefault(record_id, []).extend(times)
        self.at.update(other.at)
        self.missing += other.missing
        self.duplicates += other.duplicates
        self.strays += other.strays
        self.failures += other.failures


@dataclass(eq=False, slots=True)
class _Subscriber:
    socket: LeanConnection | None = None
    received: list[tuple[str, float]] = field(default_factory=list)  # (record id, receipt time)
    acknowledged: asyncio.Future[None] | None = None  # the connection_ack
    failure: str | None = None
    closing: bool = False  # we are closing it
    alive: bool = True  # neither closed by us nor lost
    task: asyncio.Task[None] | None = None


class _Worker:
    """One worker process's connections, and the commands the parent sends it."""

    def __init__(self, url: str, token: str, label: str, deflate: bool) -> None:
        self.url = url
        self.deflate = deflate
        self.init = orjson.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        payload = {"query": CHANGES, "variables": {"labels": [label]}}
        self.subscribe = orjson.dumps({"id": "1", "type": "subscribe", "payload": payload})
        self.subscribers: list[_Subscriber] = []
        self.at: dict[str, str] = {}
        self.live = 0  # subscribers alive
        self.count = 0  # deliveries to live subscribers since the last collect
        self.waiting: tuple[int, asyncio.Future[None]] | None = None  # (events each, done)

    async def open(self, count: int) -> tuple[int, list[str]]:
        """Open ``count`` more subscribed connections; the number held and why any could not open."""
        gate = asyncio.Semaphore(_OPENING_AT_ONCE)

        async def one() -> None:
            async with gate:
                self.subscribers.append(await self._connect())

        outcomes = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
        failures = [f"could not subscribe: {o!r}" for o in outcomes if isinstance(o, BaseException)]
        return len(self.subscribers), failures

    async def _connect(self) -> _Subscriber:
        acknowledged = asyncio.get_running_loop().create_future()
        subscriber = _Subscriber(acknowledged=acknowledged)
        socket = await LeanConnection.open(
            self.url,
            _PROTOCOLS,
            lambda message, now: self._received(subscriber, message, now),
            offer_deflate=self.deflate,
            timeout=_HANDSHAKE_TIMEOUT_S,
        )
        subscriber.socket = socket
        try:
            socket.send_text(self.init)
            await asyncio.wait_for(asyncio.shield(acknowledged), _HANDSHAKE_TIMEOUT_S)
            socket.send_text(self.subscribe)
        except BaseException:
            await socket.close()
            raise
        subscriber.task = asyncio.create_task(self._watch(subscriber))
        self.live += 1
        return subscriber

    def _received(self, subscriber: _Subscriber, message: bytes, now: float) -> None:
        data = orjson.loads(message)
        kind = data.get("type")
        if kind == "next" and not data["payload"].get("errors"):
            change = data["payload"]["data"]["changes"]
            record_id = change["ids"][0]
            subscriber.received.append((record_id, now))
            self.at.setdefault(record_id, change["at"])
            self.count += 1
            self._check()
        elif kind == "connection_ack" and subscriber.acknowledged and not subscriber.acknowledged.done():
            subscriber.acknowledged.set_result(None)
        elif kind == "ping" and subscriber.socket is not None:
            subscriber.socket.send_text(_PONG)
        elif kind != "pong":
            subscriber.failure = f"unexpected {message[:300]!r}"

    async def _watch(self, subscriber: _Subscriber) -> None:
        """Notice the connection's end: one the server closed (or lost) stops being waited for."""
        assert subscriber.socket is not None
        socket = subscriber.socket
        await socket.closed
        if not subscriber.closing:
            if subscriber.failure is None:
                code, reason = socket.close_code, socket.close_reason
                subscriber.failure = f"closed by the server: code {code}, reason {reason!r}"
            self._gone(subscriber)  # nothing more will come: waiting for it would only time out
            self._check()

    def _gone(self, subscriber: _Subscriber) -> None:
        """Stop counting ``subscriber`` (its deliveries stay in ``received`` for the collect)."""
        if subscriber.alive:
            subscriber.alive = False
            self.live -= 1
            self.count -= len(subscriber.received)

    def _check(self) -> None:
        """End the wait once every live subscriber could have had the events waited for."""
        if self.waiting is not None and self.count >= self.waiting[0] * self.live:
            with contextlib.suppress(asyncio.InvalidStateError):
                self.waiting[1].set_result(None)

    async def close_to(self, count: int) -> int:
        """Close the connections beyond the first ``count`` (with the closing handshake)."""
        extra, self.subscribers = self.subscribers[count:], self.subscribers[:count]
        for subscriber in extra:
            subscriber.closing = True
            self._gone(subscriber)
        await asyncio.gather(*(s.socket.close() for s in extra if s.socket), return_exceptions=True)
        await asyncio.gather(*(s.task for s in extra if s.task), return_exceptions=True)
        return len(self.subscribers)

    async def wait(self, events: int, timeout: float) -> int:
        """Wait until each live connection could have had ``events`` deliveries; the deliveries counted."""
        self.waiting = (events, asyncio.get_running_loop().create_future())
        self._check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.waiting[1], timeout)
        self.waiting = None
        return self.count

    def collect(self, expected: Collection[str]) -> Deliveries:
        """What arrived since the last collect, checked against the ``expected`` record ids."""
        wanted = frozenset(expected)
        found = Deliveries(at={i: at for i, at in self.at.items() if i in wanted})
        times: defaultdict[str, list[float]] = defaultdict(list)
        for subscriber in self.subscribers:
            seen: Counter[str] = Counter()
            for record_id, received in subscriber.received:
                if record_id not in wanted:
                    found.strays += 1
                    continue
                seen[record_id] += 1
                if seen[record_id] == 1:
                    times[record_id].append(received)
            found.missing += len(wanted) - len(seen)
            found.duplicates += sum(n - 1 for n in seen.values())
            subscriber.received.clear()
            if subscriber.failure:
                found.failures.append(subscriber.failure)
                subscriber.failure = None  # reported once
        found.times = dict(times)
        self.at.clear()
        self.count = 0
        return found

    async def handle(self, command: tuple[Any, ...]) -> object:
        name, *arguments = command
        if name == "open":
            return await self.open(*arguments)
        if name == "close_to":
            return await self.close_to(*arguments)
        if name == "wait":
            return await self.wait(*arguments)
        if name == "collect":
            return self.collect(*arguments)
        raise BenchError(f"unknown command {name!r}")


async def _serve(pipe: Connection, url: str, token: str, label: str, deflate: bool) -> None:
    worker = _Worker(url, token, label, deflate)
    loop = asyncio.get_running_loop()
    while (command := await loop.run_in_executor(None, pipe.recv)) is not None:
        try:
            reply = await worker.handle(command)
        except Exception as error:  # the parent reports it; the worker goes on
            reply = BenchError(f"subscriber worker: {error!r}")
        pipe.send(reply)
    await worker.close_to(0)


def _worker_main(pipe: Connection, url: str, token: str, label: str, deflate: bool) -> None:
    raise_open_files_limit()
    uvloop.run(_serve(pipe, url, token, label, deflate))


class SubscriberPool:
    """Worker processes holding subscriptions between them, spread evenly.

    Every command goes to all workers before any answer is read, so they work
    at the same time; a worker's error is raised here as :class:`BenchError`.
    With ``deflate`` the connections offer permessage-deflate, as browsers do.
    """

    def __init__(self, processes: int, url: str, token: str, label: str, *, deflate: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            arguments = (theirs, url, token, label, deflate)
            process = context.Process(target=_worker_main, args=arguments, daemon=True)
            process.start()
            theirs.close()
            self._pipes.append(ours)
            self._processes.append(process)

    def __enter__(self) -> SubscriberPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [process.pid for process in self._processes if process.pid is not None]

    def _shares(self, total: int) -> list[int]:
        count, extra = divmod(total, len(self._pipes))
        return [count + (i < extra) for i in range(len(self._pipes))]

    def _ask(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        replies = []
        try:
            for pipe, command in zip(self._pipes, commands, strict=True):
                pipe.send(command)
            for pipe in self._pipes:
                if not pipe.poll(_COMMAND_TIMEOUT_S):
                    raise BenchError(f"a subscriber worker did not answer within {_COMMAND_TIMEOUT_S:.0f}s")
                replies.append(pipe.recv())
        except (EOFError, OSError) as error:
            raise BenchError(f"a subscriber worker died: {error!r}") from None
        for reply in replies:
            if isinstance(reply, BenchError):
                raise reply
        return replies

    def resize(self, total: int) -> list[str]:
        """Hold ``total`` subscriptions (opening or closing connections); why any could not open."""
        shares = self._shares(total)
        kept = self._ask([("close_to", share) for share in shares])
        held = self._ask([("open", share - now) for share, now in zip(shares, kept, strict=True)])
        return [failure for _, failures in held for failure in failures]

    def wait(self, events: int, timeout: float) -> int:
        """Wait (up to ``timeout`` seconds) until every subscriber could have had ``events``
        deliveries since the last collect; the deliveries counted."""
        return sum(self._ask([("wait", events, timeout)] * len(self._pipes)))

    def collect(self, expected: Collection[str]) -> Deliveries:
        """Every worker's deliveries since the last collect, against the ``expected`` record ids."""
        found = Deliveries()
        for part in self._ask([("collect", list(expected))] * len(self._pipes)):
            found.add(part)
        return found

    def stop(self) -> None:
        """Close every connection and end the workers."""
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for process in self._processes:
            process.join(60)
            if process.is_alive():
                process.kill()
                process.join()
