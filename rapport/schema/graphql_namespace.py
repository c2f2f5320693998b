"""A namespace module for generated GraphQL classes, and helpers to declare them.

Generated classes live in a fresh module per schema so that string
annotations (and the cycles between types) resolve lazily by name.
"""

from __future__ import annotations

import datetime
import enum
import inspect
import itertools
import keyword
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, NewType

import strawberry

from rapport.schema.graphql_model import ScalarField, ScalarKind

Long = NewType("Long", int)
"""A 64-bit integer (money in minor units, large sums): GraphQL's Int has only 32 bits."""

LONG_SCALAR = strawberry.scalar(name="Long", serialize=int, parse_value=int, description=Long.__doc__)

OUTPUT_ANNOTATIONS = {
    ScalarKind.STRING: "str",
    ScalarKind.INT: "int",
    ScalarKind.LONG: "Long",
    ScalarKind.FLOAT: "float",
    ScalarKind.BOOLEAN: "bool",
    ScalarKind.DATETIME: "datetime.datetime",
    ScalarKind.STRING_LIST: "list[str]",
}

_schema_serial = itertools.count()


class CompiledField(Exception):
    """A field over the graph was resolved by graphql-core instead of Rapport's executors."""


def _compiled_only(*_: Any, **__: Any) -> Any:
    raise CompiledField("fields over the graph are executed by rapport.resolvers, not per field")


class Namespace:
    """A fresh module holding one schema's generated classes, so annotations resolve by name."""

    def __init__(self) -> None:
        self.module = types.ModuleType(f"rapport.schema.generated_{next(_schema_serial)}")
        sys.modules[self.module.__name__] = self.module
        for name, value in {
            "typing": typing, "datetime": datetime, "strawberry": strawberry, "Long": Long,
        }.items():  # fmt: skip
            setattr(self.module, name, value)

    def share(self, *classes: Any) -> None:
        """Make predefined classes resolvable by name from generated annotations."""
        for cls in classes:
            setattr(self.module, cls.__name__, cls)

    def add(
        self,
        name: str,
        annotations: dict[str, str],
        *,
        kind: Callable[..., Any] = strawberry.type,
        defaults: dict[str, Any] | None = None,
        bases: tuple[type, ...] = (),
        description: str | None = None,
    ) -> None:
        namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": self.module.__name__}
        namespace.update(defaults or {})
        cls = type(name, bases, namespace)
        setattr(self.module, name, kind(cls, name=name, description=description))

    def add_enum(self, name: str, values: tuple[str, ...]) -> None:
        values_enum: type[enum.Enum] = enum.Enum(name, {v: v for v in values})  # type: ignore[misc]
        setattr(self.module, name, strawberry.enum(values_enum, name=name))

    def field(self, returns: str, args: dict[str, tuple[str, Any]], description: str | None = None) -> Any:
        """A field with arguments; its resolver only carries the signature (see the module doc)."""

        def resolve(**_: Any) -> Any:
            return _compiled_only()

        parameters = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, (annotation, default) in args.items()
        ]
        resolve.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
        resolve.__annotations__ = {**{n: a for n, (a, _) in args.items()}, "return": returns}
        resolve.__module__ = self.module.__name__
        return strawberry.field(resolver=resolve, description=description)


def optional(annotation: str) -> str:
    return f"typing.Optional[{annotation}]"


def annotation_of(field: ScalarField, *, required: bool | None = None) -> str:
    """The Python annotation of a field's GraphQL type (required fields are non-null unless told)."""
    annotation = field.enum_name if field.kind is ScalarKind.ENUM else OUTPUT_ANNOTATIONS[field.kind]
    assert annotation is not None
    return annotation if (field.required if required is None else required) else optional(annotation)


def unset_inputs(ns: Namespace, name: str, fields: dict[str, str], description: str) -> None:
    """An input type whose fields are all optional and default to unset."""
    ns.add(
        name,
        {attribute(k): optional(v) for k, v in fields.items()},
        kind=strawberry.input,
        defaults={attribute(k): strawberry.field(name=k, default=strawberry.UNSET) for k in fields},
        description=description,
    )


def attribute(graphql_name: str) -> str:
    """A Python attribute for a GraphQL name (``in`` is a Python keyword)."""
    return f"{graphql_name}_" if keyword.iskeyword(graphql_name) else graphql_name
