"""TVAE: a variational autoencoder for tables (Xu et al., 2019, "Modeling Tabular Data using Conditional GAN").

Rows go through mode-specific normalisation (:mod:`condgen.models.table_transform`): each number column becomes
a scalar α and the one-hot of its mixture mode, each categorical column its one-hot. MLP encoder and decoder;
the decoder's output per column is a likelihood of its own — a Gaussian on α with a learnt width per column
plus the cross-entropy of the mode, the cross-entropy of the category — summed over the columns and weighted
by ``reconstruction_weight`` (the paper's loss factor 2) against the KL term. ``decode`` returns stored rows
(numbers in the column's range, integers rounded, category indices): the most likely mode and category.

Shapes: ``x`` stored rows ``[B, C]``; ``z [B, latent_dim]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.models.table_transform import ColumnLayout, TableTransform, check_table_layouts
from condgen.models.vae import gaussian_kl, kl_weight
from condgen.nn.mlp import MLP


@dataclass
class TVAEConfig:
    """Hyper-parameters of :class:`TVAE`. The data decide ``data_shape`` ``(C,)`` and ``columns`` (each column's
    :class:`~condgen.models.table_transform.ColumnLayout`, fitted on the training rows)."""

    data_shape: tuple[int, ...] = (1,)
    columns: tuple[dict[str, Any], ...] = ()
    latent_dim: int = 32  # room for a plugin's attribute coordinates (a 16-way category takes 16)
    hidden: int = 256
    depth: int = 2
    beta: float = 1.0
    kl_warmup: float = 0.1
    reconstruction_weight: float = 2.0
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-5
    grad_clip: float | None = None

    def __post_init__(self):
        check_table_layouts("tvae", self.columns, self.data_shape)
        if self.beta < 0 or not 0 <= self.kl_warmup <= 1 or self.reconstruction_weight <= 0:
            raise ConfigError("tvae: need beta ≥ 0, 0 ≤ kl_warmup ≤ 1 and reconstruction_weight > 0")

    @property
    def layouts(self) -> list[ColumnLayout]:
        return [ColumnLayout.from_dict(dict(entry)) for entry in self.columns]


class TVAE(LatentModel):
    """A VAE over a table's rows; ``encode`` is the posterior mean (the plugin's latent)."""

    kind = "tvae"
    config_class = TVAEConfig
    modalities: ClassVar[tuple[str, ...]] = ("tables",)
    has_encoder = True

    def __init__(self, config: TVAEConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.transform = TableTransform(config.layouts)
        width = self.transform.width
        self.encoder = MLP(width, 2 * config.latent_dim, hidden=config.hidden, depth=config.depth)
        self.decoder = MLP(config.latent_dim, width, hidden=config.hidden, depth=config.depth)
        numbers = sum(layout.is_number for layout in self.transform.layouts)
        #: log of the learnt width of α, one per number column (TVAE's sigmas), starting at 0.1
        self.log_sigmas = nn.Parameter(torch.full((numbers,), -2.3))
        self.current_kl_weight = config.beta

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"model": OptimizerGroup(list(self.parameters()), c.lr, tuple(c.betas), c.weight_decay, c.grad_clip)}

    def set_progress(self, step: int, total_steps: int) -> None:
        self.current_kl_weight = kl_weight(self.config.beta, self.config.kl_warmup, step, total_steps)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance ``[B, latent_dim]`` of q(z | x) for stored rows ``x [B, C]``."""
        return self._posterior_of(self.transform.encode(x))

    def _posterior_of(self, network_rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encoder(network_rows).chunk(2, dim=1)
        return mean, log_var.clamp(-30.0, 20.0)  # clamped so that a bad early batch cannot overflow exp()

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """``reconstruction_weight`` × Σ per-column NLL + KL weight × KL, averaged over the batch."""
        target = self.transform.encode(batch.x)
        mean, log_var = self._posterior_of(target)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        nll, alpha_errors = self.transform.reconstruction_nll(self.decoder(z), target,
                                                              self.log_sigmas.clamp(-6.0, 2.0))
        kl = gaussian_kl(mean, log_var)
        loss = (self.config.reconstruction_weight * nll.sum(dim=1) + self.current_kl_weight * kl).mean()
        logs = {"nll": float(nll.detach().sum(dim=1).mean()), "kl": float(kl.detach().mean()),
                "kl_weight": self.current_kl_weight}
        if alpha_errors.numel():
            logs["alpha_mae"] = float(alpha_errors.detach().mean())
        return loss, logs

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior mean ``[B, latent_dim]`` of stored rows ``x [B, C]``."""
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Stored rows ``[B, C]`` for latents ``z [B, latent_dim]`` (most likely mode and category)."""
        return self.transform.decode(self.decoder(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
