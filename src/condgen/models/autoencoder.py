"""The deterministic encoder/decoder pair shared by WAE and AAE."""

from __future__ import annotations

import torch

from condgen.data.schema import AttributeSchema
from condgen.models.base import LatentModel
from condgen.nn.networks import ImageArchitecture


class DeterministicAutoencoder(LatentModel):
    """``encoder: x [B, *data_shape] → z [B, latent_dim]`` and ``decoder: z → x``, built by the config
    (an :class:`~condgen.nn.networks.ImageArchitecture`)."""

    has_encoder = True

    def __init__(self, config: ImageArchitecture, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.encoder = config.encoder(config.latent_dim)
        self.decoder = config.decoder(config.latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Code ``[B, latent_dim]`` of ``x [B, *data_shape]``."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Examples ``[B, *data_shape]`` for codes ``z [B, latent_dim]``."""
        return self.decoder(z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """``decode(encode(x))`` ``[B, *data_shape]``."""
        return self.decode(self.encode(x))
