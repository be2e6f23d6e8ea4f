"""The contract between generative models and the training engine, and their artifact format.

A model is an ``nn.Module`` that

* holds its hyper-parameters in a dataclass ``config`` (JSON-serialisable),
* declares its optimiser groups (:meth:`optimizer_groups`) and the order in which the engine
  updates them (:meth:`step_schedule`, e.g. five critic steps then one generator step),
* computes the loss of one group on one batch (:meth:`compute_loss`).

:class:`GenerativeModel` adds sampling and the modality of its examples; :class:`LatentModel` — a
model with a latent space — is a :class:`~condgen.models.backbone.LatentBackbone` for the plugin:
``latent_dim``, ``sample_latent(n, *, generator)``, ``decode(z, *, generator, …)`` and, where it has an
encoder, ``encode(x)``. Models without a latent space (CharRNN, ORGAN) are not backbones.

Models never write their own training loops: :mod:`condgen.train` owns the loop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from condgen.data.modality import Modality, make_modality
from condgen.data.schema import AttributeSchema
from condgen.errors import ArtifactError, ConfigError
from condgen.io import WEIGHTS_FILE, atomic_save_tensors, load_tensors, write_config


@dataclass
class OptimizerGroup:
    """Parameters updated together by one Adam optimiser."""

    parameters: list[nn.Parameter]
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    grad_clip: float | None = None  # clip this group's gradient norm before stepping


@dataclass
class Batch:
    """One training batch: examples ``x`` and attribute values ``[B, K]`` (NaN = missing)."""

    x: torch.Tensor
    attributes: torch.Tensor


class TrainableModule(nn.Module):
    """Anything the engine trains and the artifact format stores: generative models, plugin
    flows, attribute classifiers. Hyper-parameters live in the dataclass ``config``."""

    kind: ClassVar[str] = ""
    config_class: ClassVar[type] = object

    def __init__(self, config, schema: AttributeSchema | None = None):
        super().__init__()
        self.config = config
        self.schema = schema or AttributeSchema()
        self.data_spec: dict[str, Any] = {}
        #: the directory this model was last saved to or loaded from (a plugin refers to it), else None
        self.artifact_dir: Path | None = None

    # -- what the engine calls ------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        raise NotImplementedError

    def step_schedule(self) -> list[tuple[str, int]]:
        """``[(group, repeats), …]`` run in order for each engine step; each repeat takes a fresh batch."""
        return [(name, 1) for name in self.optimizer_groups()]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar loss for ``group`` on ``batch`` and a dict of values to log."""
        raise NotImplementedError

    def set_training_data(self, dataset) -> None:
        """Hook the engine calls once before the first step (and again when resuming) with the training data
        set. Models that draw their own training rows keep what they need here (CTGAN's training-by-sampling:
        :mod:`condgen.models.ctgan_sampling`); by default it does nothing."""

    def after_optimizer_step(self, group: str) -> None:
        """Hook after ``group``'s optimiser stepped (e.g. WGAN weight clipping)."""

    def set_progress(self, step: int, total_steps: int) -> None:
        """Hook before each engine step (e.g. KL annealing, the plugin's variance schedule)."""

    def forward(self, group: str, x: torch.Tensor, attributes: torch.Tensor):
        # DDP synchronises gradients only through forward(); the engine therefore calls
        # model(group, x, attributes) and this dispatches to compute_loss.
        return self.compute_loss(group, Batch(x, attributes))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # -- artifacts ----------------------------------------------------------------------------
    def artifact_body(self) -> dict[str, Any]:
        # option_changes: -o options a resumed run changed part-way (--change-options), with the step.
        changes = list(getattr(self, "option_changes", []))
        return {"config": asdict(self.config), "attributes": self.schema.to_dict(), "data": self.data_spec,
                **({"option_changes": changes} if changes else {})}

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` to ``directory`` (atomically, file by file)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_save_tensors(directory / WEIGHTS_FILE, self.state_dict())
        write_config(directory, self.kind, self.artifact_body())
        self.artifact_dir = directory.resolve()
        return directory

    @classmethod
    def build_config(cls, values: dict[str, Any]):
        known = {f.name for f in fields(cls.config_class)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"{cls.kind}: unknown options {sorted(unknown)}; valid: {sorted(known)}")
        config = cls.config_class(**values)
        for f in fields(config):  # JSON turns tuples into lists
            if isinstance(getattr(config, f.name), list):
                setattr(config, f.name, tuple(getattr(config, f.name)))
        return config

    @classmethod
    def from_artifact(cls, directory: Path, body: dict[str, Any]) -> TrainableModule:
        try:
            config = cls.build_config(body["config"])
            schema = AttributeSchema.from_dict(body.get("attributes", []))
        except (KeyError, TypeError, ConfigError) as error:
            raise ArtifactError(f"{directory}: config.json does not describe a {cls.kind} ({error})") from None
        model = cls(config, schema)
        model.data_spec = dict(body.get("data", {}))
        model.option_changes = list(body.get("option_changes", []))
        model.load_weights(directory)
        model.artifact_dir = Path(directory).resolve()
        model.eval()
        return model

    def load_weights(self, directory: str | Path) -> None:
        """Load ``directory/model.safetensors`` strictly; a mismatch with the config is an ArtifactError."""
        state = load_tensors(Path(directory) / WEIGHTS_FILE)
        try:
            self.load_state_dict(state, strict=True)
        except RuntimeError as error:
            first = str(error).splitlines()[0]
            raise ArtifactError(f"{directory}: weights do not match the config ({first})") from None


class GenerativeModel(TrainableModule):
    """Base class of every condgen generative model: trainable, samples, knows what its examples are."""

    is_conditional: ClassVar[bool] = False
    #: the modalities this family can model (:data:`condgen.data.modality.MODALITIES`)
    modalities: ClassVar[tuple[str, ...]] = ("images", "vectors")
    #: the EMA decay ``condgen train`` uses when none is given (``--ema-decay 0``: off); None: no EMA
    default_ema_decay: ClassVar[float | None] = None

    @property
    def modality(self) -> Modality:
        """What the examples are (:mod:`condgen.data.modality`), named in the data spec of the artifact."""
        return modality_of(self.data_spec, self.config)

    def sample(self, n: int, *, generator: torch.Generator | None = None,
               attributes: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` new examples in network form (conditional models take attribute values ``[n, K]``)."""
        raise NotImplementedError

    def check_unconditional(self, attributes: torch.Tensor | None) -> None:
        if attributes is not None and not self.is_conditional:
            raise ConfigError(f"{self.kind} is not conditional; attribute values work with cvae/cgan or a plugin")


class LatentModel(GenerativeModel):
    """A generative model with a latent space: a :class:`~condgen.models.backbone.LatentBackbone`.

    ``decode(z, *, generator=None, …)`` is each family's own; its extras (a conditional model's
    ``attributes``, a SMILES decoder's ``beam``) are keyword-only with defaults. ``has_encoder`` says
    whether ``encode(x)`` exists (test it with :func:`condgen.models.backbone.can_encode`).
    """

    has_encoder: ClassVar[bool] = False
    #: ``decode`` options for latents a plugin chooses (e.g. the most likely SMILES, not a random draw).
    targeted_decoding: ClassVar[dict[str, Any]] = {}

    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[n, latent_dim]`` draws from the latent prior (standard normal by default)."""
        return torch.randn(n, self.latent_dim, generator=generator).to(self.device)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise ConfigError(f"{self.kind} has no encoder; map examples to latents by inversion "
                          "(condgen.plugin.invert) instead")

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, attributes: torch.Tensor | None = None,
               **decode_options) -> torch.Tensor:
        """``decode`` of ``n`` latents from the prior (conditional models take attribute values ``[n, K]``;
        ``decode_options`` are the family's ``decode`` extras)."""
        self.check_unconditional(attributes)
        extras = {"attributes": attributes} if self.is_conditional else {}
        was_training = self.training
        self.eval()
        try:
            return self.decode(self.sample_latent(n, generator=generator), generator=generator, **extras,
                               **decode_options)
        finally:
            self.train(was_training)


def modality_of(data_spec: dict[str, Any], config) -> Modality:
    """The modality of a model trained on data ``data_spec`` with ``config``. Artifacts written before
    data specs named their modality (condgen 0.1 format 1) get it from their config: SMILES models
    hold ``tokens``; others ``data_shape`` (three sizes: images, one: vectors)."""
    tokens = getattr(config, "tokens", None)
    shape = getattr(config, "data_shape", None)
    name = data_spec.get("modality") or ("smiles" if tokens else "images" if shape and len(shape) == 3 else "vectors")
    return make_modality(name, shape=shape, tokens=tokens, max_length=getattr(config, "max_length", None),
                         columns=data_spec.get("columns"), target=data_spec.get("target"))
