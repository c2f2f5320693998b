"""Account features: firmographics and commerce (tabular); key people and the network (graph).

Record fields (industry, tier, employees) are read as they are now: the model
keeps no history of field values. Everything dated (employment, deals,
involvement, KNOWS ties) is cut off at each example's time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rapport.graph.types import GraphStore
from rapport.scoring.batches import DAY_MS, days_between, per_example, scatter, scatter_objects
from rapport.scoring.event_features import ActivitySource, TicketSource
from rapport.scoring.frame import Column, Examples, Explain, Family, FeatureGroup, Row, counted
from rapport.scoring.words import amount, days, known, month

EMPLOYED_AT_T = "coalesce(w.since, 0) < r.t AND (w.until IS NULL OR w.until >= r.t)"
CLOSED_AT = "CASE WHEN d.stage IN ['closed_won', 'closed_lost'] THEN coalesce(d.closedAt, d.updatedAt) END"
TIERS = {"smb": 0.0, "mid_market": 1.0, "enterprise": 2.0}
_TIER_WORDS = ("a small-business account", "a mid-market account", "an enterprise account")


def tier_words(r: Row, column: str = "tier") -> str:
    tier = r[column]
    return _TIER_WORDS[int(tier)] if known(tier) else "no tier recorded"


@dataclass(frozen=True)
class AccountProfile:
    """Size, tier, industry, region, age and headcount of contacts."""

    name: str = "firmographics"
    family: Family = "tabular"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        rows = await per_example(
            store,
            "UNWIND $rows AS r MATCH (a:Account {id: r.id}) "
            f"OPTIONAL MATCH (a)<-[w:WORKS_AT]-(:Customer) WHERE {EMPLOYED_AT_T} "
            "RETURN r.i AS i, a.employees AS employees, a.annualRevenue AS revenue, a.tier AS tier, "
            "a.industry AS industry, a.region AS region, a.createdAt AS created, count(w) AS contacts, "
            "sum(CASE WHEN w.role = 'executive' THEN 1 ELSE 0 END) AS executives",
            examples,
        )
        n = len(examples)
        tiers = scatter_objects(rows, "tier", n)
        values = {
            "employees": np.log1p(scatter(rows, "employees", n)),
            "annual_revenue": np.log1p(scatter(rows, "revenue", n)),
            "tier": np.array([TIERS.get(t, np.nan) for t in tiers], dtype=float),
            "industry": scatter_objects(rows, "industry", n),
            "region": scatter_objects(rows, "region", n),
            "account_age_days": days_between(examples.as_of, scatter(rows, "created", n)),
            "contacts": scatter(rows, "contacts", n, 0.0),
            "executive_contacts": scatter(rows, "executives", n, 0.0),
        }
        columns = [
            Column("employees", lambda r: f"a company of {amount(r['employees'], 'employees')}"),
            Column("annual_revenue", _revenue),
            Column("tier", tier_words),
            Column("industry", lambda r: f"in {r['industry'] or 'an unknown industry'}", categorical=True),
            Column("region", lambda r: f"in {r['region'] or 'an unknown region'}", categorical=True),
            Column("account_age_days", lambda r: f"an account for {days(r['account_age_days'])}"),
            counted("contacts", "contact", "at the account"),
            counted("executive_contacts", "executive contact"),
        ]
        return FeatureGroup(self.name, self.family, columns, values)


def _revenue(r: Row) -> str:
    revenue = r["annual_revenue"]
    if not known(revenue):
        return "no annual revenue on record"
    return f"annual revenue of about {math.expm1(revenue) / 100 / 1e6:,.1f} million"


@dataclass(frozen=True)
class AccountDeals:
    """The account's deals before its time: won, lost, open, and how recently it bought."""

    name: str = "commercial"
    family: Family = "tabular"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        rows = await per_example(
            store,
            "UNWIND $rows AS r MATCH (a:Account {id: r.id})<-[:FOR_ACCOUNT]-(d:Deal) "
            f"WITH r, d, {CLOSED_AT} AS closed "
            "WITH r, d, closed, CASE WHEN closed < r.t THEN d.stage END AS outcome "
            "WHERE outcome IS NOT NULL OR d.createdAt < r.t "  # closed by then, or open then
            "RETURN r.i AS i, sum(CASE WHEN outcome = 'closed_won' THEN 1 ELSE 0 END) AS won, "
            "sum(CASE WHEN outcome = 'closed_lost' THEN 1 ELSE 0 END) AS lost, "
            "sum(CASE WHEN outcome IS NULL THEN 1 ELSE 0 END) AS open, "
            "max(CASE WHEN outcome = 'closed_won' THEN closed END) AS last_won, "
            "sum(CASE WHEN outcome = 'closed_won' AND closed >= r.t - $d365 THEN d.amount ELSE 0 END) "
            "AS amount",
            examples,
            {"d365": 365 * DAY_MS},
        )
        n = len(examples)
        values = {
            "deals_won": scatter(rows, "won", n, 0.0),
            "deals_lost": scatter(rows, "lost", n, 0.0),
            "open_deals": scatter(rows, "open", n, 0.0),
            "days_since_won": days_between(examples.as_of, scatter(rows, "last_won", n)),
            "won_amount_365d": np.log1p(scatter(rows, "amount", n, 0.0)),
        }
        columns = [
            counted("deals_won", "deal", "won so far"),
            counted("deals_lost", "deal", "lost so far"),
            counted("open_deals", "open deal"),
            Column("days_since_won", _last_won),
            Column("won_amount_365d", _won_amount),
        ]
        return FeatureGroup(self.name, self.family, columns, values)


def _won_amount(r: Row) -> str:
    return "business won in the last year" if r["won_amount_365d"] else "no business won in the last year"


def _last_won(r: Row) -> str:
    value = r["days_since_won"]
    return f"last deal won {days(value)} ago" if known(value) else "no deal won yet"


@dataclass(frozen=True)
class KeyContacts:
    """The people who carry the relationship: executives and the account's deal champions and
    decision makers; whether they are still there, and who left when."""

    name: str = "relationships"
    family: Family = "graph"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        people = await per_example(
            store,
            "UNWIND $rows AS r MATCH (a:Account {id: r.id})<-[w:WORKS_AT]-(c:Customer) "
            "WITH r, w, c WHERE coalesce(w.since, 0) < r.t "
            "RETURN r.i AS i, c.id AS person, c.firstName AS first, c.lastName AS last, "
            "coalesce(w.title, c.title) AS title, w.role AS role, w.until AS until",
            examples,
        )
        involved = await per_example(
            store,
            "UNWIND $rows AS r "
            "MATCH (a:Account {id: r.id})<-[:FOR_ACCOUNT]-(d:Deal)-[v:INVOLVES]->(c:Customer) "
            "WITH r, v, c WHERE coalesce(v.since, 0) < r.t "
            "RETURN r.i AS i, c.id AS person, collect(DISTINCT v.role) AS roles",
            examples,
        )
        roles_of = {(row["i"], row["person"]): row["roles"] for row in involved}
        engaged = await per_example(
            store,
            "UNWIND $rows AS r MATCH (a:Account {id: r.id})<-[w:WORKS_AT]-(c:Customer)<-[:WITH]-(x:Activity) "
            "WITH r, w, c, x WHERE x.occurredAt < r.t AND x.occurredAt >= r.t - $d90 "
            "AND coalesce(w.since, 0) <= x.occurredAt AND (w.until IS NULL OR w.until > x.occurredAt) "
            "RETURN r.i AS i, count(DISTINCT c) AS engaged",
            examples,
            {"d90": 90 * DAY_MS},
        )
        n, t = len(examples), examples.as_of
        key_now, champion_now = np.zeros(n), np.zeros(n)
        key_left_180, champion_left_365, left_180 = np.zeros(n), np.zeros(n), np.zeros(n)
        last_left = np.full(n, np.nan)
        who = np.full(n, None, dtype=object)
        for p in people:
            i, until, roles = p["i"], p["until"], roles_of.get((p["i"], p["person"]), [])
            champion = "champion" in roles
            key = champion or "decision_maker" in roles or p["role"] == "executive"
            if until is None or until >= t[i]:
                key_now[i] += key
                champion_now[i] += champion
                continue
            age = t[i] - until
            left_180[i] += age <= 180 * DAY_MS
            key_left_180[i] += key and age <= 180 * DAY_MS
            champion_left_365[i] += champion and age <= 365 * DAY_MS
            if key and (np.isnan(last_left[i]) or until > last_left[i]):  # the latest one is the reason
                last_left[i] = until
                who[i] = (f"{p['first'] or ''} {p['last'] or ''}".strip(), p["title"], champion)
        values = {
            "key_contacts": key_now,
            "champion_present": (champion_now > 0).astype(float),
            "key_contacts_left_180d": key_left_180,
            "champion_left_365d": champion_left_365,
            "days_since_key_contact_left": days_between(t, last_left),
            "contacts_left_180d": left_180,
            "engaged_contacts_90d": scatter(engaged, "engaged", n, 0.0),
        }
        columns = [
            counted("key_contacts", "key contact", "(executives, champions, decision makers) at the account"),
            Column("champion_present", _champion_present),
            Column("key_contacts_left_180d", _key_left),
            Column("champion_left_365d", _key_left),
            Column("days_since_key_contact_left", _key_left),
            counted("contacts_left_180d", "contact", "left the account in the last 6 months"),
            counted("engaged_contacts_90d", "contact", "engaged with in the last 90 days"),
        ]
        context = {"key_left_who": who, "key_left_at": last_left}
        return FeatureGroup(self.name, self.family, columns, values, context)


def _champion_present(r: Row) -> str:
    return (
        "a deal champion works at the account" if r["champion_present"] else "no deal champion at the account"
    )


def _key_left(r: Row) -> str:
    who, at = r["key_left_who"], r["key_left_at"]
    if who is None:
        return "no key contact has left the account"
    name, title, champion = who
    person = f"{name} ({title})" if title else name
    if champion:
        return f"the champion on this account, {person}, left it in {month(at, r['as_of'])}"
    return f"{person}, a key contact, left the account in {month(at, r['as_of'])}"


@dataclass(frozen=True)
class AccountNetwork:
    """The accounts this account's people know (KNOWS ties, both ways, at that time): how many
    ties, and the trouble over there: churned accounts, angry tickets, talk of leaving, fading
    activity, departed key people.

    A neighbour's signals are read as of the same time as the account's own.
    """

    name: str = "network"
    family: Family = "graph"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        return await self.extract_after(store, examples, {})

    async def extract_after(
        self, store: GraphStore, examples: Examples, earlier: Mapping[str, FeatureGroup]
    ) -> FeatureGroup:
        edges = await per_example(
            store,
            "UNWIND $rows AS r MATCH (a:Account {id: r.id})<-[w:WORKS_AT]-(:Customer)-[k:KNOWS]-(:Customer)"
            "-[w2:WORKS_AT]->(b:Account) WITH r, a, w, k, w2, b "
            f"WHERE b.id <> a.id AND {EMPLOYED_AT_T} AND coalesce(k.since, 0) < r.t "
            "AND coalesce(w2.since, 0) < r.t AND (w2.until IS NULL OR w2.until >= r.t) "
            "RETURN r.i AS i, b.id AS neighbour, count(*) AS ties",
            examples,
        )
        n, t = len(examples), examples.as_of
        pairs = sorted({(e["neighbour"], int(t[e["i"]])) for e in edges})
        signals = await _neighbour_signals(store, pairs, examples, earlier)
        where = {pair: k for k, pair in enumerate(pairs)}
        totals = np.zeros(n)
        sums: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
        neighbours = np.zeros(n)
        for e in edges:
            i, ties = e["i"], float(e["ties"])
            k = where[e["neighbour"], int(t[i])]
            totals[i] += ties
            neighbours[i] += 1
            for name, column in signals.items():
                sums[name][i] += ties * column[k]
        share = {name: np.divide(sums[name], totals, out=np.full(n, np.nan), where=totals > 0)
                 for name in signals}  # fmt: skip
        values = {
            "cross_account_ties": totals,
            "neighbour_accounts": neighbours,
            **{f"neighbours_{name}": share[name] for name in signals},
        }
        columns = [
            counted("cross_account_ties", "tie", "between its people and people at other accounts"),
            counted("neighbour_accounts", "other account", "where its people know someone"),
            *(
                Column(f"neighbours_{name}", _neighbour_sentence(name, words))
                for name, words in _SIGNAL_WORDS.items()
            ),
        ]
        return FeatureGroup(self.name, self.family, columns, values)


_SIGNAL_WORDS = {
    "churned": "work at accounts that churned",
    "churn_intent": "work at accounts whose recent tickets mention cancelling or switching",
    "competitor": "work at accounts whose recent tickets name a competitor",
    "negative_tickets": "work at accounts with negative tickets in the last 90 days",
    "fading": "work at accounts whose activity fell by half or more",
    "key_contact_left": "work at accounts that lost a key contact in the last 6 months",
}


def _neighbour_sentence(name: str, words: str) -> Explain:
    def explain(r: Row) -> str:
        share = r[f"neighbours_{name}"]
        if not known(share):
            return "its people know nobody at other accounts"
        return f"{round(100 * share)}% of the people its contacts know {words}"

    return explain


async def _neighbour_signals(
    store: GraphStore,
    pairs: Sequence[tuple[str, int]],
    examples: Examples,
    earlier: Mapping[str, FeatureGroup],
) -> dict[str, np.ndarray]:
    """0/1 trouble signals of accounts ``(id, time)``, from ``earlier`` groups of ``examples`` where
    the account is one of them at that time, else read here."""
    row_of = {
        (id_, int(t)): i for i, (id_, t) in enumerate(zip(examples.ids, examples.as_of.tolist(), strict=True))
    }
    reusable = all(name in earlier for name in ("support", "behaviour", "relationships"))
    found = [row_of.get(pair, -1) if reusable else -1 for pair in pairs]
    missing = [k for k, row in enumerate(found) if row < 0]
    signals = {name: np.zeros(len(pairs)) for name in _SIGNAL_WORDS}
    have = np.array([k for k, row in enumerate(found) if row >= 0], dtype=np.int64)
    if len(have):
        rows = np.array([found[k] for k in have], dtype=np.int64)
        for name, values in _signals_of(earlier, rows).items():
            signals[name][have] = values
    if missing:
        others = Examples("Account", [pairs[k][0] for k in missing], np.array([pairs[k][1] for k in missing]))
        read = {
            "support": await TicketSource("Account").extract(store, others),
            "behaviour": await ActivitySource("Account", "RELATES_TO").extract(store, others),
            "relationships": await KeyContacts().extract(store, others),
        }
        for name, values in _signals_of(read, np.arange(len(missing))).items():
            signals[name][missing] = values
    signals["churned"] = await churned_by(
        store, Examples("Account", [p[0] for p in pairs], np.array([p[1] for p in pairs], dtype=np.int64))
    )
    return signals


async def churned_by(store: GraphStore, accounts: Examples) -> np.ndarray:
    """1 for each account that had churned by its time (marked churned, with no sign of life since
    then), else 0."""
    churned = await per_example(
        store,
        "UNWIND $rows AS r MATCH (a:Account {id: r.id}) WHERE a.status = 'churned' "
        "OPTIONAL MATCH (a)<-[:RELATES_TO]-(x:Activity) "
        "RETURN r.i AS i, max(x.occurredAt) AS last_seen",
        accounts,
    )
    flags = np.zeros(len(accounts))
    for row in churned:
        last = row["last_seen"]
        flags[row["i"]] = last is None or last < accounts.as_of[row["i"]]
    return flags


def _signals_of(groups: Mapping[str, FeatureGroup], rows: np.ndarray) -> dict[str, np.ndarray]:
    """Trouble signals from the support, behaviour and relationships groups (at ``rows`` of them)."""
    support, behaviour = groups["support"].values, groups["behaviour"].values
    people = groups["relationships"].values
    return {
        "churn_intent": (support["churn_intent_tickets_90d"][rows] > 0).astype(float),
        "competitor": (support["competitor_tickets_90d"][rows] > 0).astype(float),
        "negative_tickets": (support["negative_tickets_90d"][rows] > 0).astype(float),
        "fading": (behaviour["activity_trend_180d"][rows] <= 0.5).astype(float),
        "key_contact_left": (people["key_contacts_left_180d"][rows] > 0).astype(float),
    }
