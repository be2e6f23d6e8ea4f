"""Building blocks of the SMILES models: a recurrent token decoder, a recurrent encoder, the token loss.

Sequences are ``int64 [B, L]`` token ids framed as ``<bos> tokens <eos> <pad>…`` (see
:class:`condgen.data.smiles.Vocabulary`; pad = 0, bos = 1, eos = 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from condgen.errors import ConfigError

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
RNN_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


def token_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of ``targets [B, T]`` under ``logits [B, T, V]``, summed over each
    sequence's non-pad tokens: ``[B]``."""
    nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=PAD_ID, reduction="none")
    return nll.sum(dim=1)


@torch.no_grad()
def token_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Share of the non-pad ``targets [B, T]`` that ``logits [B, T, V]`` rank first (a scalar tensor)."""
    mask = targets != PAD_ID
    return ((logits.argmax(dim=2) == targets) & mask).sum() / mask.sum().clamp(min=1)


def mask_never_drawn(logits: torch.Tensor) -> torch.Tensor:
    """``logits [..., V]`` with ``<pad>``, ``<bos>`` and ``<unk>`` set to −inf: they are never targets
    (pad is ignored by the loss), so sampling never draws them and policy gradients share that support."""
    never = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    never[[PAD_ID, BOS_ID, UNK_ID]] = True
    return logits.masked_fill(never, float("-inf"))


def drawable_logits(step_logits: torch.Tensor, position: int) -> torch.Tensor:
    """Next-token logits ``[B, V]`` for ``position`` restricted to what sampling and beam search may
    emit: never-drawn tokens masked (:func:`mask_never_drawn`) and, at position 1, no ``<eos>`` (an
    empty SMILES is no molecule)."""
    step_logits = mask_never_drawn(step_logits)
    if position == 1:
        step_logits[:, EOS_ID] = float("-inf")
    return step_logits


def sequence_lengths(ids: torch.Tensor) -> torch.Tensor:
    """Number of non-pad tokens of each row of ``ids [B, L]``: ``int64 [B]`` (at least 1)."""
    return (ids != PAD_ID).sum(dim=1).clamp(min=1)


class TokenDecoder(nn.Module):
    """An autoregressive RNN over tokens, optionally conditioned on a vector (a latent code).

    The condition sets the initial hidden state (through a linear map) and is appended to every
    input embedding, so a long sequence cannot forget it (as in the MOSES VAE).

    Args:
        vocab_size: V. embedding_dim: token embedding width. hidden: RNN width. layers: RNN depth.
        cell: "gru" or "lstm". condition_dim: width of the conditioning vector (0: unconditional).
        dropout: between RNN layers.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden: int, layers: int, cell: str = "gru",
                 condition_dim: int = 0, dropout: float = 0.0):
        super().__init__()
        if cell not in RNN_CELLS:
            raise ConfigError(f"cell must be one of {sorted(RNN_CELLS)}, got {cell!r}")
        self.cell, self.layers, self.hidden, self.condition_dim = cell, layers, hidden, condition_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.rnn = RNN_CELLS[cell](embedding_dim + condition_dim, hidden, num_layers=layers, batch_first=True,
                                   dropout=dropout if layers > 1 else 0.0)
        self.to_hidden = nn.Linear(condition_dim, hidden * layers) if condition_dim else None
        self.output = nn.Linear(hidden, vocab_size)

    def initial_state(self, batch: int, condition: torch.Tensor | None, device: torch.device):
        """RNN state before the first token: zeros, or a map of the condition."""
        if self.to_hidden is None or condition is None:
            h = torch.zeros(self.layers, batch, self.hidden, device=device)
        else:
            h = self.to_hidden(condition).view(batch, self.layers, self.hidden).transpose(0, 1).contiguous()
        return (h, torch.zeros_like(h)) if self.cell == "lstm" else h

    def _inputs(self, ids: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        x = self.embedding(ids)
        if self.condition_dim:
            x = torch.cat([x, condition.unsqueeze(1).expand(-1, ids.shape[1], -1)], dim=2)
        return x

    def forward(self, ids: torch.Tensor, condition: torch.Tensor | None = None, state=None):
        """Logits ``[B, T, V]`` of the next token after each of ``ids [B, T]``, and the final state."""
        if self.condition_dim and condition is None:
            raise ConfigError("this decoder is conditional: pass a condition [B, condition_dim]")
        if state is None:
            state = self.initial_state(ids.shape[0], condition, ids.device)
        out, state = self.rnn(self._inputs(ids, condition), state)
        return self.output(out), state

    def teacher_forced_logits(self, ids: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[B, L-1, V]`` predicting ``ids[:, 1:]`` from ``ids[:, :-1]`` (training)."""
        logits, _ = self(ids[:, :-1], condition)
        return logits

    @torch.no_grad()
    def sample(self, n: int, max_length: int, condition: torch.Tensor | None = None, temperature: float = 1.0,
               generator: torch.Generator | None = None, prefix: torch.Tensor | None = None) -> torch.Tensor:
        """``int64 [n, max_length]`` sequences ``<bos> … <eos> <pad>…`` drawn token by token.

        ``temperature`` divides the logits (0: greedy argmax). ``prefix [n, t]`` (starting with
        ``<bos>``) is kept and only the rest is drawn (Monte-Carlo rollouts of SeqGAN). Random draws
        use ``generator`` (on the CPU, so equal seeds give equal sequences on any device).
        """
        if temperature < 0:
            raise ConfigError(f"temperature must be ≥ 0, got {temperature}")
        device = self.output.weight.device
        if prefix is None:
            prefix = torch.full((n, 1), BOS_ID, dtype=torch.long, device=device)
        prefix = prefix.to(device)
        out = torch.full((n, max_length), PAD_ID, dtype=torch.long, device=device)
        out[:, : prefix.shape[1]] = prefix
        finished = (prefix == EOS_ID).any(dim=1) | (prefix[:, -1] == PAD_ID)
        logits, state = self(prefix, condition)
        for position in range(prefix.shape[1], max_length):
            step_logits = drawable_logits(logits[:, -1], position)
            if temperature == 0:
                token = step_logits.argmax(dim=1)
            else:
                probabilities = torch.softmax(step_logits.float() / temperature, dim=1).cpu()
                token = torch.multinomial(probabilities, 1, generator=generator).squeeze(1).to(device)
            token = torch.where(finished, torch.full_like(token, PAD_ID), token)
            out[:, position] = token
            finished = finished | (token == EOS_ID)
            if bool(finished.all()):
                break
            logits, state = self(token.unsqueeze(1), condition, state)
        return out

    @torch.no_grad()
    def beam_search(self, condition: torch.Tensor, max_length: int, beam_width: int = 5) -> torch.Tensor:
        """``int64 [n, max_length]``: for each row of ``condition [n, C]``, the most likely sequence
        that a beam of ``beam_width`` partial sequences finds (summed token log-probabilities; width 1
        is greedy). Deterministic: it decodes the mode of p(x | condition), not a sample.
        """
        return self.beam_candidates(condition, max_length, beam_width)[:, 0]

    @torch.no_grad()
    def beam_candidates(self, condition: torch.Tensor, max_length: int, beam_width: int = 5) -> torch.Tensor:
        """``int64 [n, beam_width, max_length]``: the ``beam_width`` sequences a beam search keeps for
        each row of ``condition``, most likely first (:meth:`beam_search` is the first of them)."""
        if beam_width < 1:
            raise ConfigError(f"beam width must be ≥ 1, got {beam_width}")
        n, device, k = condition.shape[0], self.output.weight.device, beam_width
        repeated = condition.repeat_interleave(k, dim=0)
        out = torch.full((n * k, max_length), PAD_ID, dtype=torch.long, device=device)
        out[:, 0] = BOS_ID
        scores = torch.full((n, k), float("-inf"), device=device)
        scores[:, 0] = 0.0  # all beams start as the same <bos>: keep one so the first step has k distinct tokens
        finished = torch.zeros(n * k, dtype=torch.bool, device=device)
        only_pad = torch.full((self.output.out_features,), float("-inf"), device=device)
        only_pad[PAD_ID] = 0.0  # a finished beam extends by <pad> at no cost
        logits, state = self(out[:, :1], repeated)
        rows = torch.arange(n, device=device).unsqueeze(1) * k
        for position in range(1, max_length):
            log_p = torch.log_softmax(drawable_logits(logits[:, -1], position).float(), dim=1)
            log_p = torch.where(finished.unsqueeze(1), only_pad, log_p)
            vocab = log_p.shape[1]
            scores, index = (scores.view(-1, 1) + log_p).view(n, k * vocab).topk(k, dim=1)
            parents = (rows + torch.div(index, vocab, rounding_mode="floor")).flatten()
            token = (index % vocab).flatten()
            out = out[parents]
            out[:, position] = token
            finished = finished[parents] | (token == EOS_ID) | (token == PAD_ID)
            if bool(finished.all()):
                break
            state = (state[0][:, parents], state[1][:, parents]) if self.cell == "lstm" else state[:, parents]
            logits, state = self(token.unsqueeze(1), repeated, state)
        order = scores.argsort(dim=1, descending=True, stable=True)
        return out.view(n, k, max_length).gather(1, order.unsqueeze(2).expand(n, k, max_length))


class SequenceEncoder(nn.Module):
    """A (bidirectional) GRU reading ``ids [B, L]``; returns the final hidden states ``[B, out_dim]``."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden: int, layers: int = 1,
                 bidirectional: bool = True, embedding: nn.Embedding | None = None):
        super().__init__()
        self.embedding = embedding or nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.rnn = nn.GRU(self.embedding.embedding_dim, hidden, num_layers=layers, batch_first=True,
                          bidirectional=bidirectional)
        self.out_dim = hidden * (2 if bidirectional else 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(ids), sequence_lengths(ids).cpu(),
                                                   batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        directions = 2 if self.rnn.bidirectional else 1
        return h[-directions:].transpose(0, 1).reshape(ids.shape[0], self.out_dim)
