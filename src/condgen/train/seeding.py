"""One seed for everything random in a run: torch (CPU and CUDA), Python's ``random`` and NumPy.

Call :func:`seed_everything` before anything random happens — before the data set and the model's
initial weights are built, not only when the loop starts — or two runs with the same ``--seed``
start from different weights.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed torch (every CUDA device too), ``random`` and NumPy's global RNG with ``seed + rank``.

    Each DDP rank gets its own stream (``rank`` added), so ranks draw different in-loss noise while
    rank 0 draws what a single-process run does.
    """
    value = int(seed) + int(rank)
    torch.manual_seed(value)  # seeds every CUDA device as well
    random.seed(value)
    np.random.seed(value)
