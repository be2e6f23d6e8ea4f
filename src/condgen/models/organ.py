"""ORGAN (Guimaraes et al., 2017), built on SeqGAN (Yu et al., 2017): a token RNN trained by maximum
likelihood, then by policy gradient against a discriminator and, optionally, a chemical objective.

Two optimiser groups. The ``discriminator`` — a bidirectional GRU over token embeddings, one logit —
always learns real batches against sequences the generator draws (non-saturating loss). The
``generator`` — a GRU or LSTM :class:`~condgen.nn.sequence.TokenDecoder` — learns in two phases,
switched by :meth:`ORGAN.set_progress`:

* for the first ``pretrain_share`` of training, teacher-forced token NLL on the real batch (MLE);
* afterwards REINFORCE: draw sequences, give each token a reward, and minimise
  ``−mean_b Σ_t (reward_bt − baseline) · log p(token_bt)`` (baseline: the batch's mean reward).

The reward of a complete SMILES x is ``(1 − λ) · σ(D(x)) + λ · O(x)`` with λ = ``objective_weight``
(ORGAN's λ) and O ∈ [0, 1] the objective; without one it is ``σ(D(x))`` (plain SeqGAN). Built-in
objectives (``objective=``; invalid SMILES score 0):

* ``logp`` — Crippen logP rescaled from [−2.12, 6.04] to [0, 1] and clipped, as ORGAN does;
* ``qed`` — QED, already in [0, 1];
* ``sas`` — (10 − SAS) / 9: 1 for the easiest molecules to synthesise;
* ``tpsa`` — min(TPSA, 140 Å²) / 140: rewards polar surface up to Veber's limit for oral
  bioavailability (above it nothing more is gained).

A token's reward is the expected reward of the complete molecule given its prefix, estimated by
``n_rollouts`` Monte-Carlo completions (SeqGAN). Rollouts start only every ``rollout_every`` tokens,
to keep the cost sane on a CPU; the tokens in between share the next computed reward, and the tokens
after the last rollout (the last token among them) get the reward of the complete sequence.

Your own objective, through the Python API: set ``model.reward_function`` to a function of a list of
(distinct) SMILES returning one value in [0, 1] per SMILES (values are clipped, NaN counts as 0). It
replaces the built-in objective and is not saved in the artifact::

    model = build_model("organ", data, objective_weight=0.5)
    model.reward_function = lambda smiles: [min(s.count("N"), 3) / 3 for s in smiles]
    model = train(model, data, TrainConfig(steps=4000)).model
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from condgen.data.molecules import MOLECULE_PROPERTIES
from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, OptimizerGroup
from condgen.models.gan_losses import discriminator_loss
from condgen.models.smiles_base import SmilesLanguageModel, check_sequence_config
from condgen.nn.sequence import (
    EOS_ID,
    PAD_ID,
    RNN_CELLS,
    SequenceEncoder,
    TokenDecoder,
    mask_never_drawn,
    token_accuracy,
    token_nll,
)

OBJECTIVES = ("logp", "qed", "sas", "tpsa")
LOGP_RANGE = (-2.12178879609, 6.0429063424)  # ORGAN's rescaling of Crippen logP (its training-set range)
TPSA_CEILING = 140.0  # Å², Veber et al.'s limit for oral bioavailability

#: A user's objective: a list of SMILES → one value in [0, 1] each.
RewardFunction = Callable[[list[str]], Sequence[float]]


@dataclass
class ORGANConfig:
    """Hyper-parameters of :class:`ORGAN` (``tokens``/``max_length`` come from the data).

    ``cell``/``embedding_dim``/``hidden``/``layers`` shape the generator; ``discriminator_*`` the
    discriminator. ``objective``: None or one of :data:`OBJECTIVES`; ``objective_weight``: λ.
    ``discriminator_steps``: discriminator updates per generator update.
    """

    tokens: tuple[str, ...] = ()
    max_length: int = 100
    cell: str = "lstm"
    embedding_dim: int = 64
    hidden: int = 512
    layers: int = 2
    discriminator_embedding_dim: int = 64
    discriminator_hidden: int = 128
    objective: str | None = None
    objective_weight: float = 0.5
    pretrain_share: float = 0.5
    n_rollouts: int = 4
    rollout_every: int = 4
    discriminator_steps: int = 1
    lr: float = 1e-3
    discriminator_lr: float = 1e-4
    grad_clip: float = 50.0

    def __post_init__(self):
        check_sequence_config(self.tokens, self.max_length, "organ")
        if isinstance(self.objective, str) and self.objective.lower() in ("", "none"):
            self.objective = None
        if self.objective is not None and self.objective not in OBJECTIVES:
            raise ConfigError(f"organ: unknown objective {self.objective!r}; valid: {', '.join(OBJECTIVES)} or "
                              "None (set model.reward_function for your own)")
        if self.cell not in RNN_CELLS:
            raise ConfigError(f"organ: cell must be one of {sorted(RNN_CELLS)}, got {self.cell!r}")
        if not (0 <= self.objective_weight <= 1 and 0 <= self.pretrain_share <= 1):
            raise ConfigError(f"organ: need 0 ≤ objective_weight ≤ 1 and 0 ≤ pretrain_share ≤ 1 "
                              f"(got {self.objective_weight}, {self.pretrain_share})")
        if min(self.n_rollouts, self.rollout_every, self.discriminator_steps) < 1:
            raise ConfigError(f"organ: n_rollouts, rollout_every and discriminator_steps must be ≥ 1 "
                              f"(got {self.n_rollouts}, {self.rollout_every}, {self.discriminator_steps})")


def builtin_objective(smiles: Sequence[str], objective: str) -> np.ndarray:
    """``float64 [N]`` values in [0, 1] of a built-in objective (see the module docstring); invalid → 0."""
    from condgen.data.chem.properties import compute_properties

    name = MOLECULE_PROPERTIES[objective]
    values = compute_properties(list(smiles), (name,))[name]
    if objective == "logp":
        low, high = LOGP_RANGE
        values = (values - low) / (high - low)
    elif objective == "sas":
        values = (10.0 - values) / 9.0
    elif objective == "tpsa":
        values = values / TPSA_CEILING
    return np.nan_to_num(np.clip(values, 0.0, 1.0), nan=0.0)


def valid_share(smiles: Sequence[str]) -> float:
    """Share of ``smiles`` that RDKit parses (as MOSES counts validity)."""
    from rdkit import rdBase

    from condgen.data.chem.properties import parse_smiles

    with rdBase.BlockLogs():
        return sum(parse_smiles(s) is not None for s in smiles) / max(len(smiles), 1)


class SequenceDiscriminator(nn.Module):
    """A bidirectional GRU over token embeddings: ids ``[B, L]`` → one logit each ``[B]``."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden: int):
        super().__init__()
        self.encoder = SequenceEncoder(vocab_size, embedding_dim, hidden, bidirectional=True)
        self.head = nn.Linear(self.encoder.out_dim, 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(ids)).squeeze(1)


class ORGAN(SmilesLanguageModel):
    """Shapes: ``x`` = token ids ``int64 [B, max_length]``. ``reward_function``: see the module docstring."""

    kind = "organ"
    config_class = ORGANConfig

    def __init__(self, config: ORGANConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        c = config
        vocab = len(c.tokens)
        self.generator = TokenDecoder(vocab, c.embedding_dim, c.hidden, c.layers, c.cell)
        self.discriminator = SequenceDiscriminator(vocab, c.discriminator_embedding_dim, c.discriminator_hidden)
        self.reward_function: RewardFunction | None = None
        self.adversarial = c.pretrain_share == 0

    # -- engine contract -------------------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {
            "generator": OptimizerGroup(list(self.generator.parameters()), c.lr, (0.9, 0.999),
                                        grad_clip=c.grad_clip),
            "discriminator": OptimizerGroup(list(self.discriminator.parameters()), c.discriminator_lr,
                                            (0.5, 0.999), grad_clip=c.grad_clip),
        }

    def step_schedule(self) -> list[tuple[str, int]]:
        return [("discriminator", self.config.discriminator_steps), ("generator", 1)]

    def set_progress(self, step: int, total_steps: int) -> None:
        self.adversarial = step >= self.config.pretrain_share * total_steps

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        ids = batch.x.long()
        if group == "discriminator":
            fake_ids = self.generator.sample(ids.shape[0], self.config.max_length)
            real, fake = self.discriminator(ids), self.discriminator(fake_ids)
            accuracy = 0.5 * ((real > 0).float().mean() + (fake < 0).float().mean())
            return discriminator_loss("ns", real, fake), {"accuracy": accuracy.item()}
        if group != "generator":
            raise ConfigError(f"organ: unknown optimiser group {group!r}")
        if self.adversarial:
            return self.policy_gradient_loss(ids.shape[0])
        logits = self.generator.teacher_forced_logits(ids)
        nll = token_nll(logits, ids[:, 1:]).mean()
        return nll, {"nll": nll.item(), "token_accuracy": token_accuracy(logits, ids[:, 1:]).item(),
                     "adversarial": 0.0}

    def sample_ids(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generator.sample(n, self.config.max_length, temperature=temperature, generator=generator)

    # -- rewards ---------------------------------------------------------------------------------
    @property
    def has_objective(self) -> bool:
        return self.reward_function is not None or self.config.objective is not None

    def objective_values(self, smiles: Sequence[str]) -> np.ndarray:
        """Objective O ∈ [0, 1] of each SMILES, ``float64 [N]``: ``reward_function`` if set, else the
        built-in ``config.objective``; each distinct string is scored once."""
        distinct = list(dict.fromkeys(smiles))
        if self.reward_function is not None:
            values = np.asarray(self.reward_function(distinct), dtype=np.float64).reshape(-1)
            if values.shape[0] != len(distinct):
                raise ConfigError(f"organ: reward_function returned {values.shape[0]} values for {len(distinct)} "
                                  "SMILES; return one per SMILES")
            values = np.nan_to_num(np.clip(values, 0.0, 1.0), nan=0.0)
        elif self.config.objective is not None:
            values = builtin_objective(distinct, self.config.objective)
        else:
            raise ConfigError("organ: no objective; set objective=… or model.reward_function")
        score = dict(zip(distinct, values, strict=True))
        return np.array([score[s] for s in smiles], dtype=np.float64)

    @torch.no_grad()
    def sequence_rewards(self, ids: torch.Tensor) -> torch.Tensor:
        """Reward ``[N]`` of complete sequences ``ids [N, L]``: (1 − λ)·σ(D(x)) + λ·O(x)."""
        realism = torch.sigmoid(self.discriminator(ids))
        if not self.has_objective or self.config.objective_weight == 0:
            return realism
        weight = self.config.objective_weight
        values = self.objective_values(self.vocabulary.decode_batch(ids.cpu().numpy()))
        return (1 - weight) * realism + weight * torch.as_tensor(values, dtype=realism.dtype, device=ids.device)

    @torch.no_grad()
    def token_rewards(self, ids: torch.Tensor) -> torch.Tensor:
        """Reward ``[B, L-1]`` of each drawn token ``ids[:, 1:]`` of ``ids [B, L]`` (0 after ``<eos>``):
        the mean reward of ``n_rollouts`` completions of its prefix, taken every ``rollout_every`` tokens."""
        c = self.config
        targets = ids[:, 1:]
        rewards = self.sequence_rewards(ids).unsqueeze(1).repeat(1, targets.shape[1])
        longest = int((targets != PAD_ID).sum(dim=1).max())
        covered = 0  # tokens 1..covered have their reward
        for position in range(c.rollout_every, longest, c.rollout_every):
            prefix = ids[:, : position + 1]
            # Finished rows keep the complete sequence's reward (a rollout would return them unchanged).
            open_rows = ~((prefix == EOS_ID).any(dim=1) | (prefix[:, -1] == PAD_ID))
            if bool(open_rows.any()):
                starts = prefix[open_rows].repeat_interleave(c.n_rollouts, dim=0)
                completed = self.generator.sample(starts.shape[0], c.max_length, prefix=starts)
                expected = self.sequence_rewards(completed).view(-1, c.n_rollouts).mean(dim=1)
                rewards[open_rows, covered:position] = expected.unsqueeze(1)
            covered = position
        return rewards * (targets != PAD_ID)

    def policy_gradient_loss(self, n: int) -> tuple[torch.Tensor, dict[str, float]]:
        """REINFORCE on ``n`` drawn sequences: ``−mean_b Σ_t (reward_bt − baseline) · log p(token_bt)``."""
        ids = self.generator.sample(n, self.config.max_length)
        rewards = self.token_rewards(ids)
        targets = ids[:, 1:]
        mask = targets != PAD_ID
        logits = self.generator.teacher_forced_logits(ids)
        log_probs = F.log_softmax(mask_never_drawn(logits), dim=2)  # the support sampling uses
        taken = log_probs.gather(2, targets.masked_fill(~mask, EOS_ID).unsqueeze(2)).squeeze(2)
        baseline = rewards[mask].mean()
        advantage = (rewards - baseline) * mask
        loss = -(advantage * taken.masked_fill(~mask, 0.0)).sum(dim=1).mean()
        with torch.no_grad():
            complete_rewards = rewards.gather(1, (mask.sum(dim=1, keepdim=True) - 1).clamp(min=0)).squeeze(1)
            smiles = self.vocabulary.decode_batch(ids.cpu().numpy())
        logs = {"reward": complete_rewards.mean().item(), "valid": valid_share(smiles), "adversarial": 1.0,
                "log_likelihood": taken.masked_fill(~mask, 0.0).sum(dim=1).mean().item()}
        if self.has_objective:
            logs["objective"] = float(self.objective_values(smiles).mean())
        return loss, logs
