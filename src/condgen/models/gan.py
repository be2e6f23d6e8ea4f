"""Unconditional GANs: DCGAN / non-saturating, LSGAN, WGAN, WGAN-GP and hinge, one class.

A generator maps z ~ N(0, I) to an example; a discriminator (critic) scores examples. The
``loss`` field picks the objective (:mod:`condgen.models.gan_losses`), and with it the
textbook optimiser settings, filled in when left ``None``:

===========  ======  ============  ========  =================================================
loss         lr      Adam betas    n_critic  critic
===========  ======  ============  ========  =================================================
``ns``       2e-4    (0.5, 0.999)  1         batch norm (DCGAN, Radford et al.)
``ls``       2e-4    (0.5, 0.999)  1         batch norm (LSGAN)
``hinge``    2e-4    (0.5, 0.999)  1         batch norm
``wgan``     5e-5    (0.0, 0.99)   5         batch norm, weights clipped to ±``clip_value``
``wgan-gp``  1e-4    (0.5, 0.9)    5         no batch norm (the penalty is per example)
===========  ======  ============  ========  =================================================

WGAN's paper uses RMSprop(5e-5); the engine's optimisers are Adam, and Adam with β₁ = 0 and
β₂ = 0.99 *is* RMSprop (decay 0.99, PyTorch's default) plus bias correction. WGAN-GP's values
are those of the authors' code (Gulrajani et al., 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.models.gan_losses import LOSSES, check_loss, discriminator_loss, generator_loss, gradient_penalty
from condgen.nn.networks import build_decoder, build_encoder, check_architecture, default_output_activation

#: loss → (lr, betas, n_critic, critic batch norm): the standard setting of each objective.
LOSS_DEFAULTS: dict[str, tuple[float, tuple[float, float], int, bool]] = {
    "ns": (2e-4, (0.5, 0.999), 1, True),
    "ls": (2e-4, (0.5, 0.999), 1, True),
    "hinge": (2e-4, (0.5, 0.999), 1, True),
    "wgan": (5e-5, (0.0, 0.99), 5, True),
    "wgan-gp": (1e-4, (0.5, 0.9), 5, False),
}


@dataclass
class GANConfig:
    """Hyper-parameters of :class:`GAN`. ``None`` fields take the value standard for ``loss``
    (:data:`LOSS_DEFAULTS`); the saved config holds the resolved values.

    ``data_shape`` is ``(C, H, W)`` or ``(D,)``; ``arch`` ``"dcgan"`` or ``"mlp"``; ``base_channels``
    sizes the conv stacks, ``hidden``/``depth`` the MLPs. ``gp_weight`` is WGAN-GP's λ,
    ``clip_value`` WGAN's weight bound.
    """

    latent_dim: int = 128
    data_shape: tuple[int, ...] = (3, 32, 32)
    arch: str = "dcgan"
    base_channels: int = 64
    hidden: int = 256
    depth: int = 3
    loss: str = "ns"
    lr: float | None = None
    betas: tuple[float, float] | None = None
    n_critic: int | None = None
    critic_batch_norm: bool | None = None
    gp_weight: float = 10.0
    clip_value: float = 0.01

    def __post_init__(self):
        check_architecture(self.arch, self.data_shape, "gan")
        check_loss(self.loss, "gan", LOSSES)
        lr, betas, n_critic, batch_norm = LOSS_DEFAULTS[self.loss]
        self.lr = lr if self.lr is None else float(self.lr)
        self.betas = betas if self.betas is None else tuple(self.betas)
        self.n_critic = n_critic if self.n_critic is None else int(self.n_critic)
        self.critic_batch_norm = batch_norm if self.critic_batch_norm is None else bool(self.critic_batch_norm)
        if self.latent_dim < 1 or self.n_critic < 1 or self.lr <= 0:
            raise ConfigError(f"gan: need latent_dim >= 1, n_critic >= 1 and lr > 0 "
                              f"(got {self.latent_dim}, {self.n_critic}, {self.lr})")
        if self.loss == "wgan-gp" and self.critic_batch_norm:
            raise ConfigError("gan: wgan-gp's gradient penalty is per example; batch norm in the critic breaks "
                              "it (set critic_batch_norm=false)")


class GAN(LatentModel):
    """Generator ``z [B, latent_dim] → x [B, *data_shape]`` and a critic ``x → [B]`` scores."""

    kind = "gan"
    config_class = GANConfig

    def __init__(self, config: GANConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        c = config
        self.generator = build_decoder(c.arch, c.latent_dim, c.data_shape, base_channels=c.base_channels,
                                       hidden=c.hidden, depth=c.depth,
                                       output_activation=default_output_activation(c.data_shape))
        self.discriminator = build_encoder(c.arch, c.data_shape, 1, base_channels=c.base_channels,
                                           hidden=c.hidden, depth=c.depth, batch_norm=c.critic_batch_norm)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Examples ``[B, *data_shape]`` for latents ``z [B, latent_dim]``."""
        return self.generator(z)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        """Discriminator logits / critic values ``[B]`` of ``x [B, *data_shape]``."""
        return self.discriminator(x).squeeze(1)

    # -- training ----------------------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {
            "discriminator": OptimizerGroup(list(self.discriminator.parameters()), c.lr, tuple(c.betas)),
            "generator": OptimizerGroup(list(self.generator.parameters()), c.lr, tuple(c.betas)),
        }

    def step_schedule(self) -> list[tuple[str, int]]:
        return [("discriminator", self.config.n_critic), ("generator", 1)]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        z = torch.randn(batch.x.shape[0], self.latent_dim, device=batch.x.device)
        if group == "discriminator":
            with torch.no_grad():  # the critic's loss must not reach the generator
                fake = self.generator(z)
            real_score, fake_score = self.critic(batch.x), self.critic(fake)
            loss = discriminator_loss(self.config.loss, real_score, fake_score)
            logs = {"real_score": real_score.mean().item(), "fake_score": fake_score.mean().item()}
            if self.config.loss == "wgan-gp":
                penalty = gradient_penalty(self.critic, batch.x, fake)
                loss = loss + self.config.gp_weight * penalty
                logs["gradient_penalty"] = penalty.item()
            return loss, logs
        if group != "generator":
            raise ConfigError(f"gan: unknown optimiser group {group!r}")
        return generator_loss(self.config.loss, self.critic(self.generator(z))), {}

    def after_optimizer_step(self, group: str) -> None:
        if group == "discriminator" and self.config.loss == "wgan":
            with torch.no_grad():  # WGAN keeps the critic Lipschitz by clipping its weights
                for parameter in self.discriminator.parameters():
                    parameter.clamp_(-self.config.clip_value, self.config.clip_value)
