"""The one interface a plugin steers — :class:`LatentBackbone` — and an adapter for a user's own torch module.

A latent backbone has ``latent_dim``, ``sample_latent(n, *, generator)`` and ``decode(z, *, generator)``;
extras a family needs (a conditional model's ``attributes``, a SMILES decoder's ``beam``) are keyword-only
arguments of ``decode`` with defaults. ``encode(x)`` is optional and announced by ``has_encoder = True``;
:func:`can_encode` is the one test of it. Without an encoder, real examples are mapped to latents by
:func:`condgen.plugin.inversion.invert`. Every :class:`condgen.models.base.LatentModel` is a latent backbone;
a model without a latent space (CharRNN, ORGAN) is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from condgen.errors import ConfigError


@runtime_checkable
class LatentBackbone(Protocol):
    """The frozen generative model under a plugin.

    ``latent_dim``: D. ``sample_latent(n, *, generator) -> [n, D]`` draws from its latent prior.
    ``decode(z [n, D], *, generator) -> examples [n, …]`` (images in [-1, 1], vectors, token ids);
    ``generator`` serves decoders that draw random numbers and is ignored by the others.
    Optional: ``has_encoder: bool`` and ``encode(x [n, …]) -> [n, D]``; ``modality`` (what the
    examples are, :mod:`condgen.data.modality`).
    """

    @property
    def latent_dim(self) -> int: ...

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor: ...

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor: ...


def can_encode(backbone: object) -> bool:
    """True when ``backbone`` declares ``has_encoder`` and has an ``encode`` method."""
    return bool(getattr(backbone, "has_encoder", False)) and callable(getattr(backbone, "encode", None))


def backbone_device(backbone: object) -> torch.device:
    """The device of the backbone's first parameter (CPU for parameter-free backbones)."""
    if isinstance(backbone, nn.Module):
        for parameter in backbone.parameters():
            return parameter.device
        for buffer in backbone.buffers():
            return buffer.device
    return torch.device("cpu")


@contextmanager
def eval_mode(backbone: object) -> Iterator[None]:
    """Run the block with ``backbone`` in eval mode (if it has modes), restoring its mode afterwards."""
    was_training = getattr(backbone, "training", False)
    if callable(getattr(backbone, "eval", None)):
        backbone.eval()
    try:
        yield
    finally:
        if callable(getattr(backbone, "train", None)):
            backbone.train(was_training)


def check_backbone(backbone: object) -> None:
    """Raise :class:`ConfigError` naming what ``backbone`` lacks to serve under a plugin."""
    missing = [name for name in ("latent_dim", "sample_latent", "decode") if not hasattr(backbone, name)]
    if missing:
        raise ConfigError(
            f"{type(backbone).__name__} is not a latent backbone: it lacks {', '.join(missing)}; "
            "wrap your decoder in condgen.plugin.BackboneAdapter(decoder, latent_dim, encoder=...)"
        )


class BackboneAdapter(nn.Module):
    """Make a user's torch modules a latent backbone without subclassing condgen's models.

    Args:
        decoder: ``z [n, latent_dim] -> examples`` (any ``nn.Module`` or callable module).
        latent_dim: D.
        encoder: optional ``x -> z [n, D]`` (e.g. a VAE encoder returning the posterior mean).
        sample_latent: optional ``(n, generator) -> [n, D]``; default standard normal.

    An adapter is not saved with a plugin: ``Plugin.load(directory, backbone=adapter)`` takes it back.
    """

    def __init__(self, decoder: nn.Module, latent_dim: int, encoder: nn.Module | None = None,
                 sample_latent: Callable[[int, torch.Generator | None], torch.Tensor] | None = None):
        super().__init__()
        if int(latent_dim) < 1:
            raise ConfigError(f"latent_dim must be a positive integer, got {latent_dim}")
        self.decoder = decoder
        self.encoder = encoder
        self._latent_dim = int(latent_dim)
        self._sample_latent = sample_latent

    @property
    def latent_dim(self) -> int:
        return self._latent_dim

    @property
    def has_encoder(self) -> bool:
        return self.encoder is not None

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[n, D]`` from the user's sampler, or standard normal."""
        if self._sample_latent is not None:
            return self._sample_latent(n, generator)
        return torch.randn(n, self._latent_dim, generator=generator).to(backbone_device(self))

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``z [n, D]`` → the decoder's output."""
        return self.decoder(z)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` → ``[n, D]``; raises :class:`ConfigError` when no encoder was given."""
        if self.encoder is None:
            raise ConfigError("this BackboneAdapter has no encoder; use condgen.plugin.invert for real examples")
        return self.encoder(x)
