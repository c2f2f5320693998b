"""Graph Data Science inside Neo4j gives the answers of the in-process engines on the demo graph:
the same PageRank top 10 (plain and personalized) and Louvain communities with NMI >= 0.9."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from rapport.algorithms.communities import CUSTOMER_COMMUNITIES, louvain
from rapport.algorithms.convert import to_csr
from rapport.algorithms.gds import GdsEngine, GdsUnavailable
from rapport.algorithms.influence import pagerank
from rapport.algorithms.nodes import NodeValues
from rapport.algorithms.projection import project
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec
from rapport.config import Settings
from rapport.graph.types import GraphStore
from tests.conftest import settings_for

IN_GDS = pytest.mark.neo4j_only("Graph Data Science runs inside Neo4j")

INFLUENCE = ProjectionSpec(
    (NodeSpec("Customer"), NodeSpec("Account")),
    (
        RelationshipSpec("KNOWS", "Customer", "Customer", weight="strength", default_weight=0.5),
        RelationshipSpec("REFERRED", "Customer", "Customer"),
        RelationshipSpec("WORKS_AT", "Customer", "Account"),
    ),
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GdsEngine]:
    gds = GdsEngine.connect(settings_for("neo4j", tmp_path_factory.mktemp("gds")))
    yield gds
    gds.close()


def assert_same_ranking(ours: NodeValues, theirs: NodeValues) -> None:
    assert [node[:2] for node in theirs.top(10)] == [node[:2] for node in ours.top(10)]
    mine, gds = ours.to_dict(), theirs.to_dict()
    assert mine.keys() == gds.keys()
    assert max(abs(mine[key] - gds[key]) for key in mine) < 1e-6


@IN_GDS
async def test_pagerank_in_gds_ranks_like_the_in_process_engine(
    demo_store: GraphStore, engine: GdsEngine
) -> None:
    projection = await project(demo_store, INFLUENCE)
    ours = projection.node_values(pagerank(to_csr(projection), tol=1e-12, max_iter=1000).scores)
    assert_same_ranking(ours, await engine.pagerank(INFLUENCE, tol=1e-12, max_iter=1000))


@IN_GDS
async def test_personalized_undirected_pagerank_in_gds_ranks_like_the_in_process_engine(
    demo_store: GraphStore, engine: GdsEngine
) -> None:
    projection = await project(demo_store, INFLUENCE)
    seeds = projection.ids("Customer").ids[:3].tolist()
    teleport = np.zeros(projection.node_count)
    teleport[projection.global_index("Customer", seeds)] = 1
    matrix = to_csr(projection, direction="undirected", weighted=False)
    ours = projection.node_values(pagerank(matrix, personalization=teleport, tol=1e-12, max_iter=1000).scores)
    theirs = await engine.pagerank(
        INFLUENCE,
        sources=[("Customer", seed) for seed in seeds],
        undirected=True,
        weighted=False,
        tol=1e-12,
        max_iter=1000,
    )
    assert_same_ranking(ours, theirs)


@IN_GDS
async def test_louvain_in_gds_finds_the_communities_of_the_in_process_engine(
    demo_store: GraphStore, engine: GdsEngine
) -> None:
    projection = await project(demo_store, CUSTOMER_COMMUNITIES)
    ours = projection.node_values(louvain(to_csr(projection, direction="undirected"), seed=0)).to_dict()
    theirs = (await engine.louvain(CUSTOMER_COMMUNITIES)).to_dict()
    assert ours.keys() == theirs.keys()
    nodes = sorted(ours)
    agreement = normalized_mutual_info_score([ours[n] for n in nodes], [theirs[n] for n in nodes])
    assert agreement >= 0.9


def test_gds_needs_the_neo4j_backend(tmp_path: Path) -> None:
    with pytest.raises(GdsUnavailable, match="needs the Neo4j backend"):
        GdsEngine.connect(Settings(data_dir=tmp_path, neo4j_uri=None))
