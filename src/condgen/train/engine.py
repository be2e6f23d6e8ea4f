"""The one training loop every condgen model uses.

A model declares optimiser groups, a step schedule and per-group losses
(:class:`condgen.models.base.TrainableModule`); :func:`train` owns everything else: devices,
seeding, batches, one Adam per group, gradient clipping, logging, sample grids, checkpoints,
exact resume, NaN detection and DDP.

One engine step runs, for each ``(group, repeats)`` of ``model.step_schedule()`` and each repeat:
fresh batch → ``loss = model(group, x, attributes)`` → zero *all* gradients → backward → clip →
that group's ``optimizer.step()`` → ``model.after_optimizer_step(group)``.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from condgen.data.dataset import LabeledDataset
from condgen.errors import ConfigError, TrainingDivergedError
from condgen.models.base import GenerativeModel, OptimizerGroup, TrainableModule
from condgen.progress import ProgressBar
from condgen.train import checkpoint, distributed
from condgen.train.distributed import DistributedContext
from condgen.train.reporting import RunLog
from condgen.train.sampler import BatchSampler

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """How to train (what to train is the model's own config).

    ``steps`` counts engine steps (one pass over ``model.step_schedule()``); ``batch_size`` is the
    global batch, split across DDP ranks. With ``out`` set, the run writes ``out/log.csv``,
    ``out/checkpoint/`` every ``checkpoint_every`` steps and at the end, the model artifact
    (``model.save(out)``) with each checkpoint, and ``out/samples/step_NNNNNN.png`` every
    ``sample_every`` steps (generative models; ``.smi`` / ``.csv`` for SMILES and vectors).
    ``resume=True`` continues from ``out/checkpoint`` if there is one. ``log_every`` ≤ 0 logs only the final step.
    """

    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    out: Path | None = None
    resume: bool = False
    checkpoint_every: int = 500
    sample_every: int = 0
    sample_n: int = 64
    log_every: int = 50
    device: str = "auto"
    progress: bool = True
    tensorboard: bool = False

    def __post_init__(self):
        if self.out is not None:
            self.out = Path(self.out)
        if self.steps < 0 or self.batch_size < 1 or self.sample_n < 1:
            raise ConfigError(
                f"TrainConfig: steps must be ≥ 0, batch_size and sample_n ≥ 1 "
                f"(got steps={self.steps}, batch_size={self.batch_size}, sample_n={self.sample_n})"
            )
        if self.resume and self.out is None:
            raise ConfigError("TrainConfig: resume=True needs out= (the folder holding the checkpoint)")

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["out"] = None if self.out is None else str(self.out)
        return values


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained (unwrapped) model, the logged records
    (``[{"step": s, "<group>/loss": …}, …]``), the number of engine steps done and the output folder."""

    model: TrainableModule
    history: list[dict[str, float]] = field(default_factory=list)
    steps_done: int = 0
    out: Path | None = None


def train(model: TrainableModule, dataset: LabeledDataset, config: TrainConfig) -> TrainResult:
    """Train ``model`` on ``dataset`` as ``config`` says; see the module docstring for one step.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) every process calls this; rank 0 writes all files.
    The DDP process group is created on the first call and destroyed when the process exits.
    Raises :class:`TrainingDivergedError` on a NaN/inf loss, keeping the last good checkpoint.
    """
    context = distributed.setup(config.device)
    # Each rank draws different in-loss noise; rank 0 matches a single-process run.
    torch.manual_seed(config.seed + context.rank)
    random.seed(config.seed + context.rank)
    np.random.seed(config.seed + context.rank)
    model.to(context.device)
    model.train()
    groups = model.optimizer_groups()
    schedule = _checked_schedule(model, groups)
    optimizers = {name: _adam(group) for name, group in groups.items()}
    sampler = BatchSampler(len(dataset), config.batch_size, config.seed, context.rank, context.world_size)
    out = config.out if context.is_main else None

    start_step = _resume(model, optimizers, sampler, config, context) if config.resume else 0
    last_checkpoint = start_step if start_step > 0 else None

    wrapped = distributed.wrap(model, context)
    run_log = RunLog(out, config.tensorboard, resume_step=last_checkpoint)
    bar = ProgressBar(config.steps, start_step, config.progress and context.is_main)
    try:
        for step in range(start_step, config.steps):
            model.set_progress(step, config.steps)
            for group, repeats in schedule:
                for _ in range(repeats):
                    x, attributes = (t.to(context.device) for t in dataset.batch(sampler.next_indices()))
                    loss, logs = wrapped(group, x, attributes)
                    value = _checked_loss(loss, group, step, config, last_checkpoint, context)
                    _update(model, loss, groups[group], optimizers[group])
                    model.after_optimizer_step(group)
                    run_log.add(group, value, logs)
            done = step + 1
            if done == config.steps or (config.log_every > 0 and done % config.log_every == 0):
                run_log.flush(done)
            bar.update(done, run_log.latest)
            if out is not None and config.sample_every > 0 and done % config.sample_every == 0:
                _save_samples(model, dataset, config, context, done)
            if config.out is not None and (
                done == config.steps or (config.checkpoint_every > 0 and done % config.checkpoint_every == 0)
            ):
                _save_checkpoint(model, optimizers, sampler, config, context, done)
                last_checkpoint = done
    finally:
        bar.close()
        run_log.close()
    model.zero_grad(set_to_none=True)
    model.eval()
    return TrainResult(model, run_log.history, max(config.steps, start_step), config.out)


def _update(model: TrainableModule, loss: torch.Tensor, group: OptimizerGroup,
            optimizer: torch.optim.Optimizer) -> None:
    """Backpropagate ``loss`` and step this group's optimiser only."""
    # Drop every gradient first: another group's loss leaves gradients on these parameters too.
    model.zero_grad(set_to_none=True)
    loss.backward()
    if group.grad_clip is not None:
        nn.utils.clip_grad_norm_(group.parameters, group.grad_clip)
    optimizer.step()


def _resume(model: TrainableModule, optimizers: dict[str, torch.optim.Optimizer], sampler: BatchSampler,
            config: TrainConfig, context: DistributedContext) -> int:
    """Restore ``out/checkpoint`` into the live objects if there is one; the step to continue from."""
    if not checkpoint.exists(config.out):
        if context.is_main:
            logger.warning("resume=True but %s holds no checkpoint; starting a fresh run",
                           checkpoint.checkpoint_dir(config.out))
        return 0
    saved = checkpoint.load_checkpoint(config.out)
    checkpoint.restore(saved, model, optimizers, sampler, context)
    if context.is_main:
        logger.info("resuming from %s at step %d", saved.directory, saved.step)
    return saved.step


def _adam(group: OptimizerGroup) -> torch.optim.Adam:
    return torch.optim.Adam(group.parameters, lr=group.lr, betas=tuple(group.betas),
                            weight_decay=group.weight_decay)


def _checked_schedule(model: TrainableModule, groups: dict[str, OptimizerGroup]) -> list[tuple[str, int]]:
    """The model's step schedule, after checking it and its groups make sense."""
    seen: dict[int, str] = {}
    for name, group in groups.items():
        if not group.parameters:
            raise ConfigError(f"{type(model).__name__}: optimiser group {name!r} has no parameters")
        for parameter in group.parameters:
            if id(parameter) in seen:
                raise ConfigError(f"{type(model).__name__}: a parameter is in both optimiser groups "
                                  f"{seen[id(parameter)]!r} and {name!r}; give each parameter one group")
            seen[id(parameter)] = name
    schedule = list(model.step_schedule())
    for name, repeats in schedule:
        if name not in groups or int(repeats) < 1:
            raise ConfigError(f"{type(model).__name__}: step_schedule entry ({name!r}, {repeats}) needs a "
                              f"group from {sorted(groups)} and repeats ≥ 1")
    return schedule


def _checked_loss(loss: torch.Tensor, group: str, step: int, config: TrainConfig,
                  last_checkpoint: int | None, context: DistributedContext) -> float:
    """The loss as a number; raises on a NaN/inf loss (on any rank) before it reaches the weights."""
    value = float(loss.detach())
    if distributed.all_ranks_agree(math.isfinite(value), context):
        return value
    if last_checkpoint is not None:
        kept = f"last good checkpoint: {checkpoint.checkpoint_dir(config.out)} (step {last_checkpoint})"
    else:
        kept = "no checkpoint was written yet"
    raise TrainingDivergedError(
        f"training diverged: group {group!r} loss is {value} at step {step}; {kept}; "
        "try a lower learning rate (e.g. ÷10) or set grad_clip, then resume=True"
    )


def _save_checkpoint(model: TrainableModule, optimizers: dict[str, torch.optim.Optimizer],
                     sampler: BatchSampler, config: TrainConfig, context: DistributedContext,
                     step: int) -> None:
    """Write ``out/checkpoint`` and the model artifact; every rank waits until rank 0 is done."""
    distributed.barrier(context)
    checkpoint.save_checkpoint(config.out, step, model, optimizers, sampler, context, config.to_dict())
    if context.is_main:
        model.save(config.out)  # so a killed run still leaves a loadable model
    distributed.barrier(context)


def _save_samples(model: TrainableModule, dataset: LabeledDataset, config: TrainConfig,
                  context: DistributedContext, step: int) -> None:
    """Save ``sample_n`` samples (fixed noise, so they are comparable across steps) as the data's modality
    writes them: ``out/samples/step_NNNNNN.png`` for images, ``.smi`` for SMILES, ``.csv`` for vectors."""
    if not isinstance(model, GenerativeModel):
        return
    n, attributes = config.sample_n, None
    if model.is_conditional:
        n = min(n, len(dataset))
        attributes = dataset.attributes[:n].to(context.device)
    # fork_rng: sampling must not advance the training RNG, or resume would not be exact.
    devices = [context.device.index or 0] if context.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        samples = model.sample(n, generator=torch.Generator().manual_seed(config.seed), attributes=attributes)
    modality = dataset.modality
    modality.write(modality.outputs(samples), Path(config.out) / "samples" / f"step_{step:06d}{modality.suffixes[0]}")
