"""Wasserstein autoencoder with the MMD penalty (WAE-MMD, Tolstikhin et al., 2018).

A deterministic encoder and decoder; the loss is the reconstruction cost plus ``mmd_weight`` times
the maximum mean discrepancy between the batch of codes and as many draws from the prior N(0, I).
The kernel is the paper's inverse multiquadratic ``k(a, b) = C / (C + ‖a − b‖²)`` summed over the
scales ``C = 2 · latent_dim · σ_z² · s`` for s in :data:`IMQ_SCALES` (σ_z = 1); a sum of scales
makes the penalty insensitive to the choice of one bandwidth.

The paper's CelebA setting is the default: cost ``0.05 · ‖x − x̂‖²`` and ``mmd_weight = 100``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from condgen.errors import ConfigError
from condgen.models.autoencoder import DeterministicAutoencoder
from condgen.models.base import Batch, OptimizerGroup
from condgen.nn.networks import ImageArchitecture

IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


@dataclass
class WAEConfig(ImageArchitecture):
    """Hyper-parameters of :class:`WAE` (architecture fields: :class:`~condgen.nn.networks.ImageArchitecture`)."""

    reconstruction_weight: float = 0.05
    mmd_weight: float = 100.0
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = None
    model_name: ClassVar[str] = "wae"

    def __post_init__(self):
        super().__post_init__()
        if self.mmd_weight < 0 or self.reconstruction_weight <= 0:
            raise ConfigError(f"wae: need mmd_weight >= 0 and reconstruction_weight > 0 (got "
                              f"{self.mmd_weight}, {self.reconstruction_weight})")


def imq_mmd(codes: torch.Tensor, prior: torch.Tensor, scales: tuple[float, ...] = IMQ_SCALES) -> torch.Tensor:
    """Unbiased MMD² estimate between ``codes [B, L]`` and ``prior [B, L]`` with the IMQ kernel.

    Within-sample sums leave out the diagonal (k(a, a) = 1), as in the paper's estimator.
    """
    n, dim = codes.shape
    if n < 2:
        raise ConfigError("wae: the MMD estimate needs batches of at least 2 examples")
    both = torch.cat([codes, prior])
    distances = torch.cdist(both, both).pow(2)
    kernel = sum(scale_c / (scale_c + distances) for scale_c in (2.0 * dim * s for s in scales))
    off_diagonal = 1.0 - torch.eye(n, device=codes.device, dtype=codes.dtype)
    within_codes = (kernel[:n, :n] * off_diagonal).sum() / (n * (n - 1))
    within_prior = (kernel[n:, n:] * off_diagonal).sum() / (n * (n - 1))
    across = kernel[:n, n:].mean()
    return within_codes + within_prior - 2 * across


class WAE(DeterministicAutoencoder):
    """WAE-MMD. Shapes: ``x [B, *data_shape]``, ``z [B, latent_dim]``; ``encode`` is deterministic."""

    kind = "wae"
    config_class = WAEConfig

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"model": OptimizerGroup(list(self.parameters()), c.lr, tuple(c.betas), grad_clip=c.grad_clip)}

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """``reconstruction_weight · mean ‖x − x̂‖² + mmd_weight · MMD²(codes, prior draws)``."""
        z = self.encoder(batch.x)
        squared_error = (self.decoder(z) - batch.x).pow(2).flatten(1).sum(dim=1).mean()
        mmd = imq_mmd(z, torch.randn_like(z))
        loss = self.config.reconstruction_weight * squared_error + self.config.mmd_weight * mmd
        return loss, {"squared_error": squared_error.item(), "mmd": mmd.item()}
