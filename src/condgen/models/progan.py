"""Progressive growing of GANs (ProGAN; Karras, Aila, Laine & Lehtinen, 2018).

Generator and discriminator start at 4×4 and grow by doubling the side up to the data's size (32 px for
the built-in faces). Each new level is first *faded in* — its output blended with the upsampled output of
the level below with a weight ``alpha`` rising from 0 to 1 — and then trained *stable*; the number of steps
of each phase is ``fade_steps`` / ``stable_steps``. Real images are average-pooled to the current
resolution and, during a fade-in, blended the same way. The layers are the paper's: equalised learning
rate, pixel normalisation in the generator, a minibatch standard-deviation feature in the discriminator
(:mod:`condgen.nn.progressive`). The loss is the paper's WGAN-GP (λ = 10, one critic step per generator
step, Adam(1e-3, β = (0, 0.99))) with its drift term ``drift_weight · D(x)²`` on real scores; ``loss``
may name another of :mod:`condgen.models.gan_losses` (``ns``, ``ls``, ``hinge``).

The growth stage is a pure function of the engine's global step (:func:`~condgen.nn.progressive.stage_at`,
told through :meth:`ProGAN.set_progress`). Every level's layers exist from the start, so the state dict
and the optimisers never change shape, and a run resumed across a stage boundary is the uninterrupted run.

Sampling: ``decode`` runs the stage the last training step trained (the final resolution once growth is
complete, else the stage reached), upsampled (nearest) to the data's size and clipped to ``[-1, 1]``. The
number of steps trained is a buffer of the state dict (``steps_trained``: the checkpoint restores it, and
an EMA copies it as it copies every buffer); ``config.json`` repeats it as ``"growth"`` with the
resolution and alpha it implies, for people to read.

Not from the paper: one batch size for every resolution (the engine has one), and no EMA of the generator
unless ``--ema-decay`` is given (the paper uses 0.999).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.models.gan_losses import adversarial_groups, adversarial_step, check_loss
from condgen.nn.progressive import (
    FIRST_SIDE,
    GrowthStage,
    ProgressiveDiscriminator,
    ProgressiveGenerator,
    levels_for,
    resize_to_level,
    stage_at,
)

PROGAN_LOSSES = ("wgan-gp", "ns", "ls", "hinge")  # WGAN's weight clipping would fight equalised learning rates


@dataclass
class ProGANConfig:
    """Hyper-parameters of :class:`ProGAN`.

    Level ``i`` (side ``s = 4 · 2^i``) has ``min(max_channels, channel_base // s)`` channels (the authors'
    rule, scaled down: 128, 128, 64, 32 for 4…32 px). ``group_size``: examples per minibatch
    standard-deviation group. ``drift_weight``: weight of the mean squared real score in the critic loss.
    """

    data_shape: tuple[int, ...] = (3, 32, 32)
    latent_dim: int = 128
    channel_base: int = 1024
    max_channels: int = 128
    fade_steps: int = 500
    stable_steps: int = 500
    loss: str = "wgan-gp"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.0, 0.99)
    n_critic: int = 1
    gp_weight: float = 10.0
    drift_weight: float = 1e-3
    group_size: int = 4
    model_name: ClassVar[str] = "progan"

    def __post_init__(self):
        check_loss(self.loss, "progan", PROGAN_LOSSES)
        if len(self.data_shape) != 3 or self.data_shape[1] != self.data_shape[2]:
            raise ConfigError(f"progan models square images [C, S, S], got data of shape {list(self.data_shape)}")
        levels_for(int(self.data_shape[2]))  # a side it can grow to
        sizes = {"latent_dim": self.latent_dim, "channel_base": self.channel_base, "max_channels": self.max_channels,
                 "fade_steps": self.fade_steps, "stable_steps": self.stable_steps, "n_critic": self.n_critic,
                 "group_size": self.group_size}
        small = [f"{key}={value}" for key, value in sizes.items() if value < 1]
        if small:
            raise ConfigError(f"progan: sizes and step counts must be >= 1 (got {', '.join(small)})")
        if self.lr <= 0 or self.gp_weight < 0 or self.drift_weight < 0:
            raise ConfigError(f"progan: need lr > 0 and gp_weight, drift_weight >= 0 (got {self.lr}, "
                              f"{self.gp_weight}, {self.drift_weight})")

    @property
    def levels(self) -> int:
        """Resolutions grown through, 4×4 included (4 for 32 px)."""
        return levels_for(int(self.data_shape[2]))

    def channels(self) -> list[int]:
        """Channels of each level's blocks, 4×4 first."""
        return [max(1, min(self.max_channels, self.channel_base // (FIRST_SIDE << i))) for i in range(self.levels)]

    def stage_at(self, step: int) -> GrowthStage:
        """The growth stage at global step ``step`` (:func:`condgen.nn.progressive.stage_at`)."""
        return stage_at(step, levels=self.levels, fade_steps=self.fade_steps, stable_steps=self.stable_steps)


class ProGAN(LatentModel):
    """Progressively grown GAN: ``z [B, latent_dim]`` → images ``[B, C, S, S]`` in ``[-1, 1]``; no encoder
    (a plugin edits real images through inversion, :func:`condgen.plugin.invert`)."""

    kind = "progan"
    config_class = ProGANConfig
    modalities: ClassVar[tuple[str, ...]] = ("images",)

    def __init__(self, config: ProGANConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        channels, image_channels = config.channels(), int(config.data_shape[0])
        self.generator = ProgressiveGenerator(config.latent_dim, channels, image_channels)
        self.discriminator = ProgressiveDiscriminator(channels, image_channels, group_size=config.group_size)
        # engine steps trained so far (a buffer, so that it travels with the weights)
        self.register_buffer("trained_steps", torch.zeros((), dtype=torch.int64))
        self.training_stage = config.stage_at(0)

    # -- sampling ------------------------------------------------------------------------------
    @property
    def steps_trained(self) -> int:
        """Engine steps trained so far; the stage of the last one is the stage samples come from."""
        return int(self.trained_steps)

    @steps_trained.setter
    def steps_trained(self, steps: int) -> None:
        self.trained_steps.fill_(int(steps))

    @property
    def sample_stage(self) -> GrowthStage:
        """The stage ``decode`` runs: that of the last step trained (4×4 before any training)."""
        return self.config.stage_at(max(self.steps_trained - 1, 0))

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None,
               stage: GrowthStage | None = None) -> torch.Tensor:
        """Images ``[B, *data_shape]`` in ``[-1, 1]`` for latents ``z [B, latent_dim]``, generated at ``stage``
        (default :attr:`sample_stage`) and upsampled to the data's side when that stage is smaller."""
        stage = stage or self.sample_stage
        images = self.generator(z, stage.level, stage.alpha)
        side = int(self.config.data_shape[2])
        if stage.resolution < side:
            images = F.interpolate(images, scale_factor=side // stage.resolution, mode="nearest")
        return images.clamp(-1.0, 1.0)

    # -- training ------------------------------------------------------------------------------
    def set_progress(self, step: int, total_steps: int) -> None:
        """The engine is about to run global step ``step``: train at its growth stage."""
        self.training_stage = self.config.stage_at(step)
        self.steps_trained = step + 1

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        # Every level's parameters from the start: those not yet grown get no gradient, so Adam leaves them be.
        return adversarial_groups(list(self.discriminator.parameters()), list(self.generator.parameters()),
                                  self.config.lr, self.config.betas)

    def step_schedule(self) -> list[tuple[str, int]]:
        return [("discriminator", self.config.n_critic), ("generator", 1)]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """The ``discriminator`` or ``generator`` loss at the current growth stage, on ``batch.x`` resized to
        its resolution; the critic's loss adds ``drift_weight · mean(D(x)²)`` over the real examples."""
        c, stage = self.config, self.training_stage
        real = resize_to_level(batch.x, stage.resolution, stage.alpha)
        real_scores: list[torch.Tensor] = []

        def critic(x: torch.Tensor) -> torch.Tensor:
            scores = self.discriminator(x, stage.level, stage.alpha)
            if x is real:  # kept for the drift term, without scoring the real batch twice
                real_scores.append(scores)
            return scores

        value, logs = adversarial_step(group, c.loss, real, c.latent_dim,
                                       lambda z: self.generator(z, stage.level, stage.alpha), critic,
                                       gp_weight=c.gp_weight, owner="progan")
        if group == "discriminator":  # where the stage is logged, once per step
            logs.update(resolution=float(stage.resolution), alpha=stage.alpha)
            if c.drift_weight > 0:
                drift = real_scores[0].pow(2).mean()
                value = value + c.drift_weight * drift
                logs["drift"] = drift.item()
        return value, logs

    # -- artifacts -----------------------------------------------------------------------------
    def artifact_body(self) -> dict[str, Any]:
        stage = self.sample_stage
        growth = {"steps_trained": self.steps_trained, "resolution": stage.resolution, "alpha": stage.alpha}
        return {**super().artifact_body(), "growth": growth}
