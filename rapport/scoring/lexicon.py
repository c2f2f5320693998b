"""Small word lists that turn free text into signals: ticket sentiment, churn intent, seniority.

Sentiment is lexicon-based on purpose: it needs no model download, is the same
on every machine, and its reasons are easy to state. A ticket's score is
``(positive - negative) / (positive + negative)`` over the words it contains,
in [-1, 1] (0 when it has none); a negator ("not", "no", "never", "n't")
flips the polarity of the next three words of its clause ("not happy" is
negative, "no problem" positive; "not urgent, thanks" stays positive). Churn
intent is a ticket that talks of leaving (cancelling, refunds, alternatives,
switching); a competitor mention one that names the competition.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["churn_intent", "competitor_mention", "seniority", "sentiment"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_POSITIVE = _words(
    """
    appreciate appreciated awesome best excellent fantastic fast glad good great happy helpful
    impressed love loved nice perfect pleased quick quickly recommend resolved satisfied smooth
    solved thank thanks thankful useful well wonderful works
    """
)
_NEGATIVE = _words(
    """
    angry annoyed annoying awful bad broke broken bug buggy crash crashes crashing disappointed
    disappointing down error errors fail failed failing fails failure frustrated frustrating
    horrible issue issues lost outage poor problem problems slow terrible unacceptable unhappy
    unreliable unusable useless worse worst wrong
    """
)
_NEGATORS = frozenset({"not", "no", "never", "without", "hardly", "nothing", "none"})
_INTENT = _words(
    """
    alternative alternatives cancel canceling cancellation cancelled cancelling churn leave leaving
    refund switch switching terminate termination unsubscribe
    """
)
_COMPETITION = _words(
    """
    competitor competitors competition competing rival rivals
    """
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|[,.;:!?]")
_FLIP_WINDOW = 3

# Title words by seniority: 3 executive, 2 head/director, 1 manager/lead; everyone else 0.
_SENIORITY = (
    (3, re.compile(r"\b(chief|ceo|cto|cfo|coo|cio|cmo|founder|owner|president|vp|vice president|partner)\b")),
    (2, re.compile(r"\b(head|director|principal)\b")),
    (1, re.compile(r"\b(manager|lead|supervisor|senior)\b")),
)


@lru_cache(maxsize=65_536)
def sentiment(text: str | None) -> float:
    """Polarity of ``text`` in [-1, 1]; 0 without any opinion word (or without text)."""
    if not text:
        return 0.0
    positive = negative = 0
    flip_left = 0
    for word in _WORD.findall(text.lower()):
        if not word[0].isalpha():  # punctuation ends a clause, and a negator's reach
            flip_left = 0
            continue
        if word in _NEGATORS or word.endswith("n't"):
            flip_left = _FLIP_WINDOW
            continue
        polarity = (word in _POSITIVE) - (word in _NEGATIVE)
        if flip_left:
            flip_left -= 1
            polarity = -polarity
        positive += polarity > 0
        negative += polarity < 0
    total = positive + negative
    return (positive - negative) / total if total else 0.0


@lru_cache(maxsize=65_536)
def churn_intent(text: str | None) -> bool:
    """Whether ``text`` speaks of leaving (cancelling, refunds, switching, alternatives...)."""
    return _mentions(text, _INTENT)


@lru_cache(maxsize=65_536)
def competitor_mention(text: str | None) -> bool:
    """Whether ``text`` names a competitor (a rival's offer or trial)."""
    return _mentions(text, _COMPETITION)


def _mentions(text: str | None, words: frozenset[str]) -> bool:
    return bool(text) and not words.isdisjoint(_WORD.findall((text or "").lower()))


@lru_cache(maxsize=4_096)
def seniority(title: str | None) -> int:
    """0 (individual contributor) to 3 (executive) from a job title."""
    lowered = (title or "").lower()
    return next((level for level, pattern in _SENIORITY if pattern.search(lowered)), 0)
