"""The plugin: an invertible flow on a frozen backbone's latents that makes attributes controllable.

``u = f(z)``; the first coordinates of ``u`` carry the attributes (one per binary or continuous
attribute, C per categorical one; see :mod:`condgen.plugin.priors`), the rest is "style" with a
standard-normal prior. Only the flow is trained (by :func:`condgen.train.train`, on a
:class:`~condgen.data.LabeledDataset` of latents), the backbone stays frozen. Generating with
chosen attributes = pick the attribute coordinates, draw the style, ``z = f⁻¹(u)``, decode.
Editing = ``u = f(z)``, overwrite attribute coordinates, ``f⁻¹``, decode. Over a wide latent (an image flow's
3,072-d one) ``f`` sees only a fixed orthogonal projection of ``z`` (:mod:`condgen.plugin.projection`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from condgen.data.schema import AttributeSchema
from condgen.errors import ConfigError, DataError
from condgen.models.backbone import backbone_device, can_encode, check_backbone, eval_mode
from condgen.models.base import Batch, OptimizerGroup, TrainableModule
from condgen.plugin.calibration import TargetCalibration
from condgen.plugin.flow import LatentFlow
from condgen.plugin.priors import AttributePrior, score_correlation, standard_normal_log_prob
from condgen.plugin.projection import LatentProjection, default_projection_dim
from condgen.plugin.schedule import make_schedule

N_QUANTILES = 101
#: Coupling-net width of a plugin fitted on many latents, and on fewer than SMALL_FIT_LATENTS.
FLOW_WIDTH, SMALL_FLOW_WIDTH, SMALL_FIT_LATENTS = 256, 32, 5000
#: Flow steps and batch of a default fit (`condgen plugin fit`, `fit_plugin`); default fits stop after
#: MAX_FLOW_EPOCHS passes over their latents. On the 20,000 faces (benchmarks/results/plugin_cost.md) 200
#: steps already reach accuracy 0.96 / edit success 0.93; 800 steps gave the best FID of the budgets tried
#: (30.7, against 36.5 after 3,000 in plugin_faces.md) in about 25 s on one thread.
FLOW_STEPS, FLOW_BATCH, MAX_FLOW_EPOCHS = 800, 256, 150


def flow_width(n_latents: int) -> int:
    """The default coupling-net width for ``n_latents`` training latents: 256, or 32 below 5,000, where a
    wider flow memorises its latents and samples land between them (benchmarks/results/categorical_classes.md)."""
    return SMALL_FLOW_WIDTH if n_latents < SMALL_FIT_LATENTS else FLOW_WIDTH


def flow_steps(n_latents: int, batch_size: int, steps: int) -> int:
    """The default number of flow steps: ``steps``, or fewer where those would pass over the ``n_latents`` more
    than :data:`MAX_FLOW_EPOCHS` times. On scikit-learn's 1,797 digits over a 64-d VAE, 3,000 steps of batch
    256 (427 passes) let the flow memorise its latents: the worst class was judged 0.85–0.88 against 0.95 after
    1,000 steps (benchmarks/results/categorical_classes.md)."""
    per_epoch = n_latents / max(1, min(batch_size, n_latents))
    return max(1, min(steps, math.ceil(MAX_FLOW_EPOCHS * per_epoch)))


#: Latents decoded at once by :meth:`Plugin.sample` (also the unit of its progress bar).
SAMPLING_BATCH = 500


@dataclass
class PluginConfig:
    """Hyper-parameters of a plugin.

    Attributes:
        coupling: ``"affine"`` (RealNVP, scale exp(tanh)) or ``"additive"`` (NICE).
        n_couplings, hidden, depth: flow size; coupling nets have ``depth`` linear layers of width ``hidden``
            (None: :func:`flow_width` of the number of training latents, chosen by ``fit_plugin``; 256 when a
            plugin is built without them).
        scaling: end the flow with a learnt per-coordinate scale and shift.
        mixing: ``"lu"``: a learnt invertible linear map (Glow's 1×1 convolution) after every coupling, so that
            each output coordinate depends on all of them; ``"none"``: couplings only (plugins saved before
            the mixing layers load this way). Without mixing, a categorical attribute's classes whose
            coordinate the last coupling transforms are generated far worse than the others (see
            ``benchmarks/results/categorical_classes.md``).
        sigma_schedule: ``"exponential"`` (σ from ``sigma_start`` to ``sigma_end`` over training)
            or ``"constant"`` (σ = ``sigma_end``).
        balanced: class-balanced widths of the binary / categorical components.
        lr, grad_clip: Adam learning rate and gradient-norm clip of the flow.
        projection_dim: the flow models only this many coordinates of a fixed orthogonal projection of the
            latent, the rest passing through edits unchanged and coming from the backbone's prior when
            generating (:mod:`condgen.plugin.projection`); 0: the flow models the whole latent; None:
            :func:`~condgen.plugin.projection.default_projection_dim` (256 above 512 dimensions, else 0).
    """

    coupling: str = "affine"
    n_couplings: int = 4
    hidden: int | None = None
    depth: int = 4
    scaling: bool = True
    mixing: str = "lu"
    sigma_schedule: str = "exponential"
    sigma_start: float = 0.7
    sigma_end: float = 0.2
    balanced: bool = True
    lr: float = 1e-3
    grad_clip: float = 1.0
    projection_dim: int | None = None


class Plugin(TrainableModule):
    """A flow plugin over ``backbone`` for the attributes of ``schema``.

    Args:
        config: :class:`PluginConfig`.
        schema: the controlled attributes, with statistics (positive rates, means, stds).
        latent_dim: D of the backbone.
        backbone: the frozen generative model (kept outside this module's parameters and
            state: it is neither trained nor stored in ``model.safetensors``).
        category_rates, quantiles, correlation: prior statistics, see :class:`~condgen.plugin.priors.AttributePrior`.
    """

    kind = "plugin"
    config_class = PluginConfig

    def __init__(self, config: PluginConfig, schema: AttributeSchema, latent_dim: int, backbone=None,
                 category_rates: Mapping[str, Sequence[float]] | None = None,
                 quantiles: Mapping[str, Sequence[float]] | None = None,
                 correlation: Mapping[str, Any] | None = None):
        if config.hidden is None:
            config = replace(config, hidden=FLOW_WIDTH)
        if config.projection_dim is None:
            config = replace(config, projection_dim=default_projection_dim(int(latent_dim)))
        super().__init__(config, schema)
        self.prior = AttributePrior(schema, config.balanced, category_rates, quantiles, correlation)
        self.latent_dim = int(latent_dim)
        #: the fixed projection onto the coordinates the flow models (None: it models the whole latent)
        self.projection = LatentProjection(self.latent_dim, config.projection_dim) if config.projection_dim else None
        if self.prior.width > self.flow_dim:
            projected = self.projection is not None
            where = f"the {self.flow_dim}-d projection of the latent" if projected else f"a {self.flow_dim}-d latent"
            advice = " or a larger projection_dim (--projection)" if projected else ""
            raise ConfigError(f"{self.prior.width} attribute coordinates do not fit {where}; choose fewer "
                              f"attributes{advice}")
        self.schedule = make_schedule(config.sigma_schedule, config.sigma_start, config.sigma_end)
        self.flow = LatentFlow(self.flow_dim, config.n_couplings, config.hidden, config.depth,
                               config.coupling, config.scaling, config.mixing)
        # σ of the current training step (set by the engine through set_progress, saved for resume).
        self.register_buffer("sigma", torch.tensor(self.schedule(0.0)))
        #: attribute → :class:`~condgen.plugin.calibration.TargetCalibration` (set by ``calibrate``).
        self.calibration: dict[str, TargetCalibration] = {}
        #: keyword options of ``backbone.decode`` for the latents the plugin chooses (e.g. a SMILES beam
        #: search); set at fit time from the backbone's ``targeted_decoding``, stored in config.json.
        self.decoding: dict[str, Any] = {}
        #: save the backbone inside the plugin's directory instead of referring to it (see :meth:`save`)
        self.copy_backbone = False
        self.__dict__["_backbone"] = None  # not a submodule: never trained, never in state_dict
        self.attach_backbone(backbone)

    # -- the backbone -------------------------------------------------------------------------------
    @property
    def backbone(self):
        if self._backbone is None:
            raise ConfigError("this plugin has no backbone; load it with Plugin.load(directory, backbone=...)")
        return self._backbone

    def attach_backbone(self, backbone) -> None:
        """Use ``backbone`` for decoding and encoding (its ``latent_dim`` must match)."""
        # Not `self.backbone = …`: nn.Module.__setattr__ would register it as a trained submodule.
        if backbone is not None:
            check_backbone(backbone)
            if int(backbone.latent_dim) != self.latent_dim:
                raise ConfigError(f"backbone latent_dim {backbone.latent_dim} != plugin latent_dim {self.latent_dim}")
        self.__dict__["_backbone"] = backbone

    @property
    def flow_dim(self) -> int:
        """k: the coordinates the flow models — the projection's, else all ``latent_dim``."""
        return self.latent_dim if self.projection is None else self.projection.dim

    def flow_coordinates(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Latents ``z [B, D]`` → the flow's input ``[B, k]`` and the residual ``[B, D]`` it leaves unmodelled
        (None without a projection: the flow sees ``z`` itself)."""
        return (z, None) if self.projection is None else self.projection.split(z)

    def latents_from(self, coordinates: torch.Tensor, residual: torch.Tensor | None) -> torch.Tensor:
        """The inverse of :meth:`flow_coordinates`: latents ``[B, D]``."""
        return coordinates if residual is None else self.projection.join(coordinates, residual)

    @property
    def attributes(self) -> list[str]:
        """Names of the controlled attributes, in coordinate order."""
        return self.schema.names

    @property
    def modality(self):
        """What the backbone's examples are (:mod:`condgen.data.modality`); None for a backbone that does not
        say (e.g. a :class:`~condgen.models.backbone.BackboneAdapter`): its decodings are returned as they are."""
        return getattr(self.backbone, "modality", None)

    @property
    def source_data_spec(self) -> dict[str, Any]:
        """The spec of the examples the plugin's latents came from (``data_spec`` describes the latents)."""
        return dict(self.data_spec.get("source", self.data_spec))

    # -- training (called by condgen.train.train) ------------------------------------------------------
    @torch.no_grad()
    def set_data_statistics(self, latents: torch.Tensor, values: torch.Tensor) -> None:
        """Fit the projection (if any), the latent standardisation and the prior's class shares, quantiles and
        score correlation.

        ``latents [N, D]``, ``values [N, K]`` in schema encoding (NaN = missing).
        """
        latents = latents.to(self.flow.latent_mean)
        if self.projection is not None:
            self.projection.fit(latents, values, self.schema)
        self.flow.set_latent_statistics(self.flow_coordinates(latents)[0])
        rates, quantiles = {}, {}
        levels = torch.linspace(0, 1, N_QUANTILES, dtype=torch.float64)
        for column, attribute in enumerate(self.schema):
            observed = values[:, column][~torch.isnan(values[:, column])].double()
            if observed.numel() == 0:
                continue
            if attribute.kind == "categorical":
                counts = torch.bincount(observed.long(), minlength=attribute.width).double()
                rates[attribute.name] = (counts / counts.sum()).tolist()
            elif attribute.kind == "continuous":
                standardised = (observed - attribute.mean) / attribute.std
                quantiles[attribute.name] = torch.quantile(standardised, levels).tolist()
        correlation = score_correlation(self.schema, values.double(), quantiles)
        self.prior = AttributePrior(self.schema, self.config.balanced, rates, quantiles, correlation)

    def optimizer_groups(self) -> dict[str, OptimizerGroup]:
        return {"flow": OptimizerGroup(list(self.flow.parameters()), lr=self.config.lr, betas=(0.9, 0.999),
                                       grad_clip=self.config.grad_clip)}

    def set_progress(self, step: int, total_steps: int) -> None:
        self.sigma.fill_(self.schedule(step / max(total_steps, 1)))

    def log_likelihood(self, z: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """log p(z | y) ``[B]`` = log p(c | y) + log N(s; 0, I) + log|det ∂u/∂z| for ``z [B, D]``, ``values [B, K]``
        (with a projection: of the modelled coordinates ``[B, k]``, the residual has no density here)."""
        u, logabsdet = self.flow(self.flow_coordinates(z)[0])
        width = self.prior.width
        sigma = float(self.sigma)
        return self.prior.log_prob(u[:, :width], values, sigma) + standard_normal_log_prob(u[:, width:]) + logabsdet

    def compute_loss(self, group: str, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative log-likelihood per modelled dimension: ``−mean_B log p(z | y) / k`` (nats)."""
        loss = -self.log_likelihood(batch.x, batch.attributes).mean() / self.flow_dim
        return loss, {"nll_per_dim": float(loss.detach()), "sigma": float(self.sigma)}

    # -- inference ------------------------------------------------------------------------------------
    @property
    def inference_sigma(self) -> float:
        """σ used to generate and to read attributes back: the schedule's final value (progress 1)."""
        return self.schedule(1.0)

    def parse_conditions(self, conditions: Mapping[str, Any] | None) -> dict[str, float]:
        """``{name: value}`` (numbers, "yes"/"no", category names) → schema encoding; unknown names raise."""
        return {name: self.schema.parse_value(name, value) for name, value in (conditions or {}).items()}

    def _check_latents(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise DataError(f"latents must have shape [B, {self.latent_dim}], got {list(z.shape)}")
        return z.to(self.device, torch.float32)

    @torch.no_grad()
    def conditional_latents(self, n: int, conditions: Mapping[str, Any] | None = None, *, style_scale: float = 1.0,
                            generator: torch.Generator | None = None, attribute_noise: float = 0.0,
                            calibrated: bool = True) -> torch.Tensor:
        """Latents ``[n, D]`` with the attributes in ``conditions`` set, the others drawn from their prior.

        Set attributes sit at their target coordinates (binary ±1, continuous standardised value,
        categorical vertex) plus ``attribute_noise``·N(0, 1); style ~ N(0, style_scale²·I). A
        continuous target of a calibrated attribute is first replaced by the condition whose
        decodings have that mean (see :mod:`condgen.plugin.calibration`; ``calibrated=False``: as given).
        Random numbers come from ``generator`` (CPU) so that equal seeds give equal latents. With a projection,
        the unmodelled residual is that of a draw of the backbone's ``sample_latent``, times ``style_scale``.
        """
        targets = self.parse_conditions(conditions)
        if calibrated:
            targets = self.calibrated_targets(targets)
        c = self.prior.sample(n, targets, self.inference_sigma, attribute_noise, generator)
        style = style_scale * torch.randn(n, self.flow_dim - self.prior.width, generator=generator)
        coordinates, _ = self.flow.inverse(torch.cat([c, style], dim=1).to(self.device))
        if self.projection is None:
            return coordinates
        drawn = self.backbone.sample_latent(n, generator=generator).to(self.device, torch.float32)
        return self.projection.join(coordinates, style_scale * self.projection.residual(drawn))

    def calibrated_targets(self, targets: Mapping[str, float]) -> dict[str, float]:
        """Parsed ``targets`` with each calibrated attribute's value replaced by its condition."""
        return {name: self.calibration[name].condition_for(value, name) if name in self.calibration else value
                for name, value in targets.items()}

    @torch.no_grad()
    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None, **options) -> torch.Tensor:
        """The backbone's decoding of ``z [B, D]`` (backbone in eval mode) with the plugin's :attr:`decoding`;
        ``options`` override it (e.g. ``beam=1, temperature=1`` to draw SMILES instead)."""
        backbone = self.backbone
        with eval_mode(backbone):
            return backbone.decode(z.to(backbone_device(backbone)), generator=generator,
                                   **{**self.decoding, **options})

    def outputs(self, decoded: torch.Tensor):
        """A decoded batch as a user gets it: the modality's form (SMILES strings for molecules)."""
        modality = self.modality
        return decoded.cpu() if modality is None else modality.outputs(decoded)

    def sample(self, n: int, conditions: Mapping[str, Any] | None = None, *, style_scale: float = 1.0,
               generator: torch.Generator | None = None, attribute_noise: float = 0.0, calibrated: bool = True,
               progress: bool = False, **decode_options):
        """``n`` examples with the attributes in ``conditions`` (:meth:`conditional_latents`, then :meth:`decode`),
        in the modality's form: images ``[n, C, H, W]`` in [-1, 1], vectors ``[n, D]``, SMILES a list of ``n``
        strings. Latents are drawn and decoded :data:`SAMPLING_BATCH` at a time with one ``generator``, so a
        seed gives the same examples as ``condgen generate`` (and, for molecules, ``condgen mol sample``)."""
        from condgen.progress import in_batches

        if n < 1:
            raise ConfigError(f"the number of samples must be ≥ 1, got {n}")

        def batch(size: int):
            z = self.conditional_latents(size, conditions, style_scale=style_scale, generator=generator,
                                         attribute_noise=attribute_noise, calibrated=calibrated)
            return self.outputs(self.decode(z, generator=generator, **decode_options))

        parts = in_batches(n, SAMPLING_BATCH, batch, progress)
        modality = self.modality
        return torch.cat(parts) if modality is None else modality.concatenate(parts)

    def encode(self, x: torch.Tensor, inversion_steps: int = 300) -> torch.Tensor:
        """Latents ``[B, D]`` of examples ``x``: the backbone's encoder, else latent optimisation."""
        backbone = self.backbone
        if can_encode(backbone):
            with torch.no_grad(), eval_mode(backbone):
                return backbone.encode(x.to(backbone_device(backbone)))
        from condgen.plugin.inversion import invert

        return invert(backbone, x, steps=inversion_steps)

    @torch.no_grad()
    def edit_latent(self, z: torch.Tensor, changes: Mapping[str, Any], strength: float = 1.0) -> torch.Tensor:
        """Latents ``[B, D]`` with the attributes in ``changes`` moved to new values.

        For each changed attribute the coordinates become ``c + strength·(target − c)``:
        ``strength`` 1 puts them exactly on the target (binary ±1, continuous standardised
        value, categorical vertex), 0 leaves z unchanged, values above 1 exaggerate the change.
        Style, unchanged attributes and the residual outside a projection are kept.
        """
        targets = self.parse_conditions(changes)
        coordinates, residual = self.flow_coordinates(self._check_latents(z))
        u, _ = self.flow(coordinates)
        edited = u.clone()
        for name, value in targets.items():
            block = self.prior.slices[name]
            edited[:, block] = u[:, block] + strength * (self.prior.target(name, value).to(u) - u[:, block])
        return self.latents_from(self.flow.inverse(edited)[0], residual)

    def edit(self, changes: Mapping[str, Any], *, x: torch.Tensor | None = None, z: torch.Tensor | None = None,
             strength: float = 1.0, inversion_steps: int = 300) -> torch.Tensor:
        """Decoded edits of examples ``x`` (encoded or inverted first) or of latents ``z``; see :meth:`edit_latent`."""
        if (x is None) == (z is None):
            raise ConfigError("edit needs exactly one of x (examples) or z (latents)")
        latents = self.encode(x, inversion_steps) if x is not None else z
        return self.outputs(self.decode(self.edit_latent(latents, changes, strength)))

    @torch.no_grad()
    def traverse(self, z: torch.Tensor, name: str, values: Sequence[float]) -> torch.Tensor:
        """Latents ``[V, B, D]``: ``z`` with attribute ``name`` set to each of ``values`` in turn.

        Values are in schema encoding (binary 0 … 1, extrapolating beyond: −0.5 → coordinate −2,
        1.5 → +2; continuous raw; categorical index). Decode a row with :meth:`decode`.
        """
        self.schema.index(name)
        coordinates, residual = self.flow_coordinates(self._check_latents(z))
        u, _ = self.flow(coordinates)
        block = self.prior.slices[name]
        rows = []
        for value in values:
            edited = u.clone()
            edited[:, block] = self.prior.target(name, float(value)).to(u)
            rows.append(self.latents_from(self.flow.inverse(edited)[0], residual))
        return torch.stack(rows)

    @torch.no_grad()
    def predict(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Attributes read from latents ``z [B, D]``: binary → P(y = 1) ``[B]``; continuous → value ``[B]``;
        categorical → class probabilities ``[B, C]``."""
        u, _ = self.flow(self.flow_coordinates(self._check_latents(z))[0])
        return self.prior.posterior(u[:, :self.prior.width], self.inference_sigma)

    def predict_values(self, z: torch.Tensor) -> torch.Tensor:
        """``[B, K]`` in schema encoding: binary 0/1 (P > ½), continuous value, categorical most likely index."""
        columns = []
        for name, prediction in self.predict(z).items():
            kind = self.schema[name].kind
            if kind == "binary":
                columns.append((prediction > 0.5).float())
            elif kind == "continuous":
                columns.append(prediction)
            else:
                columns.append(prediction.argmax(dim=1).float())
        return torch.stack(columns, dim=1)

    # -- artifact ---------------------------------------------------------------------------------------
    def artifact_body(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "attributes": self.schema.to_dict(),
            "latent_dim": self.latent_dim,
            "prior": {"category_rates": self.prior.category_rates, "quantiles": self.prior.quantiles,
                      "correlation": self.prior.correlation},
            "calibration": {name: entry.to_dict() for name, entry in self.calibration.items()},
            "decoding": dict(self.decoding),
            "data": self.data_spec,
        }

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (the flow) and how to find the backbone: a reference
        to its artifact (shipped name or path, and the sha256 of its weights), or, when it was never saved
        or :attr:`copy_backbone` is set, a copy in ``backbone/``. A backbone that cannot be saved (e.g. a
        :class:`~condgen.models.backbone.BackboneAdapter`) must be passed to :meth:`load`."""
        from condgen.plugin.storage import save_plugin

        return save_plugin(self, Path(directory))

    @classmethod
    def load(cls, directory: str | Path, backbone=None) -> Plugin:
        """Rebuild a saved plugin; ``backbone`` replaces (or, for adapters, supplies) the one it refers to."""
        from condgen.plugin.storage import load_plugin

        return load_plugin(Path(directory), backbone)

    @classmethod
    def from_artifact(cls, directory: Path, body: dict[str, Any]) -> Plugin:
        from condgen.plugin.storage import plugin_from_config

        return plugin_from_config(directory, body)
