"""Pick the encoder / decoder stack of a model from its architecture name and data shape.

``arch="dcgan"`` uses the convolution stacks of :mod:`condgen.nn.dcgan` (images only);
``arch="mlp"`` uses :class:`condgen.nn.mlp.MLP` on flattened examples, for vectors and for
tiny images (8×8 digits). :class:`ImageArchitecture` holds these choices; every image/vector
family's config inherits it and builds its networks through it, so a new architecture or
architecture option is added here once: ``attention`` (a SAGAN self-attention block in the conv stacks)
and ``spectral_norm`` (:mod:`condgen.nn.spectral_norm`) are two, usable by every family (``-o``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from condgen.errors import ConfigError, check_choice
from condgen.nn.dcgan import ConvDecoder, ConvEncoder, feature_sides
from condgen.nn.mlp import MLP
from condgen.nn.spectral_norm import spectral_normalise

ARCHITECTURES = ("dcgan", "mlp")
#: ``spectral_norm`` values: which networks get it (the encoder reads examples: a GAN's discriminator).
SPECTRAL_NORM = ("none", "encoder", "all")


def check_architecture(arch: str, data_shape: Sequence[int], owner: str) -> None:
    """Raise :class:`ConfigError` unless ``arch`` can model examples of ``data_shape``."""
    check_choice(arch, ARCHITECTURES, "arch", owner)
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
                  hidden: int = 256, depth: int = 2, batch_norm: bool = True, attention_side: int = 0) -> nn.Module:
    """A network ``[B, *data_shape]`` → ``[B, out_features]`` (an encoder or a discriminator).

    ``batch_norm`` and ``attention_side`` (a self-attention block on the feature maps of that side; 0: none)
    apply to the convolution stack only (the MLP has neither).
    """
    if arch == "dcgan":
        channels, height, width = data_shape
        return ConvEncoder(channels, (height, width), base_channels, out_features, batch_norm=batch_norm,
                           attention_side=attention_side)
    return Flatten(MLP(math.prod(data_shape), out_features, hidden, depth, activation="leaky_relu"))


def build_decoder(arch: str, in_features: int, data_shape: Sequence[int], *, base_channels: int = 64,
                  hidden: int = 256, depth: int = 2, output_activation: str | None = "tanh",
                  attention_side: int = 0) -> nn.Module:
    """A network ``[B, in_features]`` → ``[B, *data_shape]`` (a decoder or a generator).

    ``output_activation="tanh"`` for images in ``[-1, 1]``; ``None`` for vectors on their own scale
    (and for Bernoulli logits). ``attention_side``: as in :func:`build_encoder`.
    """
    if arch == "dcgan":
        channels, height, width = data_shape
        return ConvDecoder(in_features, channels, (height, width), base_channels, output_activation,
                           attention_side=attention_side)
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

    ``attention`` (SAGAN; 0: none) puts a self-attention block on the feature maps of side ``attention`` in
    every conv stack built (encoder and decoder); a side the stacks lack resolves to the largest one below it
    (16 on 16-px images: 8), and the MLP has none (0) — the saved config holds the side used.
    ``spectral_norm`` normalises the weights of the ``"encoder"`` (the network reading examples: a GAN's
    discriminator, as in SNGAN), of ``"all"`` networks (the decoder / generator too, as in SAGAN) or
    ``"none"``.
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
    attention: int = 0
    spectral_norm: str = "none"
    model_name: ClassVar[str] = "model"  # named in error messages

    def __post_init__(self):
        check_architecture(self.arch, self.data_shape, self.model_name)
        if self.latent_dim < 1:
            raise ConfigError(f"{self.model_name}: need latent_dim >= 1 (got {self.latent_dim})")
        check_choice(self.spectral_norm, SPECTRAL_NORM, "spectral_norm", self.model_name)
        self.attention = self._attention_side()

    def _attention_side(self) -> int:
        """The side of the feature maps the self-attention blocks sit on (0: none), as the field docs say."""
        if self.attention < 0:
            raise ConfigError(f"{self.model_name}: attention is a feature-map side (e.g. 16) or 0 for none, "
                              f"got {self.attention}")
        if self.attention == 0 or self.arch != "dcgan":
            return 0
        sides = [side for side in feature_sides(*self.data_shape[1:]) if side <= self.attention]
        if not sides:
            raise ConfigError(f"{self.model_name}: attention={self.attention}: the smallest feature maps have side "
                              f"{feature_sides(*self.data_shape[1:])[0]} (0: no attention)")
        return sides[-1]

    def encoder(self, out_features: int, *, batch_norm: bool = True) -> nn.Module:
        """A new network ``[B, *data_shape]`` → ``[B, out_features]`` (an encoder or a discriminator);
        ``batch_norm`` applies to the convolution stack only."""
        network = build_encoder(self.arch, self.data_shape, out_features, base_channels=self.base_channels,
                                hidden=self.hidden, depth=self.depth, batch_norm=batch_norm,
                                attention_side=self.attention)
        return spectral_normalise(network) if self.encoder_spectral_norm else network

    def features(self, out_features: int, *, batch_norm: bool = True) -> nn.Module:
        """A new network ``[B, *data_shape]`` → features ``[B, out_features]``: the encoder and a leaky ReLU,
        for a head that joins the features with a condition vector (conditional VAE / GAN) or scores them."""
        return nn.Sequential(self.encoder(out_features, batch_norm=batch_norm), nn.LeakyReLU(0.2))

    @property
    def encoder_spectral_norm(self) -> bool:
        """Whether networks that read examples (encoders, discriminators and their heads) are spectrally
        normalised."""
        return self.spectral_norm in ("encoder", "all")

    @property
    def output_activation(self) -> str | None:
        """The decoder's last activation: ``"tanh"`` for images (in ``[-1, 1]``), ``None`` for vectors (on
        their own scale). A family whose decoder emits something else (Bernoulli logits) overrides it."""
        return default_output_activation(self.data_shape)

    def decoder(self, in_features: int) -> nn.Module:
        """A new network ``[B, in_features]`` → ``[B, *data_shape]`` (a decoder or a generator) ending in
        :attr:`output_activation`."""
        network = build_decoder(self.arch, in_features, self.data_shape, base_channels=self.base_channels,
                                hidden=self.hidden, depth=self.depth, output_activation=self.output_activation,
                                attention_side=self.attention)
        return spectral_normalise(network) if self.spectral_norm == "all" else network
