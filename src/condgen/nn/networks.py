"""Pick the encoder / decoder stack of a model from its architecture name and data shape.

``arch="dcgan"`` uses the convolution stacks of :mod:`condgen.nn.dcgan` (images only);
``arch="mlp"`` uses :class:`condgen.nn.mlp.MLP` on flattened examples, for vectors and for
tiny images (8×8 digits). Every model family calls these two functions, so a new architecture
is added here once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from condgen.errors import ConfigError
from condgen.nn.dcgan import ConvDecoder, ConvEncoder
from condgen.nn.mlp import MLP

ARCHITECTURES = ("dcgan", "mlp")


def check_architecture(arch: str, data_shape: Sequence[int], owner: str) -> None:
    """Raise :class:`ConfigError` unless ``arch`` can model examples of ``data_shape``."""
    if arch not in ARCHITECTURES:
        raise ConfigError(f"{owner}: unknown arch {arch!r}; valid: {', '.join(ARCHITECTURES)}")
    if not data_shape or any(int(d) < 1 for d in data_shape):
        raise ConfigError(f"{owner}: data_shape must be positive sizes, got {list(data_shape)}")
    if arch == "dcgan" and len(data_shape) != 3:
        raise ConfigError(f"{owner}: arch 'dcgan' needs images (data_shape [C, H, W]), got {list(data_shape)}; "
                          "use arch='mlp' for vectors")


class Flatten(nn.Module):
    """``[B, *shape]`` → ``[B, prod(shape)]`` in front of an MLP."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class Unflatten(nn.Module):
    """An MLP's ``[B, prod(shape)]`` output → ``[B, *shape]``."""

    def __init__(self, net: nn.Module, shape: Sequence[int]):
        super().__init__()
        self.net = net
        self.shape = tuple(int(d) for d in shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).reshape(z.shape[0], *self.shape)


def build_encoder(arch: str, data_shape: Sequence[int], out_features: int, *, base_channels: int = 64,
                  hidden: int = 256, depth: int = 2, batch_norm: bool = True) -> nn.Module:
    """A network ``[B, *data_shape]`` → ``[B, out_features]`` (an encoder or a discriminator).

    ``batch_norm`` applies to the convolution stack only (the MLP has none).
    """
    if arch == "dcgan":
        channels, height, width = data_shape
        return ConvEncoder(channels, (height, width), base_channels, out_features, batch_norm=batch_norm)
    return Flatten(MLP(math.prod(data_shape), out_features, hidden, depth, activation="leaky_relu"))


def build_decoder(arch: str, in_features: int, data_shape: Sequence[int], *, base_channels: int = 64,
                  hidden: int = 256, depth: int = 2, output_activation: str | None = "tanh") -> nn.Module:
    """A network ``[B, in_features]`` → ``[B, *data_shape]`` (a decoder or a generator).

    ``output_activation="tanh"`` for images in ``[-1, 1]``; ``None`` for vectors on their own scale
    (and for Bernoulli logits).
    """
    if arch == "dcgan":
        channels, height, width = data_shape
        return ConvDecoder(in_features, channels, (height, width), base_channels, output_activation)
    mlp = MLP(in_features, math.prod(data_shape), hidden, depth, activation="relu",
              output_activation=output_activation)
    return Unflatten(mlp, data_shape)


def default_output_activation(data_shape: Sequence[int]) -> str | None:
    """``"tanh"`` for images (stored in ``[-1, 1]``), ``None`` for vectors (stored as they are)."""
    return "tanh" if len(data_shape) == 3 else None
