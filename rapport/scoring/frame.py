"""Examples, feature sources and the feature frame they fill.

A feature source reads one named group of columns for a set of examples, each
example being a record (by public id) as of its own time: a source must read
nothing dated at or after that time. Dates are the events' own (``occurredAt``,
``at``, ``since``/``until``, ``closedAt``) and records' ``createdAt``; a
relationship without ``since`` counts as always there. Record fields (tier,
stage, status) have no history and are read as they are now, so models use
them only where they cannot give the outcome away. A group is either ``tabular`` (the
record's own fields and events, and its company's) or ``graph`` (what only
relationships to other people and records reveal); a model trained on the
``tabular`` groups alone is the baseline that shows what the graph adds.

Columns carry a sentence template, so that a model's top contributions turn
into reasons a person reads ("3 urgent tickets in the last 30 days"); groups
may also carry *context* columns that are never model inputs but give those
sentences their details (a name, a month).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from rapport.graph.serial import OneQueryAtATime
from rapport.graph.types import GraphStore
from rapport.scoring.words import count, known, percent

Family = Literal["tabular", "graph"]
FAMILIES: tuple[Family, ...] = ("tabular", "graph")


@dataclass(frozen=True)
class Examples:
    """Records of one label to describe, each as of its own time (epoch ms, exclusive)."""

    label: str
    ids: Sequence[str]
    as_of: np.ndarray

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.as_of):
            raise ValueError("ids and as_of must have the same length")

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[dict[str, Any]]:
        """Query parameters: ``{i, id, t}`` per example (``i`` numbers the rows back)."""
        pairs = zip(self.ids, self.as_of.tolist(), strict=True)
        return [{"i": i, "id": id_, "t": int(t)} for i, (id_, t) in enumerate(pairs)]


class Row(Protocol):
    """One example's values, for sentence templates: ``row["column"]``."""

    def __getitem__(self, name: str) -> Any: ...


Explain = Callable[[Row], str]


@dataclass(frozen=True)
class Column:
    """A model input: its name, how to say its value in words, and whether it is categorical."""

    name: str
    explain: Explain
    categorical: bool = False


def counted(name: str, noun: str, span: str = "", plural: str | None = None) -> Column:
    """A count column said as ``"3 tickets in the last 30 days"`` (``noun``, then ``span``)."""
    return Column(name, lambda r: f"{count(r[name], noun, plural)} {span}".rstrip())


def share_of(name: str, sentence: str, unknown: str) -> Column:
    """A share column said as ``sentence`` with the percentage for ``{}`` (``"40% of ..."``), or
    ``unknown`` where there was nothing to divide."""
    return Column(name, lambda r: sentence.format(percent(r[name])) if known(r[name]) else unknown)


@dataclass
class FeatureGroup:
    """The columns one source extracted: ``values[name]`` per column (float, or object for
    categorical columns), ``context`` for sentences only."""

    name: str
    family: Family
    columns: list[Column]
    values: dict[str, np.ndarray]
    context: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c.name for c in self.columns if c.name not in self.values]
        if missing:
            raise ValueError(f"group {self.name}: no values for {', '.join(missing)}")


class FeatureSource(Protocol):
    """Extracts one column group for examples; reads nothing at or after each example's time."""

    @property
    def name(self) -> str: ...

    @property
    def family(self) -> Family: ...

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup: ...


@runtime_checkable
class BuildsOnEarlier(Protocol):
    """A source that can reuse the groups extracted before it for the same examples (a network
    source describing neighbours that are examples themselves need not read them twice)."""

    async def extract_after(
        self, store: GraphStore, examples: Examples, earlier: Mapping[str, FeatureGroup]
    ) -> FeatureGroup: ...


class FeatureFrame:
    """The column groups extracted for one set of examples."""

    def __init__(self, examples: Examples, groups: Iterable[FeatureGroup]) -> None:
        self.examples = examples
        self.groups = list(groups)
        names = [c.name for g in self.groups for c in g.columns]
        if len(names) != len(set(names)):
            raise ValueError("feature column names must be unique across groups")
        self._columns = {c.name: c for g in self.groups for c in g.columns}
        self._values: dict[str, np.ndarray] = {"as_of": examples.as_of.astype(float)}
        for group in self.groups:
            self._values.update(group.context)
            self._values.update(group.values)

    def __len__(self) -> int:
        return len(self.examples)

    def columns(self, families: Sequence[Family] = FAMILIES) -> list[Column]:
        """The model inputs of the groups of ``families``, in group order."""
        return [c for g in self.groups if g.family in families for c in g.columns]

    def column(self, name: str) -> Column:
        return self._columns[name]

    def values(self, name: str) -> np.ndarray:
        """A column's (or a context column's) values, one per example."""
        return self._values[name]

    def row(self, i: int) -> Row:
        return _FrameRow(self._values, i)

    def groups_with_data(self) -> np.ndarray:
        """Per example, the share of column groups in which it has any non-zero value.

        Part of the confidence: a record with no activities, tickets or touches
        at all is scored on priors more than on evidence.
        """
        if not self.groups:
            return np.zeros(len(self))
        present = np.zeros(len(self))
        for group in self.groups:
            numeric = [self._values[c.name] for c in group.columns if not c.categorical]
            if not numeric:
                present += 1
                continue
            stacked = np.nan_to_num(np.stack([v.astype(float) for v in numeric], 1))
            present += (stacked != 0).any(1)
        return present / len(self.groups)


@dataclass(frozen=True)
class _FrameRow:
    values: Mapping[str, np.ndarray]
    i: int

    def __getitem__(self, name: str) -> Any:
        value = self.values[name][self.i]
        return value.item() if isinstance(value, np.generic) else value


async def extract_frame(
    store: GraphStore, examples: Examples, sources: Sequence[FeatureSource]
) -> FeatureFrame:
    """Run every source over ``examples``; the groups keep the sources' order.

    The sources run side by side, so that one's computing overlaps another's
    queries, through a store that sends one query at a time
    (:class:`~rapport.graph.serial.OneQueryAtATime`). Sources that build on
    earlier groups run afterwards, in order, each seeing every group before it.
    """
    serial = OneQueryAtATime(store)
    found: dict[int, FeatureGroup] = {}

    async def extract(at: int, source: FeatureSource) -> None:
        found[at] = await source.extract(serial, examples)

    async with asyncio.TaskGroup() as side_by_side:
        for at, source in enumerate(sources):
            if not isinstance(source, BuildsOnEarlier):
                side_by_side.create_task(extract(at, source))
    for at, source in enumerate(sources):
        if isinstance(source, BuildsOnEarlier):
            earlier = {found[i].name: found[i] for i in sorted(found) if i < at}
            found[at] = await source.extract_after(serial, examples, earlier)
    return FeatureFrame(examples, (found[at] for at in range(len(sources))))
