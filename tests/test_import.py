"""CSV import: mapped, validated before writing, idempotent, with every bad row reported."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from rapport.graph.types import GraphStore
from rapport.importer.mapping import MappingError, load_mapping
from rapport.importer.run import ImportRejected, ImportReport, run_import, write_rejects
from rapport.migrations.runner import MigrationRunner
from rapport.schema.validation import Schema
from tests.outbox_state import recorded_events

EXAMPLES = Path(__file__).parent.parent / "examples" / "import"
SCHEMA = Schema()

MAPPING = """
[defaults]
date_format = "%d.%m.%Y"
thousands_separator = "."
decimal_separator = ","
currency = "EUR"

[[entity]]
label = "Account"
file = "accounts.csv"
key = "AccId"
fields = { name = "Company", employees = "Staff", annualRevenue = "Revenue", industry = "Sector" }
values.industry = { "Tech" = "Software" }

[[entity]]
label = "Deal"
file = "deals.csv"
key = "DealId"
fields = { name = "Title", stage = "Stage", amount = "Value", expectedCloseAt = "Close" }
values.stage = { "Won" = "closed_won", "Open" = "proposal" }
[[entity.link]]
type = "FOR_ACCOUNT"
column = "Account"
to = "Account"
required = true
"""

TITLED_MAPPING = """
[[entity]]
label = "Account"
file = "accounts.csv"
key = "Id"
fields = { name = "Name" }

[[entity]]
label = "Customer"
file = "contacts.csv"
key = "Id"
fields = { firstName = "First", lastName = "Last" }
[[entity.link]]
type = "WORKS_AT"
column = "Company"
to = "Account"
fields = { title = "Title" }
"""


def write_csv(path: Path, rows: list[list[str]], *, bom: bool = False, crlf: bool = False) -> None:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n" if crlf else "\n").writerows(rows)


def project(tmp_path: Path, accounts: list[list[str]], deals: list[list[str]]) -> Path:
    (tmp_path / "mapping.toml").write_text(MAPPING)
    write_csv(
        tmp_path / "accounts.csv", [["AccId", "Company", "Staff", "Revenue", "Sector"], *accounts], bom=True
    )
    write_csv(
        tmp_path / "deals.csv", [["DealId", "Title", "Stage", "Value", "Close", "Account"], *deals], crlf=True
    )
    return tmp_path / "mapping.toml"


GOOD_ACCOUNTS = [
    ["A1", "Müller & Söhne", "1.250", "2.500.000,50", "Tech"],
    ["A2", "Lumen\nLabs", "", "", ""],  # a quoted name across two lines; empty cells are missing values
]
GOOD_DEALS = [["D1", "Renewal", "Won", "12.500,00", "31.12.2026", "A1"]]


async def imported(store: GraphStore, mapping: Path, **options: bool) -> ImportReport:
    await MigrationRunner(store).migrate()
    return await run_import(store, load_mapping(mapping, SCHEMA), SCHEMA, **options)


async def test_rows_are_mapped_typed_and_linked(store: GraphStore, tmp_path: Path) -> None:
    report = await imported(store, project(tmp_path, GOOD_ACCOUNTS, GOOD_DEALS))
    assert report.counts["Account"].created == 2 and report.counts["Deal"].created == 1
    rows = await store.read(
        "MATCH (a:Account) RETURN a.externalId AS key, a.name AS name, a.employees AS employees, "
        "a.annualRevenue AS revenue, a.currency AS currency, a.industry AS industry ORDER BY key"
    )
    assert rows == [
        {"key": "A1", "name": "Müller & Söhne", "employees": 1250, "revenue": 250_000_050,
         "currency": "EUR", "industry": "Software"},
        {"key": "A2", "name": "Lumen\nLabs", "employees": None, "revenue": None,
         "currency": "EUR", "industry": None},
    ]  # fmt: skip
    deal = await store.read(
        "MATCH (d:Deal)-[:FOR_ACCOUNT]->(a:Account) RETURN d.stage AS stage, d.amount AS amount, "
        "d.expectedCloseAt AS close, a.externalId AS account, d.id AS id, d.version AS version"
    )
    assert deal[0] | {"id": None} == {"stage": "closed_won", "amount": 1_250_000, "close": 1_798_675_200_000,
                                      "account": "A1", "id": None, "version": 1}  # fmt: skip


async def test_importing_twice_changes_nothing_and_a_changed_row_updates(
    store: GraphStore, tmp_path: Path
) -> None:
    mapping = project(tmp_path, GOOD_ACCOUNTS, GOOD_DEALS)
    await imported(store, mapping)
    before = await store.read("MATCH (n) RETURN n.id AS id, n.updatedAt AS at, n.version AS v ORDER BY id")
    again = await imported(store, mapping)
    assert again.counts["Account"].unchanged == 2 and again.counts["Deal"].unchanged == 1
    assert (
        await store.read("MATCH (n) RETURN n.id AS id, n.updatedAt AS at, n.version AS v ORDER BY id")
        == before
    )
    assert await store.read("MATCH ()-[r:FOR_ACCOUNT]->() RETURN count(r) AS n") == [{"n": 1}]

    changed = [["A1", "Müller & Söhne", "1.300", "", "Tech"], GOOD_ACCOUNTS[1]]
    report = await imported(store, project(tmp_path, changed, GOOD_DEALS))
    assert (report.counts["Account"].updated, report.counts["Account"].unchanged) == (1, 1)
    row = await store.read(
        "MATCH (a:Account {externalId: 'A1'}) RETURN a.employees AS e, a.annualRevenue AS r, a.version AS v"
    )
    assert row == [{"e": 1300, "r": None, "v": 2}]  # the emptied cell removed the value


async def test_an_import_records_what_it_created_changed_and_linked_as_change_events(
    store: GraphStore, tmp_path: Path
) -> None:
    mapping = project(tmp_path, GOOD_ACCOUNTS, GOOD_DEALS)
    await imported(store, mapping)
    events = await recorded_events(store)
    assert [(e["type"], e["label"], e["actor"]) for e in events] == [
        ("created", "Account", "import"), ("created", "Account", "import"), ("created", "Deal", "import"),
        ("linked", "FOR_ACCOUNT", "import"),
    ]  # fmt: skip
    (a1,) = await store.read("MATCH (a:Account {externalId: 'A1'}) RETURN properties(a) AS a")
    (deal,) = await store.read("MATCH (d:Deal) RETURN d.id AS id")
    assert events[0]["ids"] == [a1["a"]["id"]]
    assert events[0]["fields"] == {name: [None, value] for name, value in a1["a"].items()}
    assert (events[3]["ids"], events[3]["labels"]) == ([deal["id"], a1["a"]["id"]], ["Deal", "Account"])
    seen = events[-1]["seq"]

    await imported(store, mapping)
    assert await recorded_events(store, seen) == []  # unchanged: nothing written, nothing recorded

    await imported(store, project(tmp_path, [["A1", "Müller & Söhne", "1.300", "", "Tech"]], GOOD_DEALS))
    (updated,) = await recorded_events(store, seen)
    (now,) = await store.read("MATCH (a:Account {externalId: 'A1'}) RETURN a.updatedAt AS at")
    assert (updated["type"], updated["ids"]) == ("updated", [a1["a"]["id"]])
    assert updated["fields"] == {
        "employees": [1250, 1300], "annualRevenue": [250_000_050, None],
        "updatedAt": [a1["a"]["updatedAt"], now["at"]], "version": [1, 2],
    }  # fmt: skip


async def test_a_relationship_whose_properties_an_import_changes_is_recorded_as_updated(
    store: GraphStore, tmp_path: Path
) -> None:
    (tmp_path / "mapping.toml").write_text(TITLED_MAPPING)
    write_csv(tmp_path / "accounts.csv", [["Id", "Name"], ["A1", "Acme"]])
    for title in ("Engineer", "CTO"):
        write_csv(tmp_path / "contacts.csv", [["Id", "First", "Last", "Company", "Title"],
                                              ["C1", "Ada", "Lovelace", "A1", title]])  # fmt: skip
        await imported(store, tmp_path / "mapping.toml")
    events = await recorded_events(store)
    (ends,) = await store.read("MATCH (c:Customer)-[:WORKS_AT]->(a:Account) RETURN [c.id, a.id] AS ids")
    assert [(e["type"], e["label"], e["ids"], e["fields"]) for e in events][2:] == [
        ("linked", "WORKS_AT", ends["ids"], {"title": [None, "Engineer"]}),
        ("updated", "WORKS_AT", ends["ids"], {"title": ["Engineer", "CTO"]}),
    ]


async def test_every_bad_row_is_reported_and_nothing_is_written(store: GraphStore, tmp_path: Path) -> None:
    accounts = [
        GOOD_ACCOUNTS[0],
        ["A2", "", "12", "", ""],  # line 3: name required
        ["A3", "Gamma", "twelve", "1,5,5", ""],  # line 4: two bad numbers
        ["A1", "Again", "", "", ""],  # line 5: duplicate key
    ]
    deals = [
        ["D1", "Renewal", "Lost?", "12.500,00", "2026-12-31", "A1"],  # stage and date
        ["D2", "Orphan", "Open", "1.000,00", "01.01.2027", "A9"],  # unknown account
        ["D3", "Homeless", "Open", "1.000,00", "01.01.2027", ""],  # missing account
    ]
    with pytest.raises(ImportRejected) as rejected:
        await imported(store, project(tmp_path, accounts, deals))
    found = {(i.file, i.line, i.column, i.rule) for i in rejected.value.issues}
    assert found == {
        ("accounts.csv", 3, "Company", "required"),
        ("accounts.csv", 4, "Staff", "number"),
        ("accounts.csv", 4, "Revenue", "number"),
        ("accounts.csv", 5, "AccId", "duplicate_key"),
        ("deals.csv", 2, "Stage", "enum"),
        ("deals.csv", 2, "Close", "date_format"),
        ("deals.csv", 3, "Account", "unknown_reference"),
        ("deals.csv", 4, "Account", "missing_reference"),
    }
    message = "deals.csv:3: column 'Account': no Account with externalId 'A9' (rule: unknown_reference)"
    assert message in {str(i) for i in rejected.value.issues}
    assert await store.read("MATCH (n) WHERE n:Account OR n:Deal RETURN count(n) AS n") == [{"n": 0}]


async def test_skip_invalid_imports_the_good_rows_and_keeps_the_rejects(
    store: GraphStore, tmp_path: Path
) -> None:
    accounts = [GOOD_ACCOUNTS[0], ["A2", "", "12", "", ""]]
    deals = [GOOD_DEALS[0], ["D2", "Needs A2", "Open", "1,00", "01.01.2027", "A2"]]  # A2 is rejected too
    report = await imported(store, project(tmp_path, accounts, deals), skip_invalid=True)
    assert report.counts["Account"].created == 1 and report.counts["Deal"].created == 1
    assert [(r.line, r.key) for r in report.rejected] == [(3, "A2"), (3, "D2")]
    write_rejects(tmp_path / "rejects.csv", report)
    with (tmp_path / "rejects.csv").open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [(r["file"], r["line"], r["rule"]) for r in lines] == [
        ("accounts.csv", "3", "required"), ("deals.csv", "3", "unknown_reference"),
    ]  # fmt: skip


async def test_unknown_references_can_be_imported_unlinked(store: GraphStore, tmp_path: Path) -> None:
    deals = [["D2", "Orphan", "Open", "1.000,00", "01.01.2027", "A9"]]
    report = await imported(store, project(tmp_path, GOOD_ACCOUNTS, deals), allow_unlinked=True)
    assert report.unlinked == 1 and report.counts["Deal"].created == 1
    assert await store.read("MATCH (d:Deal)-[r]->() RETURN count(r) AS n") == [{"n": 0}]


async def test_references_resolve_against_records_already_in_the_graph(
    store: GraphStore, tmp_path: Path
) -> None:
    await imported(store, project(tmp_path, GOOD_ACCOUNTS, []))
    write_csv(tmp_path / "accounts.csv", [["AccId", "Company", "Staff", "Revenue", "Sector"]])
    report = await imported(store, project(tmp_path, [], GOOD_DEALS))
    assert report.links == 1


@pytest.mark.parametrize("example", ["salesforce", "hubspot"])
async def test_the_example_exports_import(store: GraphStore, tmp_path: Path, example: str) -> None:
    shutil.copytree(EXAMPLES / example, tmp_path / example)
    report = await imported(store, tmp_path / example / "mapping.toml")
    assert not report.rejected and report.links > 0
    assert all(c.created > 0 for c in report.counts.values())
    again = await imported(store, tmp_path / example / "mapping.toml")
    assert all(c.created == c.updated == 0 for c in again.counts.values())


def test_mapping_mistakes_name_the_entry(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(
        '[[entity]]\nlabel = "Account"\nfile = "a.csv"\nkey = "Id"\nfields = { nam = "Name" }\n'
    )
    with pytest.raises(MappingError, match="'nam' is not a field of Account"):
        load_mapping(tmp_path / "m.toml", SCHEMA)
    (tmp_path / "m.toml").write_text(
        '[[entity]]\nlabel = "Deal"\nfile = "a.csv"\nkey = "Id"\n'
        '[[entity.link]]\ntype = "WORKS_AT"\ncolumn = "X"\nto = "Account"\n'
    )
    with pytest.raises(MappingError, match="WORKS_AT cannot join Deal to Account"):
        load_mapping(tmp_path / "m.toml", SCHEMA)


async def test_a_column_missing_from_the_header_is_a_mapping_error(store: GraphStore, tmp_path: Path) -> None:
    mapping = project(tmp_path, GOOD_ACCOUNTS, GOOD_DEALS)
    write_csv(tmp_path / "accounts.csv", [["AccId", "Company"], ["A1", "Acme"]])
    with pytest.raises(
        MappingError, match="columns 'Staff', 'Revenue', 'Sector' named in the mapping are not in the header"
    ):
        await imported(store, mapping)
