"""Tiny models and data sets for the engine's tests (also imported by the DDP worker script)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.models.base import Batch, LatentModel, OptimizerGroup, TrainableModule

TRUE_WEIGHTS = torch.tensor([1.5, -2.0, 0.5])
TRUE_BIAS = 0.25


def regression_dataset(n: int = 96, seed: int = 0, noise: float = 0.0) -> LabeledDataset:
    """Vectors ``x [n, 3]`` with one continuous attribute ``y = x·w + b (+ noise)``."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=generator)
    y = x @ TRUE_WEIGHTS + TRUE_BIAS + noise * torch.randn(n, generator=generator)
    schema = AttributeSchema((Attribute("y", "continuous"),))
    return LabeledDataset(x, y[:, None], schema, {"name": "toy-regression", "modality": "vectors"})


def image_dataset(n: int = 16) -> LabeledDataset:
    """``uint8 [n, 1, 4, 4]`` images with a binary attribute."""
    generator = torch.Generator().manual_seed(0)
    data = torch.randint(0, 256, (n, 1, 4, 4), generator=generator, dtype=torch.uint8)
    schema = AttributeSchema((Attribute("bright", "binary"),))
    return LabeledDataset(data, (data.float().mean((1, 2, 3)) > 127).float()[:, None], schema,
                          {"name": "toy-img", "modality": "images"})


@dataclass
class LinearConfig:
    in_dim: int = 3
    lr: float = 0.05
    grad_clip: float | None = None


class SimulatedKill(Exception):
    pass


class LinearRegressor(TrainableModule):
    """Predicts attribute 0 from x with one linear layer; one optimiser group, "model".

    Test hooks (not options: a resumed run may drop them): from engine step ``nan_at_step`` on the loss is
    NaN, from ``scale_at_step`` on it is multiplied by ``loss_scale``; ``crash_at_step`` raises
    :class:`SimulatedKill` there, like a killed process.
    """

    kind = "test-linear"
    config_class = LinearConfig

    def __init__(self, config: LinearConfig | None = None, schema=None, *, nan_at_step: int | None = None,
                 crash_at_step: int | None = None, scale_at_step: int | None = None, loss_scale: float = 1.0):
        super().__init__(config or LinearConfig(), schema)
        self.nan_at_step, self.crash_at_step = nan_at_step, crash_at_step
        self.scale_at_step, self.loss_scale = scale_at_step, loss_scale
        self.linear = nn.Linear(self.config.in_dim, 1)
        self.step = 0
        self.grad_norms: list[float] = []  # gradient norm seen after each optimiser step

    def optimizer_groups(self):
        return {"model": OptimizerGroup(list(self.parameters()), lr=self.config.lr, betas=(0.9, 0.999),
                                        grad_clip=self.config.grad_clip)}

    def set_progress(self, step, total_steps):
        if step == self.crash_at_step:
            raise SimulatedKill(f"killed at step {step}")
        self.step = step

    def compute_loss(self, group, batch: Batch):
        loss = (self.linear(batch.x).squeeze(-1) - batch.attributes[:, 0]).pow(2).mean()
        if self.nan_at_step is not None and self.step >= self.nan_at_step:
            loss = loss * float("nan")
        if self.scale_at_step is not None and self.step >= self.scale_at_step:
            loss = loss * self.loss_scale
        return loss, {"mse": float(loss.detach())}

    def after_optimizer_step(self, group):
        self.grad_norms.append(float(torch.cat([p.grad.flatten() for p in self.parameters()]).norm()))


@dataclass
class TwoGroupConfig:
    dim: int = 3
    critic_lr: float = 1e-2
    generator_lr: float = 1e-2


class TwoGroupToy(TrainableModule):
    """A GAN-shaped toy: a linear critic and a linear generator, schedule critic ×2 then generator ×1.

    Both losses involve both groups' parameters, use the global torch RNG (noise) and the
    training progress, so the tests see leaks, RNG restore and schedule handling. ``crash_at_step``
    raises :class:`SimulatedKill` there, like a killed process.
    """

    kind = "test-two-group"
    config_class = TwoGroupConfig

    def __init__(self, config: TwoGroupConfig | None = None, schema=None, *, crash_at_step: int | None = None):
        super().__init__(config or TwoGroupConfig(), schema)
        self.crash_at_step = crash_at_step
        self.critic = nn.Linear(self.config.dim, 1)
        self.generator = nn.Linear(self.config.dim, self.config.dim)
        self.progress = 0.0
        self.calls: list[str] = []  # "progress:<step>", "<group>:loss", "<group>:after"

    def optimizer_groups(self):
        return {
            "critic": OptimizerGroup(list(self.critic.parameters()), lr=self.config.critic_lr),
            "generator": OptimizerGroup(list(self.generator.parameters()), lr=self.config.generator_lr),
        }

    def step_schedule(self):
        return [("critic", 2), ("generator", 1)]

    def set_progress(self, step, total_steps):
        if step == self.crash_at_step:
            raise SimulatedKill(f"killed at step {step}")
        self.progress = step / total_steps
        self.calls.append(f"progress:{step}")

    def compute_loss(self, group, batch: Batch):
        self.calls.append(f"{group}:loss:{batch.x.shape[0]}")
        fake = self.generator(torch.randn_like(batch.x))
        if group == "critic":
            real_score, fake_score = self.critic(batch.x), self.critic(fake.detach())
            loss = fake_score.mean() - real_score.mean() + 0.5 * (real_score.pow(2).mean() + fake_score.pow(2).mean())
        else:
            loss = -(1.0 + self.progress) * self.critic(fake).mean() + 0.1 * fake.pow(2).mean()
        return loss, {"score": float(loss.detach())}

    def after_optimizer_step(self, group):
        self.calls.append(f"{group}:after")


@dataclass
class TinyImageConfig:
    latent_dim: int = 2


class TinyImageModel(LatentModel):
    """Decodes ``z [n, 2]`` to ``[n, 1, 4, 4]`` images; trained to match the mean image."""

    kind = "test-tiny-image"
    config_class = TinyImageConfig

    def __init__(self, config: TinyImageConfig | None = None, schema=None):
        super().__init__(config or TinyImageConfig(), schema)
        self.net = nn.Linear(self.config.latent_dim, 16)

    def optimizer_groups(self):
        return {"decoder": OptimizerGroup(list(self.parameters()), lr=1e-2)}

    def decode(self, z, *, generator=None):
        return torch.tanh(self.net(z)).view(-1, 1, 4, 4)

    def compute_loss(self, group, batch: Batch):
        fake = self.decode(self.sample_latent(batch.x.shape[0]))
        loss = (fake.mean(0) - batch.x.mean(0)).pow(2).mean()
        return loss, {}
