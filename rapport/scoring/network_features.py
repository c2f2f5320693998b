"""Graph features from algorithms over the people network as it was: influence and community churn.

The network of a moment ``T`` holds the customers and accounts created before
it, ``KNOWS`` (weighted by strength), ``REFERRED`` and ``WORKS_AT`` dated
before it (undated ones count as always there). Over it:

- influence: PageRank over ``KNOWS`` and ``REFERRED`` (toward the referrer), as
  :mod:`rapport.algorithms.influencers` computes it, said as a percentile
  among the customers of that moment;
- communities: Louvain over customers and accounts (``KNOWS``, ``REFERRED``,
  ``WORKS_AT``, past jobs included); a community's churn rate is the share of
  its accounts that had churned by ``T``.

A customer reads its own influence and its community's size and churn rate;
an account the influence of its best-connected person (anyone who worked
there) and its own community's figures. The network is built for each
distinct example time, at most :data:`MAX_MOMENTS` of them: beyond that each
example takes the latest computed moment not after its own time (a moment is
always an example's time), so no example sees its future.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from scipy import stats

from rapport.algorithms.communities import louvain
from rapport.algorithms.convert import to_csr
from rapport.algorithms.influencers import INFLUENCE_NETWORK, customer_influence
from rapport.algorithms.projection import Projection, project
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec, Window
from rapport.graph.types import GraphStore
from rapport.scoring.account_features import churned_by
from rapport.scoring.frame import Column, Examples, Family, FeatureGroup, Row
from rapport.scoring.moment_cache import once_per_moment
from rapport.scoring.words import known, percent

__all__ = ["MAX_MOMENTS", "NetworkStanding", "moments", "network_at"]

MAX_MOMENTS = 4
_LOUVAIN_SEED = 0


def moments(as_of: np.ndarray, most: int = MAX_MOMENTS) -> tuple[np.ndarray, np.ndarray]:
    """The moments to build the network at (example times), and each example's moment index: the
    latest moment not after its own time."""
    distinct = np.unique(as_of)
    if len(distinct) > most:
        distinct = np.unique(np.quantile(distinct, np.linspace(0, 1, most), method="lower"))
    return distinct, np.searchsorted(distinct, as_of, side="right") - 1


def _spec(moment: int) -> ProjectionSpec:
    created = Window("createdAt", end=moment)
    knows, referred = INFLUENCE_NETWORK.relationships
    since = Window("since", end=moment, missing_inside=True)
    return ProjectionSpec(
        (NodeSpec("Customer", window=created), NodeSpec("Account", window=created)),
        (
            replace(knows, window=since),
            replace(referred, window=Window("at", end=moment)),
            RelationshipSpec("WORKS_AT", "Customer", "Account", window=since),
        ),
    )


@dataclass(frozen=True)
class NetworkAt:
    """The network of one moment and what the algorithms found in it, per node of its projection."""

    projection: Projection
    influence: np.ndarray  # percentile among customers, 0-100 (NaN for accounts)
    community_size: np.ndarray  # customers in the node's community
    community_churn: np.ndarray  # share of the community's accounts churned by then (NaN: none)

    def describe(self, label: str, ids: list[str]) -> dict[str, np.ndarray]:
        """Each record's figures (NaN for records the network of that moment does not hold)."""
        n = len(ids)
        found = self.projection.ids(label).find(ids)
        held = found >= 0
        index = self.projection.offsets[label] + found[held]
        out = {name: np.full(n, np.nan) for name in ("influence", "community_size", "community_churn")}
        out["community_size"][held] = self.community_size[index]
        out["community_churn"][held] = self.community_churn[index]
        if label == "Customer":
            out["influence"][held] = self.influence[index]
        else:
            out["influence"][held] = self._best_contact(found[held])
        return out

    def _best_contact(self, accounts: np.ndarray) -> np.ndarray:
        """The highest influence percentile among each account's people (NaN: nobody)."""
        table = self.projection.relationships[("Customer", "WORKS_AT", "Account")]
        best = np.full(len(self.projection.ids("Account")), -np.inf)
        people = self.influence[self.projection.offsets["Customer"] + table.source]
        np.maximum.at(best, table.target, people)
        best[np.isinf(best)] = np.nan
        return np.asarray(best[accounts])


async def network_at(store: GraphStore, moment: int) -> NetworkAt:
    """The network of ``moment`` (epoch ms) with influence and communities run over it (built once
    per scoring run: :mod:`~rapport.scoring.moment_cache`)."""
    return await once_per_moment("network", moment, partial(_build, store, moment))


async def _build(store: GraphStore, moment: int) -> NetworkAt:
    projection = await project(store, _spec(moment))
    customers = len(projection.ids("Customer"))  # the first label: global indexes 0 to customers - 1
    # The algorithms run in threads, so that other feature sources' queries go on meanwhile.
    ranks = await asyncio.to_thread(customer_influence, projection) if customers else np.empty(0)
    influence = np.full(projection.node_count, np.nan)
    influence[:customers] = stats.rankdata(ranks, method="average") / max(customers, 1) * 100
    community = await asyncio.to_thread(
        louvain, to_csr(projection, direction="undirected"), seed=_LOUVAIN_SEED
    )
    is_customer = np.arange(projection.node_count) < customers
    size = np.bincount(community, weights=is_customer.astype(float))
    account_ids = projection.ids("Account")
    accounts = np.arange(customers, projection.node_count)
    churned = await churned_by(
        store, Examples("Account", [account_ids.record_id(i) for i in range(len(account_ids))],
                        np.full(len(account_ids), moment, dtype=np.int64)),
    )  # fmt: skip
    churned_count = np.bincount(community[accounts], weights=churned, minlength=len(size))
    account_count = np.bincount(community[accounts], minlength=len(size)).astype(float)
    rate = np.divide(churned_count, account_count, out=np.full(len(size), np.nan), where=account_count > 0)
    return NetworkAt(projection, influence, size[community], rate[community])


@dataclass(frozen=True)
class NetworkStanding:
    """Influence and community churn of customers or accounts (see the module docstring)."""

    label: str
    prefix: str = ""
    name: str = "standing"
    family: Family = "graph"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        chosen, moment_of = moments(examples.as_of)
        n = len(examples)
        values = {name: np.full(n, np.nan) for name in ("influence", "community_size", "community_churn")}
        for m, moment in enumerate(chosen.tolist()):
            rows = np.flatnonzero(moment_of == m)
            network = await network_at(store, int(moment))
            for name, column in network.describe(self.label, [examples.ids[int(i)] for i in rows]).items():
                values[name][rows] = column
        p = self.prefix
        return FeatureGroup(
            self.name, self.family, self._columns(),
            {f"{p}influence": values["influence"], f"{p}community_size": values["community_size"],
             f"{p}community_churn": values["community_churn"]},
        )  # fmt: skip

    def _columns(self) -> list[Column]:
        p = self.prefix
        who = "its best-connected person is" if self.label == "Account" else "is"
        return [
            Column(f"{p}influence", lambda r: _influence_sentence(r[f"{p}influence"], who)),
            Column(f"{p}community_size", lambda r: _size_sentence(r[f"{p}community_size"])),
            Column(f"{p}community_churn", lambda r: _churn_sentence(r, f"{p}community_churn")),
        ]


def _influence_sentence(value: float, who: str) -> str:
    if not known(value):
        return "nobody there is in the network of who knows whom"
    return f"{who} more influential than {round(value)}% of customers (who knows and who referred whom)"


def _size_sentence(value: float) -> str:
    if not known(value):
        return "not part of any community yet"
    return f"belongs to a community of {round(value)} people who know each other or do business together"


def _churn_sentence(r: Row, name: str) -> str:
    value = r[name]
    if not known(value):
        return "its community holds no other accounts"
    return f"{percent(value)} of the accounts in its community had churned"
