"""Node identities: record ids <-> dense indices both ways, and per-node results that compare
across engines."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.algorithms.nodes import IdMap, NodeValues


def test_an_id_map_looks_record_ids_up_both_ways() -> None:
    ids = IdMap("Customer", np.array(["a", "c", "d"]))
    assert len(ids) == 3
    assert ids.index(["d", "a", "c"]).tolist() == [2, 0, 1]
    assert [ids.record_id(i) for i in range(3)] == ["a", "c", "d"]
    assert "c" in ids and "b" not in ids


def test_unknown_record_ids_are_named_by_index_and_minus_one_for_find() -> None:
    ids = IdMap("Customer", np.array(["a", "c"]))
    assert ids.find(["b", "c", "zz", ""]).tolist() == [-1, 1, -1, -1]
    with pytest.raises(KeyError, match="not in the Customer projection: b, zz"):
        ids.index(["b", "c", "zz"])


def test_an_empty_id_map_finds_nothing() -> None:
    ids = IdMap("Deal", np.array([], dtype=str))
    assert ids.find(["a"]).tolist() == [-1]
    assert ids.index([]).tolist() == []


def test_sorting_unordered_record_ids_returns_the_permutation() -> None:
    ids, order = IdMap.sorting("Account", ["b", "c", "a"])
    assert ids.ids.tolist() == ["a", "b", "c"]
    assert order.tolist() == [2, 0, 1]


def test_a_record_id_may_appear_once() -> None:
    with pytest.raises(ValueError, match="Account record id 'b' appears more than once"):
        IdMap.sorting("Account", ["b", "a", "b"])
    with pytest.raises(ValueError, match="sorted"):
        IdMap("Account", np.array(["b", "a"]))


def test_node_values_rank_by_value_then_label_and_id() -> None:
    values = NodeValues(
        np.array(["Customer", "Account", "Customer", "Customer"]),
        np.array(["c2", "a1", "c1", "c3"]),
        np.array([0.2, 0.5, 0.5, 0.1]),
    )
    assert values.top(3) == [("Account", "a1", 0.5), ("Customer", "c1", 0.5), ("Customer", "c2", 0.2)]
    assert values.to_dict()[("Customer", "c3")] == 0.1
    with pytest.raises(ValueError, match="same length"):
        NodeValues(np.array(["Customer"]), np.array([]), np.array([1.0]))
