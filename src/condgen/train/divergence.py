"""Telling a run that has diverged from one that is merely noisy, and saying what to do about it.

A loss that is NaN or infinite has diverged. So has a finite loss that has run away: at a learning rate
far too high a VAE's loss goes from 1e4 to 1e26 in one update and stays there, finite, and without this
check the run would save those weights and exit 0. :class:`RunawayLossDetector` flags a loss whose
magnitude exceeds ``factor`` (10⁴) × the median magnitude of the last ``window`` (100) losses it accepted,
with that median taken as at least ``floor`` (1), so that a loss which has converged to 1e-5 may still
jump to 0.5 on an unlucky batch. The median starts from the very first loss: the blow-up of a learning
rate far too high comes with the first update, and a longer warm-up would let it into the median.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path
from statistics import median

from condgen.train.checkpoint import checkpoint_dir

#: A loss this many times the recent median (in magnitude) has run away.
RUNAWAY_FACTOR = 1e4
#: How many recent losses the median is taken over.
RUNAWAY_WINDOW = 100


class RunawayLossDetector:
    """Watches the losses of one optimiser group; :meth:`check` says why a loss has diverged, if it has."""

    def __init__(self, factor: float = RUNAWAY_FACTOR, window: int = RUNAWAY_WINDOW, floor: float = 1.0):
        self.factor, self.floor = float(factor), float(floor)
        self.recent: deque[float] = deque(maxlen=int(window))

    def check(self, loss: float) -> str | None:
        """``None`` for a loss that looks like training (it then joins the recent ones), else why not."""
        if not math.isfinite(loss):
            return f"is {loss}"
        if self.recent:
            typical = max(median(self.recent), self.floor)
            if abs(loss) > self.factor * typical:
                before = f"the median of the last {len(self.recent)} losses" if len(self.recent) > 1 else \
                    "the loss before it"
                return f"is {loss:.3g}, over {self.factor:g} × {before} ({typical:.3g})"
        self.recent.append(abs(loss))
        return None


def diverged_message(group: str, step: int, reason: str, lr: float, kept: str) -> str:
    """The one line a diverged run stops with: which loss, when, what is kept and which flags to change.

    ``kept`` says which checkpoint is left (or that none was written).
    """
    return (f"training diverged: the {group!r} loss {reason} at step {step}; {kept}; lower the learning rate "
            f"(-o lr=…, now {lr:g}; try a tenth), clip gradients (-o grad_clip=1) or train fewer --steps, "
            "then train again without --resume")


def what_is_kept(out: Path | None, last_checkpoint: int | None, step: int) -> str:
    """Which checkpoint a run that diverged at ``step`` leaves in ``out``: the last one written before, which
    holds the weights that gave the diverged loss when it was written right after the update before it."""
    if out is None or last_checkpoint is None:
        return "no checkpoint was written yet, so nothing was saved"
    directory = checkpoint_dir(out)
    if last_checkpoint == step:
        return f"the last checkpoint, {directory} (step {step}), holds the weights that gave it"
    return f"{directory} keeps the last good checkpoint (step {last_checkpoint}) and {out} its model"
