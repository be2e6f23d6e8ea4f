"""The plugin's invertible map ``u = f(z)`` from backbone latents to attribute + style coordinates."""

from __future__ import annotations

import torch
from torch import nn

from condgen.nn.coupling import coupling_flow

STD_FLOOR = 1e-4  # a latent coordinate that never varies must not be divided by zero


class LatentFlow(nn.Module):
    """``f = couplings ∘ standardise``: a fixed per-coordinate standardisation of z, then a coupling flow.

    The standardisation (``(z − latent_mean) / latent_std``, fitted on the training latents by
    :meth:`set_latent_statistics`; identity until then) puts every backbone's latents on the
    scale the couplings start from; it is part of f, so its log-determinant ``−Σ log std``
    is included. Log-determinants are summed over every layer.

    Args:
        latent_dim: D.
        n_couplings, hidden, depth, coupling, scaling, mixing: see :func:`condgen.nn.coupling.coupling_flow`.
    """

    def __init__(self, latent_dim: int, n_couplings: int, hidden: int, depth: int,
                 coupling: str = "affine", scaling: bool = True, mixing: str = "none"):
        super().__init__()
        self.register_buffer("latent_mean", torch.zeros(latent_dim))
        self.register_buffer("latent_std", torch.ones(latent_dim))
        self.couplings = coupling_flow(latent_dim, n_couplings, hidden, depth, coupling, scaling, mixing)

    @torch.no_grad()
    def set_latent_statistics(self, latents: torch.Tensor) -> None:
        """Fit the standardisation on training latents ``[N, D]``."""
        self.latent_mean.copy_(latents.mean(dim=0))
        self.latent_std.copy_(latents.std(dim=0).clamp_min(STD_FLOOR) if latents.shape[0] > 1
                              else torch.ones_like(self.latent_std))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z [B, D]`` → ``(u [B, D], log|det ∂u/∂z| [B])``."""
        standardised = (z - self.latent_mean) / self.latent_std
        u, logabsdet = self.couplings(standardised)
        return u, logabsdet - torch.log(self.latent_std).sum()

    def inverse(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``u [B, D]`` → ``(z [B, D], log|det ∂z/∂u| [B])``."""
        standardised, logabsdet = self.couplings.inverse(u)
        return standardised * self.latent_std + self.latent_mean, logabsdet + torch.log(self.latent_std).sum()
