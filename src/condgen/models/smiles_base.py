"""What the four SMILES models share: their vocabulary, their sequence length, and sampling to SMILES.

:class:`SmilesLanguageModel` (CharRNN, ORGAN) samples SMILES but has no latent space;
:class:`LatentSmilesModel` (SMILES VAE and AAE) is a latent backbone for the plugin.

A SMILES model's config holds the tokens of its vocabulary (``tokens``, saved in ``config.json``,
so an artifact decodes its own ids) and ``max_length`` (tokens per sequence with ``<bos>`` and
``<eos>``). Training batches are ``int64 [B, max_length]`` ids from
:func:`condgen.data.molecules.smiles_dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from condgen.data.smiles import Vocabulary
from condgen.errors import ConfigError
from condgen.models.base import GenerativeModel, LatentModel
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


@lru_cache(maxsize=8)
def vocabulary_of(tokens: tuple[str, ...]) -> Vocabulary:
    """The :class:`~condgen.data.smiles.Vocabulary` of a model's ``config.tokens`` (built once)."""
    return Vocabulary(tuple(tokens))


class SmilesLanguageModel(GenerativeModel):
    """A SMILES model without a latent space (CharRNN, ORGAN): it samples molecules token by token but is
    not a latent backbone, so a plugin cannot steer it (train smiles-vae or smiles-aae for that)."""

    modalities = ("smiles",)

    @property
    def vocabulary(self) -> Vocabulary:
        return vocabulary_of(tuple(self.config.tokens))

    def sample_ids(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """``int64 [n, max_length]`` token ids of ``n`` new molecules."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, attributes: torch.Tensor | None = None,
               temperature: float = 1.0) -> torch.Tensor:
        """Token ids ``int64 [n, max_length]`` drawn at ``temperature`` (1: the model's distribution, 0: greedy)."""
        self.check_unconditional(attributes)
        was_training = self.training
        self.eval()
        try:
            return self.sample_ids(n, temperature, generator)
        finally:
            self.train(was_training)

    def sample_smiles(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> list[str]:
        """``n`` SMILES strings (not checked for validity: that is what the metrics measure)."""
        return self.vocabulary.decode_batch(self.sample(n, generator=generator, temperature=temperature).cpu().numpy())


class LatentSmilesModel(LatentModel):
    """A SMILES model with a latent space (VAE, AAE): a latent backbone whose ``decode`` gives token ids.

    A plugin decodes the latents it chooses by a beam search of width 5 that keeps its most likely valid
    SMILES (:attr:`targeted_decoding`): the molecule a latent stands for rather than a random draw."""

    modalities = ("smiles",)
    has_encoder = True
    targeted_decoding = {"beam": 5, "prefer_valid": True}
    decoder: torch.nn.Module  # a condgen.nn.sequence.TokenDecoder conditioned on z

    @property
    def vocabulary(self) -> Vocabulary:
        return vocabulary_of(tuple(self.config.tokens))

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None, temperature: float = 1.0,
               beam: int = 1, prefer_valid: bool = False) -> torch.Tensor:
        """Token ids ``int64 [B, max_length]`` decoded from ``z [B, latent_dim]``: drawn at ``temperature``
        (0: greedy) with ``generator``, or, with ``beam`` > 1, the most likely SMILES that a beam search of
        that width finds (deterministic), with ``prefer_valid`` its most likely candidate that RDKit parses
        (the most likely one when none does)."""
        if beam < 1 or temperature < 0:
            raise ConfigError(f"beam must be ≥ 1 and temperature ≥ 0, got beam={beam}, temperature={temperature}")
        if beam == 1:
            if prefer_valid:
                raise ConfigError("prefer_valid chooses among beam-search candidates: it needs beam > 1")
            return self.decoder.sample(z.shape[0], self.config.max_length, condition=z, temperature=temperature,
                                       generator=generator)
        candidates = self.decoder.beam_candidates(z, self.config.max_length, beam)  # [B, beam, L]
        if not prefer_valid:
            return candidates[:, 0]
        from rdkit import rdBase

        from condgen.data.chem.properties import parse_smiles

        with rdBase.BlockLogs():
            chosen = [next((k for k, smiles in enumerate(self.vocabulary.decode_batch(row.cpu().numpy()))
                            if parse_smiles(smiles) is not None), 0) for row in candidates]
        return candidates[torch.arange(len(chosen)), torch.tensor(chosen, dtype=torch.long)]

    @torch.no_grad()
    def decode_smiles(self, z: torch.Tensor, **options) -> list[str]:
        """SMILES strings decoded from ``z [B, latent_dim]`` (``options`` as for :meth:`decode`)."""
        return self.vocabulary.decode_batch(self.decode(z, **options).cpu().numpy())

    @torch.no_grad()
    def beam_smiles(self, z: torch.Tensor, beam: int) -> list[list[str]]:
        """For each latent of ``z [B, latent_dim]``, the ``beam`` SMILES a beam search keeps, most likely first."""
        ids = self.decoder.beam_candidates(z, self.config.max_length, beam).cpu().numpy()
        return [self.vocabulary.decode_batch(candidates) for candidates in ids]

    def sample_smiles(self, n: int, *, generator: torch.Generator | None = None, **options) -> list[str]:
        """``n`` SMILES of latents drawn from the prior (``options`` as for :meth:`decode`)."""
        return self.vocabulary.decode_batch(self.sample(n, generator=generator, **options).cpu().numpy())
