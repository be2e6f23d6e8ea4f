"""A discriminator that exposes its features, with optional minibatch discrimination (Salimans et al., 2016).

A generator that collapses onto a few modes fools a discriminator that looks at one example at a time.
*Minibatch discrimination* lets the discriminator see the whole batch: each example's features
``f(xᵢ) ∈ R^A`` are projected by a learned tensor ``T ∈ R^{A×K×D}`` to ``K`` kernels ``Mᵢ,ₖ ∈ R^D``, and

    o(xᵢ)ₖ = Σⱼ exp(−‖Mᵢ,ₖ − Mⱼ,ₖ‖₁)          (j over the other examples of the batch)

is appended to ``f(xᵢ)``: large when many examples of the batch look alike. Real and generated batches are
scored separately (as :func:`~condgen.models.gan_losses.adversarial_step` does), so a collapsed generator's
batches stand out. (The paper's sum includes ``j = i``, a constant 1 that the next layer's bias absorbs.)

:class:`FeatureDiscriminator` is ``features → [minibatch discrimination] → linear head``; its
:meth:`~FeatureDiscriminator.features` are what *feature matching* (Salimans et al.) matches.
"""

from __future__ import annotations

import torch
from torch import nn


class MinibatchDiscrimination(nn.Module):
    """``f [B, in_features]`` → ``[B, in_features + kernels]``: the features and their closeness to the batch.

    Args:
        in_features: width ``A`` of the features.
        kernels: number ``K`` of closeness statistics appended.
        kernel_dim: width ``D`` of each kernel's projection.
    """

    def __init__(self, in_features: int, kernels: int = 50, kernel_dim: int = 5):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        # T, drawn as in the paper's code (std 0.05)
        self.projection = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.05)

    def closeness(self, features: torch.Tensor) -> torch.Tensor:
        """``o [B, kernels]`` of ``features [B, A]``: for each example, Σ over the others of exp(−L1 distance)."""
        m = (features @ self.projection).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)  # [K, B, D]
        distances = torch.cdist(m, m, p=1)  # [K, B, B] L1 distances, per kernel
        return (torch.exp(-distances).sum(2) - 1).T  # minus exp(0): each example's closeness to itself

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([features, self.closeness(features)], dim=1)


class FeatureDiscriminator(nn.Module):
    """``x [B, *shape]`` → scores ``[B, out_features]`` through features ``[B, width]`` one can read.

    Args:
        features: network ``[B, *shape]`` → ``[B, width]`` (e.g. an image architecture's ``features``).
        width: width of those features.
        minibatch_kernels: kernels of a :class:`MinibatchDiscrimination` layer between the features and
            the head (0: none).
        kernel_dim: width of each kernel.
        out_features: width of the output (1 for a discriminator).
    """

    def __init__(self, features: nn.Module, width: int, *, minibatch_kernels: int = 0, kernel_dim: int = 5,
                 out_features: int = 1):
        super().__init__()
        self.trunk = features
        self.minibatch = MinibatchDiscrimination(width, minibatch_kernels, kernel_dim) if minibatch_kernels else None
        self.head = nn.Linear(width + minibatch_kernels, out_features)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The features ``[B, width]`` the head scores (an intermediate layer, for feature matching)."""
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        return self.head(features if self.minibatch is None else self.minibatch(features))
