"""Normalising flows on images: RealNVP (Dinh et al., 2017) and Glow (Kingma & Dhariwal, 2018).

A flow is an exact bijection between images and latents of the same size, so it is a backbone whose
``encode`` needs no inversion and whose ``decode(encode(x))`` is ``x`` (up to float rounding). The two
families differ only in their layers (:func:`~condgen.nn.image_flow.realnvp_flow`,
:func:`~condgen.nn.image_flow.glow_flow`); everything else — dequantisation, pre-processing, the likelihood
in bits per dimension, sampling with a temperature — is :class:`ImageFlow`'s.

Data and likelihood. Networks see images in ``[-1, 1]`` (``u8 / 127.5 − 1``). Training recovers the
integers ``u8 ∈ {0 … 255}`` and dequantises them uniformly, ``p = (u8 + u) / 256`` with ``u ~ U[0, 1)^D``, so
the flow models a density on ``[0, 1]^D``; ``p`` is pre-processed by ``logit(α + (1 − 2α) p)`` (RealNVP) or
``p − ½`` (Glow), that map's log-determinant counted, then mapped to ``z ~ N(0, I)``. The log-likelihood of
the discrete image is estimated by ``log p(p) − D log 256`` and reported in bits per dimension,
``−log₂ P(x) / D``. ``encode(x)`` maps the point ``p = (x + 1) / 2 = u8 / 255`` — inside the same
dequantisation cell, ``u8 ≤ 256 p ≤ u8 + 1`` — so ``decode`` returns exactly ``x``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError, check_choice
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.nn.image_flow import MultiScaleFlow, glow_flow, realnvp_flow

PREPROCESSINGS = ("logit", "affine")


@dataclass
class ImageFlowConfig:
    """Hyper-parameters of an image flow.

    ``n_levels``: scales of the multi-scale architecture (Glow squeezes ``n_levels`` times, RealNVP
    ``n_levels − 1``: image sides must be divisible accordingly). ``steps_per_level``: Glow steps
    (ActNorm, 1×1 conv, coupling) per level, or RealNVP couplings per half-level. ``hidden``: channels of
    each coupling's conv net. ``preprocessing``: ``"logit"`` with ``logit_alpha`` or ``"affine"``.
    """

    data_shape: tuple[int, ...] = (3, 32, 32)
    n_levels: int = 3
    steps_per_level: int = 4
    hidden: int = 32
    preprocessing: str = "logit"
    logit_alpha: float = 0.05
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = 50.0
    model_name: ClassVar[str] = "image flow"

    def __post_init__(self):
        name = self.model_name
        if len(self.data_shape) != 3:
            raise ConfigError(f"{name} models images [C, H, W], got data of shape {list(self.data_shape)}; "
                              "for vectors use the plugin's flow or a VAE")
        if self.n_levels < 1 or self.steps_per_level < 1 or self.hidden < 1:
            raise ConfigError(f"{name}: n_levels, steps_per_level and hidden must be >= 1 (got {self.n_levels}, "
                              f"{self.steps_per_level}, {self.hidden})")
        check_choice(self.preprocessing, PREPROCESSINGS, "preprocessing", name)
        if not 0 < self.logit_alpha < 0.5:
            raise ConfigError(f"{name}: logit_alpha must be in (0, 0.5), got {self.logit_alpha}")


@dataclass
class RealNVPConfig(ImageFlowConfig):
    """:class:`ImageFlowConfig` with RealNVP's defaults (logit pre-processing)."""

    model_name: ClassVar[str] = "realnvp"


@dataclass
class GlowConfig(ImageFlowConfig):
    """:class:`ImageFlowConfig` with Glow's defaults (affine pre-processing ``p − ½``)."""

    preprocessing: str = "affine"
    model_name: ClassVar[str] = "glow"


class ImageFlow(LatentModel):
    """A multi-scale normalising flow over images ``[B, C, H, W]`` in ``[-1, 1]``; latents ``[B, C·H·W]``.

    A subclass names its layers in :meth:`build_flow`.
    """

    has_encoder = True
    modalities: ClassVar[tuple[str, ...]] = ("images",)

    def __init__(self, config: ImageFlowConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.flow = self.build_flow(config)

    @staticmethod
    def build_flow(config: ImageFlowConfig) -> MultiScaleFlow:
        raise NotImplementedError

    @property
    def latent_dim(self) -> int:
        return math.prod(self.config.data_shape)

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"model": OptimizerGroup(list(self.parameters()), c.lr, tuple(c.betas), grad_clip=c.grad_clip)}

    # -- the data ↔ flow-input maps ---------------------------------------------------------------
    def preprocess(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit-cube images ``p [B, C, H, W]`` → flow input ``y`` and ``log|det dy/dp|`` ``[B]``."""
        if self.config.preprocessing == "affine":
            return p - 0.5, p.new_zeros(p.shape[0])
        alpha = self.config.logit_alpha
        s = alpha + (1 - 2 * alpha) * p
        y = torch.log(s) - torch.log1p(-s)
        logabsdet = (math.log(1 - 2 * alpha) - torch.log(s) - torch.log1p(-s)).flatten(1).sum(dim=1)
        return y, logabsdet

    def postprocess(self, y: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`preprocess`: flow input ``y`` → unit-cube images ``p``."""
        if self.config.preprocessing == "affine":
            return y + 0.5
        alpha = self.config.logit_alpha
        return (torch.sigmoid(y) - alpha) / (1 - 2 * alpha)

    # -- likelihood ---------------------------------------------------------------------------------
    def log_density(self, p: torch.Tensor) -> torch.Tensor:
        """Log-density ``[B]`` (nats) of the flow on ``[0, 1]^D`` at ``p [B, C, H, W]``."""
        y, pre_logabsdet = self.preprocess(p)
        z, flow_logabsdet = self.flow(y)
        log_prior = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(dim=1)
        return log_prior + flow_logabsdet + pre_logabsdet

    def log_likelihood(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Estimated log-probability ``[B]`` (nats) of the 8-bit images ``x [B, C, H, W]`` (in ``[-1, 1]``):
        ``log p((u8 + u) / 256) − D log 256`` for one uniform draw ``u`` (seeded by ``generator``), a lower
        bound on ``log P(u8)`` in expectation."""
        levels = ((x + 1) * 127.5).round().clamp(0, 255)
        noise = torch.rand(x.shape, generator=generator).to(x.device) if generator is not None else torch.rand_like(x)
        dims = x[0].numel()
        return self.log_density((levels + noise) / 256) - dims * math.log(256)

    def bits_per_dim(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``−log₂ P(x) / D`` per example ``[B]`` for images ``x [B, C, H, W]`` in ``[-1, 1]``."""
        return -self.log_likelihood(x, generator=generator) / (x[0].numel() * math.log(2))

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean bits per dimension of the batch under uniform dequantisation."""
        bits = self.bits_per_dim(batch.x).mean()
        return bits, {"bits_per_dim": bits.item()}

    # -- the backbone -------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latents ``[B, C·H·W]`` of images ``x [B, C, H, W]`` in ``[-1, 1]`` (exact; no dequantisation noise)."""
        z, _ = self.flow(self.preprocess((x + 1) / 2)[0])
        return z

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images ``[B, C, H, W]`` in ``[-1, 1]`` of latents ``z [B, C·H·W]``: the exact inverse of :meth:`encode`
        (clamped to ``[-1, 1]``, which changes nothing for an encoded image)."""
        y, _ = self.flow.inverse(z)
        return (2 * self.postprocess(y) - 1).clamp(-1.0, 1.0)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, attributes: torch.Tensor | None = None,
               temperature: float = 1.0) -> torch.Tensor:
        """``n`` images ``[n, C, H, W]`` decoded from ``temperature · N(0, I)`` latents (below 1: smoother,
        more typical images, as in Glow)."""
        self.check_unconditional(attributes)
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        was_training = self.training
        self.eval()
        try:
            return self.decode(temperature * self.sample_latent(n, generator=generator))
        finally:
            self.train(was_training)


class RealNVP(ImageFlow):
    """RealNVP: checkerboard and channel affine couplings, multi-scale (:func:`~condgen.nn.image_flow.realnvp_flow`)."""

    kind = "realnvp"
    config_class = RealNVPConfig

    @staticmethod
    def build_flow(config: ImageFlowConfig) -> MultiScaleFlow:
        return realnvp_flow(config.data_shape, config.n_levels, config.steps_per_level, config.hidden)


class Glow(ImageFlow):
    """Glow: ActNorm, invertible 1×1 convolutions and affine couplings, multi-scale
    (:func:`~condgen.nn.image_flow.glow_flow`)."""

    kind = "glow"
    config_class = GlowConfig

    @staticmethod
    def build_flow(config: ImageFlowConfig) -> MultiScaleFlow:
        return glow_flow(config.data_shape, config.n_levels, config.steps_per_level, config.hidden)
