"""A deterministic, resumable batch sampler that also splits each batch across DDP ranks."""

from __future__ import annotations

import torch


class BatchSampler:
    """Draws batches of row indices epoch by epoch, without replacement within an epoch.

    Epoch ``e`` visits the rows in the order ``randperm(n, generator=Generator().manual_seed(seed + e))``;
    a global batch is the next ``batch_size`` rows of that order (a last, incomplete batch of an
    epoch is dropped so every batch has the same size). Under DDP each of the ``world_size``
    ranks takes its own disjoint share ``global_batch[rank::world_size]``.

    The whole state is ``(epoch, position)``, so a resumed run sees exactly the batches an
    uninterrupted run would have seen.

    Args:
        num_examples: rows in the data set.
        batch_size: the *global* batch size (all ranks together); clamped to ``num_examples``.
        seed: base seed of the epoch permutations.
        rank / world_size: this process's place in a DDP group (0 / 1 without DDP).
    """

    def __init__(self, num_examples: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        if num_examples < 1:
            raise ValueError("cannot sample batches from an empty data set")
        self.num_examples = num_examples
        self.batch_size = min(batch_size, num_examples)
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.position = 0
        self._order: torch.Tensor | None = None  # permutation of the current epoch, cached

    def _epoch_order(self) -> torch.Tensor:
        if self._order is None:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            self._order = torch.randperm(self.num_examples, generator=generator)
        return self._order

    def next_global_batch(self) -> torch.Tensor:
        """The next ``[batch_size]`` row indices of the global batch (all ranks)."""
        if self.position + self.batch_size > self.num_examples:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        indices = self._epoch_order()[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return indices

    def next_indices(self) -> torch.Tensor:
        """This rank's share of the next global batch: ``[≈ batch_size / world_size]`` row indices."""
        return self.next_global_batch()[self.rank::self.world_size]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position, self._order = int(state["epoch"]), int(state["position"]), None
