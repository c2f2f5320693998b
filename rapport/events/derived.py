"""Change events for derived values (scores, influence) that moved far enough to matter.

Algorithms rewrite derived values wholesale, most of them by a rounding
error; an event for each rewrite would flood subscribers with noise. A record
gets an ``updated`` event naming the values that moved by at least their
minimum, or that it had none of before; :func:`write_derived` records those
events in the transaction that writes the values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rapport.auth.actor import Actor
from rapport.events.outbox import ChangeEvent, ChangeType, with_outbox
from rapport.graph.dialect import checked_identifier
from rapport.graph.types import GraphStore, Statement


async def moved_values(
    store: GraphStore,
    label: str,
    values: Mapping[str, Mapping[str, float]],
    min_move: Callable[[str], float],
) -> list[ChangeEvent]:
    """The events of writing ``values`` (record id -> field -> new value) to the ``label`` records
    as they are now: one per record whose values moved by at least ``min_move(field)``, in the
    order of ``values``. Records that do not exist get none (the write will not find them)."""
    fields = sorted({checked_identifier(field) for fields in values.values() for field in fields})
    rows = await store.read(
        f"UNWIND $ids AS id MATCH (n:{checked_identifier(label)} {{id: id}}) RETURN n.id AS id, "
        + ", ".join(f"n.{field} AS {field}" for field in fields),
        {"ids": list(values)},
    )
    before = {row["id"]: row for row in rows}
    events = []
    for record_id, new in values.items():
        if (old := before.get(record_id)) is None:
            continue
        moved = {
            field: (old[field], value)
            for field, value in new.items()
            if old[field] is None or abs(value - old[field]) >= min_move(field)
        }
        if moved:
            events.append(ChangeEvent(ChangeType.UPDATED, label, (record_id,), moved))
    return events


async def write_derived(
    store: GraphStore,
    write: Statement,
    label: str,
    values: Mapping[str, Mapping[str, float]],
    min_move: Callable[[str], float],
    actor: Actor,
    *,
    timeout: float | None = None,
) -> int:
    """Run ``write``, which sets ``values`` on the ``label`` records, in one transaction with the
    events of the values that moved (see :func:`moved_values`); how many events it recorded."""
    changes = await moved_values(store, label, values, min_move)
    await store.write_transaction(with_outbox([write], changes, actor), timeout=timeout)
    return len(changes)
