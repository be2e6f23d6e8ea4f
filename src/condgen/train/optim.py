"""Optimisers, learning-rate schedules, and the per-group settings a run may override.

Each :class:`~condgen.models.base.OptimizerGroup` gets one Adam. ``TrainConfig.group_lr`` and
``group_betas`` override a group's own lr and betas by name without editing the model, e.g. the
two time-scale update rule ``group_lr={"generator": 1e-4, "discriminator": 4e-4}``.

Each optimiser gets a :class:`torch.optim.lr_scheduler.LambdaLR` that the engine steps once per engine
step. Engine step ``s`` (0-based) of a ``T``-step run then uses ``lr = base_lr · f(s)``, where
``base_lr`` is the group's own lr and, with ``W = warmup_steps`` and ``r = min_lr_ratio``,

* ``constant``: ``f(s) = 1`` (the default; the same weights, bit for bit, as a plain Adam);
* ``warmup``:   ``f(s) = min(1, (s + 1) / W)``: the first step already moves, step ``W − 1`` reaches ``base_lr``;
* ``cosine``:   the same warm-up, then ``f(s) = r + (1 − r) · ½ (1 + cos(π (s − W) / (T − 1 − W)))``:
  ``base_lr`` at ``s = W``, the floor ``r · base_lr`` at the last step ``s = T − 1``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
from torch.optim.lr_scheduler import LambdaLR

from condgen.errors import ConfigError, check_choice
from condgen.models.base import OptimizerGroup

SCHEDULES = ("constant", "warmup", "cosine")


# -- settings -------------------------------------------------------------------------------------
def check_schedule(schedule: str, warmup_steps: int, min_lr_ratio: float, steps: int) -> None:
    """Raise a one-line :class:`ConfigError` unless the schedule settings make sense together."""
    check_choice(schedule, SCHEDULES, "lr_schedule", "TrainConfig")
    if not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ConfigError(f"TrainConfig: warmup_steps must be an integer ≥ 0, got {warmup_steps!r}")
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise ConfigError(f"TrainConfig: min_lr_ratio must lie in [0, 1], got {min_lr_ratio!r}")
    # Settings the chosen schedule would ignore are mistakes (e.g. --warmup-steps without --lr-schedule).
    if warmup_steps > 0 and schedule == "constant":
        raise ConfigError(f"TrainConfig: warmup_steps={warmup_steps} needs lr_schedule='warmup' or 'cosine'")
    if min_lr_ratio != 0.0 and schedule != "cosine":
        raise ConfigError(f"TrainConfig: min_lr_ratio={min_lr_ratio} needs lr_schedule='cosine'")
    if schedule == "warmup" and warmup_steps < 1:
        raise ConfigError("TrainConfig: lr_schedule='warmup' needs warmup_steps ≥ 1")
    if schedule == "cosine" and warmup_steps >= steps:
        raise ConfigError(f"TrainConfig: lr_schedule='cosine' needs warmup_steps < steps "
                          f"(got warmup_steps={warmup_steps}, steps={steps})")


def checked_group_overrides(group_lr: Mapping[str, float | str], group_betas: Mapping[str, tuple[float, float]]
                            ) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """``group_lr`` and ``group_betas`` as floats (the CLI passes text); a one-line :class:`ConfigError` for
    an lr that is not a positive number or betas that are not two numbers in [0, 1)."""
    lrs: dict[str, float] = {}
    for name, lr in group_lr.items():
        lrs[str(name)] = _number(lr)
        if not 0 < lrs[str(name)] < math.inf:
            raise ConfigError(f"TrainConfig: group_lr[{name!r}] must be a positive number, got {lr!r}")
    betas: dict[str, tuple[float, float]] = {}
    for name, pair in group_betas.items():
        values = tuple(_number(b) for b in pair) if isinstance(pair, (list, tuple)) else ()
        if len(values) != 2 or not all(0.0 <= b < 1.0 for b in values):
            raise ConfigError(f"TrainConfig: group_betas[{name!r}] must be two numbers in [0, 1), got {pair!r}")
        betas[str(name)] = values
    return lrs, betas


def _number(value: object) -> float:
    """``value`` as a float; NaN (which every range check rejects) if it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def lr_factor(schedule: str, warmup_steps: int, steps: int, min_lr_ratio: float = 0.0) -> Callable[[int], float]:
    """``f(s)``: the factor on each group's base lr at engine step ``s`` (0-based; module docstring)."""
    def factor(step: int) -> float:
        if schedule == "constant":
            return 1.0
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "warmup":
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, steps - 1 - warmup_steps))
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    # A closure, not a callable object: LambdaLR's state_dict then holds only its counters, no settings.
    return factor


# -- construction ---------------------------------------------------------------------------------
def build_optimizers(owner: str, groups: dict[str, OptimizerGroup], group_lr: Mapping[str, float],
                     group_betas: Mapping[str, tuple[float, float]]) -> dict[str, torch.optim.Adam]:
    """One Adam per group, with the run's ``group_lr`` / ``group_betas`` in place of the model's values.

    ``owner`` (the model's class name) only goes into the error for a group name the model lacks.
    """
    unknown = sorted((set(group_lr) | set(group_betas)) - set(groups))
    if unknown:
        raise ConfigError(f"group_lr/group_betas name optimiser groups {unknown} that {owner} does not have; "
                          f"valid groups: {sorted(groups)}")
    return {
        name: torch.optim.Adam(group.parameters, lr=float(group_lr.get(name, group.lr)),
                               betas=tuple(group_betas.get(name, group.betas)), weight_decay=group.weight_decay)
        for name, group in groups.items()
    }


def build_schedulers(optimizers: dict[str, torch.optim.Optimizer],
                     factor: Callable[[int], float]) -> dict[str, LambdaLR]:
    """One LambdaLR per optimiser, all following ``factor`` (created before any checkpoint is loaded,
    as torch asks: creating a scheduler overwrites its optimiser's lr)."""
    return {name: LambdaLR(optimizer, factor) for name, optimizer in optimizers.items()}


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The lr the optimiser's next ``step()`` uses (each of ours has one parameter group)."""
    return float(optimizer.param_groups[0]["lr"])
