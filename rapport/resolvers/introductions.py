"""The ``warmIntroductions`` root field: chains from :mod:`rapport.algorithms.introductions`,
with the people on them as the client selected them.

The chains come from a few layered queries; the people on them are then read
with one query per distinct selection of a hop's ``source`` or ``target``
(usually two), through the same compiler as every other field, so the
actor's read rules apply.
"""

from __future__ import annotations

from typing import Any

from rapport.algorithms.introductions import (
    MAX_HOPS,
    MAX_K,
    SOURCE_LABELS,
    Hop,
    Introduction,
    warm_introductions,
)
from rapport.auth.actor import Actor
from rapport.graph.types import GraphStore
from rapport.resolvers.errors import UserInputError
from rapport.resolvers.ids import parse_global_id
from rapport.resolvers.limits import Limits
from rapport.resolvers.projection import Compiler
from rapport.resolvers.root_fields import records_by_ids
from rapport.resolvers.selection import Fragments, Selected
from rapport.resolvers.values import bounded_count
from rapport.schema.graphql_model import INTRODUCTIONS_DEFAULT_HOPS, INTRODUCTIONS_DEFAULT_K, GraphQLModel

_PEOPLE = ("source", "target")


async def resolve_introductions(
    store: GraphStore,
    model: GraphQLModel,
    fragments: Fragments,
    actor: Actor,
    limits: Limits,
    selected: Selected,
    timeout: float,
) -> list[dict[str, Any]]:
    """Answer ``warmIntroductions`` as ``selected`` asks."""
    path = selected.key
    args = selected.args(fragments.variables)
    target = _person(str(args["target"]), ("Customer",), f"{path}.target")
    if args.get("source") is not None:
        source = _person(str(args["source"]), SOURCE_LABELS, f"{path}.source")
    elif actor.user_id:
        source = ("User", actor.user_id)
    else:
        raise UserInputError(f"{path}.source: required when the token has no staff user", f"{path}.source")
    k = bounded_count(args, "k", INTRODUCTIONS_DEFAULT_K, MAX_K, path)
    max_hops = bounded_count(args, "maxHops", INTRODUCTIONS_DEFAULT_HOPS, MAX_HOPS, path)
    chains = await warm_introductions(store, source, target[1], k=k, max_hops=max_hops, timeout=timeout)
    people = sorted({person for chain in chains for hop in chain.hops for person in (hop.source, hop.target)})
    shown: dict[str, dict[tuple[str, str], Any]] = {}
    for key, hops in fragments.sub(selected, {"Introduction"}).items():
        for hop_key, part in fragments.sub(hops, {"IntroductionHop"}).items():
            if part.name in _PEOPLE and people:
                compiler = Compiler.for_actor(model, fragments, actor, limits, store.dialect)
                query = records_by_ids(
                    compiler, part, [(model.view(label), id_) for label, id_ in people], single=False
                )
                rows = await store.read(query.cypher or "", compiler.qb.params, timeout=timeout)
                shown[f"{key}.{hop_key}"] = dict(zip(people, query.finish(rows), strict=True))
    return [_shape(chain, selected, fragments, shown) for chain in chains]


def _shape(
    chain: Introduction,
    selected: Selected,
    fragments: Fragments,
    shown: dict[str, dict[tuple[str, str], Any]],
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, part in fragments.sub(selected, {"Introduction"}).items():
        if part.name == "warmth":
            result[key] = chain.warmth
        elif part.name == "hops":
            fields = fragments.sub(part, {"IntroductionHop"})
            result[key] = [
                {
                    hop_key: _hop_value(hop, field.name, shown.get(f"{key}.{hop_key}"))
                    for hop_key, field in fields.items()
                }
                for hop in chain.hops
            ]
        else:
            result[key] = "Introduction"
    return result


def _hop_value(hop: Hop, name: str, people: dict[tuple[str, str], Any] | None) -> Any:
    if name in _PEOPLE:
        assert people is not None
        return people[getattr(hop, name)]
    if name == "reasons":
        return list(hop.reasons)
    return hop.strength if name == "strength" else "IntroductionHop"


def _person(value: str, labels: tuple[str, ...], field: str) -> tuple[str, str]:
    try:
        return parse_global_id(value, labels)
    except UserInputError:
        raise UserInputError(
            f"{field}: {value!r} is not the global id of a {' or '.join(labels)}", field
        ) from None
