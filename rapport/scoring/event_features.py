"""Behaviour, support and engagement: what happened to a record (or its people) before its time.

The same three sources serve accounts (through the people who worked there at
the time of each event) and customers (their own events), so the column names
and sentences are shared; a ``prefix`` keeps them apart where a frame holds
both (a deal also looks at its account's activity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapport.graph.types import GraphStore, Record
from rapport.scoring.batches import DAY_MS, days_between, per_example, scatter
from rapport.scoring.frame import Column, Examples, Family, FeatureGroup, Row, counted, share_of
from rapport.scoring.lexicon import churn_intent, competitor_mention, sentiment
from rapport.scoring.words import count, days, known

_EMPLOYED_AT_EVENT = "coalesce(w.since, 0) <= {at} AND (w.until IS NULL OR w.until > {at})"
_D = {f"d{n}": n * DAY_MS for n in (30, 90, 180, 365, 545)}


def _events_of(label: str, tail: str, at: str) -> tuple[str, str]:
    """The pattern from the example's record ``e`` to its events, and the condition on it: an
    account reaches them through the people it employed when each happened, a person directly."""
    if label == "Account":
        return f"(e)<-[w:WORKS_AT]-(:Customer){tail}", _EMPLOYED_AT_EVENT.format(at=at)
    return f"(e){tail}", "true"


@dataclass(frozen=True)
class ActivitySource:
    """Activities (emails, calls, meetings, notes) of the record: volume, recency, trend."""

    label: str
    relationship: str  # Activity -[relationship]-> record: RELATES_TO for accounts, WITH for people
    prefix: str = ""
    name: str = "behaviour"
    family: Family = "tabular"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        rows = await per_example(
            store,
            f"UNWIND $rows AS r MATCH (e:{self.label} {{id: r.id}}) "
            f"OPTIONAL MATCH (e)<-[:{self.relationship}]-(x:Activity) WHERE x.occurredAt < r.t "
            "WITH r, x, r.t - x.occurredAt AS age "
            "RETURN r.i AS i, sum(CASE WHEN age <= $d30 THEN 1 ELSE 0 END) AS n30, "
            "sum(CASE WHEN age <= $d90 THEN 1 ELSE 0 END) AS n90, "
            "sum(CASE WHEN age <= $d180 THEN 1 ELSE 0 END) AS n180, "
            "sum(CASE WHEN age <= $d365 THEN 1 ELSE 0 END) AS n365, "
            "sum(CASE WHEN age > $d180 AND age <= $d545 THEN 1 ELSE 0 END) AS year_before, "
            "sum(CASE WHEN age <= $d90 AND x.direction = 'inbound' THEN 1 ELSE 0 END) AS inbound90, "
            "sum(CASE WHEN age <= $d90 AND x.kind = 'meeting' THEN 1 ELSE 0 END) AS meetings90, "
            "max(x.occurredAt) AS last",
            examples,
            _D,
        )
        n, p = len(examples), self.prefix
        n30, n90, n180, n365 = (scatter(rows, k, n, 0.0) for k in ("n30", "n90", "n180", "n365"))
        before = np.maximum(n365 - n90, 0) / 3  # the average quarter of the nine months before
        year_before = scatter(rows, "year_before", n, 0.0) / 2  # the average half year of the year before
        values = {
            f"{p}activities_30d": n30,
            f"{p}activities_90d": n90,
            f"{p}activities_180d": n180,
            f"{p}activities_365d": n365,
            f"{p}days_since_activity": days_between(examples.as_of, scatter(rows, "last", n)),
            f"{p}activity_trend": (n90 + 1) / (before + 1),
            f"{p}activity_trend_180d": (n180 + 1) / (year_before + 1),
            f"{p}inbound_share_90d": np.divide(
                scatter(rows, "inbound90", n, 0.0), n90, out=np.full(n, np.nan), where=n90 > 0
            ),
            f"{p}meetings_90d": scatter(rows, "meetings90", n, 0.0),
        }
        whose = "the account's " if p else ""
        columns = [
            counted(f"{p}activities_30d", f"{whose}activity", "in the last 30 days", f"{whose}activities"),
            counted(f"{p}activities_90d", f"{whose}activity", "in the last 90 days", f"{whose}activities"),
            counted(f"{p}activities_180d", f"{whose}activity", "in the last 6 months", f"{whose}activities"),
            counted(f"{p}activities_365d", f"{whose}activity", "in the last year", f"{whose}activities"),
            Column(f"{p}days_since_activity", lambda r: _since(r[f"{p}days_since_activity"], whose)),
            Column(f"{p}activity_trend", lambda r: _trend(r[f"{p}activity_trend"], whose, 90)),
            Column(f"{p}activity_trend_180d", lambda r: _trend(r[f"{p}activity_trend_180d"], whose, 180)),
            share_of(
                f"{p}inbound_share_90d",
                "{} of the last 90 days' activities came from the customer's side",
                "no activity in the last 90 days to tell who reached out",
            ),
            counted(f"{p}meetings_90d", f"{whose}meeting", "in the last 90 days"),
        ]
        return FeatureGroup(f"{p}{self.name}", self.family, columns, values)


def _since(value: float, whose: str, what: str = "activity") -> str:
    return f"last {whose}{what} {days(value)} ago" if known(value) else f"no {whose}{what} recorded"


def _trend(ratio: float, whose: str, span: int) -> str:
    recent, before = ("90 days", "the nine months before") if span == 90 else ("6 months", "the year before")
    if not known(ratio):
        return f"{whose}activity trend unknown"
    change = round(100 * (ratio - 1))
    if abs(change) < 10:
        return f"{whose}activity in the last {recent} is steady"
    direction = "down" if change < 0 else "up"
    return f"{whose}activity in the last {recent} is {direction} {abs(change)}% on {before}"


_URGENT = ("urgent", "high")


@dataclass(frozen=True)
class TicketSource:
    """Support tickets the record's people raised: volume, urgency, sentiment of their text
    (:mod:`rapport.scoring.lexicon`), talk of leaving, missed SLAs, satisfaction."""

    label: str
    prefix: str = ""
    name: str = "support"
    family: Family = "tabular"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        path, employed = _events_of(self.label, "<-[:RAISED_BY]-(k:Ticket)", "k.createdAt")
        with_w = ", w" if self.label == "Account" else ""
        records = await per_example(
            store,
            f"UNWIND $rows AS r MATCH (e:{self.label} {{id: r.id}}) MATCH {path} WITH r, k{with_w} "
            f"WHERE k.createdAt < r.t AND k.createdAt >= r.t - $d365 AND {employed} "
            "RETURN r.i AS i, r.t AS t, k.createdAt AS at, k.priority AS priority, k.slaDueAt AS due, "
            "k.resolvedAt AS resolved, k.satisfaction AS satisfaction, k.subject AS subject, "
            "k.description AS text",
            examples,
            _D,
        )
        values, context = _ticket_values(records, len(examples))
        p = self.prefix
        whose = "the account's " if p else ""
        columns = [
            counted(f"{p}tickets_30d", f"{whose}ticket", "in the last 30 days"),
            counted(f"{p}tickets_90d", f"{whose}ticket", "in the last 90 days"),
            counted(f"{p}tickets_365d", f"{whose}ticket", "in the last year"),
            Column(f"{p}urgent_tickets_30d", lambda r: _urgent_30d(r, p, whose)),
            counted(f"{p}urgent_tickets_90d", f"{whose}urgent ticket", "in the last 90 days"),
            counted(f"{p}negative_tickets_90d", f"{whose}negative ticket", "in the last 90 days"),
            Column(f"{p}ticket_sentiment_90d", lambda r: _sentiment(r[f"{p}ticket_sentiment_90d"], whose)),
            counted(
                f"{p}churn_intent_tickets_90d", f"{whose}ticket",
                "in the last 90 days mentioning cancelling, switching or alternatives",
            ),
            counted(
                f"{p}competitor_tickets_90d", f"{whose}ticket", "in the last 90 days naming a competitor",
            ),
            counted(f"{p}sla_breaches_90d", f"{whose}missed SLA", "in the last 90 days"),
            counted(f"{p}open_tickets", f"{whose}open ticket", "now"),
            Column(f"{p}satisfaction_365d", lambda r: _satisfaction(r[f"{p}satisfaction_365d"])),
        ]  # fmt: skip
        return FeatureGroup(
            f"{p}{self.name}",
            self.family,
            columns,
            {f"{p}{k}": v for k, v in values.items()},
            {f"{p}{k}": v for k, v in context.items()},
        )


def _ticket_values(records: list[Record], n: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-example ticket signals from one row per ticket."""
    names = (
        "tickets_30d", "tickets_90d", "tickets_365d", "urgent_tickets_30d", "urgent_tickets_90d",
        "negative_tickets_90d", "churn_intent_tickets_90d", "competitor_tickets_90d", "sla_breaches_90d",
        "open_tickets",
    )  # fmt: skip
    sums = {k: np.zeros(n) for k in (*names, "sentiment_sum_90d", "urgent_negative_30d", "sat_sum", "sat_n")}
    for row in records:
        i, t = row["i"], row["t"]
        age = t - row["at"]
        recent, month = age <= 90 * DAY_MS, age <= 30 * DAY_MS
        text = f"{row['subject'] or ''}. {row['text'] or ''}"
        mood = sentiment(text)
        urgent = row["priority"] in _URGENT
        resolved = row["resolved"] if row["resolved"] is not None and row["resolved"] < t else None
        due = row["due"]
        sums["tickets_365d"][i] += 1
        sums["tickets_90d"][i] += recent
        sums["tickets_30d"][i] += month
        sums["urgent_tickets_30d"][i] += month and urgent
        sums["urgent_tickets_90d"][i] += recent and urgent
        sums["urgent_negative_30d"][i] += month and urgent and mood < 0
        sums["negative_tickets_90d"][i] += recent and mood < 0
        sums["sentiment_sum_90d"][i] += mood if recent else 0.0
        sums["churn_intent_tickets_90d"][i] += recent and churn_intent(text)
        sums["competitor_tickets_90d"][i] += recent and competitor_mention(text)
        sums["sla_breaches_90d"][i] += recent and due is not None and (resolved or t) > due
        sums["open_tickets"][i] += resolved is None
        if resolved is not None and row["satisfaction"] is not None:
            sums["sat_sum"][i] += row["satisfaction"]
            sums["sat_n"][i] += 1
    values = {k: sums[k] for k in names}
    values["ticket_sentiment_90d"] = np.divide(
        sums["sentiment_sum_90d"], sums["tickets_90d"], out=np.full(n, np.nan), where=sums["tickets_90d"] > 0
    )
    values["satisfaction_365d"] = np.divide(
        sums["sat_sum"], sums["sat_n"], out=np.full(n, np.nan), where=sums["sat_n"] > 0
    )
    return values, {"urgent_negative_30d": sums["urgent_negative_30d"]}


def _urgent_30d(r: Row, p: str, whose: str) -> str:
    urgent = r[f"{p}urgent_tickets_30d"]
    text = f"{count(urgent, f'{whose}urgent ticket')} in the last 30 days"
    return text + (", mostly negative" if urgent and r[f"{p}urgent_negative_30d"] > urgent / 2 else "")


def _sentiment(mood: float, whose: str) -> str:
    if not known(mood):
        return f"no {whose}tickets in the last 90 days"
    tone = "negative" if mood < -0.2 else "positive" if mood > 0.2 else "mixed"
    return f"the tone of {whose or 'the '}tickets in the last 90 days is {tone}"


def _satisfaction(score: float) -> str:
    if not known(score):
        return "no satisfaction ratings in the last year"
    return f"ticket satisfaction averages {score:.1f} of 5 over the last year"


_TOUCH_LEVEL = (
    "CASE k.kind WHEN 'opened' THEN 1 WHEN 'clicked' THEN 2 WHEN 'responded' THEN 3 "
    "WHEN 'converted' THEN 4 ELSE 0 END"
)


@dataclass(frozen=True)
class CampaignSource:
    """Campaign touches of the record's people: reach, opens, clicks, responses, recency."""

    label: str
    name: str = "engagement"
    family: Family = "tabular"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        path, employed = _events_of(self.label, "<-[k:TOUCHED]-(m:Campaign)", "k.at")
        rows = await per_example(
            store,
            f"UNWIND $rows AS r MATCH (e:{self.label} {{id: r.id}}) OPTIONAL MATCH {path} "
            f"WHERE k.at < r.t AND {employed} "
            f"WITH r, k, m, r.t - k.at AS age, {_TOUCH_LEVEL} AS level "
            "RETURN r.i AS i, count(DISTINCT CASE WHEN age <= $d365 THEN m END) AS campaigns, "
            "sum(CASE WHEN age <= $d365 AND level >= 1 THEN 1 ELSE 0 END) AS opens, "
            "sum(CASE WHEN age <= $d365 AND level = 2 THEN 1 ELSE 0 END) AS clicks, "
            "sum(CASE WHEN age <= $d365 AND level >= 3 THEN 1 ELSE 0 END) AS responses, "
            "sum(CASE WHEN age <= $d90 AND level >= 1 THEN 1 ELSE 0 END) AS recent, "
            "max(level) AS best, max(CASE WHEN level >= 1 THEN k.at END) AS last",
            examples,
            _D,
        )
        n = len(examples)
        campaigns, clicks, responses = (
            scatter(rows, k, n, 0.0) for k in ("campaigns", "clicks", "responses")
        )
        values = {
            "campaigns_365d": campaigns,
            "opens_365d": scatter(rows, "opens", n, 0.0),
            "clicks_365d": clicks,
            "responses_365d": responses,
            "engagements_90d": scatter(rows, "recent", n, 0.0),
            "response_rate_365d": np.divide(
                clicks + responses, campaigns, out=np.full(n, np.nan), where=campaigns > 0
            ),
            "best_engagement": scatter(rows, "best", n),
            "days_since_engagement": days_between(examples.as_of, scatter(rows, "last", n)),
        }
        columns = [
            counted("campaigns_365d", "campaign", "reached them in the last year"),
            counted("opens_365d", "campaign open", "in the last year"),
            counted("clicks_365d", "campaign click", "in the last year"),
            counted("responses_365d", "campaign response", "in the last year"),
            counted("engagements_90d", "campaign interaction", "in the last 90 days"),
            share_of(
                "response_rate_365d",
                "clicked or responded to {} of the last year's campaigns",
                "no campaigns in the last year",
            ),
            Column("best_engagement", _best_engagement),
            Column(
                "days_since_engagement",
                lambda r: _since(r["days_since_engagement"], "", "campaign interaction"),
            ),
        ]
        return FeatureGroup(self.name, self.family, columns, values)


_LEVELS = ("only received campaigns", "has opened a campaign", "has clicked a campaign",
           "has responded to a campaign", "has converted on a campaign")  # fmt: skip


def _best_engagement(r: Row) -> str:
    level = r["best_engagement"]
    return _LEVELS[int(level)] if known(level) else "never reached by a campaign"
