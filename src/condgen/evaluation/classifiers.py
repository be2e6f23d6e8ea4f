"""Training attribute classifiers: the labeller of a GAN backbone's samples and the oracle that judges.

The evaluation protocol needs an oracle that is *independent* of any classifier used for labelling or
guidance: train it with another architecture and another seed (:func:`train_oracle` uses
``conv-wide`` and seed 1; the shipped labeller is ``conv-small`` with seed 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from condgen.data.dataset import LabeledDataset
from condgen.models.classifier import AttributeClassifier, new_classifier
from condgen.train import TrainConfig, train


def train_classifier(
    dataset: LabeledDataset,
    attributes: Sequence[str] | None = None,
    arch: str = "conv-small",
    steps: int = 300,
    seed: int = 0,
    out: str | Path | None = None,
    batch_size: int = 128,
    progress: bool = False,
    device: str = "auto",
    **config_overrides,
) -> AttributeClassifier:
    """Train an :class:`~condgen.models.classifier.AttributeClassifier` on ``dataset`` with the engine.

    Args:
        dataset: labelled images or vectors; its schema statistics standardise continuous targets.
        attributes: names to predict (default: all of the data set's attributes).
        arch: ``conv-small`` / ``conv-wide`` / ``mlp``; for an evaluation oracle pick another arch and
            seed than the classifier used for labelling or guidance.
        steps, batch_size, seed, device, progress: passed to :class:`condgen.train.TrainConfig`;
            ``seed`` also fixes the initial weights.
        out: directory to save the trained artifact to (``condgen.load(out)`` rebuilds it).
        config_overrides: fields of :class:`~condgen.models.classifier.ClassifierConfig` (``lr``, ``hidden`` …).

    Returns:
        the trained classifier, in eval mode.
    """
    model, selected = new_classifier(dataset, attributes, arch, seed, **config_overrides)
    model.training_record = {"steps": steps, "batch_size": batch_size, "seed": seed}
    result = train(model, selected, TrainConfig(steps=steps, batch_size=batch_size, seed=seed, out=out,
                                                 progress=progress, device=device, sample_every=0))
    return result.model.eval()


#: Steps of an oracle trained by :func:`train_oracle` (what the shipped faces-oracle was trained with).
ORACLE_STEPS = 2500


def train_oracle(train_set: LabeledDataset, steps: int = ORACLE_STEPS, seed: int = 1,
                 progress: bool = True) -> AttributeClassifier:
    """The independent judge: another architecture (conv-wide) and seed than the GAN labeller."""
    return train_classifier(train_set, arch="conv-wide", steps=steps, seed=seed, progress=progress)
