"""One description of a plugin fit from saved artifacts: what ``condgen plugin fit`` is given, what its
``fit.json`` records, and what ``condgen evaluate --baselines`` re-runs to time the plugin.

``fit.json`` = ``{"format": 1, "spec": {…}, "seconds": …, "phases": {…}}`` (``phases``: the seconds of each part
of the fit; older fits have none and older readers ignore it). Paths in it are relative to the plugin's own
directory (shipped model and built-in data set names stay names), so a plugin directory moved to another
machine together with its backbone still refits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from condgen.data.registry import is_builtin_dataset
from condgen.errors import ArtifactError, ConfigError
from condgen.io import atomic_write_json, read_json
from condgen.plugin.plugin import FLOW_BATCH, PluginConfig

FIT_FILE = "fit.json"
FIT_FORMAT = 1
LABEL_SOURCES = ("data", "decoded")
#: The phases of a fit, in the order they run (``fit.json`` records the seconds of each).
FIT_PHASES = ("backbone", "data", "latents", "flow", "calibration")
#: The fields that may name a directory or file (the others are values).
PATH_FIELDS = ("backbone", "data", "classifier")


@dataclass(frozen=True)
class PluginFitSpec:
    """Everything that decides a plugin fit.

    Attributes:
        backbone: trained backbone directory, or a shipped model's name (``faces-vae``).
        attributes: the attributes to control.
        data: labelled data (built-in name or path); None: the backbone's own training data.
        data_options: options of the data's reader (``split``, ``crop``, ``limit``, ``kinds``…: see
            :func:`condgen.data.load_dataset`), also applied to the backbone's own data.
        classifier: a backbone without an encoder (GAN): the attribute classifier that labels its samples.
        steps, batch_size, seed: the flow's training (the seed also picks molecules and sampled latents); steps
            None: :data:`~condgen.plugin.plugin.FLOW_STEPS`, or 150 passes over the latents where that is fewer
            (:func:`~condgen.plugin.plugin.flow_steps`; ``fit.json`` records the steps taken).
        n_latents: GAN backbones: sampled latents to label; SMILES backbones: molecules to encode.
        coupling: ``affine`` (RealNVP) or ``additive`` (NICE).
        sigma: final width σ of the attribute coordinates around their labels.
        labels: SMILES backbones: properties of the data molecules (``data``) or of their decodings
            (``decoded``).
        calibrate: decoded latents per calibration grid point (0: no calibration); None: 300 for SMILES
            backbones, 0 for others (:meth:`resolved` fixes it before a fit is recorded).
        copy_backbone: save a copy of the backbone inside the plugin instead of a reference to it.
        projection: the flow models this many coordinates of a fixed orthogonal projection of the latents
            (:mod:`condgen.plugin.projection`); 0: all of them; None: 256 for latents wider than 512, else 0.
    """

    backbone: str
    attributes: tuple[str, ...]
    data: str | None = None
    data_options: dict[str, Any] = field(default_factory=dict)
    classifier: str | None = None
    steps: int | None = None
    batch_size: int = FLOW_BATCH
    n_latents: int = 20000
    seed: int = 0
    coupling: str = PluginConfig.coupling
    sigma: float = PluginConfig.sigma_end
    labels: str = "data"
    calibrate: int | None = None
    copy_backbone: bool = False
    projection: int | None = None
    #: fields a newer condgen wrote that this one does not know (kept, so that nothing is lost on rewrite)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "attributes", tuple(self.attributes))
        if not self.attributes:
            raise ConfigError("choose at least one attribute for the plugin (--attrs a,b)")
        if self.labels not in LABEL_SOURCES:
            raise ConfigError(f"labels must be one of {', '.join(LABEL_SOURCES)}, got {self.labels!r}")
        if (self.steps is not None and self.steps < 1) or self.batch_size < 1 or self.n_latents < 1:
            raise ConfigError(f"--steps, --batch-size and --n-latents must be ≥ 1 (got {self.steps}, "
                              f"{self.batch_size}, {self.n_latents})")
        if self.projection is not None and self.projection < 0:
            raise ConfigError(f"--projection must be ≥ 0 coordinates (0: none), got {self.projection}")
        if self.calibrate is not None and self.calibrate < 0:
            raise ConfigError(f"--calibrate must be ≥ 0 latents per grid point, got {self.calibrate}")

    def plugin_config(self) -> PluginConfig:
        """The flow's hyper-parameters this spec sets (the rest are :class:`PluginConfig`'s defaults)."""
        return PluginConfig(coupling=self.coupling, sigma_end=self.sigma, projection_dim=self.projection)

    def resolved(self, is_molecule_backbone: bool) -> PluginFitSpec:
        """The spec with its backbone-dependent default filled in, after checking the molecule-only options."""
        if not is_molecule_backbone and (self.labels == "decoded" or self.calibrate):
            option = "--labels decoded" if self.labels == "decoded" else "--calibrate"
            raise ConfigError(f"{option} is for SMILES backbones (it measures the properties of decoded molecules)")
        if self.calibrate is None:
            from condgen.plugin.calibration import PER_POINT

            return replace(self, calibrate=PER_POINT if is_molecule_backbone else 0)
        return self

    # -- fit.json -----------------------------------------------------------------------------------
    def write(self, plugin_dir: str | Path, seconds: float, phases: Mapping[str, float] | None = None) -> Path:
        """Write ``plugin_dir/fit.json`` with paths relative to ``plugin_dir``; ``seconds`` is the fit's wall time,
        ``phases`` its parts (``{"data": …, "latents": …, "flow": …}``, see :func:`recorded_phases`)."""
        plugin_dir = Path(plugin_dir)
        body = {key: value for key, value in asdict(self).items() if key != "extra"}
        body["attributes"] = list(self.attributes)
        for key in PATH_FIELDS:
            if not (key == "data" and is_builtin_dataset(body[key])):  # load_dataset reads these names first
                body[key] = _portable(body[key], plugin_dir)
        path = plugin_dir / FIT_FILE
        record = {"format": FIT_FORMAT, "spec": {**self.extra, **body}, "seconds": float(seconds)}
        if phases:
            record["phases"] = {name: float(value) for name, value in phases.items()}
        atomic_write_json(path, record)
        return path

    @classmethod
    def read(cls, plugin_dir: str | Path) -> tuple[PluginFitSpec, float]:
        """The spec of ``plugin_dir/fit.json`` (paths made usable from here) and the seconds the fit took.

        ``fit.json`` files of condgen before this format (a flat record with an absolute backbone path)
        are read too."""
        plugin_dir = Path(plugin_dir)
        record = read_json(plugin_dir / FIT_FILE)
        if "format" not in record:  # the flat record of earlier versions
            record = {"format": FIT_FORMAT, "spec": {k: v for k, v in record.items() if k != "seconds"},
                      "seconds": record.get("seconds", float("nan"))}
        if record["format"] > FIT_FORMAT:
            raise ArtifactError(f"{plugin_dir / FIT_FILE}: written by a newer condgen (format {record['format']})")
        body = dict(record.get("spec") or {})
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {key: value for key, value in body.items() if key in known}
        for key in PATH_FIELDS:
            if not (key == "data" and is_builtin_dataset(values.get(key))):
                values[key] = _located(values.get(key), plugin_dir)
        if values.get("coupling") is None:
            values.pop("coupling", None)
        if values.get("sigma") is None:
            values.pop("sigma", None)
        try:
            spec = cls(**values, extra={key: value for key, value in body.items() if key not in known})
        except TypeError as error:
            raise ArtifactError(f"{plugin_dir / FIT_FILE}: not a plugin fit record ({error})") from None
        return spec, float(record.get("seconds", float("nan")))


def recorded_phases(plugin_dir: str | Path) -> dict[str, float]:
    """The seconds of each phase of the fit recorded in ``plugin_dir/fit.json``, in the order of
    :data:`FIT_PHASES` (``{}`` when it has none: fits of condgen before phases were recorded)."""
    phases = read_json(Path(plugin_dir) / FIT_FILE).get("phases") or {}
    order = {name: index for index, name in enumerate(FIT_PHASES)}
    return {name: float(phases[name]) for name in sorted(phases, key=lambda name: order.get(name, len(order)))}


def _portable(value: str | None, base: Path) -> str | None:
    """A path as seen from ``base`` (relative where possible); names (shipped models, built-in data) unchanged."""
    if value is None or not Path(value).exists():
        return value
    try:
        return os.path.relpath(Path(value).resolve(), base.resolve())
    except ValueError:  # another drive: no relative path
        return str(Path(value).resolve())


def _located(value: str | None, base: Path) -> str | None:
    """The inverse of :func:`_portable`: a path relative to ``base`` if it exists there, else the value itself."""
    if value is None:
        return None
    candidate = base / value
    return str(candidate) if candidate.exists() else value
