"""Conditional diffusion with classifier-free guidance (Ho & Salimans, 2021): the from-scratch conditional
diffusion baseline, next to CVAE and CGAN.

The denoiser of :mod:`condgen.models.diffusion` also sees the attributes: their condition vector
(:meth:`AttributeSchema.condition_vector`: binary ±1, continuous standardised, categorical one-hot, missing → 0)
goes through a small MLP into the UNet's time embedding. During training each example's condition is replaced
by a learned *null* embedding with probability ``p_uncond``, so one network learns both ε(x_t, t, c) and the
unconditional ε(x_t, t, ∅). Sampling with guidance scale w uses

    ε̃ = ε(x_t, t, ∅) + w · (ε(x_t, t, c) − ε(x_t, t, ∅)),

so w = 0 is the unconditional model, w = 1 the plain conditional one and w > 1 pushes samples towards the
attributes. ``attributes=None`` means no condition at all (the null embedding), which makes a trained model an
unconditional backbone as well. Latents are x_T as for the unconditional model: ``encode(x, attributes=…)`` is
DDIM inversion under the guided ε̃ of those attributes, ``decode(z, attributes=…)`` DDIM sampling under it, so
editing = invert with the true attributes, decode with changed ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.diffusion import DiffusionConfig, GaussianDiffusion, NoisePredictor
from condgen.nn.conditioning import condition_input, require_attributes
from condgen.nn.mlp import MLP


@dataclass
class ConditionalDiffusionConfig(DiffusionConfig):
    """:class:`~condgen.models.diffusion.DiffusionConfig` plus ``p_uncond`` (the share of training examples
    whose condition is dropped) and ``guidance_scale`` (w at sampling, decoding and inversion)."""

    sampler: str = "ddim"
    p_uncond: float = 0.1
    guidance_scale: float = 2.0
    model_name: ClassVar[str] = "cdiffusion"

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= self.p_uncond < 1 or self.guidance_scale < 0:
            raise ConfigError(f"cdiffusion: need 0 <= p_uncond < 1 and guidance_scale >= 0 (got {self.p_uncond}, "
                              f"{self.guidance_scale})")


class ConditionalDiffusion(GaussianDiffusion):
    """Classifier-free-guided diffusion. Shapes: images ``[B, C, H, W]``, latents ``[B, C·H·W]``, attribute
    values ``[B, K]`` in the schema's encoding (NaN = missing)."""

    kind = "cdiffusion"
    config_class = ConditionalDiffusionConfig
    is_conditional = True

    def __init__(self, config: ConditionalDiffusionConfig, schema: AttributeSchema):
        super().__init__(config, schema)
        width, embedding = require_attributes(self.schema, "cdiffusion"), config.time_embedding_width
        self.condition_embedding = MLP(width, embedding, embedding, depth=1, activation="leaky_relu")
        self.null_embedding = nn.Parameter(torch.zeros(embedding))

    def embedding(self, attributes: torch.Tensor | None, batch_size: int, device: torch.device) -> torch.Tensor:
        """The UNet's condition ``[B, time_embedding_width]``: of attribute values ``[B, K]``, or the null
        embedding for ``None``."""
        if attributes is None:
            return self.null_embedding.expand(batch_size, -1)
        return self.condition_embedding(condition_input(self.schema, attributes, batch_size, device))

    def training_prediction(self, noisy: torch.Tensor, t: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
        """ε(x_t, t, c) with each example's condition dropped to the null embedding with probability p_uncond."""
        batch_size = noisy.shape[0]
        condition = self.embedding(attributes, batch_size, noisy.device)
        dropped = torch.rand(batch_size, device=noisy.device) < self.config.p_uncond
        condition = torch.where(dropped[:, None], self.null_embedding.expand(batch_size, -1), condition)
        return self.unet(noisy, t, class_labels=condition).sample

    def noise_predictor(self, attributes: torch.Tensor | None = None,
                        guidance_scale: float | None = None) -> NoisePredictor:
        """The guided ε̃ for attribute values ``[B, K]`` with scale w (default ``config.guidance_scale``), or
        the unconditional ε for ``attributes=None``."""
        w = self.config.guidance_scale if guidance_scale is None else float(guidance_scale)

        def predict(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            null = self.embedding(None, x.shape[0], x.device)
            if attributes is None:
                return self.unet(x, t, class_labels=null).sample
            condition = self.embedding(attributes, x.shape[0], x.device)
            # One UNet call on [unconditional; conditional]
            both = self.unet(torch.cat([x, x]), t, class_labels=torch.cat([null, condition])).sample
            unconditional, conditional = both.chunk(2)
            return unconditional + w * (conditional - unconditional)

        return predict

    def decode(self, z: torch.Tensor, *, attributes: torch.Tensor | None = None,
               generator: torch.Generator | None = None, steps: int | None = None,
               guidance_scale: float | None = None) -> torch.Tensor:
        """Images ``[B, C, H, W]`` for x_T ``[B, C·H·W]`` by DDIM under attribute values ``[B, K]`` (None: none)."""
        return self.ddim_sample(z, self.noise_predictor(attributes, guidance_scale), steps)

    def encode(self, x: torch.Tensor, *, attributes: torch.Tensor | None = None, steps: int | None = None,
               guidance_scale: float | None = None) -> torch.Tensor:
        """x_T ``[B, C·H·W]`` of images ``[B, C, H, W]`` by DDIM inversion under attribute values ``[B, K]``."""
        return self.ddim_invert(x, self.noise_predictor(attributes, guidance_scale), steps)

    def reconstruct(self, x: torch.Tensor, *, attributes: torch.Tensor | None = None,
                    steps: int | None = None) -> torch.Tensor:
        """``decode(encode(x))`` with the same attribute values and steps both ways."""
        return self.decode(self.encode(x, attributes=attributes, steps=steps), attributes=attributes, steps=steps)
