"""The mutation half of the generated GraphQL schema.

Per label: ``create<L>``, ``update<L>``, ``delete<L>``, ``upsert<L>`` (where
the label has an ``externalId``) and a batch ``create<Plural>``, each taking
relationship changes (``connect``/``disconnect``) nested in the same call.
Input fields are all optional in GraphQL so that the model's own rules
(required, formats, ranges) answer in ``userErrors`` with the field and the
rule, as the store layer states them.
"""

from __future__ import annotations

import inspect
from typing import Any

import strawberry

from rapport.schema.graphql_model import GraphQLModel, LabelView, RelationshipField, pascal
from rapport.schema.graphql_namespace import Namespace, annotation_of, unset_inputs


@strawberry.type(description="A problem with the input; nothing was written.")
class UserError:
    field: str | None
    message: str
    code: str


@strawberry.type(description="What a delete removed; userErrors says why nothing was removed.")
class DeletePayload:
    deletedId: strawberry.ID | None
    userErrors: list[UserError]


@strawberry.type(description="What a batch delete removed: all of them, or none and why.")
class DeleteBatchPayload:
    deletedIds: list[strawberry.ID]
    userErrors: list[UserError]


_SYSTEM = ("createdAt", "updatedAt", "version")  # Rapport's own


def mutation_names(view: LabelView) -> dict[str, str]:
    """Mutation field name -> operation, for one label."""
    names = {
        f"create{view.label}": "create",
        f"update{view.label}": "update",
        f"delete{view.label}": "delete",
        f"create{pascal(view.plural)}": "create_batch",
        f"update{pascal(view.plural)}": "update_batch",
        f"delete{pascal(view.plural)}": "delete_batch",
    }
    if "externalId" in view.fields:
        names[f"upsert{view.label}"] = "upsert"
    return names


def _link_inputs(ns: Namespace, rel: RelationshipField) -> str:
    """The input naming one record to link through ``rel`` (with the relationship's properties)."""
    name = f"{rel.edge_type_name}Link"
    if hasattr(ns.module, name):
        return name
    annotations = {"id": "strawberry.ID"}
    defaults: dict[str, Any] = {}
    if rel.edge_fields:
        properties = f"{pascal(rel.rel_type)}Properties"
        if not hasattr(ns.module, properties):
            unset_inputs(
                ns, properties, {f.name: annotation_of(f, required=True) for f in rel.edge_fields},
                f"Properties of a {rel.rel_type} relationship.",
            )  # fmt: skip
        annotations["properties"] = f"typing.Optional[{properties}]"
        defaults["properties"] = None
    ns.add(name, annotations, kind=strawberry.input, defaults=defaults,
           description=f"A {rel.other} to link by {rel.rel_type}.")  # fmt: skip
    return name


def _label_inputs(ns: Namespace, view: LabelView) -> None:
    label = view.label
    fields = {f.name: annotation_of(f, required=True) for f in view.fields.values() if f.name not in _SYSTEM}
    unset_inputs(ns, f"{label}Fields", fields, f"Fields of a {label}; null removes a field on update.")
    links = {rel.name: f"list[{_link_inputs(ns, rel)}]" for rel in view.relationships.values()}
    unset_inputs(ns, f"{label}Connect", links, f"Relationships to add to a {label}.")
    unlinks = {rel.name: "list[strawberry.ID]" for rel in view.relationships.values()}
    unset_inputs(
        ns, f"{label}Disconnect", unlinks, f"Relationships to remove from a {label}, by the other's id."
    )
    ns.add(
        f"{label}CreateItem",
        {"fields": f"{label}Fields", "connect": f"typing.Optional[{label}Connect]"},
        kind=strawberry.input,
        defaults={"connect": None},
    )
    ns.add(
        f"{label}UpdateItem",
        {
            "id": "strawberry.ID",
            "expectedVersion": "typing.Optional[int]",
            "set": f"typing.Optional[{label}Fields]",
            "connect": f"typing.Optional[{label}Connect]",
            "disconnect": f"typing.Optional[{label}Disconnect]",
        },
        kind=strawberry.input,
        defaults={"expectedVersion": None, "set": None, "connect": None, "disconnect": None},
    )
    ns.add(f"{label}Payload", {"record": f"typing.Optional[{label}]", "userErrors": "list[UserError]"})
    ns.add(f"{label}BatchPayload", {"records": f"list[{label}]", "userErrors": "list[UserError]"})


def _mutation_fields(ns: Namespace, view: LabelView) -> dict[str, Any]:
    label = view.label
    connect = (f"typing.Optional[{label}Connect]", None)
    required = inspect.Parameter.empty
    signatures: dict[str, tuple[str, dict[str, tuple[str, Any]]]] = {
        "create": (f"{label}Payload", {"fields": (f"{label}Fields", required), "connect": connect}),
        "update": (
            f"{label}Payload",
            {
                "id": ("strawberry.ID", required),
                "expectedVersion": ("typing.Optional[int]", None),
                "set": (f"typing.Optional[{label}Fields]", None),
                "connect": connect,
                "disconnect": (f"typing.Optional[{label}Disconnect]", None),
            },
        ),
        "delete": ("DeletePayload", {"id": ("strawberry.ID", required), "cascade": ("bool", False)}),
        "upsert": (
            f"{label}Payload",
            {"externalId": ("str", required), "set": (f"{label}Fields", required), "connect": connect},
        ),
        "create_batch": (f"{label}BatchPayload", {"items": (f"list[{label}CreateItem]", required)}),
        "update_batch": (f"{label}BatchPayload", {"items": (f"list[{label}UpdateItem]", required)}),
        "delete_batch": (
            "DeleteBatchPayload",
            {"ids": ("list[strawberry.ID]", required), "cascade": ("bool", False)},
        ),
    }
    return {name: ns.field(*signatures[operation]) for name, operation in mutation_names(view).items()}


def add_mutation_type(ns: Namespace, model: GraphQLModel) -> Any:
    """Declare the mutation inputs and payloads in ``ns``; return the ``Mutation`` type."""
    ns.share(UserError, DeletePayload, DeleteBatchPayload)
    defaults: dict[str, Any] = {}
    for view in model.labels.values():
        _label_inputs(ns, view)
        defaults.update(_mutation_fields(ns, view))
    ns.add("Mutation", {}, defaults=defaults)
    return ns.module.Mutation
