"""Target calibration: make a continuous target mean what the backbone actually decodes.

A plugin sets a continuous attribute coordinate to the requested value, but the decoder does not
reproduce the training latents exactly, so what comes out regresses towards the data mean (a SMILES
VAE asked for logP 4.5 makes molecules of logP ≈ 3.9 on average). Calibration measures that response:
for a grid of conditions it samples latents, decodes them and measures the attribute of the result
(for molecules: RDKit on the decoded SMILES), fits a monotone curve *condition → mean measured value*
(isotonic regression) and, at sampling time, asks the plugin for the condition whose measured mean
is the requested value. It touches no weights; it is stored in the plugin's ``config.json``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from condgen.errors import ConfigError

#: Grid of conditions: the attribute's training mean ± this many standard deviations.
GRID_WIDTH = 3.5
GRID_POINTS = 15
#: Latents sampled, decoded and measured at each grid point.
PER_POINT = 300
#: Fewer latents per grid point give means too noisy to invert.
MIN_PER_POINT = 10
#: A grid point counts only if at least this share of its decodings could be measured (e.g. valid SMILES).
MIN_MEASURED_SHARE = 0.2


@dataclass(frozen=True)
class TargetCalibration:
    """The measured response of one continuous attribute: at ``condition[i]`` the decodings have mean
    value ``response[i]`` (monotone fit of ``measured``; ``measured_share``: the share of decodings
    that could be measured there)."""

    condition: list[float]
    response: list[float]
    measured: list[float]
    measured_share: list[float]

    def condition_for(self, value: float, name: str = "attribute") -> float:
        """The condition whose decodings have mean ``value`` (linear between grid points). Values
        outside the measured range give the nearest end of the grid, with a warning."""
        response, condition = np.asarray(self.response), np.asarray(self.condition)
        keep = np.concatenate([[True], np.diff(response) > 0])  # np.interp needs increasing x
        response, condition = response[keep], condition[keep]
        if not response[0] <= value <= response[-1]:
            warnings.warn(f"{name}={value:g} lies outside what the model reaches when calibrated "
                          f"({response[0]:.3g} … {response[-1]:.3g}); sampling at the nearest end", stacklevel=3)
        return float(np.interp(value, response, condition))

    def to_dict(self) -> dict[str, list[float]]:
        return asdict(self)


def fit_calibration(conditions: Sequence[float], measured: Sequence[float],
                    measured_share: Sequence[float]) -> TargetCalibration:
    """Monotone (non-decreasing) fit of the mean measured value against the condition."""
    from sklearn.isotonic import IsotonicRegression

    usable = [i for i, value in enumerate(measured) if math.isfinite(value)]
    if len(usable) < 2:
        raise ConfigError("calibration measured fewer than two grid points; the decodings could not be measured "
                          "(e.g. almost no valid molecules)")
    x = np.asarray([conditions[i] for i in usable], dtype=float)
    response = IsotonicRegression(increasing=True).fit(x, np.asarray([measured[i] for i in usable])).predict(x)
    return TargetCalibration([float(c) for c in x], [float(r) for r in response],
                             [float(measured[i]) for i in usable], [float(measured_share[i]) for i in usable])


def calibration_from_dict(body: Mapping[str, Mapping[str, Sequence[float]]] | None) -> dict[str, TargetCalibration]:
    return {name: TargetCalibration(**{key: [float(v) for v in values] for key, values in entry.items()})
            for name, entry in (body or {}).items()}


@torch.no_grad()
def calibrate(plugin, measure: Callable[[torch.Tensor], Mapping[str, np.ndarray]],
              names: Sequence[str] | None = None, per_point: int = PER_POINT, points: int = GRID_POINTS,
              width: float = GRID_WIDTH, seed: int = 0, progress: bool = False) -> dict[str, TargetCalibration]:
    """Measure and store the response of each continuous attribute of ``plugin`` (all by default).

    For each of ``points`` conditions between mean ± ``width``·std (training statistics) it samples
    ``per_point`` latents with only that attribute set (the others drawn from their prior) and calls
    ``measure(z) -> {name: values [n]}`` (NaN where a decoding cannot be measured). The fitted
    calibrations are set on the plugin (``plugin.calibration``) and returned.
    """
    from condgen.progress import ProgressBar

    names = list(names or [a.name for a in plugin.schema if a.kind == "continuous"])
    for name in names:
        if plugin.schema[name].kind != "continuous":
            raise ConfigError(f"only continuous attributes are calibrated; {name} is {plugin.schema[name].kind}")
    if per_point < MIN_PER_POINT or points < 2:
        raise ConfigError(f"calibration needs ≥ {MIN_PER_POINT} latents per point and ≥ 2 points, got {per_point} and "
                          f"{points}")
    generator = torch.Generator().manual_seed(seed)
    fitted = dict(plugin.calibration)
    bar = ProgressBar(len(names) * points, 0, progress, description="calibrating")
    for index, name in enumerate(names):
        attribute = plugin.schema[name]
        grid = attribute.mean + attribute.std * np.linspace(-width, width, points)
        means, shares = [], []
        for condition in grid:
            z = plugin.conditional_latents(per_point, {name: float(condition)}, generator=generator, calibrated=False)
            values = np.asarray(measure(z)[name], dtype=float)
            finite = values[np.isfinite(values)]
            shares.append(finite.size / per_point)
            means.append(float(finite.mean()) if shares[-1] >= MIN_MEASURED_SHARE else math.nan)
            bar.update(index * points + len(means), {name: means[-1]})
        fitted[name] = fit_calibration(grid.tolist(), means, shares)
    bar.close()
    plugin.calibration = fitted
    return fitted
