"""The three things Rapport predicts, and the feature sources each one reads.

More column groups join a target with :func:`with_sources`; a model records
the columns it was trained on, and scoring refuses a frame that lacks any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from rapport.scoring.account_features import AccountDeals, AccountNetwork, AccountProfile, KeyContacts
from rapport.scoring.deal_features import BuyingGroup, DealProfile, DealTrackRecord, ViaAccount
from rapport.scoring.event_features import ActivitySource, CampaignSource, TicketSource
from rapport.scoring.frame import FeatureSource
from rapport.scoring.lead_features import LeadNetwork, LeadProfile
from rapport.scoring.lookalike_features import Lookalikes
from rapport.scoring.network_features import NetworkStanding

Kind = Literal["churn", "deal", "lead"]
KINDS: tuple[Kind, ...] = ("churn", "deal", "lead")


@dataclass(frozen=True)
class Target:
    """A prediction: which records it is about, the field its probability goes to, its sources."""

    kind: Kind
    label: str
    field: str
    truth_kind: str  # the demo graph's planted truth of it (``_Truth.kind``)
    sources: tuple[FeatureSource, ...]
    describes: str


TARGETS: dict[Kind, Target] = {
    "churn": Target(
        "churn",
        "Account",
        "churnRisk",
        "account_churn",
        (
            AccountProfile(),
            ActivitySource("Account", "RELATES_TO"),
            CampaignSource("Account"),
            TicketSource("Account"),
            AccountDeals(),
            KeyContacts(),
            AccountNetwork(),
            NetworkStanding("Account"),
            Lookalikes("Account"),
        ),
        "the probability that an active account churns within the horizon",
    ),
    "deal": Target(
        "deal",
        "Deal",
        "winProbability",
        "deal_win",
        (
            DealProfile(),
            DealTrackRecord(),
            ViaAccount(ActivitySource("Account", "RELATES_TO", prefix="account_")),
            ViaAccount(TicketSource("Account", prefix="account_")),
            BuyingGroup(),
            ViaAccount(NetworkStanding("Account", prefix="account_")),
            ViaAccount(Lookalikes("Account", prefix="account_")),
        ),
        "the probability that an open deal is won",
    ),
    "lead": Target(
        "lead",
        "Customer",
        "conversionProbability",
        "lead_conversion",
        (
            LeadProfile(),
            ActivitySource("Customer", "WITH"),
            CampaignSource("Customer"),
            TicketSource("Customer"),
            LeadNetwork(),
            NetworkStanding("Customer"),
            Lookalikes("Customer"),
        ),
        "the probability that a lead moves past the lead stage within the horizon",
    ),
}


def with_sources(target: Target, *extra: FeatureSource) -> Target:
    """``target`` reading ``extra`` column groups as well (after its own)."""
    return replace(target, sources=(*target.sources, *extra))
