"""Blocks that feed attribute conditions into networks (conditional VAE / GAN baselines)."""

from __future__ import annotations

import torch
from torch import nn

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError


def condition_input(schema: AttributeSchema, attributes: torch.Tensor | None, batch_size: int,
                    device: torch.device) -> torch.Tensor:
    """The network input ``[B, schema.condition_width]`` for attribute values ``[B, K]``.

    ``None`` means every attribute is missing, which the schema encodes as zeros (the mean).
    """
    if attributes is None:
        return torch.zeros(batch_size, schema.condition_width, device=device)
    if attributes.ndim != 2 or attributes.shape != (batch_size, len(schema)):
        raise ConfigError(f"expected attribute values of shape [{batch_size}, {len(schema)}] "
                          f"({', '.join(schema.names)}), got {list(attributes.shape)}")
    return schema.condition_vector(attributes.to(device)).to(device)


def require_attributes(schema: AttributeSchema, owner: str) -> int:
    """The width of ``schema``'s condition vector; a ConfigError naming ``owner`` when it has no attributes."""
    if schema.condition_width == 0:
        raise ConfigError(f"{owner} is conditional and needs a data set with attributes; this one has none")
    return schema.condition_width


class ProjectionHead(nn.Module):
    """The output of a projection discriminator (Miyato & Koyama, 2018):
    ``score = w·φ + ⟨V c, φ⟩`` for features ``φ [B, F]`` and condition vector ``c [B, W]`` → ``[B]``.

    The inner product makes the discriminator judge *whether x matches c*, not just whether x is real;
    it works for one-hot, ±1 and standardised condition columns alike (``V`` is a linear embedding).
    """

    def __init__(self, features: int, condition_width: int):
        super().__init__()
        self.unconditional = nn.Linear(features, 1)
        self.embedding = nn.Linear(condition_width, features, bias=False)

    def forward(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        projection = (self.embedding(condition) * features).sum(dim=1)
        return self.unconditional(features).squeeze(1) + projection
