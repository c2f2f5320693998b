"""Scoring models, on each backend: trained on a small demo graph they rank better than chance,
explain themselves in sentences, write their scores with confidence, reasons, version and time,
record an outbox event when a score moves, rescore only what a change touches; the CLI runs
``rapport train`` and ``rapport score`` end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio

from rapport.auth.actor import Actor, Role
from rapport.demo.seed import seed_demo
from rapport.graph.types import GraphStore
from rapport.scoring.data_time import data_end
from rapport.scoring.reasons import Reason
from rapport.scoring.score import rescore, score
from rapport.scoring.targets import KINDS
from rapport.scoring.train import TrainingReport, train
from rapport.scoring.writer import ScoreUpdate, ScoreValue, write_scores
from tests.conftest import store_environment
from tests.outbox_state import recorded_events
from tests.test_cli import assert_one_line_error, run

CUSTOMERS = 3_000  # small, yet with enough accounts, deals and leads to learn from


@pytest_asyncio.fixture(scope="module")
async def trained(
    session_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> tuple[GraphStore, Path, dict[str, TrainingReport]]:
    """A demo graph with a model of each kind trained on its planted truth, then scored."""
    await session_store.clear()
    await seed_demo(session_store, CUSTOMERS, seed=7)
    data_dir = tmp_path_factory.mktemp("models")
    reports = {kind: await train(session_store, kind, data_dir=data_dir, label="truth") for kind in KINDS}
    await score(session_store)
    return session_store, data_dir, reports


async def _outbox(store: GraphStore, label: str, after: int = 0) -> list[dict[str, Any]]:
    return [event for event in await recorded_events(store, after) if event["label"] == label]


async def test_trained_models_rank_better_than_chance(
    trained: tuple[GraphStore, Path, dict[str, TrainingReport]],
) -> None:
    store, data_dir, reports = trained
    for kind, report in reports.items():
        assert report.with_graph.roc_auc > 0.55, (kind, report.text())
        assert 0 < report.with_graph.brier < 0.25
        assert report.columns["graph"] > 0 and report.columns["tabular"] > 0
        assert Path(report.record.file).is_file() and Path(report.record.file).is_relative_to(data_dir)
        assert "tabular only" in report.text() and "ceiling" in report.text()
    models = await store.read(
        "MATCH (m:_Model) RETURN m.kind AS kind, m.version AS version, m.features AS features"
    )
    assert sorted(m["kind"] for m in models) == sorted(KINDS)
    assert all(m["version"].startswith(m["kind"]) and m["features"] for m in models)


async def test_scores_and_their_siblings_are_on_the_records(
    trained: tuple[GraphStore, Path, dict[str, TrainingReport]],
) -> None:
    store, _, reports = trained
    at = await data_end(store)
    accounts = await store.read(
        "MATCH (a:Account) RETURN a.churnRisk AS risk, a.healthScore AS health, "
        "a.churnRiskConfidence AS confidence, a.churnRiskReasons AS reasons, "
        "a.healthScoreReasons AS health_reasons, a.churnRiskModel AS model, a.churnRiskAt AS at"
    )
    assert accounts and all(0 <= a["risk"] <= 1 for a in accounts)
    for a in accounts:
        assert a["health"] == round(100 * (1 - a["risk"])) and 0 <= a["confidence"] <= 1
        assert a["model"] == reports["churn"].record.version and a["at"] == at
        reasons = orjson.loads(a["reasons"])
        assert [r["contribution"] for r in orjson.loads(a["health_reasons"])] == [
            -r["contribution"] for r in reasons
        ]
    open_deals = await store.read(
        "MATCH (d:Deal) WHERE NOT d.stage IN ['closed_won', 'closed_lost'] "
        "RETURN count(d) AS n, count(d.winProbability) AS scored, count(d.winProbabilityModel) AS versioned"
    )
    assert open_deals[0]["n"] == open_deals[0]["scored"] == open_deals[0]["versioned"] > 0
    closed = await store.read(
        "MATCH (d:Deal) WHERE d.stage = 'closed_won' RETURN count(d.winProbability) AS n"
    )
    assert closed[0]["n"] == 0
    leads = await store.read(
        "MATCH (c:Customer {lifecycleStage: 'lead'}) "
        "RETURN count(c) AS n, count(c.conversionProbability) AS scored, count(c.churnRisk) AS churn"
    )
    assert leads[0]["n"] == leads[0]["scored"] > 0 and leads[0]["churn"] == 0
    people = await store.read(
        "MATCH (a:Account)<-[w:WORKS_AT]-(c:Customer {lifecycleStage: 'customer'}) WHERE w.until IS NULL "
        "RETURN a.churnRisk AS account, c.churnRisk AS person, c.churnRiskModel AS model LIMIT 20"
    )
    assert people and all(p["person"] is not None and p["model"] for p in people)


async def test_reasons_are_sentences_with_contributions(
    trained: tuple[GraphStore, Path, dict[str, TrainingReport]],
) -> None:
    store, _, _ = trained
    rows = await store.read(
        "MATCH (a:Account) RETURN a.churnRiskReasons AS r UNION ALL "
        "MATCH (d:Deal) WHERE d.winProbabilityReasons IS NOT NULL RETURN d.winProbabilityReasons AS r "
        "UNION ALL MATCH (c:Customer) WHERE c.conversionProbabilityReasons IS NOT NULL "
        "RETURN c.conversionProbabilityReasons AS r"
    )
    explained = [orjson.loads(row["r"]) for row in rows]
    assert sum(bool(reasons) for reasons in explained) > 0.9 * len(explained)
    for reasons in explained:
        assert len(reasons) <= 3
        contributions = [abs(r["contribution"]) for r in reasons]
        assert contributions == sorted(contributions, reverse=True) and all(c > 0 for c in contributions)
        for reason in reasons:
            text = reason["text"]
            assert (
                isinstance(text, str) and (text[0].isupper() or text[0].isdigit()) and len(text.split()) >= 3
            )
            assert "nan" not in text.lower().split() and "None" not in text


async def test_a_score_that_moves_records_an_event_and_a_tiny_move_does_not(
    trained: tuple[GraphStore, Path, dict[str, TrainingReport]],
) -> None:
    store, _, _ = trained
    first_events = await _outbox(store, "Account")
    assert first_events and all(e["type"] == "updated" and "churnRisk" in e["fields"] for e in first_events)
    assert all(e["fields"]["churnRisk"][0] is None for e in first_events[:5])  # scored for the first time
    row = (await store.read("MATCH (a:Account) RETURN a.id AS id, a.churnRisk AS risk ORDER BY id LIMIT 1"))[
        0
    ]
    actor = Actor(subject="model:test", role=Role.ADMIN)
    reason = Reason("3 urgent tickets in the last 30 days, mostly negative", 0.4)
    last = first_events[-1]["seq"]

    async def write(value: float) -> None:
        update = ScoreUpdate("Account", row["id"], (ScoreValue("churnRisk", value, 0.8, [reason]),))
        await write_scores(store, [update], model="churn-test", at=1, actor=actor)

    await write(row["risk"] + 0.004)
    assert await _outbox(store, "Account", last) == []
    moved = 0.75 if row["risk"] < 0.5 else 0.25  # exact in binary: FalkorDB answers 15 significant digits
    await write(moved)
    events = await _outbox(store, "Account", last)
    assert [(e["ids"], e["actor"]) for e in events] == [([row["id"]], "model:test")]
    assert events[0]["fields"] == {"churnRisk": [pytest.approx(row["risk"] + 0.004), moved]}
    stored = (
        await store.read(
            "MATCH (a:Account {id: $id}) RETURN a.churnRisk AS risk, a.churnRiskReasons AS reasons, "
            "a.churnRiskModel AS model, a.churnRiskAt AS at, a.churnRiskConfidence AS confidence",
            {"id": row["id"]},
        )
    )[0]
    assert stored == {
        "risk": moved, "model": "churn-test", "at": 1, "confidence": 0.8,
        "reasons": '[{"text":"3 urgent tickets in the last 30 days, mostly negative","contribution":0.4}]',
    }  # fmt: skip


async def test_rescoring_after_a_change_touches_only_the_records_it_reaches(
    trained: tuple[GraphStore, Path, dict[str, TrainingReport]],
) -> None:
    store, _, _ = trained
    person = (
        await store.read(
            "MATCH (c:Customer {lifecycleStage: 'customer'})-[w:WORKS_AT]->(a:Account) "
            "WITH c, collect(a) AS employers, collect(w.until) AS ends "
            "WHERE size(employers) = 1 AND size(ends) = 0 "
            "RETURN employers[0].id AS account, c.id AS customer ORDER BY account DESC LIMIT 1"
        )
    )[0]
    at = await data_end(store)
    await store.write(
        "MATCH (c:Customer {id: $customer}) CREATE (k:Ticket {id: 'rescore-ticket', subject: 'Outage', "
        "priority: 'urgent', status: 'open', channel: 'email', createdAt: $at, "
        "description: 'Broken again, we are cancelling'})-[:RAISED_BY]->(c)",
        {"customer": person["customer"], "at": at},
    )
    try:
        runs = await rescore(store, {"Ticket": ["rescore-ticket"]})
    finally:
        await store.write("MATCH (k:Ticket {id: 'rescore-ticket'}) DETACH DELETE k")
    written = {run.kind: {label: w.records for label, w in run.written.items()} for run in runs}
    assert written["churn"]["Account"] == 1 and written["churn"]["Customer"] >= 1
    assert written.get("lead", {}) == {} and "deal" not in written
    rescored = await store.read(
        "MATCH (a:Account) WHERE a.churnRiskAt = $at RETURN a.id AS id", {"at": at + 1}
    )
    assert [r["id"] for r in rescored] == [person["account"]]


def _store_env(store: GraphStore, data_dir: Path) -> dict[str, str]:
    return store_environment(store) | {"RAPPORT_DATA_DIR": str(data_dir)}


async def test_train_and_score_commands_end_to_end(
    trained: tuple[GraphStore, Path, dict[str, TrainingReport]], tmp_path: Path
) -> None:
    store, _, _ = trained
    env = _store_env(store, tmp_path)
    trained_cli = run("train", "deal", "--label", "history", "--cutoff", "2026-06-01", env=env, timeout=300)
    assert trained_cli.returncode == 0, trained_cli.stderr
    assert "closed before 2026-06-01" in trained_cli.stdout
    assert "with graph" in trained_cli.stdout and "tabular only" in trained_cli.stdout
    assert "roc_auc" in trained_cli.stdout and "brier" in trained_cli.stdout
    version = trained_cli.stdout.split()[1]
    assert (tmp_path / "models" / "deal" / f"{version}.json").is_file()
    scored = run("score", "deal", env=env, timeout=300)
    assert scored.returncode == 0, scored.stderr
    assert scored.stdout.startswith(f"deal: model {version} scored Deal ")
    versions = await store.read(
        "MATCH (d:Deal) WHERE d.winProbability IS NOT NULL RETURN DISTINCT d.winProbabilityModel AS v"
    )
    assert [v["v"] for v in versions] == [version]
    churn = run("train", "churn", "--label", "history", env=env, timeout=300)
    assert_one_line_error(churn, "rapport: error: churn --label history", "too few to learn from")


@pytest.mark.parametrize("command", [("score", "churn"), ("train", "lead")])
def test_scoring_commands_explain_a_missing_graph_or_model_in_one_line(
    command: tuple[str, str], tmp_path: Path
) -> None:
    result = run(*command, env={"RAPPORT_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "rapport: error:")
