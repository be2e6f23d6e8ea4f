"""Conditional GAN (Mirza & Osindero, 2014) with a projection discriminator (Miyato & Koyama, 2018).

The generator takes ``[z, c]`` (noise joined with the condition vector of the attributes); the
discriminator scores ``(x, c)`` as ``w·φ(x) + ⟨V c, φ(x)⟩`` (:class:`~condgen.nn.conditioning.ProjectionHead`).
Generated examples are scored with the attributes of the real batch they are trained against,
so the generator learns the data's joint distribution of attributes; missing values → 0.
Loss ``ns`` (non-saturating, the default) or ``hinge``; Adam(2e-4, (0.5, 0.999)) as in DCGAN.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.models.gan_losses import check_loss, discriminator_loss, generator_loss
from condgen.nn.conditioning import ProjectionHead, condition_input, require_attributes
from condgen.nn.networks import build_decoder, build_encoder, check_architecture, default_output_activation

CGAN_LOSSES = ("ns", "hinge")


@dataclass
class CGANConfig:
    """Hyper-parameters of :class:`CGAN`; ``hidden`` is also the width of the discriminator features φ."""

    latent_dim: int = 128
    data_shape: tuple[int, ...] = (3, 32, 32)
    arch: str = "dcgan"
    base_channels: int = 64
    hidden: int = 256
    depth: int = 3
    loss: str = "ns"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1

    def __post_init__(self):
        check_architecture(self.arch, self.data_shape, "cgan")
        check_loss(self.loss, "cgan", CGAN_LOSSES)
        if self.latent_dim < 1 or self.n_critic < 1 or self.lr <= 0:
            raise ConfigError(f"cgan: need latent_dim >= 1, n_critic >= 1 and lr > 0 "
                              f"(got {self.latent_dim}, {self.n_critic}, {self.lr})")


class CGAN(LatentModel):
    """Conditional GAN. Shapes: ``z [B, latent_dim]``, attribute values ``[B, K]`` (NaN = missing),
    examples ``[B, *data_shape]``."""

    kind = "cgan"
    config_class = CGANConfig
    is_conditional = True

    def __init__(self, config: CGANConfig, schema: AttributeSchema):
        super().__init__(config, schema)
        require_attributes(self.schema, "cgan")
        c, width = config, self.schema.condition_width
        self.generator = build_decoder(c.arch, c.latent_dim + width, c.data_shape, base_channels=c.base_channels,
                                       hidden=c.hidden, depth=c.depth,
                                       output_activation=default_output_activation(c.data_shape))
        self.discriminator_features = nn.Sequential(
            build_encoder(c.arch, c.data_shape, c.hidden, base_channels=c.base_channels, hidden=c.hidden,
                          depth=c.depth),
            nn.LeakyReLU(0.2),
        )
        self.discriminator_head = ProjectionHead(c.hidden, width)

    def decode(self, z: torch.Tensor, *, attributes: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Examples ``[B, *data_shape]`` with attribute values ``[B, K]`` (``None``/NaN = unspecified)."""
        condition = condition_input(self.schema, attributes, z.shape[0], z.device)
        return self.generator(torch.cat([z, condition], dim=1))

    def critic(self, x: torch.Tensor, attributes: torch.Tensor | None) -> torch.Tensor:
        """Discriminator logits ``[B]`` for examples ``x`` with attribute values ``[B, K]``."""
        condition = condition_input(self.schema, attributes, x.shape[0], x.device)
        return self.discriminator_head(self.discriminator_features(x), condition)

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminator_features.parameters()) + list(self.discriminator_head.parameters())

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {
            "discriminator": OptimizerGroup(self.discriminator_parameters(), c.lr, tuple(c.betas)),
            "generator": OptimizerGroup(list(self.generator.parameters()), c.lr, tuple(c.betas)),
        }

    def step_schedule(self) -> list[tuple[str, int]]:
        return [("discriminator", self.config.n_critic), ("generator", 1)]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        z = torch.randn(batch.x.shape[0], self.latent_dim, device=batch.x.device)
        if group == "discriminator":
            with torch.no_grad():  # the discriminator's loss must not reach the generator
                fake = self.decode(z, attributes=batch.attributes)
            real_score, fake_score = self.critic(batch.x, batch.attributes), self.critic(fake, batch.attributes)
            loss = discriminator_loss(self.config.loss, real_score, fake_score)
            return loss, {"real_score": real_score.mean().item(), "fake_score": fake_score.mean().item()}
        if group != "generator":
            raise ConfigError(f"cgan: unknown optimiser group {group!r}")
        fake = self.decode(z, attributes=batch.attributes)
        return generator_loss(self.config.loss, self.critic(fake, batch.attributes)), {}
