"""Node identities of a projection: record id <-> dense index, and per-node results.

Dense indices follow the order of record ids, so the same graph gets the same
indices on either backend, whatever the databases' internal ids are; lookups
are binary searches over one sorted numpy array, not a dict per node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["IdMap", "NodeValues"]


def _keys(record_ids: Iterable[str]) -> np.ndarray:
    if isinstance(record_ids, np.ndarray):
        return record_ids.astype(str, copy=False)
    return np.array(list(record_ids), dtype=str)


class IdMap:
    """The record ids of one label's projected nodes <-> dense indices ``0..n-1``.

    Parameters
    ----------
    label
        The node label.
    ids
        The record ids (``n.id``) in dense-index order: strictly increasing.

    Examples
    --------
    >>> ids = IdMap("Customer", np.array(["a", "c", "d"]))
    >>> ids.index(["d", "a"]).tolist()
    [2, 0]
    >>> ids.find(["b", "c"]).tolist()
    [-1, 1]
    >>> ids.record_id(1)
    'c'
    """

    __slots__ = ("ids", "label")

    def __init__(self, label: str, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=str)
        if ids.ndim != 1:
            raise ValueError("ids must be one-dimensional")
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            repeated = ids[1:][ids[1:] == ids[:-1]]
            if len(repeated):
                raise ValueError(f"{label} record id {str(repeated[0])!r} appears more than once")
            raise ValueError("ids must be sorted")
        self.label = label
        self.ids = ids

    @classmethod
    def sorting(cls, label: str, record_ids: Iterable[str]) -> tuple[IdMap, np.ndarray]:
        """The map of unordered ``record_ids``, and the permutation that sorted them
        (``map.ids == record_ids[order]``)."""
        keys = _keys(record_ids)
        order = np.argsort(keys, kind="stable")
        return cls(label, keys[order]), order

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and bool(self.find([record_id])[0] >= 0)

    def __repr__(self) -> str:
        return f"IdMap({self.label!r}, {len(self)} ids)"

    def find(self, record_ids: Iterable[str]) -> np.ndarray:
        """The dense index of each record id, ``-1`` where it is not in the map."""
        keys = _keys(record_ids)
        if not len(self.ids) or not len(keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.ids, keys), len(self.ids) - 1)
        return np.where(self.ids[at] == keys, at, -1).astype(np.int64)

    def index(self, record_ids: Iterable[str]) -> np.ndarray:
        """The dense index of each record id; :class:`KeyError` names those not in the map."""
        keys = list(record_ids)
        found = self.find(keys)
        missing = [keys[i] for i in np.flatnonzero(found < 0)[:5]]
        if missing:
            raise KeyError(f"not in the {self.label} projection: {', '.join(missing)}")
        return found

    def record_id(self, index: int) -> str:
        """The record id at dense ``index``."""
        return str(self.ids[index])


@dataclass(frozen=True)
class NodeValues:
    """One value per node, keyed by label and record id: the result shape every engine returns.

    ``labels``, ``ids`` and ``values`` are aligned arrays. Results of the
    in-process engines and of GDS compare directly through :meth:`to_dict`
    and :meth:`top`.
    """

    labels: np.ndarray
    ids: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if not len(self.labels) == len(self.ids) == len(self.values):
            raise ValueError("labels, ids and values must have the same length")

    def __len__(self) -> int:
        return len(self.values)

    def to_dict(self) -> dict[tuple[str, str], float]:
        """``(label, record id) -> value``."""
        return {
            (str(label), str(id_)): value
            for label, id_, value in zip(self.labels, self.ids, self.values.tolist(), strict=True)
        }

    def top(self, k: int) -> list[tuple[str, str, float]]:
        """The ``k`` highest values as ``(label, record id, value)``; ties go to the smaller
        ``(label, record id)``, so the answer does not depend on the engine's order."""
        order = np.lexsort((self.ids, self.labels, -self.values.astype(np.float64)))[:k]
        return [(str(self.labels[i]), str(self.ids[i]), self.values[i].item()) for i in order]
