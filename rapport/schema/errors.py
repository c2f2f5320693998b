"""The one error type of schema validation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: on which label (or relationship type) and field, and why."""

    label: str
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.label}.{self.field}: {self.message} (rule: {self.rule})"


class SchemaViolation(ValueError):
    """Input broke the model's rules; nothing was written.

    ``violations`` lists every broken rule found, so a form or an import can
    show them all at once; the message names the first.
    """

    def __init__(self, violations: list[Violation]) -> None:
        if not violations:
            raise ValueError("SchemaViolation needs at least one violation")
        self.violations = violations
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        super().__init__(f"{violations[0]}{more}")

    @classmethod
    def single(cls, label: str, field: str, rule: str, message: str) -> SchemaViolation:
        return cls([Violation(label, field, rule, message)])
