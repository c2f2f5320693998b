"""Deterministic UUIDv7 ids: the same seed gives the same ids, on every backend."""

from __future__ import annotations

import numpy as np

_MASK62 = np.uint64((1 << 62) - 1)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A fast, well-mixed 64-bit hash of each element (wrapping arithmetic on purpose)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uuid7_strings(seed: int, stream: int, index: np.ndarray, created_ms: np.ndarray) -> list[str]:
    """UUIDv7 strings whose time part is ``created_ms`` and whose random part is a
    hash of (seed, stream, index): unique per stream, stable across runs."""
    key = (np.uint64(seed & 0xFFFFFFFF) << np.uint64(32)) ^ (np.uint64(stream) << np.uint64(56))
    base = index.astype(np.uint64) ^ key
    a, b = _splitmix64(base), _splitmix64(base ^ np.uint64(0xD6E8FEB86659FD93))
    hi = (created_ms.astype(np.uint64) << np.uint64(16)) | np.uint64(0x7000) | (a & np.uint64(0xFFF))
    lo = (np.uint64(0b10) << np.uint64(62)) | (b & _MASK62)
    out = []
    for h, low in zip(hi.tolist(), lo.tolist(), strict=True):
        s = f"{h:016x}{low:016x}"
        out.append(f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}")
    return out
