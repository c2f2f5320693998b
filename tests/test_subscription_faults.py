"""Subscriptions through faults, on each backend with real WebSocket clients.

- Redis goes away while the API runs (restarts with its data, restarts empty, or stops
  answering): mutations still succeed, their events wait in the outbox, and once Redis is
  back subscribers receive them and later ones in order, none twice, none missing.
- Two workers (``rapport serve --workers 2``): a mutation handled by either reaches the
  subscribers of both, each event exactly once and in order.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import pytest_asyncio
import websockets
from pydantic import SecretStr

from rapport.auth.tokens import TokenIssuer
from rapport.events.stream import EventStream
from rapport.graph.embedded import EmbeddedFalkorDB
from rapport.graph.types import GraphStore
from tests.conftest import process_environment, settings_for, store_environment
from tests.http_server import free_port, healthy, wait_until
from tests.live_api import CHANGES, LiveApi, connect, live_api, next_change, subscribe
from tests.outbox_state import unsent, until_all_sent

SECRET = "subscription-faults-secret-of-32-chars"
CREATE = "mutation($name: String!) { createAccount(fields: {name: $name}) { record { id } } }"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedFalkorDB]:
    """A Redis of this test's own (the bundled server, with AOF persistence), to stop and start again.

    Its data directory is too long for a unix socket, so it listens on loopback TCP, as a Redis
    server in production does, and comes back on the same port when started again."""
    server = EmbeddedFalkorDB(tmp_path / ("redis-over-tcp-" + "x" * 100))
    server.start()
    yield server
    if server.pid is not None:
        os.kill(server.pid, signal.SIGCONT)  # in case the test failed while Redis was paused
    server.stop()


async def create_account(base_url: str, token: str, name: str) -> str:
    """Create an account over a fresh HTTP connection; assert it succeeded; return its id."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{base_url}/graphql",
            json={"query": CREATE, "variables": {"name": name}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    record_id: str = response.json()["data"]["createAccount"]["record"]["id"]
    return record_id


async def changes_until(socket: websockets.ClientConnection, last_id: str) -> list[tuple[int, str]]:
    """``(seq, name)`` of every change received, up to and including the one of record ``last_id``."""
    received: list[tuple[int, str]] = []
    while True:
        change = await next_change(socket)
        received.append((change["seq"], change["fields"]["name"][1]))
        if change["ids"] == [last_id]:
            return received


async def until_both_noticed(caplog: pytest.LogCaptureFixture) -> None:
    """Wait until the relay and the fan-out have each failed to reach Redis (and said so), so that
    what follows tests their own recovery, not just the Redis client's retries."""
    for _ in range(200):
        warned = {r.name for r in caplog.records if r.levelno >= logging.WARNING}
        if {"rapport.events.relay", "rapport.events.hub"} <= warned:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the relay and the hub did not both notice the outage: {caplog.messages}")


OUTAGES = ("restarts-with-its-data", "restarts-empty", "stops-answering")


@pytest.mark.parametrize("outage", OUTAGES)
async def test_events_committed_while_redis_is_out_arrive_once_it_is_back(
    demo_store: GraphStore,
    redis_server: EmbeddedFalkorDB,
    tmp_path: Path,
    outage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis is stopped and started again on the same port (``restarts-with-its-data``; with its
    append-only file removed meanwhile, ``restarts-empty``), or paused so that its connections go
    silent past the client's socket timeout (``stops-answering``; the timeout is set short in the
    URL so that the test is quick)."""
    address = redis_server.url
    url = f"{address}?socket_timeout=2"
    async with live_api(demo_store, url, tmp_path) as live:
        base_url, token = live.base_url, live.token("admin")
        socket = await connect(live, token)
        try:
            await subscribe(socket, {"since": await live.last_seq(), "labels": ["Account"]})
            before = await create_account(base_url, token, "Before")
            received = await changes_until(socket, before)
            await until_all_sent(demo_store)

            caplog.clear()
            if outage == "stops-answering":
                assert redis_server.pid is not None
                os.kill(redis_server.pid, signal.SIGSTOP)
            else:
                redis_server.stop()
                if outage == "restarts-empty":
                    shutil.rmtree(redis_server.data_dir / "appendonlydir")
            during = await create_account(base_url, token, "During")
            assert await unsent(demo_store) == 1, "the event of the mutation waits in the outbox"
            await until_both_noticed(caplog)

            if outage == "stops-answering":
                assert redis_server.pid is not None
                os.kill(redis_server.pid, signal.SIGCONT)
            else:
                redis_server.start()
                assert redis_server.url == address, "Redis is back on the same port"
            received += await changes_until(socket, during)  # no later mutation needed to wake the relay
            after = await create_account(base_url, token, "After")
            received += await changes_until(socket, after)
        finally:
            await socket.close()
    assert [name for _, name in received] == ["Before", "During", "After"]
    assert [seq for seq, _ in received] == sorted({seq for seq, _ in received})
    await until_all_sent(demo_store)


@pytest.fixture
def workers_env(demo_store: GraphStore, redis_server: EmbeddedFalkorDB, tmp_path: Path) -> dict[str, str]:
    """Environment for a ``rapport serve`` on the test's store, with the event stream on the test's Redis."""
    return process_environment(store_environment(demo_store) | {
        "RAPPORT_DATA_DIR": str(tmp_path / "server"), "RAPPORT_JWT_SECRET": SECRET,
        "RAPPORT_REDIS_URL": redis_server.url,
    })  # fmt: skip


@pytest_asyncio.fixture
async def two_workers(
    demo_store: GraphStore, redis_server: EmbeddedFalkorDB, workers_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[LiveApi]:
    """``rapport serve --workers 2`` on the test's store, as a separate process."""
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as output:  # a file, not a pipe: a pipe nobody reads fills up and blocks the server
        server = subprocess.Popen(
            [sys.executable, "-m", "rapport", "serve", "--port", str(port), "--workers", "2"],
            env=workers_env, stdout=subprocess.DEVNULL, stderr=output,
        )  # fmt: skip
    try:
        started = await asyncio.to_thread(wait_until, lambda: healthy(port), 60)
        assert started, "rapport serve --workers 2 did not start"
        settings = settings_for(demo_store.backend, tmp_path).model_copy(
            update={"jwt_secret": SecretStr(SECRET)}
        )
        yield LiveApi(
            f"http://127.0.0.1:{port}", TokenIssuer.from_settings(settings), redis_server.url, demo_store
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode == 0, log.read_text(errors="replace")[-3000:]


async def test_a_mutation_on_either_worker_reaches_the_subscribers_of_both(two_workers: LiveApi) -> None:
    live = two_workers
    token = live.token("admin")
    since = await live.last_seq()
    sockets: dict[str, list[websockets.ClientConnection]] = {}
    try:
        for _ in range(300):  # two subscribers on each worker; the second may still be starting
            socket = await connect(live, token)
            ack = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
            assert ack["type"] == "connection_ack", ack
            group = sockets.setdefault(ack["payload"]["instance"], [])
            if len(group) == 2:
                await socket.close()
                await asyncio.sleep(0.1)
                continue
            group.append(socket)
            payload = {"query": CHANGES, "variables": {"since": since, "labels": ["Account"]}}
            await socket.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": payload}).decode())
            if sorted(len(group) for group in sockets.values()) == [2, 2]:
                break
        assert len(sockets) == 2, "for 30 s, every connection reached the same worker"

        names = [f"Account {n}" for n in range(6)]
        ids = [await create_account(live.base_url, token, name) for name in names]
        for instance, group in sockets.items():
            for socket in group:
                received = await changes_until(socket, ids[-1])
                assert [name for _, name in received] == names, instance
                seqs = [seq for seq, _ in received]
                assert seqs == sorted(set(seqs)), instance
    finally:
        await asyncio.gather(*(s.close() for group in sockets.values() for s in group))
    # Both workers' relays publish the outbox; the stream still holds each event once.
    stream = EventStream.from_url(live.redis_url)
    try:
        published = [orjson.loads(payload)["ids"] for _, payload in await stream.entries_after(since)]
    finally:
        await stream.close()
    assert published == [[i.split(":", 1)[1]] for i in ids]
