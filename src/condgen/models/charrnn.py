"""CharRNN (Segler et al., 2018; the MOSES "CharRNN" baseline): an LSTM language model over SMILES tokens.

The LSTM reads ``<bos> t₁ … tₖ`` and predicts each next token; training minimises the teacher-forced
token negative log-likelihood, summed over each molecule and averaged over the batch. Sampling
draws token by token until ``<eos>`` (temperature 1; 0 is greedy).

CharRNN has no latent space, so it is not a latent backbone for the plugin (see
:class:`~condgen.models.smiles_base.SmilesLanguageModel`). Train ``smiles-vae`` or ``smiles-aae``
to steer generation by molecular properties.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, OptimizerGroup
from condgen.models.smiles_base import SmilesLanguageModel, check_sequence_config
from condgen.nn.sequence import TokenDecoder, token_accuracy, token_nll


@dataclass
class CharRNNConfig:
    """Hyper-parameters of :class:`CharRNN` (``tokens``/``max_length`` come from the data).
    ``dropout`` acts between LSTM layers; ``grad_clip`` bounds the gradient norm of the summed NLL."""

    tokens: tuple[str, ...] = ()
    max_length: int = 100
    embedding_dim: int = 64
    hidden: int = 512
    layers: int = 2
    dropout: float = 0.2
    lr: float = 1e-3
    grad_clip: float = 50.0

    def __post_init__(self):
        check_sequence_config(self.tokens, self.max_length, "charrnn")
        if min(self.embedding_dim, self.hidden, self.layers) < 1 or not 0 <= self.dropout < 1:
            raise ConfigError(f"charrnn: need embedding_dim, hidden, layers ≥ 1 and 0 ≤ dropout < 1 (got "
                              f"{self.embedding_dim}, {self.hidden}, {self.layers}, {self.dropout})")


class CharRNN(SmilesLanguageModel):
    """Shapes: ``x`` = token ids ``int64 [B, max_length]``."""

    kind = "charrnn"
    config_class = CharRNNConfig

    def __init__(self, config: CharRNNConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        c = config
        self.decoder = TokenDecoder(len(c.tokens), c.embedding_dim, c.hidden, c.layers, "lstm", condition_dim=0,
                                    dropout=c.dropout)

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"model": OptimizerGroup(list(self.parameters()), c.lr, (0.9, 0.999), grad_clip=c.grad_clip)}

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Token NLL per molecule, averaged over the batch."""
        ids = batch.x.long()
        logits = self.decoder.teacher_forced_logits(ids)
        nll = token_nll(logits, ids[:, 1:])
        return nll.mean(), {"nll": nll.mean().item(), "token_accuracy": token_accuracy(logits, ids[:, 1:]).item()}

    def sample_ids(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decoder.sample(n, self.config.max_length, temperature=temperature, generator=generator)
