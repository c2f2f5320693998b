"""Turn a :class:`~rapport.demo.world.DemoWorld` into node and relationship batches.

Strings are made here, one batch at a time, so memory stays bounded. All
nodes come first, then all relationships, whose endpoints are addressed by
their (deterministic) public ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from rapport.demo import vocabulary as v
from rapport.demo.ids import uuid7_strings
from rapport.demo.relationships import optional, relationship_specs
from rapport.demo.world import (
    ARTICLES,
    DAY_MS,
    NOW_MS,
    OPEN_STAGES,
    SEGMENTS,
    TEAMS,
    TERRITORIES,
    TICKET_PRIORITY_SLA_H,
    DemoWorld,
)
from rapport.graph.types import NodeBatch, RelationshipBatch
from rapport.schema.model import CAMPAIGN_CHANNELS, TICKET_CHANNELS

Columns = dict[str, list[Any]]  # a batch as it is built, one list per property

_ACTIVITY_KINDS = ("email", "call", "meeting", "note")
_STAGES = ("lead", "customer", "evangelist")
_TIERS = ("enterprise", "mid_market", "smb")
_REASON_MIN_LOG_ODDS = 1.0  # a driver is a recorded reason when it moves the log-odds at least this far


def _slices(count: int, size: int) -> Iterator[np.ndarray]:
    for start in range(0, count, size):
        yield np.arange(start, min(start + size, count))


class DemoEmitter:
    """Batches of one demo world, in an order the bulk writer can follow."""

    def __init__(self, world: DemoWorld, batch_size: int) -> None:
        self.w = world
        self.batch_size = batch_size
        self._ids: dict[str, list[str]] = {}
        self._links = relationship_specs(world)
        # label -> (id stream, number of nodes, creation times)
        w = world
        self._labels: dict[str, tuple[int, int, np.ndarray]] = {
            "Team": (1, len(TEAMS), np.full(len(TEAMS), NOW_MS - 3 * 365 * DAY_MS)),
            "Territory": (2, len(TERRITORIES), np.full(len(TERRITORIES), NOW_MS - 3 * 365 * DAY_MS)),
            "Product": (3, len(v.PRODUCTS), np.full(len(v.PRODUCTS), NOW_MS - 3 * 365 * DAY_MS)),
            "Segment": (4, len(SEGMENTS), np.full(len(SEGMENTS), NOW_MS - 365 * DAY_MS)),
            "Article": (5, ARTICLES, np.full(ARTICLES, NOW_MS - 400 * DAY_MS)),
            "User": (6, len(w.user_team), w.user_created),
            "Account": (7, w.shape.accounts, w.acc_created),
            "Customer": (8, w.shape.customers, w.cust_created),
            "Campaign": (9, w.shape.campaigns, w.camp_start - 30 * DAY_MS),
            "Deal": (10, len(w.deal_account), w.deal_created),
            "Ticket": (11, len(w.tix_customer), w.tix_at),
            "Activity": (12, len(w.act_customer), w.act_at),
        }

    def ids(self, label: str, index: np.ndarray) -> list[str]:
        """The public ids of ``label`` nodes number ``index``."""
        if label not in self._ids:
            # Made once per label: relationships look their endpoints' ids up many times.
            stream, count, created = self._labels[label]
            self._ids[label] = uuid7_strings(self.w.seed, stream, np.arange(count), created)
        every = self._ids[label]
        return [every[i] for i in index.tolist()]

    @property
    def node_count(self) -> int:
        return sum(count for _, count, _ in self._labels.values()) + self._truth_count

    @property
    def relationship_count(self) -> int:
        return sum(spec.count for spec in self._links)

    @property
    def _truth_count(self) -> int:
        return self.w.shape.accounts + len(self.w.deal_account) + len(self.w.leads)

    # -- nodes -------------------------------------------------------------
    def nodes(self) -> Iterator[NodeBatch]:
        """Every node batch: the model's labels, then the ``_Truth`` records."""
        for label, (_, count, created) in self._labels.items():
            describe = getattr(self, f"_{label.lower()}")
            for rows in _slices(count, self.batch_size):
                stamps = created[rows].tolist()
                columns: Columns = {
                    "id": self.ids(label, rows),
                    "createdAt": stamps,
                    "updatedAt": stamps,
                    "version": [1] * len(rows),
                    **describe(rows),
                }
                yield NodeBatch(label, columns)
        yield from self._truth()

    def _team(self, rows: np.ndarray) -> Columns:
        return {"name": [TEAMS[i][0] for i in rows], "function": [TEAMS[i][1] for i in rows]}

    def _territory(self, rows: np.ndarray) -> Columns:
        return {"name": [TERRITORIES[i][0] for i in rows], "region": [TERRITORIES[i][1] for i in rows]}

    def _product(self, rows: np.ndarray) -> Columns:
        return {
            "name": [v.PRODUCTS[i][0] for i in rows],
            "family": [v.PRODUCTS[i][1] for i in rows],
            "sku": [f"SKU-{i + 100:04d}" for i in rows],
            "price": [v.PRODUCTS[i][2] for i in rows],
            "currency": ["USD"] * len(rows),
            "active": [True] * len(rows),
        }

    def _segment(self, rows: np.ndarray) -> Columns:
        return {
            "name": [SEGMENTS[i] for i in rows],
            "description": [f"Demo segment: {SEGMENTS[i]}" for i in rows],
        }

    def _article(self, rows: np.ndarray) -> Columns:
        subjects = [v.TICKET_SUBJECTS[i // 2 % len(v.TICKET_SUBJECTS)] for i in rows]
        return {
            "title": [f"How to resolve: {s}" for s in subjects],
            "body": [f"Steps that resolve '{s}', with screenshots and known causes." for s in subjects],
            "status": ["published"] * len(rows),
            "tags": [[s.split()[0].lower(), "how-to"] for s in subjects],
        }

    def _user(self, rows: np.ndarray) -> Columns:
        w = self.w
        first = [v.FIRST_NAMES[i * 7 % len(v.FIRST_NAMES)] for i in rows]
        last = [v.LAST_NAMES[i * 11 % len(v.LAST_NAMES)] for i in rows]
        sales = w.user_role[rows] == "sales"
        return {
            "name": [f"{f} {surname}" for f, surname in zip(first, last, strict=True)],
            "email": [
                f"{f}.{surname}.{i}@staff.rapport-demo.example".lower()
                for f, surname, i in zip(first, last, rows, strict=True)
            ],
            "role": w.user_role[rows].tolist(),
            "title": [
                "Team Manager" if m else "Account Executive" if s else "Specialist"
                for m, s in zip(w.user_is_manager[rows].tolist(), sales.tolist(), strict=True)
            ],
            "active": [True] * len(rows),
            "hiredAt": w.user_hired[rows].tolist(),
            "quota": optional((5 + rows % 15) * 10_000_000, sales),
            "currency": optional(np.full(len(rows), "USD"), sales),
        }

    def _account_names(self, rows: np.ndarray) -> list[str]:
        stems, suffixes = v.COMPANY_STEMS, v.COMPANY_SUFFIXES
        combos = len(stems) * len(suffixes)
        return [
            f"{stems[i % len(stems)]} {suffixes[i // len(stems) % len(suffixes)]}"
            + (f" {i // combos + 1}" if i >= combos else "")
            for i in rows.tolist()
        ]

    def _account(self, rows: np.ndarray) -> Columns:
        w = self.w
        names = self._account_names(rows)
        regions = [v.REGIONS[r] for r in w.acc_region[rows].tolist()]
        countries = [
            reg[1][p % len(reg[1])] for reg, p in zip(regions, w.acc_country_pick[rows].tolist(), strict=True)
        ]
        return {
            "name": names,
            "domain": [n.lower().replace(" ", "-") + ".example" for n in names],
            "industry": [v.INDUSTRIES[i] for i in w.acc_industry[rows].tolist()],
            "employees": w.acc_employees[rows].tolist(),
            "annualRevenue": (w.acc_employees[rows] * 15_000_000).tolist(),
            "currency": [reg[2] for reg in regions],
            "tier": [_TIERS[t] for t in w.acc_tier[rows].tolist()],
            "status": ["active"] * len(rows),
            "region": [reg[0] for reg in regions],
            "country": countries,
        }

    def _customer(self, rows: np.ndarray) -> Columns:
        w = self.w
        first = [v.FIRST_NAMES[i] for i in w.cust_first[rows].tolist()]
        last = [v.LAST_NAMES[i] for i in w.cust_last[rows].tolist()]
        accounts = self._account(w.cust_account[rows])
        return {
            "firstName": first,
            "lastName": last,
            "email": [
                f"{f}.{surname}.{i}@{d}".lower()
                for f, surname, i, d in zip(first, last, rows.tolist(), accounts["domain"], strict=True)
            ],
            "title": [v.TITLES[t] for t in w.cust_title[rows].tolist()],
            "lifecycleStage": [_STAGES[s] for s in w.cust_stage[rows].tolist()],
            "country": accounts["country"],
            "city": [v.CITIES[c] for c in accounts["country"]],
        }

    def _campaign(self, rows: np.ndarray) -> Columns:
        w = self.w
        start = w.camp_start[rows]
        return {
            "name": [
                f"{v.CAMPAIGN_THEMES[t]} #{i + 1}"
                for t, i in zip(w.camp_theme[rows].tolist(), rows.tolist(), strict=True)
            ],
            "channel": [CAMPAIGN_CHANNELS[c] for c in w.camp_channel[rows].tolist()],
            "status": ["completed" if s < NOW_MS - 30 * DAY_MS else "active" for s in start.tolist()],
            "budget": w.camp_budget[rows].tolist(),
            "currency": ["USD"] * len(rows),
            "startsAt": start.tolist(),
            "endsAt": (start + 30 * DAY_MS).tolist(),
        }

    def _deal(self, rows: np.ndarray) -> Columns:
        w = self.w
        accounts = self._account(w.deal_account[rows])
        product = w.deal_product[rows, 0]
        closed, won = w.deal_closed[rows], w.deal_won[rows]
        stage = np.where(
            closed, np.where(won, "closed_won", "closed_lost"), np.array(OPEN_STAGES)[w.deal_open_stage[rows]]
        )
        price = np.array([p[2] for p in v.PRODUCTS])
        amount = price[product] * w.deal_quantity[rows] + np.where(
            w.deal_two_products[rows], price[w.deal_product[rows, 1]], 0
        )
        return {
            "name": [
                f"{a} - {v.PRODUCTS[p][0]}" for a, p in zip(accounts["name"], product.tolist(), strict=True)
            ],
            "stage": stage.tolist(),
            "amount": amount.tolist(),
            "currency": accounts["currency"],
            "expectedCloseAt": optional(w.deal_expected_close[rows], ~closed),
            "closedAt": optional(w.deal_closed_at[rows], closed),
            "lossReason": optional(np.full(len(rows), "lost to competitor on price"), closed & ~won),
        }

    def _ticket(self, rows: np.ndarray) -> Columns:
        w = self.w
        subjects = [v.TICKET_SUBJECTS[s] for s in w.tix_subject[rows].tolist()]
        products = [v.PRODUCTS[p][0] for p in w.tix_product[rows].tolist()]
        texts = []
        for subject, product, negative, competitor, template in zip(
            subjects, products, w.tix_negative[rows].tolist(), w.tix_competitor[rows].tolist(),
            w.tix_template[rows].tolist(), strict=True,
        ):  # fmt: skip
            pool = v.NEGATIVE_TEMPLATES if negative else v.POSITIVE_TEMPLATES
            text = v.COMPETITOR_TEMPLATE if competitor and negative else pool[template % len(pool)]
            texts.append(text.format(subject=subject, product=product))
        done = w.tix_done[rows]
        priority = w.tix_priority[rows]
        sla_hours = np.array([h for _, h in TICKET_PRIORITY_SLA_H])[priority]
        return {
            "subject": subjects,
            "description": texts,
            "status": np.where(done, "solved", np.where(w.tix_negative[rows], "open", "pending")).tolist(),
            "priority": [TICKET_PRIORITY_SLA_H[p][0] for p in priority.tolist()],
            "channel": [TICKET_CHANNELS[c] for c in w.tix_channel[rows].tolist()],
            "slaDueAt": (w.tix_at[rows] + sla_hours * 3_600_000).tolist(),
            "resolvedAt": optional(w.tix_resolved_at[rows], done),
            "satisfaction": optional(w.tix_satisfaction[rows], done),
        }

    def _activity(self, rows: np.ndarray) -> Columns:
        w = self.w
        kind = w.act_kind[rows]
        timed = (kind == 1) | (kind == 2)
        directed = kind <= 1
        return {
            "kind": [_ACTIVITY_KINDS[k] for k in kind.tolist()],
            "subject": [
                v.ACTIVITY_SUBJECTS[_ACTIVITY_KINDS[k]][s]
                for k, s in zip(kind.tolist(), w.act_subject[rows].tolist(), strict=True)
            ],
            "occurredAt": w.act_at[rows].tolist(),
            "durationMinutes": optional(w.act_minutes[rows], timed),
            "direction": optional(np.array(["inbound", "outbound"])[w.act_direction[rows]], directed),
        }

    # -- planted truth -----------------------------------------------------
    def _truth(self) -> Iterator[NodeBatch]:
        w = self.w
        sets: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]] = [
            ("account_churn", "Account", np.arange(w.shape.accounts), w.churned, w.churn_p, w.churn_parts),
            ("deal_win", "Deal", np.arange(len(w.deal_account)), w.deal_won, w.deal_p, w.deal_parts),
            ("lead_conversion", "Customer", w.leads, w.lead_converted[w.leads], w.lead_p[w.leads],
             {k: p[w.leads] for k, p in w.lead_parts.items()}),
        ]  # fmt: skip
        offset = 0
        for kind, label, entities, outcome, probability, parts in sets:
            names = list(parts)
            weights = np.stack([np.asarray(parts[n], dtype=float) for n in names], 1)
            for rows in _slices(len(entities), self.batch_size):
                ids = self.ids(label, entities[rows])
                created = np.full(len(rows), NOW_MS)
                reasons = [
                    [names[j] for j in np.argsort(-abs(row)) if abs(row[j]) >= _REASON_MIN_LOG_ODDS]
                    for row in weights[rows]
                ]
                yield NodeBatch(
                    "_Truth",
                    {
                        "id": uuid7_strings(w.seed, 13, rows + offset, created),
                        "kind": [kind] * len(rows),
                        "entityLabel": [label] * len(rows),
                        "entityId": ids,
                        "outcome": outcome[rows].tolist(),
                        "probability": np.round(probability[rows], 4).tolist(),
                        "reasons": reasons,
                    },
                )
            offset += len(entities)

    # -- relationships -----------------------------------------------------
    def relationships(self) -> Iterator[RelationshipBatch]:
        """Every relationship batch; all their endpoints are among :meth:`nodes`."""
        for spec in self._links:
            for rows in _slices(spec.count, self.batch_size):
                src, dst, columns = spec.describe(rows)
                sources, targets = self.ids(spec.source, src), self.ids(spec.target, dst)
                yield RelationshipBatch(spec.type, spec.source, spec.target, sources, targets, columns)
