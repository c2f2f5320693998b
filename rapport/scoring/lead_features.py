"""Lead features: who the person is and where they work (tabular); whom they know (graph).

People's lifecycle stages are read as they are now (the model keeps no stage
history), so "knows customers" means people who are customers today; KNOWS
ties, referrals and employment are cut off at each example's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapport.graph.types import GraphStore
from rapport.scoring.account_features import CLOSED_AT, EMPLOYED_AT_T, TIERS, tier_words
from rapport.scoring.batches import days_between, per_distinct, per_example, scatter, scatter_objects
from rapport.scoring.frame import Column, Examples, Family, FeatureGroup, Row, counted, share_of
from rapport.scoring.lexicon import seniority
from rapport.scoring.words import amount, days, known

PAST_LEAD = ("mql", "sql", "opportunity", "customer", "evangelist")
"""Lifecycle stages a lead converts into."""
CONVERTED_AT = (
    "OPTIONAL MATCH (c)<-[k:TOUCHED]-(:Campaign) "
    "WITH c, min(CASE WHEN k.kind = 'converted' THEN k.at END) AS touch, min(k.at) AS first_touch "
    "WITH c, first_touch, "
    "CASE WHEN c.lifecycleStage IN $past THEN coalesce(touch, c.updatedAt) END AS converted"
)
"""Clauses binding, for each customer ``c``, ``converted``: when it moved past the lead stage (its
first ``converted`` campaign touch, else its last update; null while it is a lead), and
``first_touch``, its first campaign touch. The query passes ``$past`` (:data:`PAST_LEAD`)."""
_SENIORITY_WORDS = ("an individual contributor", "a manager", "a director", "an executive")


@dataclass(frozen=True)
class LeadProfile:
    """Seniority, contact details, source and age of the lead; size and standing of their employer."""

    name: str = "demographics"
    family: Family = "tabular"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        rows = await per_example(
            store,
            "UNWIND $rows AS r MATCH (c:Customer {id: r.id}) "
            f"OPTIONAL MATCH (c)-[w:WORKS_AT]->(a:Account) WHERE {EMPLOYED_AT_T} "
            "RETURN r.i AS i, c.title AS title, c.email IS NOT NULL AS email, c.phone IS NOT NULL AS phone, "
            "c.source AS source, c.createdAt AS created, head(collect(a.id)) AS employer, "
            "head(collect(a.tier)) AS tier, head(collect(a.employees)) AS employees, "
            "head(collect(a.industry)) AS industry",
            examples,
        )
        n = len(examples)
        won = await per_distinct(
            store,
            "UNWIND $rows AS r MATCH (a:Account {id: r.id})<-[:FOR_ACCOUNT]-(d:Deal) "
            f"WITH r, d, {CLOSED_AT} AS closed WHERE closed < r.t AND d.stage = 'closed_won' "
            "RETURN r.i AS i, count(d) AS won",
            "Account",
            scatter_objects(rows, "employer", n).tolist(),
            examples.as_of,
            ["won"],
        )
        values = {
            "seniority": np.array([seniority(t) for t in scatter_objects(rows, "title", n)], dtype=float),
            "has_email": scatter(rows, "email", n, 0.0),
            "has_phone": scatter(rows, "phone", n, 0.0),
            "source": scatter_objects(rows, "source", n),
            "lead_age_days": days_between(examples.as_of, scatter(rows, "created", n)),
            "employer_tier": np.array([TIERS.get(t, np.nan) for t in scatter_objects(rows, "tier", n)]),
            "employer_employees": np.log1p(scatter(rows, "employees", n)),
            "employer_industry": scatter_objects(rows, "industry", n),
            "employer_deals_won": np.nan_to_num(won["won"]),
        }
        columns = [
            Column("seniority", _seniority),
            Column(
                "has_email", lambda r: "an email address on file" if r["has_email"] else "no email address"
            ),
            Column("has_phone", lambda r: "a phone number on file" if r["has_phone"] else "no phone number"),
            Column(
                "source", lambda r: f"came from {r['source'] or 'an unrecorded source'}", categorical=True
            ),
            Column("lead_age_days", lambda r: f"a lead for {days(r['lead_age_days'])}"),
            Column("employer_tier", lambda r: f"works at {tier_words(r, 'employer_tier')}"),
            Column("employer_employees", _employer_size),
            Column("employer_industry", _employer_industry, categorical=True),
            counted("employer_deals_won", "deal", "won with their employer"),
        ]
        return FeatureGroup(self.name, self.family, columns, values)


def _seniority(r: Row) -> str:
    level = r["seniority"]
    return _SENIORITY_WORDS[int(level)] if known(level) else "seniority unknown"


def _employer_size(r: Row) -> str:
    size = r["employer_employees"]
    return f"works at a company of {amount(size, 'people')}" if known(size) else "employer unknown"


def _employer_industry(r: Row) -> str:
    return f"works in {r['employer_industry']}" if r["employer_industry"] else "employer's industry unknown"


@dataclass(frozen=True)
class LeadNetwork:
    """Whom the lead knows (KNOWS, both ways) and who referred them: how many of those people are
    customers or advocates, and whether their colleagues already are."""

    name: str = "network"
    family: Family = "graph"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        known_people = await per_example(
            store,
            "UNWIND $rows AS r MATCH (c:Customer {id: r.id}) "
            "OPTIONAL MATCH (c)-[k:KNOWS]-(p:Customer) WHERE coalesce(k.since, 0) < r.t "
            "RETURN r.i AS i, count(p) AS people, "
            "sum(CASE WHEN p.lifecycleStage IN $past THEN 1 ELSE 0 END) AS customers, "
            "sum(CASE WHEN p.lifecycleStage = 'evangelist' THEN 1 ELSE 0 END) AS advocates",
            examples,
            {"past": list(PAST_LEAD)},
        )
        referrals = await per_example(
            store,
            "UNWIND $rows AS r MATCH (c:Customer {id: r.id})<-[f:REFERRED]-(p:Customer) "
            "WITH r, f, p WHERE coalesce(f.at, 0) < r.t "
            "RETURN r.i AS i, count(p) AS referrers, "
            "sum(CASE WHEN p.lifecycleStage IN $past THEN 1 ELSE 0 END) AS customers",
            examples,
            {"past": list(PAST_LEAD)},
        )
        employers = await per_example(
            store,
            "UNWIND $rows AS r MATCH (c:Customer {id: r.id})-[w:WORKS_AT]->(a:Account) "
            f"WITH r, c, w, a WHERE {EMPLOYED_AT_T} "
            "RETURN r.i AS i, head(collect(a.id)) AS employer, c.lifecycleStage IN $past AS customer",
            examples,
            {"past": list(PAST_LEAD)},
        )
        n = len(examples)
        staff = await per_distinct(  # everyone the employer had then, the person included
            store,
            "UNWIND $rows AS r MATCH (a:Account {id: r.id})<-[w:WORKS_AT]-(o:Customer) "
            f"WITH r, w, o WHERE {EMPLOYED_AT_T} "
            "RETURN r.i AS i, count(o) AS people, "
            "sum(CASE WHEN o.lifecycleStage IN $past THEN 1 ELSE 0 END) AS customers",
            "Account",
            scatter_objects(employers, "employer", n).tolist(),
            examples.as_of,
            ["people", "customers"],
            {"past": list(PAST_LEAD)},
        )
        people, customers = (
            scatter(known_people, "people", n, 0.0),
            scatter(known_people, "customers", n, 0.0),
        )
        mates = np.nan_to_num(staff["people"]) - (staff["people"] > 0)
        customer_mates = np.nan_to_num(staff["customers"]) - scatter(employers, "customer", n, 0.0)
        values = {
            "people_known": people,
            "customers_known": customers,
            "customers_known_share": np.divide(customers, people, out=np.full(n, np.nan), where=people > 0),
            "advocates_known": scatter(known_people, "advocates", n, 0.0),
            "referred_by_customer": scatter(referrals, "customers", n, 0.0),
            "referrals": scatter(referrals, "referrers", n, 0.0),
            "colleague_customers_share": np.divide(
                customer_mates, mates, out=np.full(n, np.nan), where=mates > 0
            ),
        }
        columns = [
            counted("people_known", "person", "they know in the graph", "people"),
            counted("customers_known", "customer", "among the people they know"),
            share_of(
                "customers_known_share",
                "{} of the people they know are customers",
                "knows nobody in the graph yet",
            ),
            counted("advocates_known", "advocate", "(evangelist) among the people they know"),
            counted("referred_by_customer", "referral", "by an existing customer"),
            Column(
                "referrals", lambda r: "was referred by someone" if r["referrals"] else "was not referred"
            ),
            share_of(
                "colleague_customers_share",
                "{} of their colleagues are customers",
                "no colleagues in the graph",
            ),
        ]
        return FeatureGroup(self.name, self.family, columns, values)
