"""CTGAN: a conditional GAN for tables (Xu et al., 2019, "Modeling Tabular Data using Conditional GAN").

Rows go through the mode-specific normalisation TVAE uses (:mod:`condgen.models.table_transform`). The
generator reads noise ⊕ a condition vector (one category of one discrete column, :mod:`condgen.models.ctgan_sampling`)
through residual blocks ``h ⊕ ReLU(BN(FC(h)))`` and writes every column's block: ``tanh`` for α, Gumbel-softmax
(temperature ``gumbel_temperature``, the paper's 0.2) for the modes and the categories. The critic scores ``pac``
rows at once, each with its condition (PacGAN), through ``FC → LeakyReLU(0.2) → Dropout`` layers; the loss is
WGAN-GP (:mod:`condgen.models.gan_losses`, penalty per pack), and the generator's adds the cross-entropy between
the conditioned column's logits and the condition.

**Training-by-sampling without a loop of its own.** The engine hands every model uniformly drawn batches; CTGAN
needs each row drawn *for a condition*. The engine therefore gives a model its training data once, before the
first step (:meth:`~condgen.models.base.TrainableModule.set_training_data`); CTGAN keeps the stored rows and, per
condition, the rows that hold it (:class:`~condgen.models.ctgan_sampling.TrainingBySampling`). In each step the
engine's batch only sets the batch size: the model draws the conditions and the real rows matching them with
torch's global random generator, which the engine seeds per process and checkpoints, so a resumed run is exact
and every DDP process draws its own share. Nothing of the training rows goes into the artifact; the categories'
frequencies (how unconditional samples choose a condition) are the buffer ``category_frequencies``.

**Latent and sampling.** The latent is ``z [B, noise_dim + 1]`` ~ N(0, I): the noise, and one coordinate whose
normal quantile chooses the condition by the data's frequencies (a discrete column uniformly, then a category ∝
its frequency), so that ``decode(z)`` depends on ``z`` alone, apart from the categories, which are drawn from the
generator's softmax with ``generator`` as training drew them. ``decode(z, condition={"column": value})``
(and ``sample(n, condition=…)``) conditions every row on one category instead. ``decode`` returns stored rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch, LatentModel, OptimizerGroup
from condgen.models.ctgan_sampling import ConditionSpace, TrainingBySampling
from condgen.models.gan_losses import discriminator_loss, generator_loss, gradient_penalty
from condgen.models.table_transform import ColumnLayout, TableTransform, check_table_layouts


@dataclass
class CTGANConfig:
    """Hyper-parameters of :class:`CTGAN` (defaults: the paper's). The data decide ``data_shape`` ``(C,)`` and
    ``columns`` (each column's :class:`~condgen.models.table_transform.ColumnLayout`). ``pac`` rows make one critic
    input, so each batch must be a multiple of it; ``n_critic`` critic steps per generator step."""

    data_shape: tuple[int, ...] = (1,)
    columns: tuple[dict[str, Any], ...] = ()
    noise_dim: int = 128
    generator_dims: tuple[int, ...] = (256, 256)
    critic_dims: tuple[int, ...] = (256, 256)
    pac: int = 10
    n_critic: int = 1
    gp_weight: float = 10.0
    gumbel_temperature: float = 0.2
    critic_dropout: float = 0.5
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.9)
    weight_decay: float = 1e-6

    def __post_init__(self):
        check_table_layouts("ctgan", self.columns, self.data_shape)
        if self.pac < 1 or self.gumbel_temperature <= 0 or self.gp_weight < 0 or not 0 <= self.critic_dropout < 1:
            raise ConfigError("ctgan: need pac ≥ 1, gumbel_temperature > 0, gp_weight ≥ 0 and 0 ≤ critic_dropout < 1")
        if not self.generator_dims or not self.critic_dims or min(*self.generator_dims, *self.critic_dims) < 1:
            raise ConfigError("ctgan: generator_dims and critic_dims need at least one layer, each ≥ 1 wide")

    @property
    def layouts(self) -> list[ColumnLayout]:
        return [ColumnLayout.from_dict(dict(entry)) for entry in self.columns]


class Residual(nn.Module):
    """``h ↦ ReLU(BN(FC(h))) ⊕ h``: the generator's block, ``[B, width_in] → [B, width_out + width_in]``."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.layer = nn.Sequential(nn.Linear(width_in, width_out), nn.BatchNorm1d(width_out), nn.ReLU())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.layer(h), h], dim=1)


def residual_generator(width_in: int, dims: tuple[int, ...], width_out: int) -> nn.Sequential:
    """``[B, width_in] → [B, width_out]``: one :class:`Residual` block per entry of ``dims``, then a linear layer
    (its output split per column and activated by :meth:`CTGAN.activate`)."""
    blocks, width = [], width_in
    for dim in dims:
        blocks.append(Residual(width, dim))
        width += dim
    return nn.Sequential(*blocks, nn.Linear(width, width_out))


def packed_critic(width_in: int, dims: tuple[int, ...], dropout: float) -> nn.Sequential:
    """``[B / pac, width_in] → [B / pac, 1]``: ``Linear → LeakyReLU(0.2) → Dropout`` per entry of ``dims``, then
    a linear critic value (no batch norm: the gradient penalty is per pack)."""
    layers, width = [], width_in
    for dim in dims:
        layers += [nn.Linear(width, dim), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
        width = dim
    return nn.Sequential(*layers, nn.Linear(width, 1))


class CTGAN(LatentModel):
    """Conditional tabular GAN; a latent backbone without an encoder (module docstring)."""

    kind = "ctgan"
    config_class = CTGANConfig
    modalities: ClassVar[tuple[str, ...]] = ("tables",)
    #: ``sample(n, condition={"column": category})`` (``condgen sample --set column=category``)
    samples_given_a_category: ClassVar[bool] = True

    def __init__(self, config: CTGANConfig, schema: AttributeSchema | None = None):
        super().__init__(config, schema)
        self.transform = TableTransform(config.layouts)
        self.space = ConditionSpace(self.transform.layouts)
        width, conditions = self.transform.width, self.space.width
        self.generator = residual_generator(config.noise_dim + conditions, tuple(config.generator_dims), width)
        self.critic = packed_critic(config.pac * (width + conditions), tuple(config.critic_dims),
                                    config.critic_dropout)
        #: per discrete column, each category's share of the training rows (unconditional sampling)
        self.register_buffer("category_frequencies", self.space.initial_frequencies())
        # the α positions of the network rows, which the Gumbel noise of decoding leaves alone
        alpha = [torch.arange(layout.width) == 0 if layout.is_number else torch.zeros(layout.width, dtype=torch.bool)
                 for layout in self.transform.layouts]
        self.logit_positions = ~torch.cat(alpha)
        self.sampling_: TrainingBySampling | None = None
        self.training_rows_: torch.Tensor | None = None

    @property
    def latent_dim(self) -> int:
        """The noise and the one coordinate that chooses the condition."""
        return self.config.noise_dim + 1

    # -- training --------------------------------------------------------------------------------
    def set_training_data(self, dataset) -> None:
        """Keep the stored rows and the rows of each condition (training-by-sampling); record the frequencies."""
        rows = dataset.data
        if dataset.modality.name != "tables" or rows.ndim != 2 or rows.shape[1] != len(self.transform.layouts):
            raise ConfigError(f"ctgan was built for a table of {len(self.transform.layouts)} columns; "
                              f"{dataset.name} holds {dataset.modality.name} of shape {list(rows.shape[1:])}")
        self.training_rows_ = rows.float().cpu()
        self.sampling_ = TrainingBySampling(self.space, self.training_rows_)
        self.category_frequencies.copy_(self.sampling_.frequencies)

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        c = self.config
        return {"discriminator": OptimizerGroup(list(self.critic.parameters()), c.lr, tuple(c.betas), c.weight_decay),
                "generator": OptimizerGroup(list(self.generator.parameters()), c.lr, tuple(c.betas), c.weight_decay)}

    def step_schedule(self) -> list[tuple[str, int]]:
        return [("discriminator", self.config.n_critic), ("generator", 1)]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """The critic's WGAN-GP loss or the generator's (−critic + the condition's cross-entropy) on a batch
        drawn by training-by-sampling; ``batch`` only gives its size (module docstring)."""
        n, pac = batch.x.shape[0], self.config.pac
        if n % pac:
            raise ConfigError(f"ctgan's critic scores packs of pac={pac} rows: the batch of {n} rows is not a "
                              f"multiple of {pac}; use e.g. --batch-size 500 (the paper's) or another -o pac")
        if self.sampling_ is None:
            raise ConfigError("ctgan draws its own training rows: call set_training_data(dataset) first "
                              "(condgen.train.train does)")
        conditions, real_rows = self.sampling_.draw(n)
        device = self.device
        condition_vectors = self.space.one_hot(conditions.to(device) if conditions is not None else
                                                torch.zeros(n, dtype=torch.long, device=device))
        noise = torch.randn(n, self.config.noise_dim, device=device)
        if group == "discriminator":
            with torch.no_grad():
                fake = self.activate(self.generator(torch.cat([noise, condition_vectors], dim=1)))
            real = self.transform.encode(self.training_rows_[real_rows].to(device))
            real_packs, fake_packs = self.packed(real, condition_vectors), self.packed(fake, condition_vectors)
            real_score, fake_score = self.score(real_packs), self.score(fake_packs)
            penalty = gradient_penalty(self.score, real_packs, fake_packs)
            loss = discriminator_loss("wgan-gp", real_score, fake_score) + self.config.gp_weight * penalty
            return loss, {"real_score": real_score.mean().item(), "fake_score": fake_score.mean().item(),
                          "gradient_penalty": penalty.item()}
        if group != "generator":
            raise ConfigError(f"ctgan: unknown optimiser group {group!r}")
        output = self.generator(torch.cat([noise, condition_vectors], dim=1))
        adversarial = generator_loss("wgan-gp", self.score(self.packed(self.activate(output), condition_vectors)))
        if conditions is None:
            return adversarial, {}
        cross_entropy = self.condition_cross_entropy(output, conditions.to(device))
        return adversarial + cross_entropy, {"condition_cross_entropy": cross_entropy.item()}

    def activate(self, output: torch.Tensor) -> torch.Tensor:
        """Generator outputs ``[B, width]`` → network rows: ``tanh`` of α, Gumbel-softmax of modes and categories."""
        tau, pieces = self.config.gumbel_temperature, []
        for layout, block in zip(self.transform.layouts, self.transform.split(output), strict=True):
            if layout.is_number:
                pieces += [torch.tanh(block[:, :1]), F.gumbel_softmax(block[:, 1:], tau=tau)]
            else:
                pieces.append(F.gumbel_softmax(block, tau=tau))
        return torch.cat(pieces, dim=1)

    def packed(self, rows: torch.Tensor, condition_vectors: torch.Tensor) -> torch.Tensor:
        """Rows ⊕ their conditions ``[B, width + conditions]`` → packs ``[B / pac, pac · (width + conditions)]``."""
        joined = torch.cat([rows, condition_vectors], dim=1)
        return joined.reshape(joined.shape[0] // self.config.pac, -1)

    def score(self, packs: torch.Tensor) -> torch.Tensor:
        """Critic values ``[B / pac]`` of packs."""
        return self.critic(packs).squeeze(1)

    def condition_cross_entropy(self, output: torch.Tensor, conditions: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy ``[]`` of each row's conditioned column's logits (in ``output [B, width]``) against its
        condition ``long [B]``."""
        blocks = self.transform.split(output)
        logits = torch.cat([blocks[j] for j in self.space.columns], dim=1)  # in condition-vector order
        own_column = self.space.blocks.to(output.device)[self.space.column_of(conditions).to(output.device)]
        return F.cross_entropy(logits.masked_fill(~own_column, float("-inf")), conditions)

    # -- sampling --------------------------------------------------------------------------------
    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None,
               condition: Mapping[str, str | int] | None = None) -> torch.Tensor:
        """Stored rows ``[B, C]`` for latents ``z [B, noise_dim + 1]``; modes and categories drawn from the
        generator's softmax with ``generator``. ``condition={"column": category}`` conditions every row on it."""
        n = z.shape[0]
        if condition:
            conditions = torch.full((n,), self.condition_index(condition), dtype=torch.long)
        elif self.space.width:
            conditions = self.space.condition_at(torch.special.ndtr(z[:, -1]), self.category_frequencies)
        else:
            conditions = torch.zeros(n, dtype=torch.long)
        output = self.generator(torch.cat([z[:, :-1], self.space.one_hot(conditions.to(z.device))], dim=1))
        uniform = torch.rand(output.shape, generator=generator).clamp(1e-10, 1 - 1e-7).to(output.device)
        gumbel = -torch.log(-torch.log(uniform)) * self.logit_positions.to(output.device)
        return self.transform.decode(output + gumbel)

    def condition_index(self, condition: Mapping[str, str | int]) -> int:
        """The position in the condition vector of ``{"column": category}`` (a category's name or index)."""
        names = {entry["name"]: entry.get("categories", []) for entry in self.data_spec.get("columns", [])}
        return self.space.position_of(condition, names)
