"""Molecule design: sample SMILES models and molecule plugins with property targets, and score the targets.

A *molecule plugin* is a :class:`~condgen.plugin.Plugin` over a latent SMILES model (SMILES VAE or AAE)
with continuous property attributes (logP, TPSA, SAS, …); sampling it with targets draws latents whose
property coordinates sit at the targets and decodes them with the plugin's own decoding (stored in its
config: by default a beam search of width 5 keeping the most likely valid SMILES). ``condgen mol sample``
and ``condgen generate`` on such a plugin call :func:`sample_molecules`, which for a plugin is exactly
``plugin.sample``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from condgen.errors import ConfigError
from condgen.plugin.calibration import GRID_POINTS, PER_POINT, calibrate
from condgen.plugin.plugin import SAMPLING_BATCH, Plugin

#: |property − target| ≤ tolerance counts as a success (logP as in the plugin-on-CharVAE studies).
TARGET_TOLERANCES = {"logp": 0.5, "tpsa": 10.0, "sas": 0.5, "qed": 0.1, "molwt": 25.0}


def is_molecule_model(model: Any) -> bool:
    """A SMILES model, or a plugin over one."""
    modality = getattr(model, "modality", None)
    return modality is not None and modality.name == "smiles"


def decoding_options(model, temperature: float | None = None, beam: int | None = None,
                     top_beam: bool = False) -> dict[str, Any]:
    """The ``decode`` options that ``--temperature``, ``--beam`` and ``--top-beam`` ask of ``model`` (a
    SMILES model or a molecule plugin), checked; ``{}`` keeps the model's own decoding (a plugin's stored
    one; temperature 1 for a SMILES model)."""
    if temperature is not None and temperature < 0:
        raise ConfigError(f"temperature must be ≥ 0, got {temperature}")
    if beam is not None and beam < 1:
        raise ConfigError(f"--beam must be ≥ 1, got {beam}")
    latent = isinstance(model, Plugin) or getattr(model, "has_encoder", False)
    options: dict[str, Any] = {}
    if beam is not None and beam > 1:
        if temperature not in (None, 0):
            raise ConfigError("--beam decodes the most likely SMILES and takes no --temperature; drop one of them")
        if not latent:
            raise ConfigError("--beam needs a latent SMILES model (smiles-vae, smiles-aae) or a molecule plugin; "
                              "a CharRNN or ORGAN has one most likely SMILES, sample it with --temperature")
        options = {"beam": beam, "prefer_valid": True}
    elif temperature is not None or beam is not None:
        options = {"temperature": 0.0 if temperature is None else float(temperature)}
        if latent:
            options.update(beam=1, prefer_valid=False)
    if top_beam:
        effective = {**(model.decoding if isinstance(model, Plugin) else {}), **options}
        if effective.get("beam", 1) == 1:
            raise ConfigError("--top-beam chooses among beam-search candidates: it needs a plugin or --beam K with "
                              "a latent SMILES model (smiles-vae, smiles-aae)")
        options["prefer_valid"] = False
    return options


def effective_decoding(model, options: Mapping[str, Any]) -> dict[str, Any]:
    """What ``model`` decodes with under ``options``: a plugin's stored decoding updated by them."""
    base = dict(model.decoding) if isinstance(model, Plugin) else {}
    return {**base, **options}


def describe_decoding(options: Mapping[str, Any]) -> str:
    """``"beam search (width 5, most likely valid)"`` or ``"temperature 1"``."""
    beam = int(options.get("beam", 1))
    if beam == 1:
        return f"temperature {float(options.get('temperature', 1.0)):g}"
    return f"beam search (width {beam}{', most likely valid' if options.get('prefer_valid') else ''})"


def sample_molecules(model, n: int, targets: Mapping[str, Any] | None = None, *, seed: int = 0,
                     style_scale: float = 1.0, calibrated: bool = True, progress: bool = False,
                     **decode_options) -> list[str]:
    """``n`` SMILES from a SMILES model, or from a molecule plugin with property ``targets``.

    Args:
        model: a SMILES model (CharRNN, VAE, AAE, ORGAN) or a plugin over a latent one.
        targets: plugin only: attribute → value (e.g. ``{"logp": 3.0}``); attributes left out are
            drawn as they occur in the plugin's training data given the set ones.
        seed: equal seeds give equal molecules; for a plugin the result is ``plugin.sample(n, targets,
            generator=torch.Generator().manual_seed(seed), …)``.
        style_scale, calibrated: plugin only, see :meth:`~condgen.plugin.Plugin.conditional_latents`.
        decode_options: override the decoding (see :func:`decoding_options`).
    """
    if n < 1:
        raise ConfigError(f"-n must be ≥ 1, got {n}")
    generator = torch.Generator().manual_seed(seed)
    if isinstance(model, Plugin):
        return model.sample(n, targets, style_scale=style_scale, generator=generator, calibrated=calibrated,
                            progress=progress, **decode_options)
    if targets:
        raise ConfigError("--target needs a molecule plugin (e.g. zinc-vae); fit one with `condgen plugin fit "
                          "SMILES_VAE_DIR --attrs logp,tpsa,sas`")
    from condgen.progress import in_batches

    parts = in_batches(n, SAMPLING_BATCH, lambda size: model.sample_smiles(size, generator=generator, **decode_options),
                       progress)
    return [smiles for part in parts for smiles in part]


def canonical_or_none(smiles: Sequence[str]) -> list[str | None]:
    """RDKit canonical SMILES of each string, None where it is invalid (MOSES's parsing rules)."""
    from rdkit import Chem, rdBase

    from condgen.data.chem.properties import parse_smiles

    with rdBase.BlockLogs():
        return [None if (mol := parse_smiles(s)) is None else Chem.MolToSmiles(mol) for s in smiles]


def target_report(smiles: Sequence[str], attribute: str, target: float, train_hashes: np.ndarray | None = None,
                  tolerance: float | None = None, n_jobs: int = 1,
                  canonical: Sequence[str | None] | None = None) -> dict[str, float]:
    """How well ``smiles`` generated for ``attribute = target`` hit it.

    Returns validity (share of all strings), uniqueness (distinct share of valid ones), novelty
    (share of distinct valid ones absent from the training set; NaN without ``train_hashes``), and,
    over valid molecules, the mean property, its standard deviation, the MAE to the target and the
    success rate (share of *all* strings that are valid and within ``tolerance``). ``canonical``:
    :func:`canonical_or_none` of ``smiles`` if already computed (several targets, one sample).
    """
    from condgen.data.molecules import property_values
    from condgen.metrics.molecules.reference import novel_fraction

    tolerance = TARGET_TOLERANCES.get(attribute, math.nan) if tolerance is None else tolerance
    canonical = canonical_or_none(smiles) if canonical is None else canonical
    valid = [c for c in canonical if c is not None]
    values = property_values(valid, [attribute], n_jobs)[attribute] if valid else np.zeros(0)
    return {
        "target": float(target), "n": len(smiles), "validity": len(valid) / max(len(smiles), 1),
        "uniqueness": len(set(valid)) / len(valid) if valid else math.nan,
        "novelty": novel_fraction(sorted(set(valid)), train_hashes) if valid and train_hashes is not None else math.nan,
        "mean": float(values.mean()) if valid else math.nan, "std": float(values.std()) if valid else math.nan,
        "mae": float(np.abs(values - target).mean()) if valid else math.nan, "tolerance": tolerance,
        "success_rate": float((np.abs(values - target) <= tolerance).sum() / max(len(smiles), 1)),
    }


def molecule_plugin_data(backbone, data: str | None, attributes: Sequence[str], n: int | None = None,
                         seed: int = 0, n_jobs: int = -1):
    """Molecules to fit a plugin over a SMILES ``backbone``: token ids in the backbone's vocabulary with
    the property ``attributes`` (built-in names: logp, qed, sas, tpsa, molwt) computed by RDKit.

    ``data``: "moses", a SMILES file, or None for the backbone's own training source; ``n`` random
    molecules of it (all when None).
    """
    from condgen.data.molecules import MOLECULE_PROPERTIES, load_moses, load_smiles_file

    unknown = [a for a in attributes if a not in MOLECULE_PROPERTIES]
    if unknown or not attributes:
        raise ConfigError(f"unknown molecule attributes {unknown}; choose from {sorted(MOLECULE_PROPERTIES)} (a "
                          "property of your own: condgen.data.molecules.smiles_dataset(..., properties={name: f}))")
    spec = dict(getattr(backbone, "data_spec", {}))
    source = data or spec.get("path") or spec.get("name", "moses")
    options = {"tokens": backbone.config.tokens, "max_length": backbone.config.max_length,
               "properties": list(attributes), "n_jobs": n_jobs}
    if source == "moses":
        return load_moses(n=n, seed=seed, split=spec.get("split", "train") if data is None else "train", **options)
    return load_smiles_file(source, n=n, seed=seed, **options)


@torch.no_grad()
def decoded_latents(backbone, molecules, decoding: Mapping[str, Any] | None = None,
                    batch_size: int = SAMPLING_BATCH, seed: int = 0, n_jobs: int = -1, progress: bool = False):
    """Latents of ``molecules`` labelled with the properties of what the decoder makes of them.

    Each molecule is encoded (``z = encode(x)``) and decoded again with ``decoding`` (default: the
    backbone's ``targeted_decoding``, which a plugin over it uses too: a beam search of width 5 keeping the
    most likely valid SMILES); the attributes of ``z`` are the properties of that decoded SMILES (NaN — a
    missing label — if it is invalid). A plugin fitted on these learns the decoder's own map from latents
    to properties, so an imperfect reconstruction does not bias its targets towards the data mean; fit it
    with the same ``decoding``. ``molecules`` is a SMILES data set in the backbone's vocabulary with the
    wanted properties as attributes (:func:`molecule_plugin_data`); returns a LabeledDataset of latents.
    """
    from condgen.data.dataset import LabeledDataset
    from condgen.data.molecules import property_values
    from condgen.models.backbone import backbone_device, eval_mode
    from condgen.progress import ProgressBar

    options = dict(backbone.targeted_decoding if decoding is None else decoding)
    names = molecules.schema.names
    generator = torch.Generator().manual_seed(seed)
    latents, decoded = [], []
    bar = ProgressBar(len(molecules), 0, progress, description="encode + decode")
    with eval_mode(backbone):
        for start in range(0, len(molecules), batch_size):
            z = backbone.encode(molecules.examples(slice(start, start + batch_size)).to(backbone_device(backbone)))
            latents.append(z.float().cpu())
            decoded += backbone.decode_smiles(z, generator=generator, **options)
            bar.update(len(decoded), {})
    bar.close()
    values = property_values(decoded, names, n_jobs)
    attributes = torch.from_numpy(np.stack([values[n] for n in names], axis=1)).float()
    spec = {"name": "decoded-latents", "modality": "vectors", "labels": "decoded", "decoding": options,
            "source": dict(molecules.spec)}
    return LabeledDataset(torch.cat(latents), attributes, molecules.schema.with_statistics(attributes), spec)


def calibrate_molecule_plugin(plugin, per_point: int = PER_POINT, points: int = GRID_POINTS, seed: int = 0,
                              n_jobs: int = 1, progress: bool = False) -> list[str]:
    """Calibrate the continuous built-in property attributes of a molecule plugin (see
    :mod:`condgen.plugin.calibration`): latents drawn at a grid of conditions are decoded with the
    plugin's own decoding and their properties computed by RDKit (invalid SMILES are not counted).
    Returns the calibrated attribute names; the calibration is set on ``plugin`` (save it after).
    """
    from condgen.data.molecules import MOLECULE_PROPERTIES, property_values

    names = [a.name for a in plugin.schema if a.kind == "continuous" and a.name in MOLECULE_PROPERTIES]
    if not names:
        raise ConfigError(f"the plugin has no continuous built-in property to calibrate (attributes: "
                          f"{plugin.attributes}; built-in: {sorted(MOLECULE_PROPERTIES)})")

    def measure(z: torch.Tensor) -> dict[str, np.ndarray]:
        return property_values(plugin.outputs(plugin.decode(z)), names, n_jobs)

    calibrate(plugin, measure, names, per_point=per_point, points=points, seed=seed, progress=progress)
    return names
