"""An exponential moving average (EMA) of a model's weights, kept by the engine when ``ema_decay`` is set.

After every engine step ``ema ← decay · ema + (1 − decay) · weights``; the first update copies the
weights, so the average starts at the weights after step 1 rather than at the random initialisation.
Buffers (e.g. batch-norm statistics) are copied, not averaged. PyTorch's
:class:`~torch.optim.swa_utils.AveragedModel` with :func:`~torch.optim.swa_utils.get_ema_multi_avg_fn`
does the work; its ``state_dict()`` (``n_averaged`` and ``module.<name>``) goes into the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

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
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)
    return averaged.requires_grad_(False)  # updated in place only, never by autograd


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
