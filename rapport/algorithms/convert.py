"""A projection in the shape an algorithm takes: scipy CSR, networkx graph, PyG ``HeteroData``.

- :func:`to_csr`: one homogeneous sparse matrix over the projection's global
  node index, for the fast in-process algorithms (parallel relationships add up);
- :func:`to_networkx`: a graph keyed by ``(label, record id)``, where a networkx
  algorithm is the right tool (small graphs: an account's stakeholders, paths);
- :func:`to_hetero_data`: typed node and edge stores for GNNs, one edge per
  relationship, with node properties as ``x`` and weights as ``edge_weight``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import networkx as nx
import numpy as np
from scipy import sparse

from rapport.algorithms.projection import Projection
from rapport.algorithms.projection_spec import EdgeType

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

__all__ = ["Direction", "to_csr", "to_hetero_data", "to_networkx"]

Direction = Literal["natural", "reverse", "undirected"]
"""How relationships become matrix entries: as stored, reversed, or both ways."""


def to_csr(
    projection: Projection,
    *,
    edge_types: Iterable[EdgeType] | None = None,
    direction: Direction = "natural",
    weighted: bool = True,
) -> sparse.csr_array:
    """The projection as one square sparse matrix over its global node index.

    Parameters
    ----------
    projection
        What :func:`~rapport.algorithms.projection.project` read.
    edge_types
        The edge types to include; all of the projection's by default.
    direction
        ``"natural"``: entry ``[i, j]`` for a relationship from node ``i`` to
        node ``j``; ``"reverse"``: ``[j, i]``; ``"undirected"``: both (a
        self-loop once).
    weighted
        Entries sum the relationships' weights; otherwise they count the
        relationships (parallel ones add up either way).

    Returns
    -------
    scipy.sparse.csr_array
        ``node_count x node_count``, float64, with int32 indices where they fit.

    Examples
    --------
    >>> matrix = to_csr(projection, direction="undirected")  # doctest: +SKIP
    >>> scores = pagerank(matrix).scores  # doctest: +SKIP
    """
    offsets = projection.offsets
    chosen = projection.spec.edge_types if edge_types is None else tuple(edge_types)
    rows, cols, data = [], [], []
    for edge_type in chosen:
        table = projection.relationships[edge_type]
        rows.append(offsets[edge_type[0]] + table.source)
        cols.append(offsets[edge_type[2]] + table.target)
        data.append(table.weight if weighted else np.ones(len(table)))
    n = projection.node_count
    row, col = np.concatenate([np.empty(0, np.int64), *rows]), np.concatenate([np.empty(0, np.int64), *cols])
    values = np.concatenate([np.empty(0), *data])
    if direction == "reverse":
        row, col = col, row
    elif direction == "undirected":
        loop = row == col  # a self-loop is one relationship, not two
        row, col = np.concatenate([row, col[~loop]]), np.concatenate([col, row[~loop]])
        values = np.concatenate([values, values[~loop]])
    elif direction != "natural":
        raise ValueError(f"direction must be natural, reverse or undirected, not {direction!r}")
    index = np.int32 if max(n, len(values)) < 2**31 else np.int64
    matrix = sparse.coo_array((values, (row.astype(index), col.astype(index))), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    return matrix


def _node_keys(projection: Projection) -> list[tuple[str, str]]:
    labelled = projection.node_values(np.zeros(projection.node_count))
    return list(zip(labelled.labels.tolist(), labelled.ids.tolist(), strict=True))


def to_networkx(
    projection: Projection,
    *,
    edge_types: Iterable[EdgeType] | None = None,
    directed: bool = True,
    weighted: bool = True,
) -> nx.Graph:
    """The projection as a networkx graph whose nodes are ``(label, record id)`` tuples.

    Every projected node is in the graph, isolated or not. Parallel
    relationships merge into one edge whose ``weight`` is their summed weight
    (their count when not ``weighted``); undirected, the two directions of a
    pair merge too.

    Returns
    -------
    networkx.DiGraph or networkx.Graph
        A ``DiGraph`` when ``directed``, else a ``Graph``.

    Examples
    --------
    >>> graph = to_networkx(projection, directed=False)  # doctest: +SKIP
    >>> graph[("Customer", ada)][("Customer", grace)]["weight"]  # doctest: +SKIP
    0.8
    """
    keys = _node_keys(projection)
    matrix = to_csr(
        projection,
        edge_types=edge_types,
        direction="natural" if directed else "undirected",
        weighted=weighted,
    )
    entries = (matrix if directed else sparse.triu(matrix, format="csr")).tocoo()
    graph: nx.Graph = nx.DiGraph() if directed else nx.Graph()
    graph.add_nodes_from(keys)
    graph.add_weighted_edges_from(
        (keys[i], keys[j], w)
        for i, j, w in zip(entries.row.tolist(), entries.col.tolist(), entries.data.tolist(), strict=True)
    )
    return graph


def to_hetero_data(projection: Projection) -> HeteroData:
    """The projection as a PyTorch Geometric ``HeteroData``.

    Node stores are named by label and hold ``num_nodes`` and, where the spec
    asked for node properties, ``x`` (float32, one column per property in the
    spec's order). Edge stores are named by ``(source label, type, target
    label)`` and hold ``edge_index`` (int64, one column per relationship, in
    the labels' dense indices) and, for weighted relationship specs,
    ``edge_weight`` (float32). Record ids stay in ``projection.ids(label)``.
    """
    import torch
    from torch_geometric.data import HeteroData

    data = HeteroData()
    for label, table in projection.nodes.items():
        data[label].num_nodes = len(table)
        if table.properties:
            features = np.column_stack(list(table.properties.values()))
            data[label].x = torch.from_numpy(features.astype(np.float32))
    for edge_type, rel in projection.relationships.items():
        data[edge_type].edge_index = torch.from_numpy(np.vstack([rel.source, rel.target]))
        if rel.spec.weight is not None:
            data[edge_type].edge_weight = torch.from_numpy(rel.weight.astype(np.float32))
    return data
