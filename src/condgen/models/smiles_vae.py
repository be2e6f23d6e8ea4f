"""SMILES VAE (Gómez-Bombarelli et al., 2018; the MOSES "VAE" baseline): GRU encoder, GRU decoder.

The encoder, a bidirectional GRU, reads the token ids and gives a diagonal Gaussian q(z|x); the
decoder, a GRU whose initial state and every input carry z, predicts the SMILES token by token
(teacher forcing). Loss per molecule: token negative log-likelihood summed over the sequence +
``kl_weight`` × KL(q(z|x) ‖ N(0, I)). The KL weight is annealed linearly from ``kl_start`` to
``kl_end`` between ``kl_anneal_from`` and ``kl_anneal_to`` (shares of training): a strong
autoregressive decoder otherwise learns to ignore z (posterior collapse), and the plugin needs z
to carry the molecule. MOSES ends at 0.05; so does the default.

``encode(x)`` returns the posterior mean, ``decode(z)`` samples token ids (temperature 1; 0 is
greedy), so this model is a Backbone for the plugin (see :mod:`condgen.apps.molecules`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, OptimizerGroup
from condgen.models.smiles_base import (
    LatentSmilesModel,
    SmilesAutoencoderConfig,
    check_sequence_config,
    sequence_autoencoder,
)
from condgen.models.vae import gaussian_kl
from condgen.nn.sequence import token_accuracy, token_nll


@dataclass
class SmilesVAEConfig(SmilesAutoencoderConfig):
    """Hyper-parameters of :class:`SmilesVAE` (``tokens``/``max_length`` come from the data; the
    network sizes are those of :class:`~condgen.models.smiles_base.SmilesAutoencoderConfig`)."""

    kl_start: float = 0.0
    kl_end: float = 0.05
    kl_anneal_from: float = 0.1
    kl_anneal_to: float = 0.8
    lr: float = 1e-3
    grad_clip: float = 50.0

    def __post_init__(self):
        check_sequence_config(self.tokens, self.max_length, "smiles-vae")
        if self.latent_dim < 1 or self.kl_start < 0 or self.kl_end < 0 or not (
                0 <= self.kl_anneal_from <= self.kl_anneal_to <= 1):
            raise ConfigError("smiles-vae: need latent_dim ≥ 1, kl weights ≥ 0 and "
                              f"0 ≤ kl_anneal_from ≤ kl_anneal_to ≤ 1 (got {self.latent_dim}, {self.kl_start}, "
                              f"{self.kl_end}, {self.kl_anneal_from}, {self.kl_anneal_to})")


def annealed_weight(start: float, end: float, begin: float, finish: float, progress: float) -> float:
    """``start`` until ``begin``, then linear to ``end`` at ``finish`` (shares of training), then ``end``."""
    if progress <= begin:
        return start
    if progress >= finish or finish <= begin:
        return end
    return start + (end - start) * (progress - begin) / (finish - begin)


class SmilesVAE(LatentSmilesModel):
    """Shapes: ``x`` = token ids ``int64 [B, max_length]``; ``z [B, latent_dim]``."""

    kind = "smiles-vae"
    config_class = SmilesVAEConfig

    def __init__(self, config: SmilesVAEConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.encoder, self.to_posterior, self.decoder = sequence_autoencoder(config, 2 * config.latent_dim)
        self.current_kl_weight = config.kl_end

    def posterior(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance ``[B, latent_dim]`` each of q(z|x)."""
        mean, log_var = self.to_posterior(self.encoder(ids)).chunk(2, dim=1)
        return mean, log_var.clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior mean ``[B, latent_dim]`` of token ids ``x [B, L]``."""
        return self.posterior(x.long())[0]

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"model": OptimizerGroup(list(self.parameters()), c.lr, (0.9, 0.999), grad_clip=c.grad_clip)}

    def set_progress(self, step: int, total_steps: int) -> None:
        c = self.config
        self.current_kl_weight = annealed_weight(c.kl_start, c.kl_end, c.kl_anneal_from, c.kl_anneal_to,
                                                 step / max(total_steps, 1))

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Token NLL per molecule + KL weight × KL, averaged over the batch."""
        ids = batch.x.long()
        mean, log_var = self.posterior(ids)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        logits = self.decoder.teacher_forced_logits(ids, z)
        nll = token_nll(logits, ids[:, 1:])
        kl = gaussian_kl(mean, log_var)
        loss = (nll + self.current_kl_weight * kl).mean()
        return loss, {"nll": nll.mean().item(), "kl": kl.mean().item(), "kl_weight": self.current_kl_weight,
                      "token_accuracy": token_accuracy(logits, ids[:, 1:]).item()}
