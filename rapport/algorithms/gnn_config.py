"""The embedding model's shape and training settings (no torch here: the CLI reads the defaults)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["TrainingConfig"]


@dataclass(frozen=True)
class TrainingConfig:
    """The model's shape and how it is trained.

    ``supervision`` is the share of each relationship type held out of
    message passing in an epoch to be predicted, at most ``max_supervision``
    relationships (see :mod:`~rapport.algorithms.gnn_training`).
    """

    dimensions: int = 64
    hidden: int = 64
    layers: int = 2
    epochs: int = 30
    learning_rate: float = 0.01
    supervision: float = 0.3
    max_supervision: int = 20_000
    seed: int = 42

    def __post_init__(self) -> None:
        if min(self.dimensions, self.hidden, self.layers, self.epochs) < 1:
            raise ValueError("dimensions, hidden, layers and epochs must be at least 1")
        if self.max_supervision < 1:
            raise ValueError("max_supervision must be at least 1")
        if not 0 < self.supervision < 1:
            raise ValueError(f"supervision must be between 0 and 1, not {self.supervision}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, not {self.learning_rate}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
