"""Which relationships the demo world has, as index arrays into its node tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rapport.demo import vocabulary as v
from rapport.demo.world import ROLES, DemoWorld
from rapport.graph.types import Columns
from rapport.schema.model import CAMPAIGN_CHANNELS, TOUCH_KINDS

Describe = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, Columns]]


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """``count`` relationships of ``type``; ``describe(rows)`` gives, for those row
    numbers, the source and target node numbers and the properties."""

    type: str
    source: str
    target: str
    count: int
    describe: Describe


def _pairs(
    type_: str, source: str, target: str, src: np.ndarray, dst: np.ndarray, **props: np.ndarray
) -> LinkSpec:
    """Relationships from ``src[i]`` to ``dst[i]`` with per-row property arrays."""

    def describe(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, Columns]:
        return src[r], dst[r], {name: values[r].tolist() for name, values in props.items()}

    return LinkSpec(type_, source, target, len(src), describe)


def optional(values: np.ndarray, present: np.ndarray) -> list[Any]:
    """Values where ``present``, None elsewhere (None leaves the property unset)."""
    return [x if p else None for x, p in zip(values.tolist(), present.tolist(), strict=True)]


def _works_at(w: DemoWorld) -> LinkSpec:
    """Current jobs, then previous jobs (ended), then the new jobs of champions who left."""
    n, left = w.shape.customers, len(w.left_customer)
    cust = np.concatenate([np.arange(n), w.prev_customer, w.left_customer])
    acc = np.concatenate([w.cust_account, w.prev_account, w.left_new_account])
    since = np.concatenate([w.cust_since, w.prev_since, w.left_until])
    until = np.concatenate([w.cust_until, w.cust_since[w.prev_customer], np.full(left, -1)])
    titles = np.concatenate([w.cust_title, w.cust_title[w.prev_customer], w.cust_title[w.left_customer]])

    def describe(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, Columns]:
        title = titles[r].tolist()
        return cust[r], acc[r], {
            "title": [v.TITLES[t] for t in title],
            "role": ["executive" if t in v.SENIOR_TITLES else "employee" for t in title],
            "since": since[r].tolist(),
            "until": optional(until[r], until[r] >= 0),
        }  # fmt: skip

    return LinkSpec("WORKS_AT", "Customer", "Account", len(cust), describe)


def relationship_specs(w: DemoWorld) -> list[LinkSpec]:
    """Every relationship type of the demo graph, in writing order."""
    users = np.arange(len(w.user_team))
    non_managers = users[~w.user_is_manager]
    sales_managers = users[w.user_is_manager & (w.user_team < len(v.REGIONS))]
    accounts, deals = np.arange(w.shape.accounts), np.arange(len(w.deal_account))
    tickets, activities = np.arange(len(w.tix_customer)), np.arange(len(w.act_customer))
    evangelists = np.flatnonzero(w.cust_stage == 2)
    with_article = np.flatnonzero(w.tix_article >= 0)
    return [
        _pairs("MEMBER_OF", "User", "Team", users, w.user_team,
               role=np.where(w.user_is_manager, "lead", "member"), since=w.user_hired),
        _pairs("REPORTS_TO", "User", "User", non_managers, w.user_team[non_managers],
               since=w.user_hired[non_managers]),
        _pairs("COVERS", "User", "Territory", np.concatenate([w.reps, sales_managers, sales_managers]),
               np.concatenate([w.user_team[w.reps] * 2 + w.reps % 2, sales_managers * 2,
                               sales_managers * 2 + 1])),
        _pairs("SUBSIDIARY_OF", "Account", "Account", w.subsidiaries, w.subsidiary_parent),
        _pairs("IN_TERRITORY", "Account", "Territory", accounts, w.acc_territory),
        _pairs("IN_SEGMENT", "Account", "Segment", accounts, w.acc_tier),
        _pairs("IN_SEGMENT", "Customer", "Segment", evangelists, np.full(len(evangelists), 3)),
        _pairs("OWNS", "User", "Account", w.acc_owner, accounts),
        _works_at(w),
        _pairs("KNOWS", "Customer", "Customer", w.knows_src, w.knows_dst,
               strength=w.knows_strength, since=w.knows_since),
        _pairs("REFERRED", "Customer", "Customer", w.referred_src, w.referred_dst,
               at=w.cust_created[w.referred_dst]),
        _pairs("OWNS", "User", "Deal", w.deal_rep, deals),
        _pairs("FOR_ACCOUNT", "Deal", "Account", deals, w.deal_account),
        _pairs("INVOLVES", "Deal", "Customer", w.inv_deal, w.inv_customer,
               role=np.array(ROLES)[w.inv_role], since=w.deal_created[w.inv_deal]),
        _pairs("FOR_PRODUCT", "Deal", "Product", deals, w.deal_product[:, 0], quantity=w.deal_quantity),
        _pairs("RAISED_BY", "Ticket", "Customer", tickets, w.tix_customer),
        _pairs("ASSIGNED_TO", "Ticket", "User", tickets, w.tix_agent),
        _pairs("ABOUT", "Ticket", "Product", tickets, w.tix_product),
        _pairs("RESOLVES", "Article", "Ticket", w.tix_article[with_article], with_article),
        _pairs("TOUCHED", "Campaign", "Customer", w.touch_campaign, w.touch_customer,
               channel=np.array(CAMPAIGN_CHANNELS)[w.touch_channel], kind=np.array(TOUCH_KINDS)[w.touch_kind],
               at=w.touch_at),
        _pairs("PERFORMED", "User", "Activity", w.act_user, activities),
        _pairs("WITH", "Activity", "Customer", activities, w.act_customer),
        _pairs("RELATES_TO", "Activity", "Account", activities, w.cust_account[w.act_customer]),
    ]  # fmt: skip
