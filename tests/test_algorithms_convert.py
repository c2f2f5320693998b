"""A projection as a scipy CSR matrix, a networkx graph and a PyG HeteroData: the same nodes and
relationships, with weights, directions and parallel relationships handled as documented."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.algorithms.convert import to_csr, to_hetero_data, to_networkx
from rapport.algorithms.nodes import IdMap
from rapport.algorithms.projection import NodeTable, Projection, RelationshipTable
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec

KNOWS = RelationshipSpec("KNOWS", "Customer", "Customer", weight="strength")
WORKS_AT = RelationshipSpec("WORKS_AT", "Customer", "Account")


def small_projection() -> Projection:
    """c1 -> c2 twice (0.5, 0.25), c2 -> c1 (1.0), a self-loop c3 -> c3 (2.0); c1, c2 work at a1."""
    spec = ProjectionSpec(
        (NodeSpec("Customer"), NodeSpec("Account", properties={"employees": 0.0})), (KNOWS, WORKS_AT)
    )
    customers = NodeTable(IdMap("Customer", np.array(["c1", "c2", "c3"])), {})
    accounts = NodeTable(IdMap("Account", np.array(["a1"])), {"employees": np.array([12.0])})
    knows = RelationshipTable(
        KNOWS, np.array([0, 0, 1, 2]), np.array([1, 1, 0, 2]), np.array([0.5, 0.25, 1.0, 2.0])
    )
    works_at = RelationshipTable(WORKS_AT, np.array([0, 1]), np.array([0, 0]), np.array([1.0, 1.0]))
    return Projection(
        spec,
        {"Customer": customers, "Account": accounts},
        {KNOWS.edge_type: knows, WORKS_AT.edge_type: works_at},
    )


def test_csr_rows_are_sources_over_the_global_index_and_parallel_weights_add_up() -> None:
    matrix = to_csr(small_projection())
    assert matrix.shape == (4, 4)
    assert matrix.indices.dtype == np.int32
    assert matrix.toarray().tolist() == [
        [0.0, 0.75, 0.0, 1.0],
        [1.0, 0.0, 0.0, 1.0],
        [0.0, 0.0, 2.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]


def test_csr_counts_relationships_when_unweighted() -> None:
    assert to_csr(small_projection(), weighted=False).toarray()[0].tolist() == [0.0, 2.0, 0.0, 1.0]


def test_csr_reversed_and_undirected() -> None:
    projection = small_projection()
    natural = to_csr(projection).toarray()
    assert (to_csr(projection, direction="reverse").toarray() == natural.T).all()
    undirected = to_csr(projection, direction="undirected").toarray()
    assert (undirected == undirected.T).all()
    assert undirected[0, 1] == 1.75  # both directions of the pair
    assert undirected[2, 2] == 2.0  # a self-loop is one relationship
    with pytest.raises(ValueError, match="direction"):
        to_csr(projection, direction="sideways")  # type: ignore[arg-type]


def test_csr_of_chosen_edge_types() -> None:
    matrix = to_csr(small_projection(), edge_types=[WORKS_AT.edge_type])
    assert matrix.nnz == 2 and matrix[0, 3] == 1.0


def test_networkx_nodes_are_label_and_record_id_and_isolated_ones_are_kept() -> None:
    graph = to_networkx(small_projection())
    assert sorted(graph.nodes) == [
        ("Account", "a1"),
        ("Customer", "c1"),
        ("Customer", "c2"),
        ("Customer", "c3"),
    ]
    assert graph.is_directed()
    assert graph[("Customer", "c1")][("Customer", "c2")]["weight"] == 0.75
    assert graph.degree(("Account", "a1")) == 2


def test_an_undirected_networkx_graph_merges_both_directions() -> None:
    graph = to_networkx(small_projection(), directed=False, weighted=False)
    assert not graph.is_directed()
    assert graph[("Customer", "c2")][("Customer", "c1")]["weight"] == 3  # three relationships
    assert graph.number_of_edges() == 4


def test_hetero_data_has_a_store_per_label_and_edge_type() -> None:
    data = to_hetero_data(small_projection())
    assert data["Customer"].num_nodes == 3
    assert "x" not in data["Customer"]
    assert data["Account"].x.tolist() == [[12.0]]
    knows = data["Customer", "KNOWS", "Customer"]
    assert knows.edge_index.tolist() == [[0, 0, 1, 2], [1, 1, 0, 2]]
    assert knows.edge_weight.tolist() == [0.5, 0.25, 1.0, 2.0]
    works_at = data["Customer", "WORKS_AT", "Account"]
    assert works_at.edge_index.tolist() == [[0, 1], [0, 0]]
    assert "edge_weight" not in works_at  # WORKS_AT has no weight property in the spec
    data.validate()
