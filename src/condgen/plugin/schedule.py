"""Schedules for the width σ of the plugin's attribute priors over training.

A schedule is a pure function of training progress ``t = step / total_steps`` in ``[0, 1]``:
it never reads or updates a running value, so it cannot compound. (The published research
code multiplied the current σ by the decay factor on every call, so its σ ended far below the
intended value; a function of progress cannot make that mistake.)
"""

from __future__ import annotations

from dataclasses import dataclass

from condgen.errors import ConfigError


@dataclass(frozen=True)
class ConstantSchedule:
    """σ(t) = ``value`` for every progress ``t``."""

    value: float

    def __post_init__(self):
        if not self.value > 0:
            raise ConfigError(f"sigma must be positive, got {self.value}")

    def __call__(self, progress: float) -> float:
        return float(self.value)


@dataclass(frozen=True)
class ExponentialSchedule:
    """σ(t) = ``start · (end / start) ** t`` with ``t = clamp(progress, 0, 1)``.

    So σ(0) = ``start``, σ(1) = ``end``, and σ shrinks by the same factor over every equal
    stretch of training (geometric interpolation between ``start`` and ``end``). Progress
    beyond 1 (training longer than planned) stays at ``end``.
    """

    start: float
    end: float

    def __post_init__(self):
        if not (self.start > 0 and self.end > 0):
            raise ConfigError(f"sigma schedule needs positive start and end, got {self.start}, {self.end}")

    def __call__(self, progress: float) -> float:
        t = min(max(float(progress), 0.0), 1.0)
        return float(self.start * (self.end / self.start) ** t)


def make_schedule(kind: str, start: float, end: float) -> ConstantSchedule | ExponentialSchedule:
    """``"exponential"`` → :class:`ExponentialSchedule` (start, end); ``"constant"`` → σ = ``end``."""
    if kind == "exponential":
        return ExponentialSchedule(start, end)
    if kind == "constant":
        return ConstantSchedule(end)
    raise ConfigError(f"sigma_schedule must be 'exponential' or 'constant', got {kind!r}")
