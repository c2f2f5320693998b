"""Facts looked up in the demo graph that several API tests start from."""

from __future__ import annotations

from rapport.graph.types import GraphStore


async def rep_with_own_and_other_deal(store: GraphStore) -> tuple[str, str, str]:
    """A sales rep's User id, the id of a deal they own, and of a deal they do not own."""
    rows = await store.read(
        "MATCH (u:User {role: 'sales'})-[:OWNS]->(d:Deal) WITH u, collect(d.id)[0] AS mine "
        "MATCH (other:Deal) WHERE NOT (u)-[:OWNS]->(other) "
        "RETURN u.id AS rep, mine, other.id AS theirs ORDER BY rep, theirs LIMIT 1"
    )
    return rows[0]["rep"], rows[0]["mine"], rows[0]["theirs"]
