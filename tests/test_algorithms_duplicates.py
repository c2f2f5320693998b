"""Likely duplicate customers and accounts: grouped with the evidence that links them and a
confidence, for review; records that merely look alike stay apart, and nothing is merged."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from typing import Any

import pytest

from rapport.algorithms.duplicates import (
    DuplicateGroup,
    _NameSimilarity,
    find_duplicates,
    group_duplicates,
    name_tokens,
    normalise_domain,
    normalise_email,
)
from rapport.graph.types import GraphStore
from tests.test_cli import run, store_env

__all__ = ["store_env"]  # a fixture, used by name

CUSTOMERS = [
    # Ada: one email written two ways, and a third record with a typo at the same company.
    {"id": "ada-1", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@analytical.example"},
    {"id": "ada-2", "firstName": "ADA", "lastName": "LOVELACE", "email": "Ada+crm@Analytical.example"},
    {"id": "ada-3", "firstName": "Ada", "lastName": "Lovelase", "email": "a.lovelace@analytical.example"},
    # Grace: the same phone number, formatted differently, and different emails.
    {"id": "grace-1", "firstName": "Grace", "lastName": "Hopper", "email": "grace@navy.example",
     "phone": "+44 20 7946 0958"},
    {"id": "grace-2", "firstName": "Grace M.", "lastName": "Hopper", "email": "ghopper@fleet.example",
     "phone": "+44 (0)20 7946 0958"},
    # Alike but not duplicates: a colleague at Ada's company; namesakes on a free-mail domain;
    # a different first name that only resembles another at the same company.
    {"id": "charles", "firstName": "Charles", "lastName": "Babbage", "email": "charles@analytical.example"},
    {"id": "john-1", "firstName": "John", "lastName": "Smith", "email": "john.smith@gmail.com"},
    {"id": "john-2", "firstName": "John", "lastName": "Smith", "email": "jsmith1970@gmail.com"},
    {"id": "mary", "firstName": "Mary", "lastName": "Babbage", "email": "mary@analytical.example"},
] + [
    # A switchboard number shared by six people is not evidence.
    {"id": f"desk-{i}", "firstName": name, "lastName": "Desk", "phone": "+49 30 901820"}
    for i, name in enumerate(["Ann", "Ben", "Cleo", "Dev", "Eve", "Finn"])
]  # fmt: skip

ACCOUNTS = [
    {"id": "acme-1", "name": "Acme Inc", "domain": "acme.example"},
    {"id": "acme-2", "name": "ACME, Inc.", "domain": "https://www.Acme.example/about"},
    {"id": "globex-1", "name": "Globex Corporation"},
    {"id": "globex-2", "name": "Globex Corp."},
    # Alike but not duplicates: numbered siblings, and names sharing a common word.
    {"id": "acme-systems-2", "name": "Acme Systems 2", "domain": "acme-systems-2.example"},
    {"id": "acme-systems-3", "name": "Acme Systems 3", "domain": "acme-systems-3.example"},
    {"id": "horizon", "name": "Horizon Partners", "domain": "horizon.example"},
    {"id": "orion", "name": "Orion Partners", "domain": "orion.example"},
    {"id": "partners-1", "name": "Cedar Partners"},
    {"id": "partners-2", "name": "Willow Partners"},
]


async def plant(store: GraphStore, label: str, rows: Sequence[dict[str, Any]]) -> None:
    await store.write(f"UNWIND $rows AS row CREATE (n:{label}) SET n = row", {"rows": list(rows)})


def membership(groups: Sequence[DuplicateGroup]) -> list[set[str]]:
    return [{m.id for m in g.members} for g in groups]


def kinds(group: DuplicateGroup) -> set[str]:
    return {reason.kind for reason in group.reasons}


async def test_duplicate_customers_are_grouped_with_their_reasons(store: GraphStore) -> None:
    await plant(store, "Customer", CUSTOMERS)
    groups = await find_duplicates(store, "Customer")
    assert membership(groups) == [{"grace-1", "grace-2"}, {"ada-1", "ada-2", "ada-3"}]
    grace, ada = groups
    assert kinds(grace) == {"phone"}
    assert [r.detail for r in grace.reasons] == ["same phone +442079460958"]
    assert grace.confidence == 0.85
    assert kinds(ada) == {"email", "name"}
    assert ada.reasons[0].detail == "same email ada@analytical.example"
    assert set(ada.reasons[0].ids) == {"ada-1", "ada-2"}
    typo = next(r for r in ada.reasons if set(r.ids) == {"ada-1", "ada-3"})
    assert typo.detail.startswith("similar names (0.9")
    assert typo.detail.endswith("at analytical.example: 'Ada Lovelace' ~ 'Ada Lovelase'")
    # ada-3 hangs on by a name alone: the group is as sure as that weakest link.
    assert ada.confidence == typo.confidence < 0.8
    assert await store.read("MATCH (c:Customer) RETURN count(c) AS n") == [{"n": len(CUSTOMERS)}]


async def test_duplicate_accounts_share_a_domain_or_a_name_without_its_legal_form(store: GraphStore) -> None:
    await plant(store, "Account", ACCOUNTS)
    groups = await find_duplicates(store, "Account")
    assert membership(groups) == [{"acme-1", "acme-2"}, {"globex-1", "globex-2"}]
    acme, globex = groups
    assert kinds(acme) == {"domain", "name"}
    assert acme.reasons[0].detail == "same domain acme.example"
    assert acme.confidence == pytest.approx(1 - (1 - 0.9) * (1 - 0.85))
    assert [r.detail for r in globex.reasons] == ["same name: 'Globex Corporation' ~ 'Globex Corp.'"]
    assert globex.confidence == 0.85
    assert [m.contact for m in acme.members] == ["acme.example", "https://www.Acme.example/about"]


async def test_groups_below_the_confidence_asked_for_are_left_out(store: GraphStore) -> None:
    await plant(store, "Customer", CUSTOMERS)
    assert membership(await find_duplicates(store, "Customer", min_confidence=0.8)) == [
        {"grace-1", "grace-2"}
    ]


def test_names_and_addresses_are_compared_normalised() -> None:
    assert normalise_email(" Ada+Newsletter@Example.COM ") == "ada@example.com"
    assert normalise_domain("HTTPS://www.Acme.example:443/about?x=1") == "acme.example"
    assert name_tokens("Lovelace, Ada M.") == ["ada", "lovelace"]
    assert name_tokens("Société Générale S.A.", drop_legal_forms=True) == ["generale", "societe"]
    assert name_tokens("The Company", drop_legal_forms=True) == ["company", "the"], "never empty"


def test_names_are_compared_within_blocks_not_all_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    letters = random.Random(3)
    rows = [
        {"id": f"a{i:04d}", "name": "".join(letters.choices(string.ascii_lowercase, k=9)) + " Labs"}
        for i in range(2_000)
    ] + [{"id": "q1", "name": "Quantum Dynamics"}, {"id": "q2", "name": "Quantum Dynamic"}]
    compared = 0
    similarity = _NameSimilarity.__call__

    def counting(self: _NameSimilarity, a: Sequence[str], b: Sequence[str]) -> float:
        nonlocal compared
        compared += 1
        return similarity(self, a, b)

    monkeypatch.setattr(_NameSimilarity, "__call__", counting)
    assert membership(group_duplicates("Account", rows)) == [{"q1", "q2"}]
    # Only names sharing the start or end of a token meet; "labs", on 2,000 names, is generic.
    assert compared < 100, f"{compared} comparisons of 2,001,000 pairs"
    with pytest.raises(ValueError, match="min_similarity"):
        group_duplicates("Account", rows, min_similarity=0)


async def test_the_duplicates_command_prints_groups_for_review(
    store: GraphStore, store_env: dict[str, str]
) -> None:
    await plant(store, "Customer", CUSTOMERS)
    await plant(store, "Account", ACCOUNTS)
    result = run("duplicates", "customers", env=store_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Customer: 2 group(s) of likely duplicates"
    assert "1. confidence 0.85, 2 records" in lines
    assert "   grace-1  Grace Hopper  grace@navy.example" in lines
    assert "   - same phone +442079460958 (grace-1, grace-2)" in lines
    assert "Account" not in result.stdout

    both = run("duplicates", "--min-confidence", "0.9", env=store_env)
    assert both.returncode == 0, both.stderr
    assert "Customer: 0 group(s) of likely duplicates" in both.stdout
    assert "Account: 1 group(s) of likely duplicates" in both.stdout
    assert "   acme-1  Acme Inc  acme.example" in both.stdout.splitlines()
