"""The contract between generative models and the training engine, and their artifact format.

A model is an ``nn.Module`` that

* holds its hyper-parameters in a dataclass ``config`` (JSON-serialisable),
* declares its optimiser groups (:meth:`optimizer_groups`) and the order in which the engine
  updates them (:meth:`step_schedule`, e.g. five critic steps then one generator step),
* computes the loss of one group on one batch (:meth:`compute_loss`),
* and is a *Backbone* for the plugin: ``latent_dim``, ``sample_latent(n)``, ``decode(z)``
  and, where it has an encoder, ``encode(x)``.

Models never write their own training loops: :mod:`condgen.train` owns the loop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from condgen.artifact import WEIGHTS_FILE, atomic_save_tensors, load_tensors, write_config
from condgen.data.schema import AttributeSchema
from condgen.errors import ArtifactError, ConfigError


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

    # -- what the engine calls ------------------------------------------------------------
    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        raise NotImplementedError

    def step_schedule(self) -> list[tuple[str, int]]:
        """``[(group, repeats), …]`` run in order for each engine step; each repeat takes a fresh batch."""
        return [(name, 1) for name in self.optimizer_groups()]

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar loss for ``group`` on ``batch`` and a dict of values to log."""
        raise NotImplementedError

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
        return {"config": asdict(self.config), "attributes": self.schema.to_dict(), "data": self.data_spec}

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` to ``directory`` (atomically, file by file)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_save_tensors(directory / WEIGHTS_FILE, self.state_dict())
        write_config(directory, self.kind, self.artifact_body())
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
        model.load_weights(directory)
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
    """Base class of every condgen generative model: trainable, and a Backbone for the plugin."""

    has_encoder: ClassVar[bool] = False
    is_conditional: ClassVar[bool] = False

    # -- the Backbone contract ----------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[n, latent_dim]`` draws from the latent prior (standard normal by default)."""
        return torch.randn(n, self.latent_dim, generator=generator).to(self.device)

    def decode(self, z: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{self.kind} has no encoder; invert it by latent optimisation instead")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               attributes: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` new examples (conditional models take attribute values ``[n, K]``)."""
        was_training = self.training
        self.eval()
        out = self.decode(self.sample_latent(n, generator), attributes)
        self.train(was_training)
        return out

