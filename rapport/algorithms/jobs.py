"""Recurring jobs of the server whose algorithms load scipy, networkx or igraph: imported when a job
runs, so that the API starts without them (see :mod:`rapport.algorithms.schedule`)."""

from __future__ import annotations

from rapport.graph.types import GraphStore


async def influence_job(store: GraphStore) -> object:
    """``rapport influence``: every customer's influence."""
    from rapport.algorithms.influencers import refresh_influence

    return await refresh_influence(store)


async def segments_job(store: GraphStore) -> object:
    """``rapport segments``: the community segments."""
    from rapport.algorithms.communities import refresh_customer_segments

    return await refresh_customer_segments(store)
