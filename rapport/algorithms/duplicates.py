"""Likely duplicate customers and accounts, grouped for review (never merged automatically).

Evidence that two records are one, each with a confidence:

============================  ==============================================  ==========
evidence                      rule                                            confidence
============================  ==============================================  ==========
same email (customers)        lower-cased, ``+tag`` dropped from the local    0.95
                              part
same phone (customers)        E.164                                           0.85
same domain (accounts)        lower-cased, without scheme, ``www.``, path     0.9
similar names (accounts)      similarity >= ``min_similarity``                0.85 x sim.
same email domain and         similarity >= ``min_similarity``; free-mail     0.8 x sim.
similar names (customers)     domains (gmail.com, ...) are not evidence
============================  ==============================================  ==========

Names are compared as normalised tokens: accents, punctuation and initials
removed, lower case, legal forms dropped for accounts (``Inc``, ``GmbH``, ...),
so "ACME, Inc." is "Acme" and "Lovelace, Ada M." is "Ada Lovelace". Their
similarity is a soft TF-IDF: each token counts with the weight
``log(1 + n / df)`` (``n`` records, ``df`` of them with the token), so rare
tokens decide and common ones ("partners", "smith") do not; a token matches
the most similar token of the other name when their :class:`difflib.SequenceMatcher`
ratio is at least 0.85 (numbers only when equal), and the similarity is the
matched share of both names' weight. "Horizon Partners" and "Orion Partners"
are therefore not similar, "Jon Smith" and "John Smith" are. A key that more
than ``max_shared`` records share (a switchboard phone, a shared inbox) is
generic, not evidence.

Names are compared only within blocks, never all pairs: records that share
the first or the last four letters of a name token (and, for customers, the
email domain). A block of more than ``max_block`` records stands for a
generic word ("group", "systems") and is skipped.

Records linked by evidence form groups (the connected components). A pair's
confidence combines its evidence as independent signals, ``1 - prod(1 - c)``;
a group's confidence is that of the weakest link that holds it together (the
bottleneck of its maximum spanning tree), so one strong link cannot vouch for
a member attached only by a weak one.

Examples
--------
>>> groups = await find_duplicates(store, "Customer")  # doctest: +SKIP
>>> [(g.confidence, [m.name for m in g.members]) for g in groups]  # doctest: +SKIP
[(0.95, ['Ada Lovelace', 'ADA LOVELACE'])]
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rapport.graph.types import GraphStore
from rapport.schema.fields import e164

__all__ = [
    "DuplicateGroup",
    "DuplicateLabel",
    "DuplicateMember",
    "Evidence",
    "find_duplicates",
    "group_duplicates",
    "name_tokens",
    "normalise_domain",
    "normalise_email",
    "normalise_phone",
]

DuplicateLabel = Literal["Customer", "Account"]

_EMAIL_CONFIDENCE = 0.95
_PHONE_CONFIDENCE = 0.85
_DOMAIN_CONFIDENCE = 0.9
_NAME_CONFIDENCE: dict[str, float] = {"Account": 0.85, "Customer": 0.8}  # times the similarity
_BLOCK_KEY_LENGTH = 4
_TOKEN_SIMILARITY = 0.85  # difflib ratio from which two tokens match

FREE_MAIL_DOMAINS = frozenset(
    {
        "aol.com", "gmail.com", "googlemail.com", "gmx.com", "gmx.de", "gmx.net", "hotmail.com",
        "icloud.com", "live.com", "mail.com", "mail.ru", "me.com", "msn.com", "outlook.com",
        "proton.me", "protonmail.com", "qq.com", "web.de", "yahoo.com", "yandex.ru", "zoho.com",
    }
)  # fmt: skip
LEGAL_FORMS = frozenset(
    {
        "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc", "incorporated",
        "kg", "limited", "llc", "llp", "lp", "ltd", "nv", "oy", "plc", "pty", "sa", "sarl", "sas",
        "spa", "srl", "the",
    }
)  # fmt: skip

_READ = {
    "Customer": "MATCH (n:Customer) RETURN n.id AS id, n.firstName AS firstName, n.lastName AS lastName, "
    "n.email AS email, n.phone AS phone",
    "Account": "MATCH (n:Account) RETURN n.id AS id, n.name AS name, n.domain AS domain",
}


@dataclass(frozen=True, slots=True)
class DuplicateMember:
    """One record of a group, as a reviewer recognises it."""

    id: str
    name: str
    contact: str  # the email (customers) or domain (accounts), "" when unknown


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why the records ``ids`` look like one: ``kind`` is email, phone, domain or name."""

    kind: str
    ids: tuple[str, ...]
    detail: str
    confidence: float


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Records that are likely one, the evidence linking them, and how sure that is (0-1)."""

    label: str
    members: tuple[DuplicateMember, ...]
    reasons: tuple[Evidence, ...]
    confidence: float


@dataclass(frozen=True, slots=True)
class _Record:
    member: DuplicateMember
    tokens: tuple[str, ...]  # of the normalised name
    keys: dict[str, str]  # exact-match evidence kind -> normalised value
    scope: str | None  # names are compared within a scope (customers: email domain); None: never


async def find_duplicates(
    store: GraphStore,
    label: DuplicateLabel,
    *,
    min_similarity: float = 0.9,
    max_shared: int = 5,
    max_block: int = 200,
    min_confidence: float = 0.0,
) -> list[DuplicateGroup]:
    """Groups of likely duplicate ``Customer`` or ``Account`` records, most certain first.

    Parameters
    ----------
    store:
        Either backend; only read.
    label:
        ``"Customer"`` or ``"Account"``.
    min_similarity:
        The name similarity (0-1) from which names count as similar.
    max_shared:
        A value shared by more records than this is generic, not evidence.
    max_block:
        Larger name blocks are skipped (see the module docstring).
    min_confidence:
        Groups less certain than this are left out.

    Returns
    -------
    list of DuplicateGroup
        Each with at least two members, sorted by confidence, then size.
    """
    if label not in _READ:
        raise ValueError(f"duplicates are found among Customer or Account records, not {label!r}")
    rows = await store.read(_READ[label])
    return group_duplicates(
        label, rows, min_similarity=min_similarity, max_shared=max_shared, max_block=max_block,
        min_confidence=min_confidence,
    )  # fmt: skip


def group_duplicates(
    label: DuplicateLabel,
    rows: Sequence[Mapping[str, Any]],
    *,
    min_similarity: float = 0.9,
    max_shared: int = 5,
    max_block: int = 200,
    min_confidence: float = 0.0,
) -> list[DuplicateGroup]:
    """:func:`find_duplicates` on records already read (``id`` and the label's fields)."""
    if not 0 < min_similarity <= 1:
        raise ValueError("min_similarity must be in (0, 1]")
    if max_shared < 2 or max_block < 2:
        raise ValueError("max_shared and max_block must be at least 2")
    ordered = sorted(rows, key=lambda row: str(row["id"]))  # the same groups, whatever the read order
    records = [_customer(row) if label == "Customer" else _account(row) for row in ordered]
    evidence = [
        *_shared_keys(records, max_shared),
        *_similar_names(label, records, min_similarity, max_block),
    ]
    groups = _groups(label, records, evidence)
    return [g for g in groups if g.confidence >= min_confidence]


# -- normalisation ------------------------------------------------------------------------------
def normalise_email(email: str | None) -> str | None:
    """``Ada+crm@Example.COM `` -> ``ada@example.com``; ``None`` when not an address."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}@{domain}" if local and domain else None


def normalise_phone(phone: str | None) -> str | None:
    """The number in E.164, or its digits when it does not parse; ``None`` when too short."""
    if not phone:
        return None
    if number := e164(phone):
        return number
    digits = re.sub(r"\D", "", phone)
    return digits if len(digits) >= 7 else None


def normalise_domain(domain: str | None) -> str | None:
    """``https://www.Acme.com/about`` -> ``acme.com``."""
    if not domain:
        return None
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain.strip().lower())
    host = re.split(r"[/?#:]", host, maxsplit=1)[0].strip(".")
    host = host.removeprefix("www.")
    return host or None


def name_tokens(name: str, *, drop_legal_forms: bool = False) -> list[str]:
    """Lower-case tokens without accents, punctuation or initials, sorted; legal forms dropped on request."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    tokens = re.findall(r"[a-z0-9]+", plain)
    kept = [
        t for t in tokens if not (len(t) == 1 and t.isalpha()) and not (drop_legal_forms and t in LEGAL_FORMS)
    ]
    return sorted(kept or tokens)


def _customer(row: Mapping[str, Any]) -> _Record:
    full = " ".join(part for part in (row.get("firstName"), row.get("lastName")) if part)
    email = normalise_email(row.get("email"))
    phone = normalise_phone(row.get("phone"))
    domain = email.rpartition("@")[2] if email else None
    keys = {kind: value for kind, value in (("email", email), ("phone", phone)) if value}
    member = DuplicateMember(row["id"], full, row.get("email") or "")
    scope = domain if domain and domain not in FREE_MAIL_DOMAINS else None
    return _Record(member, tuple(name_tokens(full)), keys, scope)


def _account(row: Mapping[str, Any]) -> _Record:
    name = row.get("name") or ""
    domain = normalise_domain(row.get("domain"))
    member = DuplicateMember(row["id"], name, row.get("domain") or "")
    keys = {"domain": domain} if domain else {}
    return _Record(member, tuple(name_tokens(name, drop_legal_forms=True)), keys, "")


# -- evidence -----------------------------------------------------------------------------------
_KEY_CONFIDENCE = {"email": _EMAIL_CONFIDENCE, "phone": _PHONE_CONFIDENCE, "domain": _DOMAIN_CONFIDENCE}


def _shared_keys(records: Sequence[_Record], max_shared: int) -> Iterable[Evidence]:
    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        for kind, value in record.keys.items():
            holders[(kind, value)].append(index)
    for (kind, value), indexes in holders.items():
        if 2 <= len(indexes) <= max_shared:
            ids = tuple(records[i].member.id for i in indexes)
            yield Evidence(kind, ids, f"same {kind} {value}", _KEY_CONFIDENCE[kind])


def _similar_names(
    label: str, records: Sequence[_Record], min_similarity: float, max_block: int
) -> Iterable[Evidence]:
    blocks: dict[tuple[str, str], set[int]] = defaultdict(set)
    for index, record in enumerate(records):
        if record.scope is None:
            continue
        for token in record.tokens:
            if not token.isdigit():
                blocks[(record.scope, token[:_BLOCK_KEY_LENGTH])].add(index)
                blocks[(record.scope, token[-_BLOCK_KEY_LENGTH:])].add(index)
    similarity = _NameSimilarity.of(records)
    compared: set[tuple[int, int]] = set()
    for indexes in blocks.values():
        if len(indexes) > max_block:
            continue
        for pair in itertools.combinations(sorted(indexes), 2):
            if pair in compared:
                continue
            compared.add(pair)
            a, b = records[pair[0]], records[pair[1]]
            value = similarity(a.tokens, b.tokens)
            if value >= min_similarity:
                where = f" at {a.scope}" if a.scope else ""
                alike = "same name" if a.tokens == b.tokens else f"similar names ({value:.2f})"
                detail = f"{alike}{where}: {a.member.name!r} ~ {b.member.name!r}"
                confidence = round(_NAME_CONFIDENCE[label] * value, 4)
                yield Evidence("name", (a.member.id, b.member.id), detail, confidence)


@dataclass(frozen=True, slots=True)
class _NameSimilarity:
    """Soft TF-IDF similarity of two token lists (see the module docstring)."""

    weights: dict[str, float]

    @classmethod
    def of(cls, records: Sequence[_Record]) -> _NameSimilarity:
        df = Counter(token for r in records for token in set(r.tokens))
        return cls({token: math.log1p(len(records) / n) for token, n in df.items()})

    def __call__(self, a: Sequence[str], b: Sequence[str]) -> float:
        w = self.weights
        total = sum(w[t] for t in a) + sum(w[t] for t in b)
        if not total:
            return 0.0
        matched = sum(w[t] * _best_match(t, b) for t in a) + sum(w[t] * _best_match(t, a) for t in b)
        return matched / total


def _best_match(token: str, others: Sequence[str]) -> float:
    return max((_token_similarity(token, other) for other in others), default=0.0)


@functools.lru_cache(maxsize=65_536)
def _token_similarity(a: str, b: str) -> float:
    """1 for equal tokens, their ratio when at least ``_TOKEN_SIMILARITY``, else 0 (numbers: equal or 0)."""
    if a == b:
        return 1.0
    if a.isdigit() or b.isdigit():
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # The quick ratios bound ratio() from above: most pairs are rejected without computing it.
    if matcher.real_quick_ratio() < _TOKEN_SIMILARITY or matcher.quick_ratio() < _TOKEN_SIMILARITY:
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= _TOKEN_SIMILARITY else 0.0


# -- grouping -----------------------------------------------------------------------------------
def _groups(label: str, records: Sequence[_Record], evidence: Sequence[Evidence]) -> list[DuplicateGroup]:
    index = {r.member.id: i for i, r in enumerate(records)}
    doubt: dict[tuple[int, int], float] = defaultdict(lambda: 1.0)  # pair -> prod(1 - confidence)
    for e in evidence:
        for a, b in itertools.combinations(sorted(index[i] for i in e.ids), 2):
            doubt[(a, b)] *= 1.0 - e.confidence
    # Kruskal: join the most certain pairs first; a group's confidence is its last (weakest) join.
    parent = list(range(len(records)))
    confidence: dict[int, float] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (a, b), d in sorted(doubt.items(), key=lambda item: item[1]):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[rb] = ra
            confidence[ra] = min(confidence.get(ra, 1.0), confidence.pop(rb, 1.0), 1.0 - d)
    members: dict[int, list[int]] = defaultdict(list)
    for i in sorted({i for pair in doubt for i in pair}):
        members[root(i)].append(i)
    reasons: dict[int, list[Evidence]] = defaultdict(list)
    for e in evidence:
        reasons[root(index[e.ids[0]])].append(e)
    groups = [
        DuplicateGroup(
            label,
            tuple(records[i].member for i in indexes),
            tuple(sorted(reasons[r], key=lambda e: -e.confidence)),
            round(confidence[r], 4),
        )
        for r, indexes in members.items()
    ]
    return sorted(groups, key=lambda g: (-g.confidence, -len(g.members), g.members[0].id))
