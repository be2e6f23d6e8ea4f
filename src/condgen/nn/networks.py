"""Pick the encoder / decoder stack of a model from its architecture name and data shape.

``arch="dcgan"`` uses the convolution stacks of :mod:`condgen.nn.dcgan` (images only);
``arch="mlp"`` uses :class:`condgen.nn.mlp.MLP` on flattened examples, for vectors and for
tiny images (8×8 digits). :class:`ImageArchitecture` holds these choices; every image/vector
family's config inherits it and builds its networks through it, so a new architecture or
architecture option is added here once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

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


@dataclass
class ImageArchitecture:
    """The networks of an image / vector model family: the fields every such family's config shares.

    ``data_shape`` is ``(C, H, W)`` for images or ``(D,)`` for vectors; ``arch`` is ``"dcgan"``
    (images) or ``"mlp"``; ``base_channels`` sizes the conv stacks, ``hidden``/``depth`` the MLPs.
    A family's config *inherits* this dataclass (re-declaring a default in one line where the
    family's differs), so the fields stay flat keys of ``config.json`` and ``-o base_channels=32``
    keeps working. Subclasses name themselves in errors with ``model_name`` and call
    ``super().__post_init__()`` before their own checks.
    """

    latent_dim: int = 64
    data_shape: tuple[int, ...] = (3, 32, 32)
    arch: str = "dcgan"
    base_channels: int = 32
    hidden: int = 256
    depth: int = 2
    model_name: ClassVar[str] = "model"  # named in error messages

    def __post_init__(self):
        check_architecture(self.arch, self.data_shape, self.model_name)
        if self.latent_dim < 1:
            raise ConfigError(f"{self.model_name}: need latent_dim >= 1 (got {self.latent_dim})")

    def encoder(self, out_features: int, *, batch_norm: bool = True) -> nn.Module:
        """A new network ``[B, *data_shape]`` → ``[B, out_features]`` (an encoder or a discriminator);
        ``batch_norm`` applies to the convolution stack only."""
        return build_encoder(self.arch, self.data_shape, out_features, base_channels=self.base_channels,
                             hidden=self.hidden, depth=self.depth, batch_norm=batch_norm)

    def features(self, out_features: int) -> nn.Module:
        """A new network ``[B, *data_shape]`` → features ``[B, out_features]``: the encoder and a leaky ReLU,
        for a head that joins the features with a condition vector (conditional VAE / GAN)."""
        return nn.Sequential(self.encoder(out_features), nn.LeakyReLU(0.2))

    @property
    def output_activation(self) -> str | None:
        """The decoder's last activation: ``"tanh"`` for images (in ``[-1, 1]``), ``None`` for vectors (on
        their own scale). A family whose decoder emits something else (Bernoulli logits) overrides it."""
        return default_output_activation(self.data_shape)

    def decoder(self, in_features: int) -> nn.Module:
        """A new network ``[B, in_features]`` → ``[B, *data_shape]`` (a decoder or a generator) ending in
        :attr:`output_activation`."""
        return build_decoder(self.arch, in_features, self.data_shape, base_channels=self.base_channels,
                             hidden=self.hidden, depth=self.depth, output_activation=self.output_activation)
