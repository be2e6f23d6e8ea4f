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

Options from the lectures, each off by default (the networks and the weights' layout are then DCGAN's):

* **SAGAN** (Zhang et al., 2019; the ``sagan`` recipe): self-attention in both networks (``attention``, a
  feature-map side) and spectral normalisation (``spectral_norm``), both
  :class:`~condgen.nn.networks.ImageArchitecture` options; the hinge loss; two learning rates
  (``discriminator_lr`` besides ``lr``: the two time-scale update rule, TTUR).
* **Feature matching** (Salimans et al., 2016): ``feature_matching=true`` trains the generator to match the
  batch mean of the discriminator's features ``f`` (:func:`~condgen.models.gan_losses.feature_matching_loss`).
* **Minibatch discrimination** (Salimans et al.): ``minibatch_discrimination=true`` appends
  ``minibatch_kernels`` closeness statistics of each example to the rest of its batch to the features
  (:mod:`condgen.nn.minibatch`).

With either of the last two, the discriminator is ``features(hidden) → [minibatch layer] → linear``
(:class:`~condgen.nn.minibatch.FeatureDiscriminator`), ``f`` its ``hidden`` features. An **EMA generator**
is the engine's ``ema_decay`` (``condgen train … --ema-decay 0.999``): samples, the saved artifact (so
``condgen sample``, the plugin and inversion) use the averaged weights; the checkpoint keeps the raw ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.models.gan_losses import LOSSES, adversarial_groups, adversarial_step, check_loss, feature_matching_step
from condgen.nn.minibatch import FeatureDiscriminator
from condgen.nn.networks import ImageArchitecture
from condgen.nn.spectral_norm import spectral_normalise

#: loss → (lr, betas, n_critic, critic batch norm): the standard setting of each objective.
LOSS_DEFAULTS: dict[str, tuple[float, tuple[float, float], int, bool]] = {
    "ns": (2e-4, (0.5, 0.999), 1, True),
    "ls": (2e-4, (0.5, 0.999), 1, True),
    "hinge": (2e-4, (0.5, 0.999), 1, True),
    "wgan": (5e-5, (0.0, 0.99), 5, True),
    "wgan-gp": (1e-4, (0.5, 0.9), 5, False),
}


@dataclass
class GANConfig(ImageArchitecture):
    """Hyper-parameters of :class:`GAN`. ``None`` fields take the value standard for ``loss``
    (:data:`LOSS_DEFAULTS`); the saved config holds the resolved values.

    The architecture fields are :class:`~condgen.nn.networks.ImageArchitecture`'s, with DCGAN's
    larger defaults. ``gp_weight`` is WGAN-GP's λ, ``clip_value`` WGAN's weight bound.
    ``discriminator_lr`` (``None``: ``lr``) is the discriminator's own learning rate (TTUR). For
    ``feature_matching``, ``minibatch_discrimination``, ``minibatch_kernels`` and ``minibatch_kernel_dim``
    see the module docstring.
    """

    latent_dim: int = 128
    base_channels: int = 64
    depth: int = 3
    loss: str = "ns"
    lr: float | None = None
    betas: tuple[float, float] | None = None
    n_critic: int | None = None
    critic_batch_norm: bool | None = None
    gp_weight: float = 10.0
    clip_value: float = 0.01
    discriminator_lr: float | None = None
    feature_matching: bool = False
    minibatch_discrimination: bool = False
    minibatch_kernels: int = 50
    minibatch_kernel_dim: int = 5
    model_name: ClassVar[str] = "gan"

    def __post_init__(self):
        super().__post_init__()
        check_loss(self.loss, "gan", LOSSES)
        lr, betas, n_critic, batch_norm = LOSS_DEFAULTS[self.loss]
        self.lr = lr if self.lr is None else float(self.lr)
        self.betas = betas if self.betas is None else tuple(self.betas)
        self.n_critic = n_critic if self.n_critic is None else int(self.n_critic)
        self.critic_batch_norm = batch_norm if self.critic_batch_norm is None else bool(self.critic_batch_norm)
        self.discriminator_lr = self.lr if self.discriminator_lr is None else float(self.discriminator_lr)
        if self.n_critic < 1 or self.lr <= 0 or self.discriminator_lr <= 0:
            raise ConfigError(f"gan: need n_critic >= 1 and lr, discriminator_lr > 0 (got {self.n_critic}, "
                              f"{self.lr}, {self.discriminator_lr})")
        if self.loss == "wgan-gp" and self.critic_batch_norm:
            raise ConfigError("gan: wgan-gp's gradient penalty is per example; batch norm in the critic breaks "
                              "it (set critic_batch_norm=false)")
        if self.loss == "wgan-gp" and self.minibatch_discrimination:
            raise ConfigError("gan: wgan-gp's gradient penalty is per example; minibatch discrimination makes "
                              "each score depend on the whole batch (use another loss)")
        if self.minibatch_kernels < 1:
            raise ConfigError(f"gan: need minibatch_kernels >= 1 (got {self.minibatch_kernels})")

    @property
    def scores_features(self) -> bool:
        """Whether the discriminator is a :class:`~condgen.nn.minibatch.FeatureDiscriminator`."""
        return self.feature_matching or self.minibatch_discrimination


class GAN(LatentModel):
    """Generator ``z [B, latent_dim] → x [B, *data_shape]`` and a critic ``x → [B]`` scores."""

    kind = "gan"
    config_class = GANConfig

    def __init__(self, config: GANConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.generator = config.decoder(config.latent_dim)
        if config.scores_features:
            self.discriminator = FeatureDiscriminator(
                config.features(config.hidden, batch_norm=config.critic_batch_norm), config.hidden,
                minibatch_kernels=config.minibatch_kernels if config.minibatch_discrimination else 0,
                kernel_dim=config.minibatch_kernel_dim)
            if config.encoder_spectral_norm:
                spectral_normalise(self.discriminator.head)  # the features are normalised already
        else:
            self.discriminator = config.encoder(1, batch_norm=config.critic_batch_norm)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Examples ``[B, *data_shape]`` for latents ``z [B, latent_dim]``."""
        return self.generator(z)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        """Discriminator logits / critic values ``[B]`` of ``x [B, *data_shape]``."""
        return self.discriminator(x).squeeze(1)

    # -- training ----------------------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        return adversarial_groups(list(self.discriminator.parameters()), list(self.generator.parameters()),
                                  self.config.lr, self.config.betas, discriminator_lr=self.config.discriminator_lr)

    def step_schedule(self) -> list[tuple[str, int]]:
        return [("discriminator", self.config.n_critic), ("generator", 1)]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """The ``discriminator`` or ``generator`` loss of :func:`~condgen.models.gan_losses.adversarial_step`
        (with ``feature_matching``, the generator's is :func:`~condgen.models.gan_losses.feature_matching_step`)."""
        c = self.config
        if group == "generator" and c.feature_matching:
            return feature_matching_step(batch.x, c.latent_dim, self.generator, self.discriminator.features)
        return adversarial_step(group, c.loss, batch.x, c.latent_dim, self.generator, self.critic,
                                gp_weight=c.gp_weight, owner="gan")

    def after_optimizer_step(self, group: str) -> None:
        if group == "discriminator" and self.config.loss == "wgan":
            with torch.no_grad():  # WGAN keeps the critic Lipschitz by clipping its weights
                for parameter in self.discriminator.parameters():
                    parameter.clamp_(-self.config.clip_value, self.config.clip_value)
