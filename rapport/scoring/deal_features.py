"""Deal features: the deal and its track record (tabular); its buying group (graph).

A deal is described as of its time: open deals as of the scoring time, closed
ones (when training) just before they closed, never with their stage,
close date, expected close date or loss reason, which give the outcome away.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rapport.graph.types import GraphStore, Record
from rapport.scoring.account_features import CLOSED_AT, TIERS, tier_words
from rapport.scoring.batches import per_example, scatter, scatter_objects, smoothed_rate
from rapport.scoring.frame import Column, Examples, Explain, Family, FeatureGroup, FeatureSource, Row, counted
from rapport.scoring.lexicon import seniority
from rapport.scoring.words import amount, known, percent

_PRIOR_WEIGHT = 10.0  # closed deals a rate needs before it counts as much as the overall rate


@dataclass(frozen=True)
class DealProfile:
    """Size, products, and the account it is for."""

    name: str = "deal"
    family: Family = "tabular"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        rows = await per_example(
            store,
            "UNWIND $rows AS r MATCH (d:Deal {id: r.id}) "
            "OPTIONAL MATCH (d)-[q:FOR_PRODUCT]->(p:Product) "
            "WITH r, d, count(p) AS products, sum(coalesce(q.quantity, 1)) AS quantity, "
            "collect(p.family) AS families "
            "OPTIONAL MATCH (d)-[:FOR_ACCOUNT]->(a:Account) "
            "RETURN r.i AS i, d.amount AS amount, products, quantity, families[0] AS family, "
            "a.industry AS industry, a.tier AS tier, a.employees AS employees",
            examples,
        )
        n = len(examples)
        values = {
            "amount": np.log1p(scatter(rows, "amount", n)),
            "products": scatter(rows, "products", n, 0.0),
            "quantity": scatter(rows, "quantity", n, 0.0),
            "product_family": scatter_objects(rows, "family", n),
            "account_industry": scatter_objects(rows, "industry", n),
            "account_tier": np.array([TIERS.get(t, np.nan) for t in scatter_objects(rows, "tier", n)]),
            "account_employees": np.log1p(scatter(rows, "employees", n)),
        }
        columns = [
            Column("amount", lambda r: "the deal's size"),
            counted("products", "product", "on the deal"),
            counted("quantity", "unit", "on the deal"),
            Column(
                "product_family", lambda r: f"{r['product_family'] or 'unknown'} products", categorical=True
            ),
            Column("account_industry", _industry, categorical=True),
            Column("account_tier", lambda r: tier_words(r, "account_tier")),
            Column("account_employees", _employees),
        ]
        return FeatureGroup(self.name, self.family, columns, values)


def _industry(r: Row) -> str:
    return f"an account in {r['account_industry'] or 'an unknown industry'}"


def _employees(r: Row) -> str:
    return f"an account of {amount(r['account_employees'], 'people')}"


@dataclass(frozen=True)
class DealTrackRecord:
    """How deals like this one went before its time: its owner's win rate and tenure, the win
    rate of its product family in its account's industry, its account's history of deals."""

    name: str = "track record"
    family: Family = "tabular"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        mine = await per_example(
            store,
            "UNWIND $rows AS r MATCH (d:Deal {id: r.id}) "
            "OPTIONAL MATCH (d)<-[:OWNS]-(u:User) "
            "OPTIONAL MATCH (d)-[:FOR_ACCOUNT]->(a:Account) "
            "OPTIONAL MATCH (d)-[:FOR_PRODUCT]->(p:Product) "
            "RETURN r.i AS i, head(collect(u.id)) AS owner, head(collect(u.hiredAt)) AS hired, "
            "head(collect(a.id)) AS account, head(collect(a.industry)) AS industry, "
            "head(collect(p.family)) AS family",
            examples,
        )
        closed = await store.read(  # the population's closed deals: one pass, whatever the examples
            f"MATCH (d:Deal) WITH d, {CLOSED_AT} AS closed WHERE closed IS NOT NULL "
            "OPTIONAL MATCH (d)<-[:OWNS]-(u:User) "
            "OPTIONAL MATCH (d)-[:FOR_ACCOUNT]->(a:Account) "
            "OPTIONAL MATCH (d)-[:FOR_PRODUCT]->(p:Product) "
            "RETURN closed, d.stage = 'closed_won' AS won, head(collect(u.id)) AS owner, "
            "head(collect(a.id)) AS account, head(collect(a.industry)) AS industry, "
            "head(collect(p.family)) AS family",
            timeout=300.0,
        )
        n, t = len(examples), examples.as_of
        history = _History(closed)
        prior_won, prior_n = history.before("all", [""] * n, t)
        prior = smoothed_rate(prior_won, prior_n, 0.5, 1.0)
        industries, families = scatter_objects(mine, "industry", n), scatter_objects(mine, "family", n)
        keys: dict[str, Sequence[object]] = {
            "owner": scatter_objects(mine, "owner", n).tolist(),
            "account": scatter_objects(mine, "account", n).tolist(),
            "segment": [f"{i or ''}|{f or ''}" for i, f in zip(industries, families, strict=True)],
        }
        values: dict[str, np.ndarray] = {}
        for key, ids in keys.items():
            won, total = history.before(key, ids, t)
            values[f"{key}_win_rate"] = smoothed_rate(won, total, prior, _PRIOR_WEIGHT)
            values[f"{key}_closed_deals"] = total
        values["owner_tenure_years"] = (t - scatter(mine, "hired", n)) / (365.25 * 86_400_000)
        columns = [
            Column(
                "owner_win_rate", lambda r: f"its owner won {percent(r['owner_win_rate'])} of their deals"
            ),
            counted("owner_closed_deals", "deal", "closed by its owner so far"),
            Column(
                "account_win_rate", lambda r: f"{percent(r['account_win_rate'])} of this account's deals won"
            ),
            counted("account_closed_deals", "earlier deal", "with this account"),
            Column("segment_win_rate", _segment_rate),
            counted("segment_closed_deals", "earlier deal", "for these products in this industry"),
            Column("owner_tenure_years", _tenure),
        ]
        return FeatureGroup(self.name, self.family, columns, values)


def _segment_rate(r: Row) -> str:
    return f"{percent(r['segment_win_rate'])} of deals for these products in this industry were won"


def _tenure(r: Row) -> str:
    years = r["owner_tenure_years"]
    if not known(years):
        return "its owner's start date is not recorded"
    return f"its owner joined {years:.1f} years ago"


class _History:
    """Closed deals by key (owner, account, industry and product family), in close order, so that
    counts before any time are two binary searches."""

    def __init__(self, closed: Sequence[Record]) -> None:
        groups: dict[tuple[str, str], list[tuple[int, bool]]] = defaultdict(list)
        for deal in closed:
            outcome = (deal["closed"], bool(deal["won"]))
            segment = f"{deal['industry'] or ''}|{deal['family'] or ''}"
            for key, id_ in (("owner", deal["owner"]), ("account", deal["account"]), ("segment", segment)):
                if id_ is not None:
                    groups[key, id_].append(outcome)
            groups["all", ""].append(outcome)
        self._times: dict[tuple[str, str], np.ndarray] = {}
        self._wins: dict[tuple[str, str], np.ndarray] = {}
        for group, deals in groups.items():
            deals.sort()
            self._times[group] = np.array([d[0] for d in deals], dtype=np.int64)
            self._wins[group] = np.concatenate([[0], np.cumsum([d[1] for d in deals])])

    def before(self, key: str, ids: Sequence[object], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wins and closed deals of each ``(key, ids[i])`` that closed before ``times[i]``."""
        won, total = np.zeros(len(ids)), np.zeros(len(ids))
        for i, (id_, at) in enumerate(zip(ids, times.tolist(), strict=True)):
            group = (key, str(id_)) if id_ is not None else None
            if group in self._times:
                k = int(np.searchsorted(self._times[group], at, side="left"))
                won[i], total[i] = self._wins[group][k], k
        return won, total


_BUYING_ROLES = ("champion", "decision_maker", "influencer", "blocker")


@dataclass(frozen=True)
class BuyingGroup:
    """The people involved in the deal at its time: how many (multi-threading), in which roles,
    how senior, whether its champion still works at the account, and their record on earlier
    deals."""

    name: str = "buying group"
    family: Family = "graph"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        people = await per_example(
            store,
            "UNWIND $rows AS r MATCH (d:Deal {id: r.id})-[v:INVOLVES]->(c:Customer) "
            "WITH r, d, v, c WHERE coalesce(v.since, 0) < r.t "
            "OPTIONAL MATCH (d)-[:FOR_ACCOUNT]->(a:Account)<-[w:WORKS_AT]-(c) "
            "RETURN r.i AS i, c.id AS person, v.role AS role, coalesce(w.title, c.title) AS title, "
            "min(coalesce(w.until, r.t)) AS until",
            examples,
        )
        record = await per_example(
            store,
            "UNWIND $rows AS r MATCH (d:Deal {id: r.id})-[v:INVOLVES]->(:Customer)<-[:INVOLVES]-(o:Deal) "
            "WITH r, d, v, o WHERE o.id <> d.id AND coalesce(v.since, 0) < r.t "
            f"WITH r, o, {CLOSED_AT.replace('d.', 'o.')} AS closed WHERE closed < r.t "
            "RETURN r.i AS i, count(DISTINCT CASE WHEN o.stage = 'closed_won' THEN o END) AS won, "
            "count(DISTINCT o) AS closed",
            examples,
        )
        n, t = len(examples), examples.as_of
        contacts, senior = np.zeros(n), np.zeros(n)
        roles = {role: np.zeros(n) for role in _BUYING_ROLES}
        champion_gone = np.full(n, np.nan)
        for p in people:
            i = p["i"]
            contacts[i] += 1
            senior[i] += seniority(p["title"]) >= 2
            if p["role"] in roles:
                roles[p["role"]][i] = 1.0
            if p["role"] == "champion":
                gone = float(p["until"] < t[i])
                champion_gone[i] = gone if np.isnan(champion_gone[i]) else max(champion_gone[i], gone)
        won, total = scatter(record, "won", n, 0.0), scatter(record, "closed", n, 0.0)
        values = {
            "contacts_involved": contacts,
            "senior_contacts_involved": senior,
            **{f"{role}_involved": flag for role, flag in roles.items()},
            "champion_left_account": champion_gone,
            "contacts_earlier_deals": total,
            "contacts_earlier_win_rate": smoothed_rate(won, total, 0.5, 2.0),
        }
        columns = [
            counted("contacts_involved", "contact", "involved (multi-threading)"),
            counted("senior_contacts_involved", "senior contact", "involved"),
            *(Column(f"{role}_involved", _role_sentence(role)) for role in _BUYING_ROLES),
            Column("champion_left_account", _champion_left),
            counted("contacts_earlier_deals", "earlier deal", "with the same people"),
            Column("contacts_earlier_win_rate", _earlier_wins),
        ]
        return FeatureGroup(self.name, self.family, columns, values)


def _earlier_wins(r: Row) -> str:
    if not r["contacts_earlier_deals"]:
        return "its people have no earlier deals"
    return f"its people won {percent(r['contacts_earlier_win_rate'])} of their earlier deals"


def _role_sentence(role: str) -> Explain:
    words = role.replace("_", " ")

    def explain(r: Row) -> str:
        return f"a {words} is involved" if r[f"{role}_involved"] else f"no {words} involved"

    return explain


def _champion_left(r: Row) -> str:
    gone = r["champion_left_account"]
    if not known(gone):
        return "no champion involved"  # as the role says: the two merge into one reason
    return "its champion has left the account" if gone else "its champion still works at the account"


@dataclass(frozen=True)
class ViaAccount:
    """An account source, read for each deal's account at the deal's time (columns prefixed)."""

    source: FeatureSource

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def family(self) -> Family:
        return self.source.family

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        rows = await per_example(
            store,
            "UNWIND $rows AS r MATCH (d:Deal {id: r.id})-[:FOR_ACCOUNT]->(a:Account) "
            "RETURN r.i AS i, head(collect(a.id)) AS account",
            examples,
        )
        accounts = scatter_objects(rows, "account", len(examples))
        known_rows = np.flatnonzero(accounts != None)  # noqa: E711 (element-wise)
        inner = Examples("Account", accounts[known_rows].tolist(), examples.as_of[known_rows])
        group = await self.source.extract(store, inner)
        spread = {}
        for name, column in {**group.values, **group.context}.items():
            full = np.full(len(examples), None if column.dtype == object else np.nan, dtype=column.dtype)
            full[known_rows] = column
            spread[name] = full
        return FeatureGroup(
            group.name, group.family, group.columns,
            {c.name: spread[c.name] for c in group.columns},
            {k: v for k, v in spread.items() if k not in group.values},
        )  # fmt: skip
