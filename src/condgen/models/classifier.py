"""An attribute classifier: labels GAN latents for the plugin and, trained separately, judges edits.

Train one with :func:`condgen.evaluation.classifiers.train_classifier` (or ``condgen classifier train``).

One network with one output head per attribute of its schema:

* ``binary`` — one logit, binary cross-entropy;
* ``continuous`` — one value on the standardised scale ``(y - mean) / std``, mean squared error;
* ``categorical`` — C logits, cross-entropy.

A missing label (NaN) contributes nothing to the loss. The evaluation protocol needs an oracle
that is *independent* of the classifier used for training or guiding, so train the oracle with
another ``arch`` and another ``seed`` (see :func:`train_classifier`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError, DataError
from condgen.models.base import Batch, OptimizerGroup, TrainableModule

ARCHITECTURES = ("conv-small", "conv-wide", "mlp")


@dataclass
class ClassifierConfig:
    """Hyper-parameters of :class:`AttributeClassifier` (the training seed is not part of them).

    Attributes:
        arch: ``conv-small`` (strided convs), ``conv-wide`` (twice the width, two convs per stage,
            group norm — a different network for an independent oracle) or ``mlp`` (flattened input).
        channels, size: image channels and side; used by the conv architectures and by ``mlp`` on images.
        input_dim: length of vector inputs ``[N, D]``; 0 means the input is an image.
        base_channels: channels of the first conv stage (doubled at every downsampling, up to 8x).
        hidden: width of the penultimate layer, i.e. of :meth:`AttributeClassifier.features`.
        dropout: dropout before the heads (training only).
        lr, weight_decay: Adam settings of the single optimiser group ``classifier``.
    """

    arch: str = "conv-small"
    channels: int = 3
    size: int = 32
    input_dim: int = 0
    base_channels: int = 32
    hidden: int = 128
    dropout: float = 0.1
    lr: float = 2e-3
    weight_decay: float = 0.0


def _downsamplings(size: int) -> int:
    """Stride-2 stages that bring ``size`` to about 4 pixels (at least one)."""
    return max(1, round(math.log2(max(size, 4) / 4)))


def _conv_trunk(config: ClassifierConfig) -> tuple[nn.Sequential, int]:
    """Stride-2 4x4 conv stages ending in a ``4x4`` map; returns the trunk and its flattened width.

    ``conv-wide`` doubles the channels and adds group norm after every conv, so that an evaluation
    oracle is a different network from a ``conv-small`` labeller (and costs about 4x as much).
    """
    wide = config.arch == "conv-wide"
    base = config.base_channels * (2 if wide else 1)
    layers: list[nn.Module] = []
    width = config.channels
    for stage in range(_downsamplings(config.size)):
        out = base * min(2 ** stage, 8)
        layers.append(nn.Conv2d(width, out, 4, stride=2, padding=1))
        if wide:
            layers.append(nn.GroupNorm(math.gcd(8, out), out))
        layers.append(nn.LeakyReLU(0.2))
        width = out
    # Adaptive pooling lets sizes that are not a power of two (e.g. 28) end at the same 4x4 map.
    layers += [nn.AdaptiveAvgPool2d(4), nn.Flatten()]
    return nn.Sequential(*layers), width * 16


class AttributeClassifier(TrainableModule):
    """Predicts every attribute of ``schema`` from images ``[N, C, H, W]`` in [-1, 1] or vectors ``[N, D]``.

    Construct it with :func:`train_classifier`, or ``AttributeClassifier(config, schema)`` and
    :func:`condgen.train.train`; reload a saved one with ``condgen.load(directory)``.
    """

    kind = "classifier"
    config_class = ClassifierConfig

    def __init__(self, config: ClassifierConfig, schema: AttributeSchema):
        super().__init__(config, schema)
        if config.arch not in ARCHITECTURES:
            valid = ", ".join(ARCHITECTURES)
            raise ConfigError(f"classifier arch must be one of {valid}; got {config.arch!r}")
        if len(schema) == 0:
            raise ConfigError("a classifier needs at least one attribute to predict")
        if config.arch == "mlp":
            width = config.input_dim or config.channels * config.size * config.size
            trunk, trunk_width = nn.Flatten(), width
        elif config.input_dim:
            raise ConfigError(f"arch {config.arch!r} needs images; use arch='mlp' for vector inputs")
        else:
            trunk, trunk_width = _conv_trunk(config)
        self.trunk = trunk
        layers = [nn.Linear(trunk_width, config.hidden), nn.LeakyReLU(0.2)]
        if config.arch == "mlp":  # without a conv trunk, a second hidden layer does the feature work
            layers += [nn.Linear(config.hidden, config.hidden), nn.LeakyReLU(0.2)]
        self.penultimate = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.Linear(config.hidden, schema.condition_width)
        self.training_record: dict = {}  # steps / batch size / seed, kept in config.json for the record
        # Column slice of each attribute inside the head output.
        self._slices: list[slice] = []
        start = 0
        for attribute in schema:
            self._slices.append(slice(start, start + attribute.width))
            start += attribute.width

    # -- network --------------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` or ``(D,)`` of one example."""
        if self.config.input_dim:
            return (self.config.input_dim,)
        return (self.config.channels, self.config.size, self.config.size)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.input_shape:
            expected = ", ".join(map(str, self.input_shape))
            raise DataError(f"classifier expects inputs [N, {expected}], got {list(x.shape)}; "
                            "resize the data or train a classifier on data of this shape")
        if x.dtype == torch.uint8:  # raw images 0..255 → the [-1, 1] range the network was trained on
            return x.float() / 127.5 - 1.0
        return x.float()

    def _penultimate(self, x: torch.Tensor) -> torch.Tensor:
        return self.penultimate(self.trunk(x))

    def head_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Raw head outputs ``[N, schema.condition_width]`` (logits / standardised values), with grad."""
        return self.heads(self.dropout(self._penultimate(self._check_input(x))))

    # -- training contract ----------------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        return {"classifier": OptimizerGroup(list(self.parameters()), lr=self.config.lr, betas=(0.9, 0.999),
                                             weight_decay=self.config.weight_decay)}

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Sum over attributes of the mean loss over the examples labelled for that attribute."""
        outputs = self.head_outputs(batch.x)
        targets = batch.attributes.to(outputs.device).float()
        total = outputs.new_zeros(())
        logs: dict[str, float] = {}
        for column, attribute in enumerate(self.schema):
            present = ~torch.isnan(targets[:, column])
            if not present.any():  # nobody in this batch is labelled: no signal, and no NaN
                continue
            out = outputs[present, self._slices[column]]
            target = targets[present, column]
            if attribute.kind == "binary":
                loss = F.binary_cross_entropy_with_logits(out[:, 0], target)
            elif attribute.kind == "continuous":
                loss = F.mse_loss(out[:, 0], (target - attribute.mean) / attribute.std)
            else:
                loss = F.cross_entropy(out, target.long())
            total = total + loss
            logs[f"loss_{attribute.name}"] = float(loss.detach())
        logs["loss"] = float(total.detach())
        return total, logs

    # -- inference --------------------------------------------------------------------------------
    @torch.no_grad()
    def _batched(self, x: torch.Tensor, function: Callable[[torch.Tensor], torch.Tensor],
                 batch_size: int) -> torch.Tensor:
        """Apply ``function`` to ``x`` in eval mode, batch by batch; returns results on ``x``'s device."""
        was_training = self.training
        self.eval()
        try:
            device = self.device
            # max(…, 1): an empty input still runs once, so the result has the right width.
            pieces = [function(self._check_input(x[i:i + batch_size].to(device))).to(x.device)
                      for i in range(0, max(x.shape[0], 1), batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(pieces)

    def features(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Penultimate-layer activations ``[N, hidden]`` — a domain feature space for FID / KID."""
        return self._batched(x, self._penultimate, batch_size)

    def predict_outputs(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Raw head outputs ``[N, condition_width]`` in eval mode, without grad."""
        return self._batched(x, lambda chunk: self.heads(self._penultimate(chunk)), batch_size)

    def predict_values(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Predicted attributes ``[N, K]`` in the schema's stored encoding.

        Binary: 0/1 (probability ≥ 0.5); continuous: de-standardised raw value; categorical: index.
        ``x``: images ``[N, C, H, W]`` in [-1, 1] (or uint8 0…255) or vectors ``[N, D]``.
        """
        outputs = self.predict_outputs(x, batch_size)
        columns = []
        for column, attribute in enumerate(self.schema):
            out = outputs[:, self._slices[column]]
            if attribute.kind == "binary":
                columns.append((out[:, 0] >= 0).float())  # logit ≥ 0 ⇔ probability ≥ 0.5
            elif attribute.kind == "continuous":
                columns.append(out[:, 0] * attribute.std + attribute.mean)
            else:
                columns.append(out.argmax(dim=1).float())
        return torch.stack(columns, dim=1)

    def predict_proba(self, x: torch.Tensor, batch_size: int = 512) -> dict[str, torch.Tensor]:
        """``{name: probabilities}``: ``[N]`` P(1) for binary, ``[N, C]`` for categorical attributes."""
        outputs = self.predict_outputs(x, batch_size)
        probabilities = {}
        for column, attribute in enumerate(self.schema):
            out = outputs[:, self._slices[column]]
            if attribute.kind == "binary":
                probabilities[attribute.name] = torch.sigmoid(out[:, 0])
            elif attribute.kind == "categorical":
                probabilities[attribute.name] = torch.softmax(out, dim=1)
        return probabilities

    def evaluate(self, dataset: LabeledDataset, batch_size: int = 512) -> dict[str, float | dict[str, float]]:
        """Held-out quality per attribute, on the examples labelled for it.

        Returns ``{name: accuracy}`` for binary / categorical attributes and
        ``{name: {"mae": …, "r2": …}}`` (raw scale) for continuous ones. ``dataset`` may hold more
        attributes than the classifier; they are matched by name.
        """
        labels = dataset.attributes[:, dataset.schema.columns(self.schema.names)]
        # uint8 images go in as they are and are scaled batch by batch: no float copy of the whole set.
        images = dataset.modality.name == "images"
        predicted = self.predict_values(dataset.data if images else dataset.examples(), batch_size)
        report: dict[str, float | dict[str, float]] = {}
        for column, attribute in enumerate(self.schema):
            present = ~torch.isnan(labels[:, column])
            truth, guess = labels[present, column], predicted[present, column]
            if truth.numel() == 0:
                report[attribute.name] = math.nan if attribute.kind != "continuous" else \
                    {"mae": math.nan, "r2": math.nan}
            elif attribute.kind == "continuous":
                from sklearn.metrics import r2_score

                r2 = float(r2_score(truth.numpy(), guess.numpy())) if truth.numel() > 1 else math.nan
                report[attribute.name] = {"mae": float((truth - guess).abs().mean()), "r2": r2}
            else:
                report[attribute.name] = float((truth == guess).float().mean())
        return report

    # -- artifacts ----------------------------------------------------------------------------
    def artifact_body(self) -> dict:
        return {**super().artifact_body(), "training": dict(self.training_record)}

    @classmethod
    def from_artifact(cls, directory: Path, body: dict) -> AttributeClassifier:
        model = super().from_artifact(directory, body)
        model.training_record = dict(body.get("training", {}))
        return model


def classifier_config_for(dataset: LabeledDataset, arch: str = "conv-small", **overrides) -> ClassifierConfig:
    """A :class:`ClassifierConfig` whose input shape matches ``dataset`` (images or vectors)."""
    if dataset.modality.name == "images":
        channels, height, width = dataset.example_shape
        if height != width:
            raise DataError(f"{dataset.name}: the classifier needs square images, got {height}x{width}")
        config = ClassifierConfig(arch=arch, channels=channels, size=height, input_dim=0)
    elif dataset.modality.name == "smiles":
        raise DataError(f"{dataset.name} holds SMILES: an attribute classifier reads images or vectors (RDKit measures "
                        "molecules: `condgen mol props`)")
    else:
        if arch != "mlp":
            raise ConfigError(f"{dataset.name} holds vectors, not images: use --arch mlp (got {arch})")
        config = ClassifierConfig(arch="mlp", input_dim=dataset.example_shape[0])
    unknown = set(overrides) - {f.name for f in fields(ClassifierConfig)}
    if unknown:
        valid = ", ".join(f.name for f in fields(ClassifierConfig))
        raise ConfigError(f"unknown classifier option(s) {', '.join(sorted(unknown))}; valid: {valid}")
    return replace(config, **overrides)


def new_classifier(dataset: LabeledDataset, attributes: Sequence[str] | None = None, arch: str = "conv-small",
                   seed: int = 0, **config_overrides) -> tuple[AttributeClassifier, LabeledDataset]:
    """An untrained classifier for ``attributes`` of ``dataset`` (default: all) with initial weights
    seeded by ``seed``, and the data set restricted to those attributes (what it trains on)."""
    names = list(attributes) if attributes is not None else dataset.schema.names
    selected = dataset.select_attributes(names)
    config = classifier_config_for(selected, arch, **config_overrides)
    with torch.random.fork_rng(devices=[]):  # seed the initial weights without touching global RNG
        torch.manual_seed(seed)
        model = AttributeClassifier(config, selected.schema)
    model.data_spec = dict(dataset.spec)
    return model, selected
