"""Selection sets flattened per response key: fragments inlined, @skip/@include applied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    value_from_ast_untyped,
)


@dataclass
class Selected:
    """All field nodes of one response key (GraphQL merges their sub-selections)."""

    key: str
    name: str
    nodes: list[FieldNode] = field(default_factory=list)

    def args(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Arguments as plain values (validation made them identical across the nodes); one given as
        a variable the request left out is absent, as the spec says."""
        given = dict(variables)
        values = {a.name.value: value_from_ast_untyped(a.value, given) for a in self.nodes[0].arguments or ()}
        return {name: value for name, value in values.items() if value is not Undefined}


@dataclass(frozen=True)
class Fragments:
    """The document's named fragments and the request's variables."""

    definitions: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]

    @classmethod
    def of(cls, document: DocumentNode, variables: Mapping[str, Any]) -> Fragments:
        """The named fragments of ``document``, with the request's ``variables``."""
        definitions = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        return cls(definitions, variables)

    def collect(
        self, selection_sets: Iterable[SelectionSetNode | None], type_names: set[str]
    ) -> dict[str, Selected]:
        """The fields selected on an object whose type (or interface) is in ``type_names``."""
        fields: dict[str, Selected] = {}
        for selection_set in selection_sets:
            if selection_set is not None:
                self._collect(selection_set, type_names, fields)
        return fields

    def sub(self, selected: Selected, type_names: set[str]) -> dict[str, Selected]:
        """The merged sub-selection of a selected field."""
        return self.collect((n.selection_set for n in selected.nodes), type_names)

    def _collect(
        self, selection_set: SelectionSetNode, type_names: set[str], into: dict[str, Selected]
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                into.setdefault(key, Selected(key, selection.name.value)).nodes.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or condition.name.value in type_names:
                    self._collect(selection.selection_set, type_names, into)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.definitions[selection.name.value]
                if fragment.type_condition.name.value in type_names:
                    self._collect(fragment.selection_set, type_names, into)

    def _included(self, selection: Any) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            if name in ("skip", "include"):
                condition = value_from_ast_untyped(directive.arguments[0].value, dict(self.variables))
                if bool(condition) == (name == "skip"):
                    return False
        return True
