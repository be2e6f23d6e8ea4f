"""The alternatives the plugin is compared with, fitted and timed the same way."""

from __future__ import annotations

import time
from collections.abc import Sequence

from condgen.data import LabeledDataset


def fit_directions_timed(plugin, train: LabeledDataset, attributes: Sequence[str], labeller=None,
                         n_latents: int = 20000, progress: bool = False):
    """InterFaceGAN-style directions on the plugin's backbone; returns ``(directions, seconds)``.

    Latents are collected exactly as for the plugin (encoder, or labelled samples for a GAN), and
    the collection counts towards the time, as it does for the plugin.
    """
    from condgen.plugin import collect_latents, fit_directions

    started = time.perf_counter()
    latents = collect_latents(plugin.backbone, train, list(attributes), labeller, n_latents, progress=progress)
    directions = fit_directions(latents, list(attributes))
    return directions, time.perf_counter() - started


def train_conditional_timed(kind: str, train: LabeledDataset, attributes: Sequence[str], steps: int,
                            batch_size: int = 64, seed: int = 0, progress: bool = True):
    """A CVAE, CGAN or cdiffusion trained from scratch on ``attributes`` (with the family's default EMA, as
    ``condgen train`` does); returns ``(model, seconds)``."""
    from condgen.models import build_model
    from condgen.train import TrainConfig
    from condgen.train import train as run_training
    from condgen.train.seeding import seed_everything

    data = train.select_attributes(list(attributes))
    started = time.perf_counter()
    seed_everything(seed)  # the initial weights follow the seed, as the run does
    model = build_model(kind, data)
    result = run_training(model, data, TrainConfig(steps=steps, batch_size=batch_size, seed=seed, progress=progress,
                                                   sample_every=0, ema_decay=model.default_ema_decay))
    return result.model.eval(), time.perf_counter() - started
