"""Projections: a chosen part of the graph streams out of either backend into id-mapped arrays,
the same on both, with weights, time windows and node properties as the spec asks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rapport.algorithms.projection import Projection, project
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec, Window
from rapport.graph.types import GraphStore, Statement

SOCIAL = ProjectionSpec(
    nodes=(NodeSpec("Customer"), NodeSpec("Account", properties={"employees": 0.0})),
    relationships=(
        RelationshipSpec("KNOWS", "Customer", "Customer", weight="strength", default_weight=0.5),
        RelationshipSpec("WORKS_AT", "Customer", "Account"),
    ),
)
KNOWS = ("Customer", "KNOWS", "Customer")
WORKS_AT = ("Customer", "WORKS_AT", "Account")


async def small_graph(store: GraphStore) -> None:
    """Five customers (created at 100..500), two accounts, and relationships between them;
    one customer without an id, which no projection can address."""
    await store.write_transaction([
        Statement("UNWIND range(1, 5) AS i CREATE (:Customer {id: 'c' + toString(i), createdAt: i * 100})"),
        Statement("CREATE (:Customer {firstName: 'Ghost', createdAt: 300})"),
        Statement("CREATE (:Account {id: 'a1', employees: 50}), (:Account {id: 'a2'})"),
        Statement(
            "UNWIND $knows AS k MATCH (a:Customer {id: k[0]}), (b:Customer {id: k[1]}) "
            "CREATE (a)-[r:KNOWS {since: k[2]}]->(b) SET r.strength = k[3]",
            {"knows": [["c1", "c2", 1000, 0.9], ["c2", "c3", 2000, 0.4], ["c3", "c1", 3000, None],
                       ["c1", "c2", 4000, 0.1]]},
        ),
        Statement(
            "UNWIND $jobs AS j MATCH (c:Customer {id: j[0]}), (a:Account {id: j[1]}) "
            "CREATE (c)-[:WORKS_AT]->(a)",
            {"jobs": [["c1", "a1"], ["c2", "a1"], ["c3", "a2"], ["c4", "a2"]]},
        ),
        Statement(
            "MATCH (g:Customer {firstName: 'Ghost'}), (c:Customer {id: 'c1'}) CREATE (g)-[:KNOWS]->(c)"
        ),
    ])  # fmt: skip


def rows(projection: Projection, edge_type: tuple[str, str, str]) -> list[tuple[int, int, float]]:
    table = projection.relationships[edge_type]
    return list(zip(table.source.tolist(), table.target.tolist(), table.weight.tolist(), strict=True))


async def test_nodes_get_dense_indices_in_record_id_order_that_map_back(store: GraphStore) -> None:
    await small_graph(store)
    projection = await project(store, SOCIAL)
    customers = projection.ids("Customer")
    assert customers.ids.tolist() == ["c1", "c2", "c3", "c4", "c5"]  # the node without an id is not there
    assert customers.index(["c3", "c1"]).tolist() == [2, 0]
    assert [customers.record_id(i) for i in range(len(customers))] == customers.ids.tolist()
    assert projection.offsets == {"Customer": 0, "Account": 5}
    assert projection.node_count == 7
    for index in range(projection.node_count):
        label, record_id = projection.node_at(index)
        assert projection.global_index(label, [record_id]).tolist() == [index]
    assert projection.node_at(6) == ("Account", "a2")


async def test_relationships_are_index_pairs_with_weights_and_parallel_ones_kept(store: GraphStore) -> None:
    await small_graph(store)
    projection = await project(store, SOCIAL)
    # c1->c2 twice (0.9 and 0.1), c2->c3 (0.4), c3->c1 without strength (the default, 0.5);
    # sorted by source, target, weight. The ghost's KNOWS has no end in the projection.
    assert rows(projection, KNOWS) == [(0, 1, 0.1), (0, 1, 0.9), (1, 2, 0.4), (2, 0, 0.5)]
    assert rows(projection, WORKS_AT) == [(0, 0, 1.0), (1, 0, 1.0), (2, 1, 1.0), (3, 1, 1.0)]
    assert projection.relationship_count == 8


async def test_a_relationship_window_keeps_only_the_relationships_inside_it(store: GraphStore) -> None:
    await small_graph(store)
    spec = ProjectionSpec(
        (NodeSpec("Customer"),),
        (RelationshipSpec("KNOWS", "Customer", "Customer", window=Window("since", start=1500, end=4000)),),
    )
    projection = await project(store, spec)
    assert rows(projection, KNOWS) == [(1, 2, 1.0), (2, 0, 1.0)]  # since 2000 and 3000


async def test_a_node_window_leaves_out_the_nodes_outside_it_and_their_relationships(
    store: GraphStore,
) -> None:
    await small_graph(store)
    spec = ProjectionSpec(
        (NodeSpec("Customer", window=Window("createdAt", start=150, end=450)),),
        (RelationshipSpec("KNOWS", "Customer", "Customer"),),
    )
    projection = await project(store, spec)
    assert projection.ids("Customer").ids.tolist() == ["c2", "c3", "c4"]
    assert rows(projection, KNOWS) == [(0, 1, 1.0)]  # c2->c3; every other KNOWS touches c1


async def test_node_properties_load_as_floats_with_their_default_where_missing(store: GraphStore) -> None:
    await small_graph(store)
    projection = await project(store, SOCIAL)
    assert projection.nodes["Account"].properties["employees"].tolist() == [50.0, 0.0]


async def test_node_categories_load_as_strings_empty_where_missing(store: GraphStore) -> None:
    await small_graph(store)
    await store.write("MATCH (a:Account {id: 'a1'}) SET a.tier = 'smb'")
    spec = ProjectionSpec((NodeSpec("Account", categories=("tier",)),))
    projection = await project(store, spec)
    assert projection.nodes["Account"].categories["tier"].tolist() == ["smb", ""]


async def test_small_batches_read_concurrently_give_the_same_projection(store: GraphStore) -> None:
    await small_graph(store)
    whole = await project(store, SOCIAL)
    batched = await project(store, SOCIAL, batch_size=1, concurrency=3)
    for label in SOCIAL.labels:
        assert batched.ids(label).ids.tolist() == whole.ids(label).ids.tolist()
    for edge_type in SOCIAL.edge_types:
        assert rows(batched, edge_type) == rows(whole, edge_type)


async def test_labels_without_nodes_project_to_empty_arrays(store: GraphStore) -> None:
    await small_graph(store)
    spec = ProjectionSpec(
        (NodeSpec("Deal"), NodeSpec("Customer")), (RelationshipSpec("INVOLVES", "Deal", "Customer"),)
    )
    projection = await project(store, spec)
    assert len(projection.ids("Deal")) == 0
    assert len(projection.relationships["Deal", "INVOLVES", "Customer"]) == 0
    assert projection.offsets == {"Deal": 0, "Customer": 0}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: NodeSpec("Person"), "unknown label 'Person'"),
        (lambda: RelationshipSpec("LIKES", "Customer", "Customer"), "unknown relationship type"),
        (lambda: RelationshipSpec("KNOWS", "Customer", "Account"), "KNOWS joins Customer to Customer"),
        (lambda: RelationshipSpec("KNOWS", "Customer", "Customer", weight="x}) DELETE n"), "KNOWS weight"),
        (lambda: Window("since", start=10, end=10), "window on 'since' is empty"),
        (lambda: NodeSpec("Account", properties={"employees count": 0.0}), "Account property"),
        (lambda: ProjectionSpec(()), "at least one node label"),
        (lambda: ProjectionSpec((NodeSpec("Customer"), NodeSpec("Customer"))), "must be distinct"),
        (
            lambda: ProjectionSpec(
                (NodeSpec("Customer"),), (RelationshipSpec("WORKS_AT", "Customer", "Account"),)
            ),
            r"needs the node labels \['Account'\]",
        ),
    ],
)
def test_a_spec_that_cannot_be_projected_is_refused_when_built(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build()


async def test_batch_size_and_concurrency_must_be_positive(store: GraphStore) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await project(store, SOCIAL, batch_size=0)
