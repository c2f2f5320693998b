"""Commands over the people network: influence, community segments and warm introductions."""

from __future__ import annotations

import click

from rapport.algorithms.communities import refresh_customer_segments
from rapport.algorithms.influencers import refresh_influence
from rapport.algorithms.introductions import MAX_HOPS, MAX_K, Person, warm_introductions
from rapport.auth.cli import StoreRunner
from rapport.cli_format import table
from rapport.graph.types import GraphStore


async def display_names(store: GraphStore, label: str, ids: list[str]) -> dict[str, str]:
    """Record id -> a name to show: ``name`` (accounts, users) or first and last name (customers)."""
    rows = await store.read(
        f"MATCH (n:{label}) WHERE n.id IN $ids RETURN n.id AS id, "
        "coalesce(n.name, trim(coalesce(n.firstName, '') + ' ' + coalesce(n.lastName, ''))) AS name",
        {"ids": ids},
    )
    return {row["id"]: row["name"] for row in rows}


def network_commands(run_with_store: StoreRunner) -> list[click.Command]:
    """The ``influence``, ``segments`` and ``introductions`` commands."""

    @click.command()
    @click.option("--referral-weight", type=click.FloatRange(min=0), default=2.0, show_default=True,
                  help="What a referral counts for the referrer, next to a KNOWS of strength 1.")  # fmt: skip
    def influence(referral_weight: float) -> None:
        """Recompute every customer's influence (PageRank over KNOWS and REFERRED) and list the top ten.

        Written to each customer as `influence` (1 = the average customer); GraphQL lists
        them through `influencers`.
        """

        async def work(store: GraphStore) -> None:
            report = await refresh_influence(store, referral_weight=referral_weight)
            names = await display_names(store, "Customer", [id_ for id_, _ in report.top])
            click.echo(f"influence of {report.customers} customers written on {store.backend}")
            click.echo(
                table([{"id": i, "name": names.get(i), "influence": round(v, 3)} for i, v in report.top])
            )

        run_with_store(work)

    @click.command()
    @click.option(
        "--seed", "seed_value", type=int, default=0, show_default=True, help="Same seed, same communities."
    )
    @click.option("--min-size", type=click.IntRange(1), default=3, show_default=True,
                  help="Smaller communities get no segment.")  # fmt: skip
    def segments(seed_value: int, min_size: int) -> None:
        """Recompute the communities of customers and accounts (Louvain) and update their Segments.

        Segments of communities that persist keep their id; the others are created or retired.
        """

        async def work(store: GraphStore) -> None:
            changes = await refresh_customer_segments(store, seed=seed_value, min_size=min_size)
            click.echo(
                f"segments on {store.backend}: {len(changes.created)} created, {len(changes.kept)} kept, "
                f"{len(changes.retired)} retired; {changes.joined} memberships joined, {changes.left} left"
            )

        run_with_store(work)

    @click.command()
    @click.argument("target_id")
    @click.option("--from-user", "user_id", help="The staff User to start from.")
    @click.option("--from-customer", "customer_id", help="The Customer to start from.")
    @click.option("--k", type=click.IntRange(1, MAX_K), default=3, show_default=True, help="How many chains.")
    @click.option("--max-hops", type=click.IntRange(1, MAX_HOPS), default=3, show_default=True)
    def introductions(
        target_id: str, user_id: str | None, customer_id: str | None, k: int, max_hops: int
    ) -> None:
        """List the K warmest chains of people from a user or customer to customer TARGET_ID.

        Warmth is the product of the hops' relationship strengths (see `rapport strength`).
        """
        if (user_id is None) == (customer_id is None):
            raise click.UsageError("give exactly one of --from-user and --from-customer")
        source: Person = ("User", user_id) if user_id else ("Customer", customer_id or "")

        async def work(store: GraphStore) -> None:
            chains = await warm_introductions(store, source, target_id, k=k, max_hops=max_hops)
            if not chains:
                click.echo(f"no chain of at most {max_hops} hops from {source[0]} {source[1]} to {target_id}")
                return
            people = {person for chain in chains for hop in chain.hops for person in (hop.source, hop.target)}
            names = {
                label: await display_names(store, label, [i for lbl, i in people if lbl == label])
                for label in {label for label, _ in people}
            }
            for number, chain in enumerate(chains, 1):
                click.echo(f"{number}. warmth {chain.warmth:g}")
                for hop in chain.hops:
                    a, b = (names[p[0]].get(p[1], p[1]) for p in (hop.source, hop.target))
                    click.echo(f"   {a} -> {b} (strength {hop.strength}): {'; '.join(hop.reasons)}")

        run_with_store(work)

    return [influence, segments, introductions]
