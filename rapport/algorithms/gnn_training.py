"""Self-supervised training of :class:`~rapport.algorithms.gnn_model.HeteroSAGE` by link prediction.

Full-batch: the CRM graph of a few hundred thousand nodes fits in memory, and
one pass over all of it per epoch is faster on a CPU than sampled
mini-batches. Each epoch

1. splits every edge type's relationships at random into *message* edges
   (the graph the encoder sees) and *supervision* edges (a share
   ``supervision`` of them, 30% by default, at most ``max_supervision``), so
   the model learns to predict relationships it has not been shown rather
   than to echo its input;
2. embeds all nodes over the message edges;
3. scores each supervision edge against two corrupted ones, one with a
   random target and one with a random source of the right labels
   (negative sampling), with binary cross-entropy averaged per edge type, so
   that rare relationship types weigh as much as frequent ones.

Randomness comes from one seed: parameters are initialised under
``torch.manual_seed`` and the splits and negatives are drawn from a CPU
generator, so a GPU draws the same ones. Deterministic algorithms are
switched on for the duration (restored afterwards), and torch uses at most
as many threads as this process may run on.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from rapport.algorithms.gnn_config import TrainingConfig
from rapport.algorithms.gnn_model import HeteroSAGE, message_adjacency
from rapport.algorithms.projection_spec import EdgeType

__all__ = ["GraphTensors", "embed_nodes", "pick_device", "reproducible", "train"]


@dataclass(frozen=True)
class GraphTensors:
    """A projected graph for the model: features per label, relationships per edge type (``2 x E``)."""

    x: dict[str, Tensor]
    edge_index: dict[EdgeType, np.ndarray]

    @property
    def sizes(self) -> dict[str, int]:
        return {label: int(x.shape[0]) for label, x in self.x.items()}


def pick_device() -> torch.device:
    """The first GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def reproducible(seed: int) -> Iterator[None]:
    """Seeded, deterministic torch for the block; the caller's settings and RNG state come back after."""
    # cuBLAS is only deterministic with a fixed workspace; it reads this when CUDA starts.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]
    threads = torch.get_num_threads()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        # Deterministic mode fills every new tensor with NaN by default (a third of an epoch);
        # nothing here reads memory it did not write.
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
        torch.set_num_threads(min(threads, _cpus()))
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
            torch.utils.deterministic.fill_uninitialized_memory = fill  # type: ignore[attr-defined]
            torch.set_num_threads(threads)


def _split(
    edge_index: np.ndarray, config: TrainingConfig, generator: torch.Generator
) -> tuple[np.ndarray, Tensor]:
    """``(message, supervision)`` columns of ``edge_index``: a random share supervises."""
    count = edge_index.shape[1]
    order = torch.randperm(count, generator=generator).numpy()
    supervised = min(math.ceil(config.supervision * count), config.max_supervision) if count > 1 else 0
    return edge_index[:, order[supervised:]], torch.from_numpy(edge_index[:, order[:supervised]])


def _link_loss(
    model: HeteroSAGE,
    z: Mapping[str, Tensor],
    edge_type: EdgeType,
    positive: Tensor,
    sizes: Mapping[str, int],
    generator: torch.Generator,
) -> Tensor:
    source_label, _, target_label = edge_type
    count = positive.shape[1]
    random_targets = torch.randint(sizes[target_label], (count,), generator=generator)
    random_sources = torch.randint(sizes[source_label], (count,), generator=generator)
    sources = torch.cat([positive[0], positive[0], random_sources])
    targets = torch.cat([positive[1], random_targets, positive[1]])
    device = z[source_label].device
    logits = model.link_logits(z[source_label][sources.to(device)], z[target_label][targets.to(device)])
    labels = torch.cat([torch.ones(count), torch.zeros(2 * count)]).to(device)
    return F.binary_cross_entropy_with_logits(logits, labels)


def train(
    graph: GraphTensors, config: TrainingConfig, device: torch.device
) -> tuple[HeteroSAGE, list[float]]:
    """Train a :class:`HeteroSAGE` on ``graph`` on ``device``; return it and each epoch's loss.

    Call inside :func:`reproducible` for repeatable results.
    """
    sizes = graph.sizes
    supervised = [edge_type for edge_type, index in graph.edge_index.items() if index.shape[1] > 1]
    if not supervised:
        raise ValueError("the graph has no relationships to learn from")
    model = HeteroSAGE(
        {label: int(x.shape[1]) for label, x in graph.x.items()},
        list(graph.edge_index),
        hidden=config.hidden,
        dimensions=config.dimensions,
        layers=config.layers,
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    x = {label: features.to(device) for label, features in graph.x.items()}
    losses = []
    model.train()
    for _ in range(config.epochs):
        splits = {
            edge_type: _split(index, config, generator) for edge_type, index in graph.edge_index.items()
        }
        messages = {edge_type: message for edge_type, (message, _) in splits.items()}
        z = model(x, message_adjacency(messages, sizes, device))
        loss = torch.stack(
            [
                _link_loss(model, z, edge_type, splits[edge_type][1], sizes, generator)
                for edge_type in supervised
            ]
        ).mean()
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        losses.append(float(loss.detach()))
    return model, losses


def embed_nodes(model: HeteroSAGE, graph: GraphTensors, device: torch.device) -> dict[str, np.ndarray]:
    """Every node's embedding over all of ``graph``'s relationships, per label (float32, unit length)."""
    model.eval()
    x = {label: features.to(device) for label, features in graph.x.items()}
    with torch.no_grad():
        z = model(x, message_adjacency(graph.edge_index, graph.sizes, device))
    return {label: vectors.cpu().numpy() for label, vectors in z.items()}
