"""The ``rapport`` command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click
import uvicorn

from rapport.algorithms.duplicates import DuplicateLabel, find_duplicates
from rapport.algorithms.embedding_store import EMBEDDED_LABELS, NoModel
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.algorithms.similarity import MAX_K, NoEmbedding, similar
from rapport.algorithms.strength import HALF_LIFE_DAYS, WINDOW_DAYS, compute_strength
from rapport.api.websocket_protocol import UVICORN_WEBSOCKET_OPTIONS
from rapport.auth.cli import auth_commands
from rapport.auth.errors import AuthError
from rapport.auth.secret import signing_secret
from rapport.cli_format import table
from rapport.cli_network import display_names, network_commands
from rapport.config import ConfigError, load_settings
from rapport.demo.seed import SeedError, graph_is_empty, seed_demo
from rapport.graph.connect import shared_embedded_database, store_session
from rapport.graph.errors import StoreError
from rapport.graph.types import GraphStore
from rapport.graph.values import epoch_millis
from rapport.importer.mapping import MappingError, load_mapping
from rapport.importer.run import ImportRejected, run_import, write_rejects
from rapport.migrations.files import MigrationError
from rapport.migrations.runner import MigrationRunner
from rapport.schema.custom_fields import CUSTOM_FIELD_TYPES, CustomFields
from rapport.schema.errors import SchemaViolation
from rapport.scoring.errors import ScoringError

if TYPE_CHECKING:
    from rapport.scoring.labels import LabelSource
    from rapport.scoring.targets import Kind

T = TypeVar("T")

_EXPECTED_ERRORS = (
    ConfigError, StoreError, MigrationError, SchemaViolation, SeedError, MappingError, ImportRejected,
    AuthError, ScoringError, NoModel, NoEmbedding,
)  # fmt: skip
_DEMO_CUSTOMERS = 2_000


def _run(work: Callable[[GraphStore], Awaitable[T]]) -> T:
    """Open the configured store, run ``work``, close it; expected errors become one line."""

    async def main() -> T:
        async with store_session(load_settings()) as store:
            return await work(store)

    return _run_async(main)


def _run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``main`` makes; expected errors become one line and exit status 1."""
    try:
        return asyncio.run(main())
    except _EXPECTED_ERRORS as error:
        # Drivers' messages may span lines; an operator gets exactly one.
        message = " ".join(str(error).split())
        click.echo(f"rapport: error: {message}", err=True)
        sys.exit(1)


_MOMENT = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"])  # a moment on the command line, in UTC


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else epoch_millis(moment)


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.group()
@click.version_option(package_name="rapport")
def cli() -> None:
    """Rapport: a graph-native relationship intelligence server.

    Embedded FalkorDB by default; set RAPPORT_NEO4J_URI (and _USER, _PASSWORD)
    to use Neo4j.
    """


@cli.command()
@click.option("--status", "show_status", is_flag=True, help="List applied and pending migrations.")
@click.option("--dry-run", is_flag=True, help="Print what would be applied, apply nothing.")
@click.option(
    "--through",
    type=click.IntRange(min=1),
    metavar="VERSION",
    help="Only the pending migrations up to VERSION.",
)
def migrate(show_status: bool, dry_run: bool, through: int | None) -> None:
    """Apply pending schema migrations."""

    async def work(store: GraphStore) -> None:
        runner = MigrationRunner(store)
        if show_status:
            for s in await runner.status():
                click.echo(f"V{s.version:03d}  {s.state:<8} {_when(s.applied_at):<24} {s.description}")
            return
        if dry_run:
            pending = [m for m in await runner.pending() if through is None or m.version <= through]
            for m in pending:
                click.echo(f"-- {m.file_name} (would apply on {store.backend})")
                for statement in m.statements:
                    click.echo(f"{statement};")
            click.echo(f"{len(pending)} pending migration(s); nothing applied")
            return
        applied = await runner.migrate(through=through)
        for m in applied:
            click.echo(f"applied {m.file_name}")
        reached = "schema is up to date" if through is None else f"schema is at V{through:03d} or later"
        click.echo(f"{len(applied)} migration(s) applied on {store.backend}; {reached}")

    _run(work)


@cli.command()
@click.argument("query")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=JSON",
    help="A query parameter; the value is JSON (plain text if not valid JSON).",
)
@click.option("--timeout", type=float, default=None, help="Seconds before the query is stopped.")
def cypher(query: str, params: tuple[str, ...], timeout: float | None) -> None:
    """Run one read-only Cypher QUERY and print the result as a table."""
    values = dict(_parameter(p) for p in params)

    async def work(store: GraphStore) -> None:
        click.echo(table(await store.read(query, values, timeout=timeout)))

    _run(work)


def _parameter(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="--param")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


@cli.command()
@click.option("--customers", type=click.IntRange(1, 5_000_000), required=True, help="How many customers.")
@click.option("--seed", "seed_value", type=int, default=42, show_default=True, help="Same seed, same graph.")
@click.option("--reset", is_flag=True, help="Delete everything in the graph first.")
@click.option("--batch-size", type=click.IntRange(100, 200_000), default=5_000, show_default=True)
def seed(customers: int, seed_value: int, reset: bool, batch_size: int) -> None:
    """Build the demo CRM graph (with its planted ground truth)."""

    async def work(store: GraphStore) -> None:
        with click.progressbar(length=0, label="seeding", file=sys.stderr) as bar:

            def total(n: int) -> None:
                bar.length = n

            report = await seed_demo(
                store, customers, seed_value, reset=reset, batch_size=batch_size,
                on_progress=bar.update, on_total=total,
            )  # fmt: skip
        click.echo(
            f"seeded {report.customers} customers (seed {report.seed}) on {store.backend}: "
            f"{report.nodes} nodes, {report.relationships} relationships in {report.seconds:.1f}s "
            f"({report.elements_per_second:,.0f} elements/s)"
        )

    _run(work)


@cli.command("import")
@click.argument("mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where the CSV files are (default: beside the mapping file).",
)
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid rows; write the others to a reject file."
)
@click.option(
    "--reject-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("rejected.csv"),
    show_default=True,
    help="Where --skip-invalid writes the rejected rows.",
)
@click.option(
    "--allow-unlinked", is_flag=True, help="Import rows whose references are unknown, without the link."
)
def import_files(
    mapping_file: Path, data_dir: Path | None, skip_invalid: bool, reject_file: Path, allow_unlinked: bool
) -> None:
    """Import CSV exports described by MAPPING_FILE (TOML): validate all rows, then upsert."""

    async def work(store: GraphStore) -> None:
        await MigrationRunner(store).migrate()
        schema = await CustomFields(store).load()
        mapping = load_mapping(mapping_file, schema, data_dir)
        with click.progressbar(length=0, label="importing", file=sys.stderr) as bar:
            try:
                report = await run_import(
                    store, mapping, schema, skip_invalid=skip_invalid, allow_unlinked=allow_unlinked,
                    on_progress=bar.update,
                )  # fmt: skip
            except ImportRejected as rejected:
                for issue in rejected.issues:
                    click.echo(str(issue), err=True)
                raise
        for label, c in report.counts.items():
            click.echo(f"{label}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged")
        click.echo(f"relationships: {report.links} linked, {report.unlinked} left unlinked")
        if report.rejected:
            write_rejects(reject_file, report)
            click.echo(f"rejected: {len(report.rejected)} row(s), written to {reject_file}")

    _run(work)


@cli.command()
@click.option(
    "--as-of",
    type=_MOMENT,
    default=None,
    help="The moment (UTC) the strengths describe; later interactions are ignored. [default: now]",
)
@click.option(
    "--window-days",
    type=click.FloatRange(min=1),
    default=WINDOW_DAYS,
    show_default=True,
    help="Interactions older than this do not count.",
)
@click.option(
    "--half-life-days",
    type=click.FloatRange(min=1),
    default=HALF_LIFE_DAYS,
    show_default=True,
    help="Recency halves every this many days.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=2_000,
    show_default=True,
    help="Customers per query and write transaction.",
)
def strength(as_of: datetime | None, window_days: float, half_life_days: float, batch_size: int) -> None:
    """Recompute relationship strength (0-100) for every interacting pair of people.

    Stored on CONNECTED_TO relationships (User->Customer, and Customer<->Customer
    both ways), replacing the previous values; the server does this every
    RAPPORT_STRENGTH_INTERVAL seconds when that is set.
    """

    async def work(store: GraphStore) -> None:
        report = await compute_strength(
            store, as_of=as_of, window_days=window_days, half_life_days=half_life_days, batch_size=batch_size
        )
        click.echo(f"relationship strength as of {_when(report.as_of)} on {store.backend}: {report}")

    _run(work)


@cli.command()
@click.argument("kinds", nargs=-1, type=click.Choice(["customers", "accounts"]))
@click.option(
    "--min-similarity",
    type=click.FloatRange(0.5, 1),
    default=0.9,
    show_default=True,
    help="Name similarity from which names count as similar.",
)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Leave out groups less certain than this.",
)
def duplicates(kinds: tuple[str, ...], min_similarity: float, min_confidence: float) -> None:
    """List likely duplicate customers and/or accounts (both when none is named), for review.

    Nothing is merged or changed.
    """
    labels: list[DuplicateLabel] = [
        "Customer" if kind == "customers" else "Account" for kind in kinds or ("customers", "accounts")
    ]

    async def work(store: GraphStore) -> None:
        for label in labels:
            groups = await find_duplicates(
                store, label, min_similarity=min_similarity, min_confidence=min_confidence
            )
            click.echo(f"{label}: {len(groups)} group(s) of likely duplicates")
            for number, group in enumerate(groups, 1):
                click.echo(f"\n{number}. confidence {group.confidence:.2f}, {len(group.members)} records")
                for m in group.members:
                    click.echo(f"   {m.id}  {m.name}  {m.contact}".rstrip())
                for reason in group.reasons:
                    click.echo(f"   - {reason.detail} ({', '.join(reason.ids)})")

    _run(work)


@cli.command()
@click.option(
    "--dimensions",
    type=click.IntRange(2, 2048),
    default=TrainingConfig.dimensions,
    show_default=True,
    help="Width of the embeddings.",
)
@click.option("--epochs", type=click.IntRange(1, 10_000), default=TrainingConfig.epochs, show_default=True)
@click.option("--seed", "seed_value", type=int, default=TrainingConfig.seed, show_default=True)
@click.option(
    "--as-of",
    type=_MOMENT,
    default=None,
    help="Embed the graph as it was at this moment (UTC): records created later are left out.",
)
@click.option(
    "--reuse-model",
    is_flag=True,
    help="Embed with the latest trained model instead of training one (records created since get "
    "vectors in the same space).",
)
def embed(dimensions: int, epochs: int, seed_value: int, as_of: datetime | None, reuse_model: bool) -> None:
    """Train GNN embeddings of customers and accounts, write them to the nodes and index them.

    A heterogeneous GraphSAGE over customers, accounts, deals, tickets,
    campaigns, products and staff, trained on link prediction; a GPU is used
    when there is one. The model file goes to the data directory's models/.
    """
    from rapport.algorithms.embeddings import embed as run_embed  # torch loads for this command only

    config = TrainingConfig(dimensions=dimensions, epochs=epochs, seed=seed_value)
    model_dir = load_settings().data_dir / "models"

    async def work(store: GraphStore) -> None:
        report = await run_embed(
            store,
            config,
            model_dir=model_dir,
            retrain=not reuse_model,
            as_of=_millis(as_of),
        )
        click.echo(f"embeddings on {store.backend}: {report}")

    _run(work)


@cli.command("similar")
@click.argument("label", type=click.Choice(EMBEDDED_LABELS, case_sensitive=False))
@click.argument("record_id")
@click.option("--k", type=click.IntRange(1, MAX_K), default=10, show_default=True, help="How many.")
def similar_records(label: str, record_id: str, k: int) -> None:
    """List the K customers or accounts most like RECORD_ID, by their embeddings (see `rapport embed`)."""

    async def work(store: GraphStore) -> None:
        matches = await similar(store, label, record_id, k)
        names = await display_names(store, label, [match.id for match in matches])
        click.echo(
            table([{"id": m.id, "name": names.get(m.id), "similarity": round(m.score, 4)} for m in matches])
        )

    _run(work)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="API processes.")
@click.option("--demo", is_flag=True, help="Seed a small demo graph if the graph is empty.")
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log every HTTP request (a line each; costs about 7% of the API's throughput).",
)
def serve(host: str, port: int, workers: int, demo: bool, access_log: bool) -> None:
    """Apply migrations (and seed the demo graph), then serve the API until SIGINT or SIGTERM."""

    async def prepare(store: GraphStore) -> None:
        await MigrationRunner(store).migrate()
        if demo and await graph_is_empty(store):
            report = await seed_demo(store, _DEMO_CUSTOMERS)
            click.echo(f"rapport: seeded a demo graph of {report.customers} customers")

    _run(prepare)
    settings = load_settings()
    with shared_embedded_database(settings, workers) as environment:
        secret = signing_secret(settings)
        if environment and secret:
            # Workers reach the embedded database as a server: hand them its generated token secret.
            environment["RAPPORT_JWT_SECRET"] = secret
        os.environ.update(environment)
        click.echo(f"rapport: serving the API on http://{host}:{port}/graphql ({workers} worker(s))")
        uvicorn.run(
            "rapport.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            **UVICORN_WEBSOCKET_OPTIONS,
            log_level="info",
            access_log=access_log,
        )
    click.echo("rapport: shut down")


@cli.group()
def fields() -> None:
    """Custom fields: typed properties added to a label at runtime."""


@fields.command("declare")
@click.argument("label")
@click.argument("name")
@click.argument("type", type=click.Choice([t.value for t in CUSTOM_FIELD_TYPES]))
@click.option("--required", is_flag=True, help="Every node of the label must have it.")
@click.option("--choice", "choices", multiple=True, help="An allowed value (enum fields).")
def declare_field(label: str, name: str, type: str, required: bool, choices: tuple[str, ...]) -> None:
    """Declare custom field NAME of TYPE on LABEL."""

    async def work(store: GraphStore) -> None:
        registry = CustomFields(store)
        await registry.load()
        field = await registry.declare(label, name, type, required=required, choices=choices)
        click.echo(f"declared {label}.{field.name} ({field.type.value}{', required' if required else ''})")

    _run(work)


@fields.command("drop")
@click.argument("label")
@click.argument("name")
def drop_field(label: str, name: str) -> None:
    """Forget custom field NAME of LABEL (values already stored stay, no longer validated)."""

    async def work(store: GraphStore) -> None:
        if not await CustomFields(store).drop(label, name):
            raise SchemaViolation.single(label, name, "not_declared", "is not a declared custom field")
        click.echo(f"dropped {label}.{name}")

    _run(work)


@fields.command("list")
def list_fields() -> None:
    """List the custom fields of every label."""

    async def work(store: GraphStore) -> None:
        schema = await CustomFields(store).load()
        for label, declared in schema.custom.items():
            for f in declared:
                extra = f" [{', '.join(f.choices)}]" if f.choices else ""
                click.echo(f"{label}.{f.name}: {f.type.value}{' required' if f.required else ''}{extra}")

    _run(work)


@cli.command("train")
@click.argument("kind", type=click.Choice(["churn", "deal", "lead"]))
@click.option(
    "--label",
    "label_source",
    type=click.Choice(["truth", "history"]),
    help="Labels: the demo graph's planted truth, or the outcomes in your data "
    "(default: truth where the graph has it, else history).",
)
@click.option(
    "--cutoff",
    type=_MOMENT,
    help="When the test period starts (UTC); see rapport.scoring.labels.",
)
@click.option("--horizon", type=click.IntRange(1, 3650), default=90, show_default=True, help="Days ahead.")
@click.option("--seed", "seed_value", type=int, default=42, show_default=True)
def train_model(
    kind: str, label_source: str | None, cutoff: datetime | None, horizon: int, seed_value: int
) -> None:
    """Train, evaluate and save a KIND model (churn, deal or lead) on a time split.

    Prints ROC AUC, PR AUC, Brier score and calibration, next to the same model
    trained without graph features.
    """
    from rapport.scoring.train import train  # imported here: LightGBM loads slowly

    async def work(store: GraphStore) -> None:
        report = await train(
            store, cast("Kind", kind), data_dir=load_settings().data_dir,
            label=cast("LabelSource | None", label_source),
            cutoff=_millis(cutoff), horizon_days=horizon, seed=seed_value,
        )  # fmt: skip
        click.echo(report.text())

    _run(work)


@cli.command("score")
@click.argument("kind", type=click.Choice(["churn", "deal", "lead", "all"]), default="all")
@click.option(
    "--as-of",
    type=_MOMENT,
    help="Describe records as of this moment (UTC; default: the latest event in the graph).",
)
def score_records(kind: str, as_of: datetime | None) -> None:
    """Score records with the latest model of KIND (default: all) and write the scores with their
    confidence, reasons, model version and time."""
    from rapport.scoring.score import score  # imported here: LightGBM loads slowly
    from rapport.scoring.targets import KINDS

    async def work(store: GraphStore) -> None:
        kinds = KINDS if kind == "all" else (cast("Kind", kind),)
        for run in await score(store, kinds, as_of=_millis(as_of)):
            click.echo(run.text())

    _run(work)


for _command in [*auth_commands(_run, _run_async), *network_commands(_run)]:
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``rapport`` console script."""
    cli()
