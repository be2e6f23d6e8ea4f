"""Conditional GAN (Mirza & Osindero, 2014) with a projection discriminator (Miyato & Koyama, 2018).

The generator takes ``[z, c]`` (noise joined with the condition vector of the attributes); the
discriminator scores ``(x, c)`` as ``w·φ(x) + ⟨V c, φ(x)⟩`` (:class:`~condgen.nn.conditioning.ProjectionHead`).
Generated examples are scored with the attributes of the real batch they are trained against,
so the generator learns the data's joint distribution of attributes; missing values → 0.
Loss ``ns`` (non-saturating, the default) or ``hinge``; Adam(2e-4, (0.5, 0.999)) as in DCGAN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.models.gan_losses import adversarial_groups, adversarial_step, check_loss
from condgen.nn.conditioning import ProjectionHead, condition_input, require_attributes
from condgen.nn.networks import ImageArchitecture

CGAN_LOSSES = ("ns", "hinge")


@dataclass
class CGANConfig(ImageArchitecture):
    """Hyper-parameters of :class:`CGAN`; the architecture fields are
    :class:`~condgen.nn.networks.ImageArchitecture`'s with DCGAN's larger defaults, and ``hidden`` is
    also the width of the discriminator features φ."""

    latent_dim: int = 128
    base_channels: int = 64
    depth: int = 3
    loss: str = "ns"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    model_name: ClassVar[str] = "cgan"

    def __post_init__(self):
        super().__post_init__()
        check_loss(self.loss, "cgan", CGAN_LOSSES)
        if self.n_critic < 1 or self.lr <= 0:
            raise ConfigError(f"cgan: need n_critic >= 1 and lr > 0 (got {self.n_critic}, {self.lr})")


class CGAN(LatentModel):
    """Conditional GAN. Shapes: ``z [B, latent_dim]``, attribute values ``[B, K]`` (NaN = missing),
    examples ``[B, *data_shape]``."""

    kind = "cgan"
    config_class = CGANConfig
    is_conditional = True

    def __init__(self, config: CGANConfig, schema: AttributeSchema):
        super().__init__(config, schema)
        c, width = config, require_attributes(self.schema, "cgan")
        self.generator = c.decoder(c.latent_dim + width)
        self.discriminator_features = c.features(c.hidden)
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
        return adversarial_groups(self.discriminator_parameters(), list(self.generator.parameters()),
                                  self.config.lr, self.config.betas)

    def step_schedule(self) -> list[tuple[str, int]]:
        return [("discriminator", self.config.n_critic), ("generator", 1)]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """:func:`~condgen.models.gan_losses.adversarial_step` with fakes generated for, and every example
        scored with, the real batch's attribute values."""
        def generate(z: torch.Tensor) -> torch.Tensor:
            return self.decode(z, attributes=batch.attributes)

        def critic(x: torch.Tensor) -> torch.Tensor:
            return self.critic(x, batch.attributes)

        return adversarial_step(group, self.config.loss, batch.x, self.config.latent_dim, generate, critic,
                                owner="cgan")
