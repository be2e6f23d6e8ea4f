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

from condgen.data.schema import AttributeSchema
from condgen.models.vae import VAEConfig, VariationalModel, decoded_mean
from condgen.nn.conditioning import condition_input, require_attributes
from condgen.nn.mlp import MLP


@dataclass
class CVAEConfig(VAEConfig):
    """Hyper-parameters of :class:`CVAE`, the same as :class:`~condgen.models.vae.VAEConfig`; ``hidden`` is
    also the width of the image features that are joined with the condition in the encoder."""

    model_name: ClassVar[str] = "cvae"


class CVAE(VariationalModel):
    """Conditional VAE. Shapes: ``x [B, *data_shape]``, ``z [B, latent_dim]``, attribute values
    ``[B, K]`` in the schema's encoding (NaN = missing). Training (negative ELBO, KL warm-up, one
    optimiser group) is :class:`~condgen.models.vae.VariationalModel`'s, given the batch's attributes."""

    kind = "cvae"
    config_class = CVAEConfig
    is_conditional = True

    def __init__(self, config: CVAEConfig, schema: AttributeSchema):
        super().__init__(config, schema)
        c, width = config, require_attributes(self.schema, "cvae")
        self.features = c.features(c.hidden)
        self.posterior_head = MLP(c.hidden + width, 2 * c.latent_dim, c.hidden, depth=1, activation="leaky_relu")
        self.decoder = c.decoder(c.latent_dim + width)

    def posterior(self, x: torch.Tensor, attributes: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance ``[B, latent_dim]`` of q(z | x, c)."""
        condition = condition_input(self.schema, attributes, x.shape[0], x.device)
        mean, log_var = self.posterior_head(torch.cat([self.features(x), condition], dim=1)).chunk(2, dim=1)
        return mean, log_var.clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor, *, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """Posterior mean ``[B, latent_dim]``; without ``attributes`` every attribute counts as missing."""
        return self.posterior(x, attributes)[0]

    def decoder_output(self, z: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """Raw decoder output ``[B, *data_shape]`` (mean or logits) for ``z`` with attribute values ``[B, K]``."""
        condition = condition_input(self.schema, attributes, z.shape[0], z.device)
        return self.decoder(torch.cat([z, condition], dim=1))

    def decode(self, z: torch.Tensor, *, attributes: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Examples ``[B, *data_shape]`` with attribute values ``[B, K]`` (``None``/NaN = unspecified)."""
        return decoded_mean(self.config.likelihood, self.decoder_output(z, attributes))

    def reconstruct(self, x: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """``decode(encode(x))`` with the same attribute values ``[B, K]`` on both sides."""
        return self.decode(self.encode(x, attributes=attributes), attributes=attributes)
