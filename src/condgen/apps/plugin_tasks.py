"""Fit, generate and edit with plugins from artifact directories: what the CLI's plugin commands call."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from condgen.artifact import atomic_write_json, load, resolve
from condgen.data import LabeledDataset, load_dataset, load_from_spec
from condgen.errors import ConfigError, DataError
from condgen.plugin.calibration import GRID_POINTS, PER_POINT, calibrate
from condgen.viz import save_grid, save_labeled_rows


def load_plugin(plugin_dir: str | Path):
    """A plugin artifact (with its backbone) by directory or shipped name."""
    from condgen.plugin import Plugin

    plugin = load(plugin_dir)
    if not isinstance(plugin, Plugin):
        raise ConfigError(f"{plugin_dir} holds a {plugin.kind}, not a plugin; fit one with `condgen plugin fit`")
    return plugin


def backbone_data(backbone, data: str | None) -> LabeledDataset:
    """The labelled data to fit on: ``data`` if given, else the set the backbone was trained on."""
    return load_dataset(data) if data else load_from_spec(getattr(backbone, "data_spec", {}))


def fit_plugin_from_dirs(backbone_dir: str | Path, attributes: Sequence[str], out: Path, *, data: str | None = None,
                         classifier_dir: str | None = None, steps: int = 3000, batch_size: int = 256,
                         n_latents: int = 20000, seed: int = 0, coupling: str | None = None,
                         progress: bool = True, labels: str = "data", sigma: float | None = None,
                         calibrate: int | None = None):
    """Fit a plugin on a saved backbone and save it to ``out``; returns ``(plugin, seconds)``.

    A backbone with an encoder is fitted on its data's latents and labels; a GAN needs
    ``classifier_dir`` (an attribute classifier that labels its decoded samples). A SMILES backbone
    is fitted on ``n_latents`` molecules of its data with RDKit properties as attributes: of the
    molecules themselves (``labels="data"``) or of their decodings (``labels="decoded"``, see
    :func:`condgen.apps.molecules.decoded_latents`). ``coupling`` and ``sigma`` (the final σ of the
    attribute coordinates) override :class:`~condgen.plugin.PluginConfig`'s defaults. ``calibrate``
    > 0 (SMILES backbones; None: :data:`~condgen.plugin.calibration.PER_POINT` for them, 0
    for others): then calibrate the targets with that many decoded latents per grid point
    (:func:`condgen.apps.molecules.calibrate_molecule_plugin`).
    """
    from condgen.apps.molecules import (
        calibrate_molecule_plugin,
        decoded_latents,
        is_smiles_model,
        molecule_plugin_data,
    )
    from condgen.plugin import PluginConfig, fit_plugin
    from condgen.train import TrainConfig

    if labels not in ("data", "decoded"):
        raise ConfigError(f"labels must be 'data' or 'decoded', got {labels!r}")
    backbone = load(backbone_dir)
    latents = None
    if calibrate is None:
        calibrate = PER_POINT if is_smiles_model(backbone) else 0
    if is_smiles_model(backbone):  # molecules: n_latents random molecules, properties computed by RDKit
        dataset = molecule_plugin_data(backbone, data, attributes, n=n_latents, seed=seed)
        if labels == "decoded":
            latents = decoded_latents(backbone, dataset, seed=seed, progress=progress)
    elif labels == "decoded" or calibrate:
        raise ConfigError(f"--{'labels decoded' if labels == 'decoded' else 'calibrate'} is for SMILES backbones "
                          "(it measures the properties of decoded molecules)")
    else:
        dataset = backbone_data(backbone, data)
    labeller = None
    if not getattr(backbone, "has_encoder", False):
        if not classifier_dir:
            raise ConfigError(f"{backbone_dir} has no encoder: pass --classifier DIR (train one with "
                              "`condgen classifier train`) to label its samples")
        labeller = load(classifier_dir)
    dataset.schema.validate_names(attributes)
    overrides = {"coupling": coupling, "sigma_end": sigma}
    config = PluginConfig(**{key: value for key, value in overrides.items() if value is not None})
    started = time.perf_counter()
    plugin = fit_plugin(backbone, dataset, list(attributes), config=config, labeller=labeller, n_latents=n_latents,
                        latents=latents,
                        train_config=TrainConfig(steps=steps, batch_size=batch_size, seed=seed, out=Path(out),
                                                 progress=progress, sample_every=0))
    seconds = time.perf_counter() - started
    if calibrate:
        calibrate_molecule_plugin(plugin, per_point=calibrate, seed=seed, progress=progress)
        plugin.save(out)
    # What `condgen evaluate --baselines` needs to refit and time the plugin in its own run.
    atomic_write_json(Path(out) / "fit.json", {
        "seconds": seconds, "backbone": str(resolve(backbone_dir).resolve()), "attributes": list(attributes),
        "data": data, "classifier": str(Path(classifier_dir).resolve()) if classifier_dir else None,
        "steps": steps, "batch_size": batch_size, "n_latents": n_latents, "seed": seed, "coupling": coupling,
        "labels": labels, "sigma": sigma, "calibrate": calibrate,
    })
    return plugin, seconds


def calibrate_plugin_dir(plugin_dir: str | Path, out: Path | None = None, per_point: int | None = None,
                         points: int | None = None, seed: int = 0, classifier_dir: str | None = None,
                         progress: bool = True) -> tuple[list[str], Path]:
    """Calibrate the continuous targets of a saved plugin and save it to ``out`` (default: in place; a
    shipped name needs ``out``); returns (calibrated attributes, directory).

    A molecule plugin is measured by RDKit on its decoded SMILES; an image plugin by the attribute
    classifier in ``classifier_dir`` on its decoded images (:func:`calibrate_with_classifier`).
    """
    from condgen.apps.molecules import calibrate_molecule_plugin, is_smiles_model

    plugin = load_plugin(plugin_dir)
    if out is None and not Path(plugin_dir).is_dir():
        raise ConfigError(f"{plugin_dir} is a shipped model: pass --out DIR for the calibrated copy")
    directory = Path(out) if out is not None else Path(plugin_dir)
    options = {"per_point": per_point or PER_POINT, "points": points or GRID_POINTS, "seed": seed,
               "progress": progress}
    if is_smiles_model(plugin.backbone):
        if classifier_dir:
            raise ConfigError("a molecule plugin is measured by RDKit on its decoded SMILES; drop --classifier")
        names = calibrate_molecule_plugin(plugin, **options)
    elif classifier_dir:
        names = calibrate_with_classifier(plugin, load(classifier_dir), **options)
    else:
        raise ConfigError(f"{plugin_dir}: pass --classifier DIR, an attribute classifier (`condgen classifier "
                          "train`) that measures the continuous attributes of decoded images")
    plugin.save(directory)
    return names, directory


def calibrate_with_classifier(plugin, classifier, per_point: int = PER_POINT, points: int = GRID_POINTS,
                              seed: int = 0, progress: bool = False) -> list[str]:
    """Calibrate the continuous attributes of ``plugin`` that ``classifier`` predicts, measuring each
    decoded example with ``classifier.predict_values``. Returns the calibrated names."""
    names = [a.name for a in plugin.schema if a.kind == "continuous" and a.name in classifier.schema.names]
    if not names:
        raise ConfigError(f"the classifier predicts no continuous attribute of the plugin (plugin: "
                          f"{plugin.attributes}; classifier: {classifier.schema.names})")
    columns = classifier.schema.columns(names)

    def measure(z: torch.Tensor) -> dict[str, np.ndarray]:
        values = classifier.predict_values(plugin.decode(z))[:, columns].cpu().numpy()
        return {name: values[:, i] for i, name in enumerate(names)}

    calibrate(plugin, measure, names, per_point=per_point, points=points, seed=seed, progress=progress)
    return names


def generate_grid(plugin_dir: str, conditions: Mapping[str, str], n: int, out: Path, seed: int = 0,
                  style_scale: float = 1.0) -> Path:
    plugin = load_plugin(plugin_dir)
    images = plugin.sample(n, conditions, style_scale=style_scale, generator=torch.Generator().manual_seed(seed))
    return save_grid(images, out)


def read_image(path: Path, shape: tuple[int, ...]) -> torch.Tensor:
    """One image file as ``[1, C, H, W]`` in [-1, 1]; a size other than the model's is an error."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB" if shape[0] == 3 else "L")
            pixels = np.array(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"{path}: not a readable image ({error})") from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.shape[:2] != tuple(shape[1:]):
        raise DataError(f"{path}: image is {pixels.shape[1]}x{pixels.shape[0]}, the model expects "
                        f"{shape[2]}x{shape[1]}; resize it first")
    return torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).float() / 127.5 - 1


def edit_row(plugin_dir: str, changes: Mapping[str, str], out: Path, index: int | None = None,
             image: Path | None = None, strength: float = 1.0) -> Path:
    """One row: original, reconstruction, then the edit with all changes and, if several, each alone."""
    plugin = load_plugin(plugin_dir)
    if (index is None) == (image is None):
        raise ConfigError("give exactly one of --index N (an example of the plugin's data) or --image FILE")
    if image is not None:
        shape = getattr(getattr(plugin.backbone, "config", None), "data_shape", None)
        if shape is None or len(shape) != 3:
            raise ConfigError("--image needs an image backbone that records its data_shape")
        x = read_image(Path(image), tuple(shape))
    else:
        dataset = load_from_spec(plugin.data_spec.get("source", plugin.data_spec))
        if not 0 <= index < len(dataset):
            raise ConfigError(f"--index must be in 0..{len(dataset) - 1}")
        x = dataset.examples(torch.tensor([index]))
    z = plugin.encode(x)
    columns = [x, plugin.decode(z).cpu()]
    titles = ["original", "reconstruction"]
    variants = [dict(changes)] + ([{k: v} for k, v in changes.items()] if len(changes) > 1 else [])
    for variant in variants:
        columns.append(plugin.decode(plugin.edit_latent(z, variant, strength)).cpu())
        titles.append(",".join(f"{k}={v}" for k, v in variant.items()))
    return save_labeled_rows([torch.cat(columns)], titles, out)
