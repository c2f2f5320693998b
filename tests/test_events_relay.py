"""The relay, on each backend with a real Redis: committed outbox records reach the event
stream in commit order, exactly once in the stream even when published twice, and records
left by a process killed after its commit go out when a relay runs again."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
import pytest_asyncio
from pydantic import SecretStr

from rapport.app import create_app
from rapport.auth.actor import Actor, Role
from rapport.auth.tokens import TokenIssuer
from rapport.events.outbox import ChangeEvent, ChangeType, Recorded, outbox_statement, recorded
from rapport.events.relay import OutboxRelay
from rapport.events.stream import EventStream, StreamUnavailable
from rapport.graph.types import GraphStore
from rapport.migrations.runner import MigrationRunner
from tests.conftest import process_environment, settings_for, store_environment
from tests.counting_store import CountingStore
from tests.http_server import free_port, healthy, serving, wait_until
from tests.outbox_state import unsent, until_all_sent

ACTOR = Actor("test:relay", Role.ADMIN)


@pytest_asyncio.fixture
async def stream(redis_url: str) -> AsyncIterator[EventStream]:
    """The event stream under a key of this test's own."""
    events = EventStream.from_url(redis_url)
    events.key = f"rapport:events:{uuid.uuid4().hex}"
    yield events
    await events.client.delete(events.key)
    await events.close()


async def stream_entries(stream: EventStream) -> list[tuple[str, dict[str, object]]]:
    entries = await stream.client.xrange(stream.key)
    return [(entry_id.decode(), orjson.loads(fields[b"payload"])) for entry_id, fields in entries]


async def record(store: GraphStore, *labels: str) -> Recorded:
    """Commit the creation of one record per label; what the outbox recorded."""
    events = [ChangeEvent(ChangeType.CREATED, label, (f"{label.lower()}-1",)) for label in labels]
    statement = outbox_statement(events, ACTOR)
    (rows,) = await store.write_transaction([statement])
    done = recorded(statement, rows)
    assert done is not None
    return done


def outbox_reads(store: CountingStore) -> list[str]:
    return [cypher for cypher in store.reads if "_Outbox" in cypher]


def unsent_marks(store: CountingStore) -> list[str]:
    return [cypher for cypher in store.writes if "SET o.sent = true" in cypher]


async def until_no_relay_is_publishing(stream: EventStream) -> None:
    """Wait until no relay holds the relay lock: a round that was publishing (and perhaps still
    reading the outbox) has ended."""
    while True:
        async with stream.exclusive("test-probe") as position:
            if position is not None:
                return
        await asyncio.sleep(0.01)


async def stream_labels(stream: EventStream) -> list[str]:
    return [payload["label"] for _, payload in await stream_entries(stream)]


async def three_published(store: GraphStore, stream: EventStream) -> None:
    """Events 1 to 3 in the stream: an Account, a Customer and a Deal created, each in a transaction
    of its own."""
    for label in ("Account", "Customer", "Deal"):
        await record(store, label)
    await OutboxRelay(store, stream).publish_pending()


async def set_back(store: GraphStore, seq: int) -> None:
    """Put the outbox back as a restore from a backup taken right after event ``seq`` would: later
    records gone, the sequence at ``seq``, its numbering kept."""
    await store.write("MATCH (o:_Outbox) WHERE o.seq > $seq DELETE o", {"seq": seq})
    await store.write("MATCH (s:_OutboxSequence {name: 'events'}) SET s.value = $seq", {"seq": seq})


class StreamRefusingEvents(EventStream):
    """Redis refusing every event it is sent, as when it stops right after a relay renumbered."""

    async def append_all(self, events: object, *, numbering: str | None = None) -> None:
        raise StreamUnavailable("refused by the test")


async def wait_for_stream(stream: EventStream, count: int) -> None:
    for _ in range(100):
        if len(await stream_entries(stream)) >= count:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"the stream did not reach {count} events within 2 s")


async def test_unsent_records_are_published_in_order_and_marked_sent(
    store: GraphStore, stream: EventStream
) -> None:
    await record(store, "Account", "Customer")
    await record(store, "Deal")
    relay = OutboxRelay(store, stream)
    assert await relay.publish_pending() == 3
    entries = await stream_entries(stream)
    assert [(entry_id, payload["label"]) for entry_id, payload in entries] == [
        ("1-0", "Account"), ("2-0", "Customer"), ("3-0", "Deal")
    ]  # fmt: skip
    assert entries[0][1]["actor"] == "test:relay" and entries[0][1]["type"] == "created"
    assert await unsent(store) == 0
    assert await relay.publish_pending() == 0


async def test_records_handed_over_next_in_line_are_published_without_reading_the_outbox(
    store: GraphStore, stream: EventStream
) -> None:
    await record(store, "Account")
    await OutboxRelay(store, stream).publish_pending()  # the stream follows the outbox's numbering
    counting = CountingStore(store)
    relay = OutboxRelay(counting, stream)  # type: ignore[arg-type]
    relay.wake(await record(store, "Customer", "Deal"))
    relay.wake(await record(store, "Ticket"))
    assert await relay.publish_pending() == 3
    assert outbox_reads(counting) == []
    entries = await stream_entries(stream)
    assert [(entry_id, payload["label"]) for entry_id, payload in entries] == [
        ("1-0", "Account"), ("2-0", "Customer"), ("3-0", "Deal"), ("4-0", "Ticket")
    ]  # fmt: skip
    assert await unsent(store) == 0


async def test_a_running_relay_marks_what_it_published_in_one_write_once_the_interval_is_over(
    store: GraphStore, stream: EventStream
) -> None:
    counting = CountingStore(store)
    relay = OutboxRelay(counting, stream, mark_interval=1.0)  # type: ignore[arg-type]
    running = asyncio.create_task(relay.run())
    try:
        for label in ("Account", "Customer", "Deal", "Ticket"):
            relay.wake(await record(store, label))
            await asyncio.sleep(0.02)
        await wait_for_stream(stream, 4)
        assert unsent_marks(counting) == []  # published one by one, not marked yet
        await until_all_sent(store)
        assert len(unsent_marks(counting)) == 1
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_marks_coming_due_under_steady_commits_do_not_make_the_relay_read_the_outbox(
    store: GraphStore, stream: EventStream
) -> None:
    counting = CountingStore(store)
    relay = OutboxRelay(counting, stream, interval=60, mark_interval=0.05)  # type: ignore[arg-type]
    running = asyncio.create_task(relay.run())
    try:
        relay.wake(await record(store, "Account"))
        await wait_for_stream(stream, 1)
        await until_no_relay_is_publishing(stream)
        counting.reads.clear()  # the start-up sweep's
        for label in ("Customer", "Deal", "Ticket", "Product"):
            relay.wake(await record(store, label))
            await asyncio.sleep(0.1)  # marks come due between commits
        await wait_for_stream(stream, 5)
        await until_all_sent(store)
        assert len(unsent_marks(counting)) >= 4
        assert outbox_reads(counting) == []  # handed over and marked, never read back
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_stopping_relay_marks_what_it_published(store: GraphStore, stream: EventStream) -> None:
    relay = OutboxRelay(store, stream, interval=60, mark_interval=60)  # no sweep, no mark meanwhile
    running = asyncio.create_task(relay.run())
    relay.wake(await record(store, "Account", "Customer"))
    await wait_for_stream(stream, 2)
    await until_no_relay_is_publishing(stream)  # the round ended: it knows what it published
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert await unsent(store) == 0


async def test_records_another_relay_published_and_has_yet_to_mark_are_only_marked(
    store: GraphStore, stream: EventStream
) -> None:
    relay = OutboxRelay(store, stream, interval=60, mark_interval=60)  # no sweep, no mark meanwhile
    running = asyncio.create_task(relay.run())
    try:
        relay.wake(await record(store, "Account", "Customer"))
        await wait_for_stream(stream, 2)
        await until_no_relay_is_publishing(stream)
        assert await unsent(store) == 2
        await record(store, "Deal")  # committed by another process
        assert await OutboxRelay(store, stream).publish_pending() == 1
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert await stream_labels(stream) == ["Account", "Customer", "Deal"]
    assert await unsent(store) == 0


async def test_a_handed_over_record_behind_one_not_handed_over_waits_for_it(
    store: GraphStore, stream: EventStream
) -> None:
    counting = CountingStore(store)
    relay = OutboxRelay(counting, stream)  # type: ignore[arg-type]
    await record(store, "Account")  # committed by another process: not handed over
    relay.wake(await record(store, "Deal"))
    assert await relay.publish_pending() == 2
    assert outbox_reads(counting) != []
    assert await stream_labels(stream) == ["Account", "Deal"]
    relay.wake(await record(store, "Ticket"))  # next in line again
    counting.reads.clear()
    assert await relay.publish_pending() == 1
    assert outbox_reads(counting) == []


async def test_a_handed_over_record_already_in_the_stream_is_not_published_again(
    store: GraphStore, stream: EventStream
) -> None:
    done = await record(store, "Account")
    await OutboxRelay(store, stream).publish_pending()  # another process's relay was first
    relay = OutboxRelay(store, stream)
    relay.wake(done)
    assert await relay.publish_pending() == 0
    assert len(await stream_entries(stream)) == 1


async def test_a_record_published_twice_is_in_the_stream_once(store: GraphStore, stream: EventStream) -> None:
    await record(store, "Account")
    relay = OutboxRelay(store, stream)
    await relay.publish_pending()
    # A crash after Redis took the event but before the outbox said so.
    await store.write("MATCH (o:_Outbox) SET o.sent = false")
    assert await relay.publish_pending() == 0
    assert len(await stream_entries(stream)) == 1
    assert await unsent(store) == 0


@pytest.fixture
def server_env(store: GraphStore, tmp_path: Path) -> dict[str, str]:
    """Environment for a ``rapport serve`` on the test's store, with the relay off."""
    return process_environment(store_environment(store) | {
        "RAPPORT_DATA_DIR": str(tmp_path), "RAPPORT_EVENTS_RELAY": "false",
        "RAPPORT_JWT_SECRET": "relay-tests-signing-secret-of-32-chars",
    })  # fmt: skip


async def test_events_of_a_process_killed_after_its_commit_are_published_later(
    store: GraphStore, stream: EventStream, server_env: dict[str, str]
) -> None:
    await MigrationRunner(store).migrate()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "rapport", "serve", "--port", str(port)],
        env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert await asyncio.to_thread(wait_until, lambda: healthy(port), 60), "rapport serve did not start"
        token = subprocess.run(
            [sys.executable, "-m", "rapport", "token", "issue", "--role", "admin"],
            env=server_env, capture_output=True, text=True, check=True,
        ).stdout.splitlines()[-1]  # fmt: skip
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": 'mutation { createAccount(fields: {name: "Survivor"}) { record { id } } }'},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200 and "errors" not in response.json(), response.text
    finally:
        server.send_signal(signal.SIGKILL)  # committed, never published
        server.communicate(timeout=30)
    assert await stream_entries(stream) == []
    assert await OutboxRelay(store, stream).publish_pending() == 1
    ((_, event),) = await stream_entries(stream)
    assert (event["type"], event["label"]) == ("created", "Account")
    assert event["fields"]["name"] == [None, "Survivor"]


async def test_a_mutation_reaches_the_stream_through_the_running_relay(
    demo_store: GraphStore, redis_url: str, tmp_path: Path
) -> None:
    settings = settings_for(demo_store.backend, tmp_path).model_copy(
        update={"redis_url": redis_url, "jwt_secret": SecretStr("relay-tests-signing-secret-of-32-chars")}
    )
    token = TokenIssuer.from_settings(settings).issue(subject="test:relay", role=Role.ADMIN)
    observer = EventStream.from_url(redis_url)
    before = await observer.last_seq()
    try:
        async with serving(create_app(settings, store=demo_store)) as base_url, httpx.AsyncClient() as http:
            response = await http.post(
                f"{base_url}/graphql",
                json={"query": 'mutation { createAccount(fields: {name: "Live"}) { record { id } } }'},
                headers={"Authorization": f"Bearer {token}"},
            )
            record_id = response.json()["data"]["createAccount"]["record"]["id"].split(":", 1)[1]
            for _ in range(100):
                entries = await observer.client.xrange(observer.key, min=f"{before + 1}-0")
                if any(orjson.loads(fields[b"payload"])["ids"] == [record_id] for _, fields in entries):
                    break
                await asyncio.sleep(0.02)
            else:
                pytest.fail("the event did not reach the stream within 2 s")
    finally:
        await observer.close()


async def test_events_numbered_anew_after_the_graph_was_cleared_still_reach_the_stream(
    store: GraphStore, stream: EventStream
) -> None:
    await record(store, "Account", "Customer", "Deal")
    relay = OutboxRelay(store, stream)
    await relay.publish_pending()
    await store.write("MATCH (n) DETACH DELETE n")  # the sequence restarts at 1; the stream keeps 1..3
    await record(store, "Ticket")
    await record(store, "Product")
    assert await relay.publish_pending() == 2
    entries = await stream_entries(stream)
    assert [(entry_id, payload["label"]) for entry_id, payload in entries][3:] == [
        ("4-0", "Ticket"), ("5-0", "Product")
    ]  # fmt: skip
    await record(store, "Campaign")  # numbered after the renumbered ones
    assert await relay.publish_pending() == 1
    assert (await stream_entries(stream))[-1][0] == "6-0"


async def test_two_relays_renumbering_at_once_publish_each_event_once(
    store: GraphStore, stream: EventStream
) -> None:
    await three_published(store, stream)
    await store.write("MATCH (n) DETACH DELETE n")
    await record(store, "Ticket", "Product")  # numbered 1 and 2 again
    await asyncio.gather(
        OutboxRelay(store, stream).publish_pending(), OutboxRelay(store, stream).publish_pending()
    )
    assert await stream_labels(stream) == ["Account", "Customer", "Deal", "Ticket", "Product"]


async def test_records_handed_over_after_the_graph_was_cleared_are_published_in_commit_order(
    store: GraphStore, stream: EventStream
) -> None:
    await three_published(store, stream)
    await store.write("MATCH (n) DETACH DELETE n")  # a new sequence, numbered from 1 again
    relay = OutboxRelay(store, stream)
    relay.wake(await record(store, "Ticket", "Product", "Campaign", "Lead"))  # 4 is past the stream's 3
    assert await relay.publish_pending() == 4
    assert await stream_labels(stream) == [
        "Account", "Customer", "Deal", "Ticket", "Product", "Campaign", "Lead"
    ]  # fmt: skip
    assert await unsent(store) == 0


async def test_records_handed_over_after_the_sequence_was_set_back_are_published_in_commit_order(
    store: GraphStore, stream: EventStream
) -> None:
    await three_published(store, stream)
    await set_back(store, 1)
    relay = OutboxRelay(store, stream)
    relay.wake(await record(store, "Ticket", "Product", "Campaign"))  # 2 to 4, in the stream's numbering
    assert await relay.publish_pending() == 3
    assert await stream_labels(stream) == ["Account", "Customer", "Deal", "Ticket", "Product", "Campaign"]


async def test_a_record_handed_over_before_another_relay_renumbered_it_is_published_once(
    store: GraphStore, stream: EventStream
) -> None:
    await three_published(store, stream)
    await set_back(store, 1)
    await record(store, "Ticket", "Product")  # 2 and 3, committed by another process
    done = await record(store, "Campaign")  # 4: next in line for the stream, by its number alone
    with pytest.raises(StreamUnavailable):  # renumbered, then Redis stopped taking events
        await OutboxRelay(store, StreamRefusingEvents(stream.client, stream.key)).publish_pending()
    relay = OutboxRelay(store, stream)
    relay.wake(done)
    assert await relay.publish_pending() == 3
    assert await stream_labels(stream) == ["Account", "Customer", "Deal", "Ticket", "Product", "Campaign"]


async def test_a_record_published_before_the_sequence_was_found_set_back_is_not_published_again(
    store: GraphStore, stream: EventStream
) -> None:
    await three_published(store, stream)
    await set_back(store, 1)
    await record(store, "Ticket", "Product")  # 2 and 3, committed by another process
    relay = OutboxRelay(store, stream, interval=60, mark_interval=60)  # marks nothing meanwhile
    relay.wake(await record(store, "Campaign"))  # 4 goes out next in line before the outbox is read
    running = asyncio.create_task(relay.run())
    try:
        await wait_for_stream(stream, 6)
        await until_no_relay_is_publishing(stream)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert await stream_labels(stream) == ["Account", "Customer", "Deal", "Campaign", "Ticket", "Product"]
    assert await unsent(store) == 0


async def test_records_written_one_per_event_before_the_upgrade_are_published_after_it(
    store: GraphStore, stream: EventStream
) -> None:
    runner = MigrationRunner(store)
    await runner.migrate(through=6)
    for seq, label in enumerate(("Account", "Customer", "Deal"), start=1):
        payload = orjson.dumps({"type": "created", "label": label, "ids": [f"{label.lower()}-1"]}).decode()
        await store.write(
            "MERGE (s:_OutboxSequence {name: 'events'}) SET s.value = $seq CREATE (:_Outbox "
            "{seq: $seq, type: 'created', label: $label, payload: $payload, sent: $sent, at: 0})",
            {"seq": seq, "label": label, "payload": payload, "sent": seq == 1},
        )
        if seq == 1:
            await stream.append_all([(seq, payload)])  # published and marked sent before the upgrade
    await runner.migrate()
    await record(store, "Ticket")
    assert await OutboxRelay(store, stream).publish_pending() == 3
    assert await stream_labels(stream) == ["Account", "Customer", "Deal", "Ticket"]
    assert await unsent(store) == 0


async def test_records_bigger_than_a_batch_go_to_the_stream_whole_and_in_order(
    store: GraphStore, stream: EventStream
) -> None:
    await record(store, "Account", "Customer", "Deal")
    for label in ("Ticket", "Product", "Campaign"):
        await record(store, label)
    assert await OutboxRelay(store, stream, batch_size=2).publish_pending() == 6
    entries = await stream_entries(stream)
    assert [(entry_id, payload["label"]) for entry_id, payload in entries] == [
        ("1-0", "Account"), ("2-0", "Customer"), ("3-0", "Deal"),
        ("4-0", "Ticket"), ("5-0", "Product"), ("6-0", "Campaign"),
    ]  # fmt: skip
    assert await unsent(store) == 0


async def test_a_backlog_of_big_records_is_read_about_a_batch_of_events_at_a_time(
    store: GraphStore, stream: EventStream
) -> None:
    await record(store, "Account", "Customer", "Deal")
    await record(store, "Ticket", "Product", "Campaign")
    counting = CountingStore(store)
    assert await OutboxRelay(counting, stream, batch_size=2).publish_pending() == 6  # type: ignore[arg-type]
    reads = [rows for cypher, rows in zip(counting.reads, counting.rows, strict=True) if "_Outbox" in cypher]
    assert [rows for rows in reads if rows] == [1, 1]  # a record of 3 events already fills a batch of 2
    assert len(await stream_entries(stream)) == 6
