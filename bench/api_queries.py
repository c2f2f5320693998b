"""The requests bench.api sends: one table entry per query, with its variables and its check.

Adding a request to the benchmark is one :class:`Scenario` in
:data:`SCENARIOS`. One that needs a field the build may not have yet (a
mutation) names it in ``needs_mutation``; the benchmark skips it, saying so, while the
server's schema lacks it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rapport.graph.types import GraphStore

SAMPLE_SIZE = 100  # ids each request rotates through

OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")


@dataclass(frozen=True, slots=True)
class Samples:
    """Record ids drawn from the seeded graph (the same seed draws the same ids)."""

    accounts: list[str]
    open_deals: list[str]


Data = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One request of the benchmark."""

    key: str  # "(1)": how the issue and the output name it
    title: str
    document: str
    variables: Callable[[Samples], list[Data]]  # one request per entry, sent in rotation
    valid: Callable[[Data], bool]  # does an answer's data hold what was asked for?
    needs_mutation: str | None = None  # a root mutation field the server's schema must have

    def bodies(self, samples: Samples) -> list[str]:
        """The JSON request bodies, one per line of wrk's bodies file."""
        return [json.dumps({"query": self.document, "variables": v}) for v in self.variables(samples)]


ACCOUNT_BY_ID = (
    "query($id: ID!) { account(id: $id) { id name domain industry "
    "contacts(first: 20) { edges { title node { id firstName lastName email } } } "
    "deals(where: {stage: {notIn: [closed_won, closed_lost]}}) { nodes { id name stage amount } } "
    "owners(first: 1) { nodes { id name email } } } }"
)

DEALS_FILTERED = (
    "{ deals(first: 50, where: {amount: {gt: 1000000}, "
    "stage: {in: [prospecting, qualification, proposal, negotiation]}}, "
    "orderBy: [{field: amount, direction: DESC}]) { edges { node { id name amount stage "
    "accounts(first: 1) { nodes { id name } } "
    "people(first: 1, edgeWhere: {role: {eq: champion}}) { edges { role node { id firstName lastName } } } "
    "} } } }"
)

UPDATE_DEAL = (
    "mutation($id: ID!, $amount: Long!) { updateDeal(id: $id, set: {amount: $amount}) "
    "{ record { id amount version } userErrors { field message code } } }"
)


def _account_ids(samples: Samples) -> list[Data]:
    return [{"id": f"Account:{record_id}"} for record_id in samples.accounts]


def _no_variables(samples: Samples) -> list[Data]:
    return [{}]


def _deal_amounts(samples: Samples) -> list[Data]:
    return [{"id": f"Deal:{d}", "amount": 100_000 + 1_000 * i} for i, d in enumerate(samples.open_deals)]


def _has_account(data: Data) -> bool:
    return data.get("account") is not None


def _has_deals(data: Data) -> bool:
    return bool((data.get("deals") or {}).get("edges"))


def _updated(data: Data) -> bool:
    payload = data.get("updateDeal") or {}
    return payload.get("record") is not None and not payload.get("userErrors")


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("(1)", "account by id", ACCOUNT_BY_ID, _account_ids, _has_account),
    Scenario("(2)", "50 deals filtered", DEALS_FILTERED, _no_variables, _has_deals),
    Scenario("(3)", "update mutation", UPDATE_DEAL, _deal_amounts, _updated, needs_mutation="updateDeal"),
)

BASELINE_SCENARIO = SCENARIOS[0]
"""What the one-resolver-per-field baseline answers, with the same response as Rapport."""


async def draw_samples(store: GraphStore, seed: int) -> Samples:
    """``SAMPLE_SIZE`` accounts and open deals, drawn with ``seed`` from the graph's ids."""
    accounts = await store.read("MATCH (a:Account) RETURN a.id AS id ORDER BY id")
    deals = await store.read(
        "MATCH (d:Deal) WHERE d.stage IN $open RETURN d.id AS id ORDER BY id", {"open": list(OPEN_STAGES)}
    )
    rng = random.Random(seed)

    def draw(rows: list[dict[str, Any]]) -> list[str]:
        ids = [row["id"] for row in rows]
        return rng.sample(ids, min(SAMPLE_SIZE, len(ids)))

    return Samples(accounts=draw(accounts), open_deals=draw(deals))


MUTATION_FIELDS = "{ __schema { mutationType { fields { name } } } }"


def mutation_fields(data: Data) -> set[str]:
    """The root mutation fields named in the answer to :data:`MUTATION_FIELDS`."""
    mutation_type = (data.get("__schema") or {}).get("mutationType") or {}
    return {f["name"] for f in mutation_type.get("fields") or []}
