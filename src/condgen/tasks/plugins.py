"""Plugins from artifact directories: fit (from a :class:`~condgen.plugin.fit_spec.PluginFitSpec`), calibrate,
generate and edit — what ``condgen plugin fit | calibrate``, ``condgen generate`` and ``condgen edit`` call.
The functions return data; the CLI writes it with the plugin's modality (PNG, ``.smi``, ``.csv``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from condgen.data import LabeledDataset, load_dataset, load_from_spec
from condgen.data.dataset import spec_with_options
from condgen.errors import ConfigError
from condgen.io import load
from condgen.models.backbone import can_encode
from condgen.models.base import LatentModel
from condgen.plugin import Plugin, collect_latents, fit_plugin
from condgen.plugin.calibration import GRID_POINTS, MIN_PER_POINT, PER_POINT, calibrate
from condgen.plugin.fit_spec import PluginFitSpec
from condgen.plugin.plugin import FLOW_STEPS, flow_steps
from condgen.progress import Phases
from condgen.train import TrainConfig


def load_plugin(plugin_dir: str | Path) -> Plugin:
    """A plugin artifact (with its backbone) by directory or shipped name."""
    plugin = load(plugin_dir)
    if not isinstance(plugin, Plugin):
        raise ConfigError(f"{plugin_dir} holds a {plugin.kind}, not a plugin; fit one with `condgen plugin fit`")
    return plugin


def load_backbone(name_or_dir: str | Path):
    """A model with a latent space that a plugin can steer (VAE, WAE, AAE, GAN, CVAE, CGAN, SMILES VAE or AAE),
    by directory or shipped name."""
    backbone = load(name_or_dir)
    if isinstance(backbone, Plugin):
        raise ConfigError(f"{name_or_dir} holds a plugin; fit a plugin on a backbone (a trained vae, gan, smiles-vae, "
                          "…), such as the one this plugin steers")
    if not isinstance(backbone, LatentModel):
        raise ConfigError(f"{name_or_dir} holds a {getattr(backbone, 'kind', 'model')}, which has no latent space "
                          "for a plugin; fit one on a vae, wae, aae, gan or, for molecules, a smiles-vae or smiles-aae")
    return backbone


def load_classifier(name_or_dir: str | Path, flag: str = "--classifier"):
    """An attribute classifier (``condgen classifier train``) by directory or shipped name, given with ``flag``."""
    classifier = load(name_or_dir)
    check_classifier(classifier, flag, name_or_dir)
    return classifier


def check_classifier(classifier, flag: str = "--classifier", name: str | Path | None = None) -> None:
    """A one-line ConfigError unless ``classifier`` is an attribute classifier."""
    if getattr(classifier, "kind", None) != "classifier":
        where = f"{flag} {name}" if name is not None else flag
        raise ConfigError(f"{where} holds a {getattr(classifier, 'kind', 'model')}, not an attribute classifier; "
                          "train one with `condgen classifier train`")


def fit_plugin_from_spec(spec: PluginFitSpec, out: str | Path, *, progress: bool = True) -> tuple[Plugin, float]:
    """Fit the plugin ``spec`` describes, save it to ``out`` with ``fit.json`` (the spec), and return it with
    the seconds the fit took: its whole wall time, from loading the backbone to saving the plugin. ``fit.json``
    records them with the seconds of each phase (``backbone``, ``data``, ``latents``, ``flow``, ``calibration``;
    :func:`~condgen.plugin.fit_spec.recorded_phases`); ``progress`` announces each phase on one line, with
    progress bars where it has steps.

    Where the labelled latents come from depends on the backbone: a SMILES backbone encodes ``n_latents``
    molecules of its data with RDKit properties as labels (of the molecules, or of their decodings with
    ``labels="decoded"``); another backbone with an encoder encodes its labelled data; a backbone without one
    (GAN) decodes ``n_latents`` sampled latents and has ``classifier`` label them."""
    from condgen.apps.molecules import calibrate_molecule_plugin, is_molecule_model

    started = time.perf_counter()
    phases = Phases(progress)
    with phases("backbone", f"loading the backbone {spec.backbone}"):
        backbone = load_backbone(spec.backbone)
    molecules = is_molecule_model(backbone)
    spec = spec.resolved(molecules)
    with phases("data", f"loading the data: {_data_description(backbone, spec, molecules)}"):
        dataset, latents, labeller = plugin_training_data(backbone, spec, progress)
    decoding = latents.spec.get("decoding") if latents is not None else None
    if latents is None:
        with phases("latents"):  # collect_latents announces itself
            latents = collect_latents(backbone, dataset, list(spec.attributes), labeller, spec.n_latents,
                                      generator=torch.Generator().manual_seed(spec.seed), progress=progress)
    out = Path(out)
    if spec.steps is None:
        spec = replace(spec, steps=flow_steps(len(latents), spec.batch_size, FLOW_STEPS))
    with phases("flow"):
        plugin = fit_plugin(backbone, None, list(spec.attributes), config=spec.plugin_config(), latents=latents,
                            copy_backbone=spec.copy_backbone, decoding=decoding, progress=progress,
                            train_config=TrainConfig(steps=spec.steps, batch_size=spec.batch_size, seed=spec.seed,
                                                     out=out, progress=progress, sample_every=0))
    if spec.calibrate:
        with phases("calibration", f"calibrating the targets: {spec.calibrate} decodings per grid point"):
            calibrate_molecule_plugin(plugin, per_point=spec.calibrate, seed=spec.seed, progress=progress)
            plugin.save(out)
    seconds = time.perf_counter() - started
    spec.write(out, seconds, phases.seconds)
    return plugin, seconds


def _data_description(backbone, spec: PluginFitSpec, molecules: bool) -> str:
    """What :func:`plugin_training_data` loads, for its status line."""
    own = getattr(backbone, "data_spec", {})
    name = spec.data or own.get("path") or own.get("name", "the backbone's data")
    if molecules:
        labels = "their decodings" if spec.labels == "decoded" else "them"
        return f"{spec.n_latents:,} molecules of {name}, {', '.join(spec.attributes)} of {labels} computed by RDKit"
    return f"{name}, {own['n']:,} examples" if spec.data is None and own.get("n") else str(name)


def plugin_training_data(backbone, spec: PluginFitSpec, progress: bool
                         ) -> tuple[LabeledDataset | None, LabeledDataset | None, object | None]:
    """``(dataset, latents, labeller)`` for :func:`~condgen.plugin.fit_plugin`: labelled examples to encode,
    or already labelled latents, and the classifier that labels a GAN's samples."""
    from condgen.apps.molecules import decoded_latents, is_molecule_model, molecule_plugin_data

    if is_molecule_model(backbone):  # molecules: n_latents random molecules, properties computed by RDKit
        dataset = molecule_plugin_data(backbone, spec.data, spec.attributes, n=spec.n_latents, seed=spec.seed)
        if spec.labels == "decoded":
            return None, decoded_latents(backbone, dataset, seed=spec.seed, progress=progress), None
        return dataset, None, None
    modality = getattr(backbone, "modality", None)
    options = {**(modality.loader_options() if modality is not None else {}), **spec.data_options}
    dataset = load_dataset(spec.data, **options) if spec.data else \
        load_from_spec(spec_with_options(backbone.data_spec, spec.data_options))
    dataset.schema.validate_names(spec.attributes)
    if can_encode(backbone):
        return dataset, None, None
    if not spec.classifier:
        raise ConfigError(f"{spec.backbone} has no encoder: pass --classifier DIR (train one with "
                          "`condgen classifier train`) to label its samples")
    return dataset, None, load_classifier(spec.classifier)


def calibrate_plugin(plugin: Plugin, classifier=None, per_point: int | None = None, points: int | None = None,
                     seed: int = 0, progress: bool = True) -> list[str]:
    """Calibrate the continuous targets of ``plugin`` (set on it; save it after); returns the attributes.

    A molecule plugin is measured by RDKit on its decoded SMILES, a table plugin by the number columns of its
    decoded rows; another one by ``classifier`` (an attribute classifier that predicts the attributes) on its
    decoded examples."""
    from condgen.apps.molecules import calibrate_molecule_plugin, is_molecule_model

    per_point = PER_POINT if per_point is None else per_point
    points = GRID_POINTS if points is None else points
    if per_point < MIN_PER_POINT or points < 2:
        raise ConfigError(f"calibration needs --per-point ≥ {MIN_PER_POINT} and --points ≥ 2, got {per_point} and "
                          f"{points}")
    options = {"per_point": per_point, "points": points, "seed": seed, "progress": progress}
    if is_molecule_model(plugin):
        if classifier is not None:
            raise ConfigError("a molecule plugin is measured by RDKit on its decoded SMILES; drop --classifier")
        return calibrate_molecule_plugin(plugin, **options)
    if classifier is None and getattr(plugin.modality, "name", None) == "tables":
        return calibrate_table_plugin(plugin, **options)
    if classifier is None:
        raise ConfigError("pass --classifier DIR, an attribute classifier (`condgen classifier train`) that "
                          "measures the continuous attributes of decoded examples")
    check_classifier(classifier)
    return calibrate_with_classifier(plugin, classifier, **options)


def calibrate_table_plugin(plugin: Plugin, per_point: int = PER_POINT, points: int = GRID_POINTS, seed: int = 0,
                           progress: bool = False) -> list[str]:
    """Calibrate the continuous attributes of a table plugin that are columns of its table, read from the decoded
    rows themselves (no classifier needed). Returns the calibrated names."""
    names = [a.name for a in plugin.schema if a.kind == "continuous" and a.name in plugin.modality.column_names]
    if not names:
        raise ConfigError(f"the plugin controls no number column of its table (attributes: {plugin.attributes})")

    def measure(z: torch.Tensor) -> dict[str, np.ndarray]:
        return plugin.modality.measure(plugin.outputs(plugin.decode(z)), names)

    calibrate(plugin, measure, names, per_point=per_point, points=points, seed=seed, progress=progress)
    return names


def calibrate_with_classifier(plugin: Plugin, classifier, per_point: int = PER_POINT, points: int = GRID_POINTS,
                              seed: int = 0, progress: bool = False) -> list[str]:
    """Calibrate the continuous attributes of ``plugin`` that ``classifier`` predicts, measuring each
    decoded example with ``classifier.predict_values``. Returns the calibrated names."""
    names = [a.name for a in plugin.schema if a.kind == "continuous" and a.name in classifier.schema.names]
    if not names:
        raise ConfigError(f"the classifier predicts no continuous attribute of the plugin (plugin: "
                          f"{plugin.attributes}; classifier: {classifier.schema.names})")

    def measure(z: torch.Tensor) -> dict[str, np.ndarray]:
        return plugin.modality.measure(plugin.outputs(plugin.decode(z)), names, classifier)

    calibrate(plugin, measure, names, per_point=per_point, points=points, seed=seed, progress=progress)
    return names


def generate(plugin: Plugin, conditions: Mapping[str, str], n: int, seed: int = 0, style_scale: float = 1.0,
             progress: bool = False, **decode_options):
    """``n`` examples with ``conditions`` (unset attributes drawn from their prior), seeded; exactly
    ``plugin.sample(n, conditions, generator=torch.Generator().manual_seed(seed), …)``."""
    if n < 1:
        raise ConfigError(f"-n must be ≥ 1, got {n}")
    return plugin.sample(n, conditions, style_scale=style_scale, generator=torch.Generator().manual_seed(seed),
                         progress=progress, **decode_options)


def edit(plugin: Plugin, changes: Mapping[str, str], *, indices: list[int] | None = None,
         examples: torch.Tensor | None = None, strength: float = 1.0) -> dict[str, object]:
    """Edits of examples (``examples`` in network form, e.g. a file read by ``plugin.modality.read``, or rows
    ``indices`` of the plugin's data): ``{title: samples}`` with the originals, their reconstructions, the
    edit with all ``changes`` and, if several, each change alone — one entry per example in each."""
    if changes == {}:
        raise ConfigError("give at least one change: --set ATTR=VALUE")
    if (indices is None) == (examples is None):
        raise ConfigError("give exactly one of --index N (an example of the plugin's data) or --input FILE")
    if examples is None:
        dataset = load_from_spec(plugin.source_data_spec, labels=False)
        bad = [i for i in indices if not 0 <= i < len(dataset)]
        if bad:
            raise ConfigError(f"--index must be in 0..{len(dataset) - 1}, got {bad[0]}")
        examples = dataset.examples(torch.tensor(indices))
    z = plugin.encode(examples)
    columns = {"original": plugin.outputs(examples), "reconstruction": plugin.outputs(plugin.decode(z))}
    variants = [dict(changes)] + ([{k: v} for k, v in changes.items()] if len(changes) > 1 else [])
    for variant in variants:
        title = ",".join(f"{k}={v}" for k, v in variant.items())
        columns[title] = plugin.outputs(plugin.decode(plugin.edit_latent(z, variant, strength)))
    return columns
