"""Denoising diffusion (Ho et al., 2020) with DDPM ancestral and DDIM (Song et al., 2021) sampling, as a backbone.

Training adds Gaussian noise to an image at a random step t of T (``timesteps``, 1000) along a linear or
cosine (Nichol & Dhariwal, 2021) β schedule and regresses the noise: ``loss = ‖ε − ε_θ(√ᾱ_t x + √(1−ᾱ_t) ε, t)‖²``.
The denoiser ε_θ is diffusers' ``UNet2DModel`` with small block widths; the schedulers are diffusers' too
(``DDPMScheduler``, ``DDIMScheduler``, ``DDIMInverseScheduler``), kept apart from the model as in diffusers:
each sampling loop here only asks the network for ε and hands it to ``scheduler.step``. diffusers is imported
when a model is built (it takes seconds), with ``HF_HUB_OFFLINE`` set so nothing reaches for the hub; the
artifact is condgen's config.json + model.safetensors (no ``save_pretrained``).

``ddpm`` and ``ddim`` are two CLI names of this one class, trained identically; they differ only in the
default ``sampler`` of :meth:`GaussianDiffusion.sample` (DDPM ancestral over all T steps, or DDIM with
``ddim_steps``). As a backbone (for the plugin, editing and inpainting) the latent is x_T itself:
``latent_dim = C·H·W``, ``sample_latent`` is standard normal, ``decode(z)`` is deterministic DDIM sampling
from z (η = 0) and ``encode(x)`` is DDIM inversion, which runs the same steps backwards.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError, check_choice
from condgen.models.base import Batch, LatentModel, OptimizerGroup

#: condgen's names of the β schedules → diffusers' names.
BETA_SCHEDULES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}
SAMPLERS = ("ddpm", "ddim")
#: ε_θ as the sampling loops see it: ``(x_t [B, C, H, W], t (0-d tensor)) → ε [B, C, H, W]``.
NoisePredictor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def import_diffusers():
    """The diffusers module, imported offline (never a hub lookup) and only when a diffusion model needs it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import diffusers

    return diffusers


@dataclass
class DiffusionConfig:
    """Hyper-parameters of :class:`GaussianDiffusion`.

    The UNet: ``block_channels`` per resolution (each block but the last halves the image side, so H and W
    must be divisible by 2^(blocks − 1)), ``layers_per_block`` residual blocks each, self-attention at the
    lowest resolution when ``attention``, group norm over ``norm_groups`` groups. The process: ``timesteps``
    (T), ``beta_schedule`` ``"linear"`` (``beta_start`` → ``beta_end``) or ``"cosine"``. Sampling:
    ``sampler`` (what :meth:`~GaussianDiffusion.sample` uses by default), ``ddim_steps`` (DDIM sampling,
    decoding and inversion), ``ddpm_steps`` (None: all T), ``clip_sample`` (clip the predicted x₀ to
    [-1, 1] in DDPM ancestral steps; DDIM never clips, so that ``decode(encode(x))`` can come back to x).
    """

    data_shape: tuple[int, ...] = (3, 32, 32)
    block_channels: tuple[int, ...] = (16, 32, 64)
    layers_per_block: int = 1
    attention: bool = True
    norm_groups: int = 8
    timesteps: int = 1000
    beta_schedule: str = "linear"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    sampler: str = "ddpm"
    ddim_steps: int = 50
    ddpm_steps: int | None = None
    clip_sample: bool = True
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = 1.0
    model_name: ClassVar[str] = "diffusion"

    def __post_init__(self):
        name = self.model_name
        if len(self.data_shape) != 3:
            raise ConfigError(f"{name} models images (data_shape [C, H, W]), got {list(self.data_shape)}")
        halvings = 2 ** (len(self.block_channels) - 1)
        if not self.block_channels or any(side % halvings for side in self.data_shape[1:]):
            raise ConfigError(f"{name}: {len(self.block_channels)} UNet blocks halve the side "
                              f"{len(self.block_channels) - 1} times; image side {list(self.data_shape[1:])} must be "
                              f"divisible by {halvings} (use fewer -o block_channels)")
        if self.norm_groups < 1 or any(c < 1 or c % self.norm_groups for c in self.block_channels):
            raise ConfigError(f"{name}: every block width {list(self.block_channels)} must be a positive multiple "
                              f"of norm_groups={self.norm_groups}")
        check_choice(self.beta_schedule, BETA_SCHEDULES, "beta_schedule", name)
        check_choice(self.sampler, SAMPLERS, "sampler", name)
        if self.timesteps < 2 or not 0 < self.beta_start < self.beta_end < 1:
            raise ConfigError(f"{name}: need timesteps >= 2 and 0 < beta_start < beta_end < 1 (got "
                              f"{self.timesteps}, {self.beta_start}, {self.beta_end})")
        for steps in (self.ddim_steps, self.ddpm_steps):
            if steps is not None and not 1 <= steps <= self.timesteps:
                raise ConfigError(f"{name}: sampling steps must lie in 1..timesteps={self.timesteps}, got {steps}")

    @property
    def time_embedding_width(self) -> int:
        """The width of the UNet's timestep embedding (diffusers: 4 × the first block's width)."""
        return 4 * self.block_channels[0]


def build_unet(config: DiffusionConfig, conditional: bool = False):
    """diffusers' ``UNet2DModel`` for ``config``: ``(x_t [B, C, H, W], t [B]) → ε [B, C, H, W]``. With
    ``conditional`` it also takes ``class_labels`` ``[B, time_embedding_width]``, added to the time embedding."""
    channels, height, width = config.data_shape
    blocks = len(config.block_channels)
    attention = [config.attention and i == blocks - 1 for i in range(blocks)]
    return import_diffusers().UNet2DModel(
        sample_size=(height, width), in_channels=channels, out_channels=channels,
        block_out_channels=tuple(config.block_channels), layers_per_block=config.layers_per_block,
        down_block_types=tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention),
        up_block_types=tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention)),
        norm_num_groups=config.norm_groups, attention_head_dim=8, add_attention=config.attention,
        class_embed_type="identity" if conditional else None,
    )


def make_scheduler(config: DiffusionConfig, kind: str):
    """A fresh diffusers scheduler of the model's noise process: ``"ddpm"``, ``"ddim"`` or ``"inverse"`` (DDIM
    inversion). DDIM never clips x₀ either way: clipping on one side only would break the round trip.

    ``"trailing"`` timestep spacing (Lin et al., 2024): sampling with any number of steps starts at t = T − 1,
    where x_T really is the standard normal latent (the default ``"leading"`` spacing would start at
    T − T/steps, where a cosine schedule keeps a visible share of the image), and inversion ends there."""
    diffusers = import_diffusers()
    common: dict[str, Any] = {"num_train_timesteps": config.timesteps, "beta_start": config.beta_start,
                              "beta_end": config.beta_end, "beta_schedule": BETA_SCHEDULES[config.beta_schedule],
                              "prediction_type": "epsilon", "timestep_spacing": "trailing"}
    if kind == "ddpm":
        return diffusers.DDPMScheduler(**common, clip_sample=config.clip_sample, variance_type="fixed_small")
    if kind == "ddim":
        return diffusers.DDIMScheduler(**common, clip_sample=False, set_alpha_to_one=True)
    return diffusers.DDIMInverseScheduler(**common, clip_sample=False, set_alpha_to_one=True)


class GaussianDiffusion(LatentModel):
    """A denoising diffusion model over images ``[B, *data_shape]`` in ``[-1, 1]``; latents ``[B, C·H·W]``
    (x_T flattened). Conditional subclasses pass ``attributes`` to :meth:`noise_predictor`."""

    kind = "diffusion"
    config_class = DiffusionConfig
    has_encoder = True
    modalities = ("images",)
    # A shorter average than the usual 0.999: CPU runs are thousands of steps, and after 1,000 steps a 0.999
    # average still gives the first weights 37 % of its mass.
    default_ema_decay = 0.995

    def __init__(self, config: DiffusionConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.unet = build_unet(config, conditional=self.is_conditional)
        self.noise_schedule = make_scheduler(config, "ddpm")  # q(x_t | x_0) for training

    @property
    def latent_dim(self) -> int:
        return math.prod(self.config.data_shape)

    # -- training ----------------------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"model": OptimizerGroup(list(self.parameters()), c.lr, tuple(c.betas), grad_clip=c.grad_clip)}

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Noise-prediction MSE at a uniformly drawn step t ∈ {0, …, T−1} per example."""
        x = batch.x
        noise = torch.randn_like(x)
        t = torch.randint(0, self.config.timesteps, (x.shape[0],), device=x.device)
        noisy = self.noise_schedule.add_noise(x, noise, t)
        loss = F.mse_loss(self.training_prediction(noisy, t, batch.attributes), noise)
        return loss, {"mse": loss.item()}

    def training_prediction(self, noisy: torch.Tensor, t: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
        """ε_θ(x_t, t) ``[B, C, H, W]`` during training (a conditional model sees the batch's attributes)."""
        return self.unet(noisy, t).sample

    # -- sampling ----------------------------------------------------------------------------
    def noise_predictor(self, attributes: torch.Tensor | None = None,
                        guidance_scale: float | None = None) -> NoisePredictor:
        """ε_θ for the sampling loops (an unconditional model takes no attributes)."""
        self.check_unconditional(attributes)
        return lambda x, t: self.unet(x, t).sample

    def images(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``[B, C·H·W]`` (or images already) → ``[B, C, H, W]``, checked."""
        if z.ndim == 2 and z.shape[1] != self.latent_dim or z.ndim not in (2, 4):
            raise ConfigError(f"{self.kind}: expected latents [B, {self.latent_dim}], got {list(z.shape)}")
        return z.reshape(z.shape[0], *self.config.data_shape)

    @torch.no_grad()
    def ddim_sample(self, z: torch.Tensor, predict: NoisePredictor, steps: int | None = None) -> torch.Tensor:
        """Deterministic DDIM (η = 0) from x_T = ``z [B, C·H·W]`` in ``steps`` (default ``ddim_steps``) →
        images ``[B, C, H, W]`` in [-1, 1]."""
        scheduler = make_scheduler(self.config, "ddim")
        scheduler.set_timesteps(steps or self.config.ddim_steps, device=z.device)
        x = self.images(z)
        for t in scheduler.timesteps:
            x = scheduler.step(predict(x, t), t, x, eta=0.0).prev_sample
        return x.clamp(-1.0, 1.0)

    @torch.no_grad()
    def ddim_invert(self, x: torch.Tensor, predict: NoisePredictor, steps: int | None = None) -> torch.Tensor:
        """DDIM inversion: images ``[B, C, H, W]`` → x_T ``[B, C·H·W]`` through the timesteps of
        :meth:`ddim_sample` run upwards, each transition using the ε of the step it mirrors."""
        scheduler = make_scheduler(self.config, "inverse")
        scheduler.set_timesteps(steps or self.config.ddim_steps, device=x.device)
        for t in scheduler.timesteps:
            x = scheduler.step(predict(x, t), t, x).prev_sample
        return x.flatten(1)

    @torch.no_grad()
    def ddpm_sample(self, z: torch.Tensor, predict: NoisePredictor, generator: torch.Generator | None = None,
                    steps: int | None = None) -> torch.Tensor:
        """DDPM ancestral sampling from x_T = ``z`` over ``steps`` (default ``ddpm_steps``, None: all T), with
        the per-step noise drawn from ``generator`` → images ``[B, C, H, W]`` in [-1, 1]."""
        scheduler = make_scheduler(self.config, "ddpm")
        scheduler.set_timesteps(steps or self.config.ddpm_steps or self.config.timesteps, device=z.device)
        x = self.images(z)
        for t in scheduler.timesteps:
            x = scheduler.step(predict(x, t), t, x, generator=generator).prev_sample
        return x.clamp(-1.0, 1.0)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None,
               steps: int | None = None) -> torch.Tensor:
        """Images ``[B, C, H, W]`` for latents x_T ``[B, C·H·W]`` by DDIM sampling (deterministic)."""
        return self.ddim_sample(z, self.noise_predictor(), steps)

    def encode(self, x: torch.Tensor, *, steps: int | None = None) -> torch.Tensor:
        """Latents x_T ``[B, C·H·W]`` of images ``[B, C, H, W]`` by DDIM inversion; ``decode`` takes them back."""
        return self.ddim_invert(x, self.noise_predictor(), steps)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, attributes: torch.Tensor | None = None,
               sampler: str | None = None, steps: int | None = None,
               guidance_scale: float | None = None) -> torch.Tensor:
        """``n`` images ``[n, C, H, W]``: x_T from ``generator``, then ``sampler`` (default ``config.sampler``;
        ``"ddpm"`` draws its per-step noise from ``generator`` too) over ``steps``. A conditional model takes
        attribute values ``[n, K]`` and a ``guidance_scale``."""
        sampler = check_choice(sampler or self.config.sampler, SAMPLERS, "sampler", self.kind)
        predict = self.noise_predictor(attributes, guidance_scale)
        was_training = self.training
        self.eval()
        try:
            z = self.sample_latent(n, generator=generator)
            if sampler == "ddim":
                return self.ddim_sample(z, predict, steps)
            return self.ddpm_sample(z, predict, generator, steps)
        finally:
            self.train(was_training)

    def reconstruct(self, x: torch.Tensor, *, steps: int | None = None) -> torch.Tensor:
        """``decode(encode(x))`` with the same number of DDIM steps both ways."""
        return self.decode(self.encode(x, steps=steps), steps=steps)
