"""Conditional VAE (Sohn et al., 2015): the baseline the plugin is compared against.

Encoder q(z | x, c) and decoder p(x | z, c) both receive the condition vector ``c`` of the
attributes (:meth:`AttributeSchema.condition_vector`: binary ±1, continuous standardised,
categorical one-hot, missing → 0). The loss is the VAE's negative ELBO with KL warm-up
(:mod:`condgen.models.vae`). To generate with chosen attributes: ``decode(z, attributes=values)``.
Unlike the plugin, a CVAE must be trained with the attributes from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from condgen.data.schema import AttributeSchema
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.models.vae import VAEConfig, gaussian_kl, kl_weight, reconstruction_nll
from condgen.nn.conditioning import condition_input, require_attributes
from condgen.nn.mlp import MLP
from condgen.nn.networks import build_decoder, build_encoder, default_output_activation


@dataclass
class CVAEConfig(VAEConfig):
    """Hyper-parameters of :class:`CVAE`, the same as :class:`~condgen.models.vae.VAEConfig`; ``hidden`` is
    also the width of the image features that are joined with the condition in the encoder."""

    model_name: ClassVar[str] = "cvae"


class CVAE(LatentModel):
    """Conditional VAE. Shapes: ``x [B, *data_shape]``, ``z [B, latent_dim]``, attribute values
    ``[B, K]`` in the schema's encoding (NaN = missing)."""

    kind = "cvae"
    config_class = CVAEConfig
    has_encoder = True
    is_conditional = True

    def __init__(self, config: CVAEConfig, schema: AttributeSchema):
        super().__init__(config, schema)
        require_attributes(self.schema, "cvae")
        c, width = config, self.schema.condition_width
        self.features = nn.Sequential(
            build_encoder(c.arch, c.data_shape, c.hidden, base_channels=c.base_channels, hidden=c.hidden,
                          depth=c.depth),
            nn.LeakyReLU(0.2),
        )
        self.posterior_head = MLP(c.hidden + width, 2 * c.latent_dim, c.hidden, depth=1, activation="leaky_relu")
        activation = None if c.likelihood == "bernoulli" else default_output_activation(c.data_shape)
        self.decoder = build_decoder(c.arch, c.latent_dim + width, c.data_shape, base_channels=c.base_channels,
                                     hidden=c.hidden, depth=c.depth, output_activation=activation)
        self.current_kl_weight = c.beta

    def posterior(self, x: torch.Tensor, attributes: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance ``[B, latent_dim]`` of q(z | x, c)."""
        condition = condition_input(self.schema, attributes, x.shape[0], x.device)
        mean, log_var = self.posterior_head(torch.cat([self.features(x), condition], dim=1)).chunk(2, dim=1)
        return mean, log_var.clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor, *, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """Posterior mean ``[B, latent_dim]``; without ``attributes`` every attribute counts as missing."""
        return self.posterior(x, attributes)[0]

    def decoder_output(self, z: torch.Tensor, attributes: torch.Tensor | None) -> torch.Tensor:
        condition = condition_input(self.schema, attributes, z.shape[0], z.device)
        return self.decoder(torch.cat([z, condition], dim=1))

    def decode(self, z: torch.Tensor, *, attributes: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Examples ``[B, *data_shape]`` with attribute values ``[B, K]`` (``None``/NaN = unspecified)."""
        output = self.decoder_output(z, attributes)
        return torch.tanh(output / 2) if self.config.likelihood == "bernoulli" else output

    def reconstruct(self, x: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, attributes=attributes), attributes=attributes)

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"model": OptimizerGroup(list(self.parameters()), c.lr, tuple(c.betas), grad_clip=c.grad_clip)}

    def set_progress(self, step: int, total_steps: int) -> None:
        self.current_kl_weight = kl_weight(self.config.beta, self.config.kl_warmup, step, total_steps)

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative conditional ELBO (KL weighted by the warm-up weight), averaged over the batch."""
        mean, log_var = self.posterior(batch.x, batch.attributes)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        output = self.decoder_output(z, batch.attributes)
        nll = reconstruction_nll(self.config.likelihood, self.config.decoder_std, batch.x, output)
        kl = gaussian_kl(mean, log_var)
        loss = (nll + self.current_kl_weight * kl).mean()
        return loss, {"nll": nll.mean().item(), "kl": kl.mean().item(), "kl_weight": self.current_kl_weight}
