"""``where`` arguments compiled into Cypher predicates.

Property conditions become plain predicates. Relationship conditions
(``some``/``none``/``all``/``single``) become one ``CALL`` subquery each that
counts the linked records and the matching ones: FalkorDB evaluates pattern
expressions in ``WHERE`` wrongly or not at all, while counting subqueries
give the same answer on both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapport.resolvers.cypher import QueryBuilder
from rapport.resolvers.errors import UserInputError
from rapport.resolvers.ids import parse_global_id
from rapport.resolvers.values import stored_value
from rapport.schema.graphql_model import GraphQLModel, LabelView, ScalarField, ScalarKind

RECORD_ID = "_recordId"
"""A where key the access rules use: the bare record id (clients filter on global ``id``)."""

Where = Mapping[str, Any]
RuleFor = Callable[[str], Where | None]
"""The read rule of a label for the current actor, as a where tree (``None``: no restriction)."""

_COMPARE = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_STRINGS = {"contains": "CONTAINS", "startsWith": "STARTS WITH", "endsWith": "ENDS WITH"}
_QUANTIFIERS = {"some": "{h} > 0", "none": "{h} = 0", "all": "{h} = {t}", "single": "{h} = 1"}


@dataclass
class Condition:
    """A compiled filter: ``calls`` bind the counters ``predicate`` reads (``None``: always true).

    ``prefilter`` is a part of the predicate that needs no counters (the
    simple conjuncts): it can narrow the ``MATCH`` before any ``CALL`` runs,
    so a record looked up by id is not found by scanning its whole label.
    """

    predicate: str | None = None
    calls: list[str] = field(default_factory=list)
    counters: list[str] = field(default_factory=list)
    prefilter: str | None = None

    def __post_init__(self) -> None:
        if self.is_simple and self.prefilter is None:
            self.prefilter = self.predicate

    @property
    def is_simple(self) -> bool:
        return not self.calls


def filtered_match(pattern: str, condition: Condition, carried: str, extra: str | None = None) -> str:
    """``MATCH pattern`` kept where ``condition`` (and ``extra``) hold.

    A simple condition filters the ``MATCH`` itself, where indexes serve it;
    one with relationship counts needs its ``CALL``s first, then ``WITH
    carried WHERE``.
    """
    predicates = " AND ".join(f"({p})" for p in (condition.predicate, extra) if p)
    where = f" WHERE {predicates}" if predicates else ""
    if condition.is_simple:
        return f"MATCH {pattern}{where}"
    prefilter = f" WHERE {condition.prefilter}" if condition.prefilter else ""
    return f"MATCH {pattern}{prefilter} {' '.join(condition.calls)} WITH {carried}{where}"


def conjunction(parts: list[Condition]) -> Condition:
    return _combine(parts, "AND")


def _combine(parts: list[Condition], operator: str) -> Condition:
    predicates = [p.predicate for p in parts if p.predicate is not None]
    if operator == "OR" and len(predicates) < len(parts):
        predicates = []  # one always-true branch makes the disjunction always true
    predicate = f" {operator} ".join(f"({p})" for p in predicates) if predicates else None
    calls = [call for part in parts for call in part.calls]
    counters = [counter for part in parts for counter in part.counters]
    if not calls:
        return Condition(predicate)
    prefilters = [p.prefilter for p in parts if p.prefilter] if operator == "AND" else []
    return Condition(predicate, calls, counters, " AND ".join(f"({p})" for p in prefilters) or None)


@dataclass
class FilterCompiler:
    """Compiles where trees of one query; ``rule_for`` adds the actor's read rules to related labels."""

    model: GraphQLModel
    qb: QueryBuilder
    rule_for: RuleFor

    def node(self, where: Where | None, view: LabelView, var: str, path: str) -> Condition:
        """The condition ``where`` puts on the ``view.label`` node bound to ``var``."""
        if not where:
            return Condition()
        parts: list[Condition] = []
        for key, value in where.items():
            at = f"{path}.{key}"
            if key in ("AND", "OR"):
                parts.append(_combine([self.node(w, view, var, at) for w in value or []], key))
            elif key == "NOT":
                inner = self.node(value, view, var, at)
                negated = f"NOT ({inner.predicate})" if inner.predicate else "false"
                parts.append(Condition(negated, inner.calls, inner.counters))
            elif key == "id":
                parts.append(self._ids(value, view, var, at))
            elif key == RECORD_ID:
                parts.append(self._scalar(ScalarField("id", ScalarKind.STRING, True), value, var, at))
            elif key in view.fields:
                parts.append(self._scalar(view.fields[key], value, var, at))
            elif key in view.relationships:
                parts.append(self._related(view, key, value, var, at))
            else:
                raise UserInputError(f"{at}: {key} is not a field of {view.label}", at)
        return conjunction(parts)

    def edge(self, where: Where | None, fields: tuple[ScalarField, ...], var: str, path: str) -> Condition:
        """The condition on relationship properties (no nested relationships there)."""
        if not where:
            return Condition()
        by_name = {f.name: f for f in fields}
        parts: list[Condition] = []
        for key, value in where.items():
            at = f"{path}.{key}"
            if key in ("AND", "OR"):
                parts.append(_combine([self.edge(w, fields, var, at) for w in value or []], key))
            elif key == "NOT":
                inner = self.edge(value, fields, var, at)
                parts.append(Condition(f"NOT ({inner.predicate})" if inner.predicate else "false"))
            elif key in by_name:
                parts.append(self._scalar(by_name[key], value, var, at))
            else:
                raise UserInputError(f"{at}: {key} is not a property of the relationship", at)
        return conjunction(parts)

    def match_nodes(self, view: LabelView, var: str, where: Where | None, path: str) -> str:
        """``MATCH`` the ``view.label`` records bound to ``var`` that satisfy ``where`` and the rule."""
        condition = self.node(self.with_rule(where, view.label), view, var, path)
        return filtered_match(f"({var}:{view.label})", condition, var)

    def with_rule(self, where: Where | None, label: str) -> Where | None:
        """``where`` narrowed by the actor's read rule for ``label``."""
        rule = self.rule_for(label)
        if rule is None:
            return where
        return {"AND": [rule, where]} if where else rule

    def _ids(self, condition: Mapping[str, Any] | None, view: LabelView, var: str, at: str) -> Condition:
        if condition is None:
            return Condition()
        parts = []
        for op, value in condition.items():
            values = value if isinstance(value, list) else [value]
            # Ids of other labels can never match this label's records.
            decoded = [parse_global_id(str(v), self.model.labels.keys()) for v in values]
            mine = [record_id for label, record_id in decoded if label == view.label]
            if op in ("eq", "in"):
                parts.append(Condition(f"{var}.id IN {self.qb.param(mine)}"))
            elif op in ("ne", "notIn"):
                parts.append(Condition(f"NOT {var}.id IN {self.qb.param(mine)}"))
        return conjunction(parts)

    def _scalar(
        self, field: ScalarField, condition: Mapping[str, Any] | None, var: str, at: str
    ) -> Condition:
        if condition is None:
            return Condition()
        prop = f"{var}.{field.name}"
        parts = []
        for op, raw in condition.items():
            if op == "isNull" or (op == "eq" and raw is None):
                null = raw is None or bool(raw)
                parts.append(Condition(f"{prop} IS NULL" if null else f"{prop} IS NOT NULL"))
                continue
            if op == "ne" and raw is None:
                parts.append(Condition(f"{prop} IS NOT NULL"))
                continue
            value = stored_value(field.kind, raw, f"{at}.{op}")
            if op in _COMPARE:
                parts.append(Condition(f"{prop} {_COMPARE[op]} {self.qb.param(value)}"))
            elif op == "in":
                parts.append(Condition(f"{prop} IN {self.qb.param(value)}"))
            elif op == "notIn":
                parts.append(Condition(f"NOT {prop} IN {self.qb.param(value)}"))
            elif op in _STRINGS:
                parts.append(Condition(f"{prop} {_STRINGS[op]} {self.qb.param(value)}"))
            elif op == "includes":
                parts.append(Condition(f"{self.qb.param(value)} IN {prop}"))
            else:
                raise UserInputError(f"{at}: {op} is not an operator here", at)
        return conjunction(parts)

    def _related(self, view: LabelView, name: str, quantifiers: Mapping[str, Any] | None, var: str,
                 at: str) -> Condition:  # fmt: skip
        if not quantifiers:
            return Condition()
        rel = view.relationships[name]
        other = self.model.view(rel.other)
        parts = []
        for quantifier, inner_where in quantifiers.items():
            if quantifier not in _QUANTIFIERS:
                raise UserInputError(f"{at}: {quantifier} is not one of some, none, all, single", at)
            m, total, hits = self.qb.var("m"), self.qb.var("t"), self.qb.var("h")
            inner = self.node(self.with_rule(inner_where, rel.other), other, m, f"{at}.{quantifier}")
            matching = f"CASE WHEN {inner.predicate} THEN 1 END" if inner.predicate else m
            call = (
                f"CALL {{ WITH {var} OPTIONAL MATCH {rel.pattern(var, '', m)} {' '.join(inner.calls)} "
                f"RETURN count({m}) AS {total}, count({matching}) AS {hits} }}"
            )
            predicate = _QUANTIFIERS[quantifier].format(h=hits, t=total)
            parts.append(Condition(predicate, [call], [total, hits]))
        return conjunction(parts)
