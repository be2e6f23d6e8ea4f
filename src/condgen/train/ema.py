"""An exponential moving average (EMA) of a model's weights, kept by the engine when ``ema_decay`` is set.

After every engine step ``ema ← d · ema + (1 − d) · weights``; the first update copies the weights, so the
average starts at the weights after step 1 rather than at the random initialisation. The decay warms up,
``d = min(decay, (1 + n) / (10 + n))`` after ``n`` averaged steps (TensorFlow's ExponentialMovingAverage with
``num_updates``): a 0.995 average over a 200-step run would otherwise still give the first, nearly random,
weights a third of its mass; from about ``9 / (1 − decay)`` steps on it is the plain average. Buffers (e.g.
batch-norm statistics) are copied, not averaged. PyTorch's :class:`~torch.optim.swa_utils.AveragedModel` does
the work; its ``state_dict()`` (``n_averaged`` and ``module.<name>``) goes into the checkpoint, so a resumed run
continues the same warm-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from condgen.errors import ConfigError
from condgen.nn.spectral_norm import reestimate_singular_vectors


def check_decay(decay: float | None) -> float | None:
    """``decay`` if it lies in (0, 1), ``None`` for off (``None`` or 0); a one-line ConfigError otherwise."""
    if decay is None or decay == 0:
        return None
    if not 0.0 < decay < 1.0:
        raise ConfigError(f"TrainConfig: ema_decay must lie in [0, 1) (0 or None: no EMA), got {decay!r}")
    return float(decay)


def build_ema(model: nn.Module, decay: float | None) -> AveragedModel | None:
    """An EMA of ``model`` (a copy of it on the same device), or ``None`` when ``decay`` is off."""
    if decay is None:
        return None
    averaged = AveragedModel(model, multi_avg_fn=warmed_up_ema(decay), use_buffers=False)
    return averaged.requires_grad_(False)  # updated in place only, never by autograd


def warmed_up_ema(decay: float):
    """The ``multi_avg_fn`` of :class:`AveragedModel` for the warmed-up decay ``min(decay, (1 + n) / (10 + n))``;
    AveragedModel calls it from the second update on, with the number of updates so far as a tensor on the
    model's device (the first update copies the weights). The decay stays a tensor: no host sync per step."""

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        warmed_up = torch.clamp((1 + n_averaged) / (10 + n_averaged), max=decay)
        torch._foreach_lerp_(averaged, current, (1 - warmed_up).to(averaged[0].dtype))

    return update


def load_ema_weights(model: nn.Module, ema: AveragedModel) -> None:
    """Put the averaged weights (and the copied buffers) into ``model`` itself; spectrally normalised layers
    (SAGAN) get singular vectors of the averaged weights, not the raw ones' copied buffers."""
    model.load_state_dict(ema.module.state_dict())
    reestimate_singular_vectors(model)


@contextmanager
def ema_weights(model: nn.Module, ema: AveragedModel | None) -> Iterator[nn.Module]:
    """Within the block ``model`` holds the EMA weights; afterwards its own again, bit for bit.

    The weights are copied in place, so optimisers and DDP keep pointing at the same parameters.
    Without an EMA (``ema=None``) the block sees the model unchanged.
    """
    if ema is None:
        yield model
        return
    raw = {key: value.detach().clone() for key, value in model.state_dict().items()}
    load_ema_weights(model, ema)
    try:
        yield model
    finally:
        model.load_state_dict(raw)
