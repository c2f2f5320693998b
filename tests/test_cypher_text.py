"""The lexical helpers behind FalkorDB transactions and migration files."""

from __future__ import annotations

import pytest

from rapport.graph.cypher_text import final_return, rename_parameters, split_alias
from rapport.graph.errors import QueryError
from rapport.graph.falkordb_ddl import merged_indexes, translate
from rapport.migrations.files import split_statements


def test_parameters_are_renamed_outside_strings_and_comments() -> None:
    cypher = "MATCH (n {id: $id}) // $not\nWHERE n.x = '$literal' AND n.y = $y RETURN `$col`"
    assert rename_parameters(cypher, "s1_") == (
        "MATCH (n {id: $s1_id}) // $not\nWHERE n.x = '$literal' AND n.y = $s1_y RETURN `$col`"
    )


def test_the_final_top_level_return_is_found_with_its_items() -> None:
    clause = final_return(
        "MATCH (n) CALL { WITH n RETURN n.x AS inner } "
        "RETURN DISTINCT n.id AS id, count(*), {a: 1, b: [1, 2]} AS m ORDER BY id LIMIT 3"
    )
    assert clause is not None
    assert clause.items == ["n.id AS id", "count(*)", "{a: 1, b: [1, 2]} AS m"]
    assert clause.before == "MATCH (n) CALL { WITH n RETURN n.x AS inner } "
    assert clause.distinct
    assert clause.tail == "ORDER BY id LIMIT 3"
    assert final_return("CREATE (n:X)") is None
    with pytest.raises(QueryError):
        final_return("MATCH (n) RETURN *")


def test_column_names_follow_cypher() -> None:
    assert split_alias("n.id AS id") == ("n.id", "id")
    assert split_alias("count(*)") == ("count(*)", "count(*)")
    assert split_alias("x AS `odd name`") == ("x", "odd name")


def test_migration_files_split_on_top_level_semicolons() -> None:
    text = "// header; not a statement\nCREATE (:A {s: 'a;b'});\n/* ; */ MATCH (n) RETURN n;\n\n"
    assert split_statements(text) == ["CREATE (:A {s: 'a;b'})", "MATCH (n) RETURN n"]


@pytest.mark.parametrize(
    ("neo4j", "falkordb", "unique"),
    [
        ("CREATE CONSTRAINT account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.id IS UNIQUE",
         "CREATE INDEX FOR (n:Account) ON (n.id)", ("Account", ["id"])),
        ("CREATE INDEX deal_stage IF NOT EXISTS FOR (d:Deal) ON (d.stage, d.amount)",
         "CREATE INDEX FOR (n:Deal) ON (n.stage, n.amount)", None),
        ("CREATE INDEX touched_at FOR ()-[t:TOUCHED]-() ON (t.at)",
         "CREATE INDEX FOR ()-[r:TOUCHED]-() ON (r.at)", None),
        ("CREATE FULLTEXT INDEX customer_search IF NOT EXISTS FOR (n:Customer) "
         "ON EACH [n.firstName, n.email]",
         "CREATE FULLTEXT INDEX FOR (n:Customer) ON (n.firstName, n.email)", None),
        ("CREATE VECTOR INDEX emb IF NOT EXISTS FOR (n:Customer) ON (n.embedding) OPTIONS "
         "{indexConfig: {`vector.dimensions`: 64, `vector.similarity_function`: 'cosine'}}",
         "CREATE VECTOR INDEX FOR (n:Customer) ON (n.embedding) "
         "OPTIONS {dimension: 64, similarityFunction: 'cosine'}",
         None),
    ],
)  # fmt: skip
def test_neo4j_ddl_translates_to_falkordb(
    neo4j: str, falkordb: str, unique: tuple[str, list[str]] | None
) -> None:
    steps = translate(neo4j)
    assert steps.index is not None and steps.index.cypher == falkordb
    assert steps.unique == unique


def test_indexes_of_one_label_are_created_together_without_those_that_exist() -> None:
    steps = [
        translate("CREATE CONSTRAINT customer_id IF NOT EXISTS FOR (n:Customer) REQUIRE n.id IS UNIQUE"),
        translate("CREATE INDEX customer_email IF NOT EXISTS FOR (n:Customer) ON (n.email)"),
        translate("CREATE INDEX deal_stage IF NOT EXISTS FOR (n:Deal) ON (n.stage)"),
        translate(
            "CREATE FULLTEXT INDEX customer_search IF NOT EXISTS FOR (n:Customer) ON EACH [n.lastName]"
        ),
        translate("CREATE INDEX customer_city FOR (n:Customer) ON (n.city)"),  # no IF NOT EXISTS
    ]
    indexed = {("RANGE", "Customer", False): {"email"}, ("RANGE", "Deal", False): {"stage"}}
    assert [index.cypher for index in merged_indexes(steps, indexed)] == [
        "CREATE INDEX FOR (n:Customer) ON (n.id)",
        "CREATE FULLTEXT INDEX FOR (n:Customer) ON (n.lastName)",
        "CREATE INDEX FOR (n:Customer) ON (n.city)",
    ]


def test_unsupported_ddl_is_refused_by_name() -> None:
    with pytest.raises(QueryError, match="unsupported schema statement"):
        translate("CREATE CONSTRAINT c FOR (n:A) REQUIRE n.x IS NOT NULL")
