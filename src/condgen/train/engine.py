"""The one training loop every condgen model uses.

A model declares optimiser groups, a step schedule and per-group losses
(:class:`condgen.models.base.TrainableModule`); :func:`train` owns everything else: devices,
seeding, batches, one Adam per group (lr and betas overridable per group), learning-rate schedules,
an exponential moving average (EMA) of the weights, gradient clipping, logging, sample grids,
checkpoints, exact resume, divergence detection (NaN, inf, or a loss that has run away:
:mod:`condgen.train.divergence`) and DDP.

One engine step runs, for each ``(group, repeats)`` of ``model.step_schedule()`` and each repeat:
fresh batch → ``loss = model(group, x, attributes)`` → zero *all* gradients → backward → clip →
that group's ``optimizer.step()`` → ``model.after_optimizer_step(group)``; then, once per engine
step, the EMA update and each scheduled group's lr scheduler step (:mod:`condgen.train.optim`).

With ``ema_decay`` set, the weights one samples with are the EMA ones: sample grids, the saved
artifact (``model.save(out)``) and the model handed back in :class:`TrainResult` hold them, while
``out/checkpoint`` holds both the raw and the EMA weights, so that a resumed run is exact.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler
from torch.optim.swa_utils import AveragedModel

from condgen.data.dataset import LabeledDataset
from condgen.errors import ConfigError, TrainingDivergedError
from condgen.models.base import GenerativeModel, OptimizerGroup, TrainableModule
from condgen.progress import ProgressBar
from condgen.train import checkpoint, distributed, ema, optim, resume
from condgen.train.distributed import DistributedContext
from condgen.train.divergence import RunawayLossDetector, diverged_message, what_is_kept
from condgen.train.reporting import RunLog
from condgen.train.sampler import BatchSampler
from condgen.train.seeding import seed_everything

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """How to train (what to train is the model's own config).

    ``steps`` counts engine steps (one pass over ``model.step_schedule()``); ``batch_size`` is the
    global batch, split across DDP ranks. With ``out`` set, the run writes ``out/log.csv``,
    ``out/checkpoint/`` every ``checkpoint_every`` steps and at the end, the model artifact
    (``model.save(out)``) with each checkpoint, and ``out/samples/step_NNNNNN.png`` every
    ``sample_every`` steps (generative models; ``.smi`` / ``.csv`` for SMILES and vectors).
    ``resume=True`` continues from ``out/checkpoint`` if there is one; everything that shapes the run (the
    model's options and data, batches, schedules: :mod:`condgen.train.resume`) must be as the checkpoint
    was trained, or it is a :class:`ConfigError`. ``steps=0`` saves the initial model. ``log_every`` ≤ 0
    logs only the final step.

    ``lr_schedule`` is ``"constant"``, ``"warmup"`` (linear over ``warmup_steps``) or ``"cosine"``
    (warm-up, then cosine decay to ``min_lr_ratio`` × the base lr at the last step), applied per engine
    step to every group relative to its own lr (formulas: :mod:`condgen.train.optim`). ``ema_decay``
    (e.g. 0.999; ``None`` or 0: off) keeps an EMA of the weights (see the module docstring for which
    weights go where). ``group_lr`` / ``group_betas`` override optimiser groups' lr / betas by name,
    e.g. ``group_lr={"generator": 1e-4, "discriminator": 4e-4}``. Resuming with other values of these
    than the checkpoint was trained with is a :class:`ConfigError`.
    """

    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    out: Path | None = None
    resume: bool = False
    change_options: bool = False
    checkpoint_every: int = 500
    sample_every: int = 0
    sample_n: int = 64
    log_every: int = 50
    device: str = "auto"
    progress: bool = True
    tensorboard: bool = False
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    ema_decay: float | None = None
    group_lr: dict[str, float] = field(default_factory=dict)
    group_betas: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self):
        if self.out is not None:
            self.out = Path(self.out)
        if self.steps < 0 or self.batch_size < 1:
            raise ConfigError(f"--steps must be ≥ 0 and --batch-size ≥ 1, got {self.steps} and {self.batch_size}")
        if self.sample_n < 1:
            raise ConfigError(f"sample_n (samples per grid) must be ≥ 1, got {self.sample_n}")
        if self.resume and self.out is None:
            raise ConfigError("TrainConfig: resume=True needs out= (the folder holding the checkpoint)")
        if self.change_options and not self.resume:
            raise ConfigError("--change-options applies changed -o options to a resumed run: pass --resume too")
        optim.check_schedule(self.lr_schedule, self.warmup_steps, self.min_lr_ratio, self.steps)
        self.ema_decay = ema.check_decay(self.ema_decay)
        self.group_lr, self.group_betas = optim.checked_group_overrides(self.group_lr, self.group_betas)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["out"] = None if self.out is None else str(self.out)
        return values


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained (unwrapped) model, the logged records
    (``[{"step": s, "<group>/loss": …, "<group>/lr": …}, …]``), the number of engine steps done and the
    output folder.

    With ``ema_decay`` set, ``model`` holds the EMA weights (the ones to sample with, as in the saved
    artifact); the raw weights the optimisers trained are in ``out/checkpoint`` (``model/…`` tensors).
    """

    model: TrainableModule
    history: list[dict[str, float]] = field(default_factory=list)
    steps_done: int = 0
    out: Path | None = None


def train(model: TrainableModule, dataset: LabeledDataset, config: TrainConfig) -> TrainResult:
    """Train ``model`` on ``dataset`` as ``config`` says; see the module docstring for one step.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) every process calls this; rank 0 writes all files.
    The DDP process group is created on the first call and destroyed when the process exits.
    Seeds every RNG at the start; seed them before building ``model`` too
    (:func:`~condgen.train.seeding.seed_everything`), or its initial weights are not reproducible.
    Raises :class:`TrainingDivergedError` on a NaN/inf loss or one that has run away
    (:mod:`condgen.train.divergence`), keeping the last checkpoint written before it.
    """
    context = distributed.setup(config.device)
    seed_everything(config.seed, context.rank)  # ranks draw different noise; rank 0 as a single process
    model.to(context.device)
    model.train()
    model.set_training_data(dataset)  # a model that draws its own rows (ctgan) keeps what it needs
    groups = model.optimizer_groups()
    schedule = _checked_schedule(model, groups)
    optimizers = optim.build_optimizers(type(model).__name__, groups, config.group_lr, config.group_betas)
    schedulers = optim.build_schedulers(
        optimizers, optim.lr_factor(config.lr_schedule, config.warmup_steps, config.steps, config.min_lr_ratio))
    # Only groups that step move along their schedule (torch warns on a scheduler step before any update).
    scheduled = [name for name in groups if any(name == group for group, _ in schedule)]
    averaged = ema.build_ema(model, config.ema_decay)
    state = _RunState(optimizers, schedulers, averaged)
    sampler = BatchSampler(len(dataset), config.batch_size, config.seed, context.rank, context.world_size)
    out = config.out if context.is_main else None

    start_step = _resume(model, state, sampler, config, context) if config.resume else 0
    last_checkpoint = start_step if start_step > 0 else None

    wrapped = distributed.wrap(model, context)
    run_log = RunLog(out, config.tensorboard, resume_step=last_checkpoint)
    bar = ProgressBar(config.steps, start_step, config.progress and context.is_main)
    detectors = {name: RunawayLossDetector() for name in groups}
    try:
        for step in range(start_step, config.steps):
            model.set_progress(step, config.steps)
            for group, repeats in schedule:
                for _ in range(repeats):
                    x, attributes = (t.to(context.device) for t in dataset.batch(sampler.next_indices()))
                    loss, logs = wrapped(group, x, attributes)
                    value = _checked_loss(loss, group, step, config, last_checkpoint, context, detectors[group],
                                          optimizers[group])
                    _update(model, loss, groups[group], optimizers[group])
                    model.after_optimizer_step(group)
                    run_log.add(group, value, logs)
            # The lr this step used, read before the schedulers move it on for the next one.
            run_log.note({f"{name}/lr": optim.current_lr(optimizers[name]) for name in scheduled})
            if averaged is not None:
                averaged.update_parameters(model)
            for name in scheduled:
                schedulers[name].step()
            done = step + 1
            if done == config.steps or (config.log_every > 0 and done % config.log_every == 0):
                run_log.flush(done)
            bar.update(done, run_log.latest)
            if out is not None and config.sample_every > 0 and done % config.sample_every == 0:
                _save_samples(model, averaged, dataset, config, context, done)
            if config.out is not None and (
                done == config.steps or (config.checkpoint_every > 0 and done % config.checkpoint_every == 0)
            ):
                _save_checkpoint(model, state, sampler, config, context, done)
                last_checkpoint = done
        if config.out is not None and last_checkpoint is None:  # steps=0: the initial model
            _save_checkpoint(model, state, sampler, config, context, start_step)
    finally:
        bar.close()
        run_log.close()
    model.zero_grad(set_to_none=True)
    if averaged is not None:
        ema.load_ema_weights(model, averaged)
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


@dataclass
class _RunState:
    """What the engine trains besides the model: per group an optimiser and its lr scheduler, and the EMA."""

    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, LRScheduler]
    ema: AveragedModel | None


def _resume(model: TrainableModule, state: _RunState, sampler: BatchSampler, config: TrainConfig,
            context: DistributedContext) -> int:
    """Restore ``out/checkpoint`` into the live objects if there is one; the step to continue from."""
    if not checkpoint.exists(config.out):
        if context.is_main:
            logger.warning("--resume: %s holds no checkpoint; starting a fresh run",
                           checkpoint.checkpoint_dir(config.out))
        return 0
    saved = checkpoint.load_checkpoint(config.out)
    changed = resume.check_resumable(saved, model, config.to_dict(), state.optimizers, state.schedulers,
                                     config.change_options)
    checkpoint.restore(saved, model, state.optimizers, sampler, context, state.schedulers, state.ema)
    model.option_changes = list(saved.meta.get("model", {}).get("option_changes", []))
    if changed:
        model.option_changes.append({"step": saved.step, "options": changed})
    if context.is_main:
        done = f" (--steps {config.steps}: nothing left to train)" if saved.step >= config.steps else ""
        logger.info("resuming from step %d of %s%s", saved.step, saved.directory, done)
        if changed:
            logger.info("from step %d on: %s (recorded in config.json as option_changes)", saved.step,
                        ", ".join(f"-o {key}={new} (was {old})" for key, (old, new) in changed.items()))
    return saved.step


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


def _checked_loss(loss: torch.Tensor, group: str, step: int, config: TrainConfig, last_checkpoint: int | None,
                  context: DistributedContext, detector: RunawayLossDetector,
                  optimizer: torch.optim.Optimizer) -> float:
    """The loss as a number; raises on a diverged loss (on any rank) before it reaches the weights."""
    value = float(loss.detach())
    reason = detector.check(value)
    if distributed.all_ranks_agree(reason is None, context):
        return value
    kept = what_is_kept(config.out, last_checkpoint, step)
    raise TrainingDivergedError(diverged_message(group, step, reason or "diverged on another rank",
                                                 optim.current_lr(optimizer), kept))


def _save_checkpoint(model: TrainableModule, state: _RunState, sampler: BatchSampler, config: TrainConfig,
                     context: DistributedContext, step: int) -> None:
    """Write ``out/checkpoint`` (raw and EMA weights) and the model artifact (EMA weights when kept);
    every rank waits until rank 0 is done."""
    distributed.barrier(context)
    checkpoint.save_checkpoint(config.out, step, model, state.optimizers, sampler, context, config.to_dict(),
                               state.schedulers, state.ema, resume.model_settings(model))
    if context.is_main:
        with ema.ema_weights(model, state.ema):
            model.save(config.out)  # so a killed run still leaves a loadable model
    distributed.barrier(context)


def _save_samples(model: TrainableModule, averaged: AveragedModel | None,
                  dataset: LabeledDataset, config: TrainConfig, context: DistributedContext, step: int) -> None:
    """Save ``sample_n`` samples (fixed noise, so they are comparable across steps; EMA weights when kept)
    as the data's modality writes them: ``out/samples/step_NNNNNN.png`` for images, ``.smi`` for SMILES,
    ``.csv`` for vectors."""
    if not isinstance(model, GenerativeModel):
        return
    n, attributes = config.sample_n, None
    if model.is_conditional:
        n = min(n, len(dataset))
        attributes = dataset.attributes[:n].to(context.device)
    # fork_rng: sampling must not advance the training RNG, or resume would not be exact.
    devices = [context.device.index or 0] if context.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), ema.ema_weights(model, averaged):
        samples = model.sample(n, generator=torch.Generator().manual_seed(config.seed), attributes=attributes)
    modality = dataset.modality
    modality.write(modality.outputs(samples), Path(config.out) / "samples" / f"step_{step:06d}{modality.suffixes[0]}")
