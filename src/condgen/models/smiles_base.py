"""What the four SMILES models share: their vocabulary, their sequence length, and sampling to SMILES.

A SMILES model's config holds the tokens of its vocabulary (``tokens``, saved in ``config.json``,
so an artifact decodes its own ids) and ``max_length`` (tokens per sequence with ``<bos>`` and
``<eos>``). Training batches are ``int64 [B, max_length]`` ids from
:func:`condgen.data.molecules.smiles_dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from condgen.data.smiles import Vocabulary
from condgen.errors import ConfigError
from condgen.models.base import GenerativeModel
from condgen.nn.sequence import SequenceEncoder, TokenDecoder

#: Options a SMILES data set decides for every SMILES model.
SEQUENCE_DATA_OPTIONS = ("tokens", "max_length")


def check_sequence_config(tokens: tuple[str, ...], max_length: int, name: str) -> None:
    if len(tokens) < 5:
        raise ConfigError(f"{name}: a SMILES model needs the vocabulary of its data (tokens=...); train it on "
                          "a SMILES data set (--data moses or a .smi/.csv file)")
    if max_length < 3:
        raise ConfigError(f"{name}: max_length must be ≥ 3 (got {max_length})")


@dataclass
class SmilesAutoencoderConfig:
    """What the SMILES VAE and AAE share: the data's vocabulary and length, a bidirectional GRU
    encoder of width ``encoder_hidden`` per direction, and a GRU decoder of ``decoder_layers`` ×
    ``decoder_hidden`` that sees z in its initial state and at every step."""

    tokens: tuple[str, ...] = ()
    max_length: int = 100
    latent_dim: int = 64
    embedding_dim: int = 64
    encoder_hidden: int = 256
    decoder_hidden: int = 512
    decoder_layers: int = 2
    dropout: float = 0.0


def sequence_autoencoder(config: SmilesAutoencoderConfig, code_width: int
                         ) -> tuple[SequenceEncoder, nn.Linear, TokenDecoder]:
    """The encoder, its linear head to ``code_width`` numbers, and the z-conditioned decoder."""
    vocab = len(config.tokens)
    encoder = SequenceEncoder(vocab, config.embedding_dim, config.encoder_hidden, bidirectional=True)
    decoder = TokenDecoder(vocab, config.embedding_dim, config.decoder_hidden, config.decoder_layers, "gru",
                           condition_dim=config.latent_dim, dropout=config.dropout)
    return encoder, nn.Linear(encoder.out_dim, code_width), decoder


class SmilesModel(GenerativeModel):
    """Base of CharRNN, SMILES VAE, SMILES AAE and ORGAN: sequences of token ids ↔ SMILES."""

    is_sequence_model = True

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(tuple(self.config.tokens))

    def sample_ids(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """``int64 [n, max_length]`` token ids of ``n`` new molecules."""
        raise NotImplementedError

    @torch.no_grad()
    def sample_smiles(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> list[str]:
        """``n`` SMILES strings (not checked for validity: that is what the metrics measure)."""
        was_training = self.training
        self.eval()
        try:
            return self.vocabulary.decode_batch(self.sample_ids(n, temperature, generator).cpu().numpy())
        finally:
            self.train(was_training)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               attributes: torch.Tensor | None = None) -> torch.Tensor:
        """``int64 [n, max_length]`` token ids (temperature 1)."""
        return self.sample_ids(n, 1.0, generator)


class LatentSmilesModel(SmilesModel):
    """A SMILES model with a latent space (VAE, AAE): a Backbone for the plugin whose ``decode``
    gives token ids; :meth:`decode_smiles` gives strings."""

    has_encoder = True
    decoder: torch.nn.Module  # a condgen.nn.sequence.TokenDecoder conditioned on z

    def decode(self, z: torch.Tensor, attributes: torch.Tensor | None = None, temperature: float = 1.0,
               generator: torch.Generator | None = None, beam_width: int = 1) -> torch.Tensor:
        """Token ids ``int64 [B, max_length]`` decoded from ``z [B, latent_dim]``: drawn at
        ``temperature`` (0: greedy), or, with ``beam_width`` > 1, the most likely SMILES that a beam
        search of that width finds (deterministic; temperature is then not used)."""
        if beam_width > 1:
            return self.decoder.beam_search(z, self.config.max_length, beam_width)
        return self.decoder.sample(z.shape[0], self.config.max_length, condition=z, temperature=temperature,
                                   generator=generator)

    @torch.no_grad()
    def decode_smiles(self, z: torch.Tensor, temperature: float = 1.0,
                      generator: torch.Generator | None = None, beam_width: int = 1) -> list[str]:
        """SMILES strings decoded from ``z [B, latent_dim]`` (see :meth:`decode`)."""
        ids = self.decode(z, temperature=temperature, generator=generator, beam_width=beam_width)
        return self.vocabulary.decode_batch(ids.cpu().numpy())

    @torch.no_grad()
    def beam_smiles(self, z: torch.Tensor, beam_width: int) -> list[list[str]]:
        """For each latent of ``z [B, latent_dim]``, the ``beam_width`` SMILES a beam search keeps,
        most likely first (the first is :meth:`decode_smiles` with that ``beam_width``)."""
        ids = self.decoder.beam_candidates(z, self.config.max_length, beam_width).cpu().numpy()
        return [self.vocabulary.decode_batch(candidates) for candidates in ids]

    def sample_ids(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(self.sample_latent(n, generator), temperature=temperature, generator=generator)


class SmilesLanguageModel(SmilesModel):
    """A SMILES model without a latent space (CharRNN, ORGAN): it samples molecules but is no Backbone,
    so ``latent_dim``, ``sample_latent``, ``encode`` and ``decode`` raise :class:`ConfigError`."""

    def _no_latent_space(self) -> ConfigError:
        return ConfigError(f"{self.kind} has no latent space, so it cannot be a plugin backbone (no latent_dim, "
                           "sample_latent, encode or decode); use sample_smiles, or train smiles-vae or "
                           "smiles-aae for a backbone")

    @property
    def latent_dim(self) -> int:
        raise self._no_latent_space()

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise self._no_latent_space()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise self._no_latent_space()

    def decode(self, z: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        raise self._no_latent_space()
