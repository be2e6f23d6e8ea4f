"""The deterministic encoder/decoder pair shared by WAE and AAE."""

from __future__ import annotations

import torch

from condgen.data.schema import AttributeSchema
from condgen.models.base import LatentModel
from condgen.nn.networks import build_decoder, build_encoder, default_output_activation


class DeterministicAutoencoder(LatentModel):
    """``encoder: x [B, *data_shape] → z [B, latent_dim]`` and ``decoder: z → x``, built from the config's
    ``arch``, ``data_shape``, ``latent_dim``, ``base_channels``, ``hidden`` and ``depth``."""

    has_encoder = True

    def __init__(self, config, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        c = config
        self.encoder = build_encoder(c.arch, c.data_shape, c.latent_dim, base_channels=c.base_channels,
                                     hidden=c.hidden, depth=c.depth)
        self.decoder = build_decoder(c.arch, c.latent_dim, c.data_shape, base_channels=c.base_channels,
                                     hidden=c.hidden, depth=c.depth,
                                     output_activation=default_output_activation(c.data_shape))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Code ``[B, latent_dim]`` of ``x [B, *data_shape]``."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Examples ``[B, *data_shape]`` for codes ``z [B, latent_dim]``."""
        return self.decoder(z)
