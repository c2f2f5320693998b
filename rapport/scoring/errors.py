"""The one error training and scoring raise for conditions a user can fix."""

from __future__ import annotations


class ScoringError(Exception):
    """Training or scoring cannot go on (no labels, no model, too few examples); one readable line."""
