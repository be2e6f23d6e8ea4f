"""Molecule design: sample SMILES models and molecule plugins, score targets, properties and metrics files.

What ``condgen mol sample | metrics | props`` and ``condgen plugin fit`` on a SMILES backbone call.
A *molecule plugin* is a :class:`~condgen.plugin.Plugin` over a latent SMILES model (SMILES VAE or
AAE) with continuous property attributes (logP, TPSA, SAS, …); sampling it with targets draws
latents whose property coordinates sit at the targets, then decodes them to SMILES.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from condgen.artifact import atomic_write_bytes, atomic_write_json, load
from condgen.errors import ConfigError
from condgen.plugin.calibration import GRID_POINTS, PER_POINT, calibrate

#: |property − target| ≤ tolerance counts as a success (logP as in the plugin-on-CharVAE studies).
TARGET_TOLERANCES = {"logp": 0.5, "tpsa": 10.0, "sas": 0.5, "qed": 0.1, "molwt": 25.0}
SAMPLING_BATCH = 500
#: Beam width with which a molecule plugin decodes its latents unless told otherwise.
PLUGIN_BEAM_WIDTH = 5


@dataclass(frozen=True)
class Decoding:
    """How a latent (or a SMILES model) becomes a string: tokens drawn at ``temperature`` (1: the
    model's distribution, 0: greedy), or, with ``beam`` > 1, the most likely SMILES a beam search
    of that width finds (deterministic: the mode of p(x | z), the molecule a latent stands for).
    With ``prefer_valid`` the beam search returns its most likely *valid* SMILES (RDKit parses it),
    and the most likely one only when none of its ``beam`` candidates is valid."""

    temperature: float = 1.0
    beam: int = 1
    prefer_valid: bool = True

    def __str__(self) -> str:
        if self.beam == 1:
            return f"temperature {self.temperature:g}"
        return f"beam search (width {self.beam}{', most likely valid' if self.prefer_valid else ''})"


#: How a molecule plugin decodes its latents unless told otherwise.
PLUGIN_DECODING = Decoding(0.0, PLUGIN_BEAM_WIDTH)


def is_smiles_model(model: Any) -> bool:
    return bool(getattr(model, "is_sequence_model", False))


def load_molecule_generator(name_or_dir: str | Path):
    """A SMILES model or a plugin over one, by directory or shipped name (e.g. ``zinc-vae``)."""
    from condgen.plugin import Plugin

    model = load(name_or_dir)
    backbone = model.backbone if isinstance(model, Plugin) else model
    if not is_smiles_model(backbone):
        raise ConfigError(f"{name_or_dir} holds a {getattr(backbone, 'kind', type(backbone).__name__)}, not a SMILES "
                          "model; train one with `condgen train smiles-vae --data moses`")
    return model


def sample_molecules(model, n: int, targets: Mapping[str, Any] | None = None, temperature: float | None = None,
                     seed: int = 0, style_scale: float = 1.0, progress: bool = False,
                     beam: int | None = None, prefer_valid: bool | None = None,
                     calibrated: bool = True) -> list[str]:
    """``n`` SMILES from a SMILES model, or from a molecule plugin with property ``targets``.

    Args:
        model: a SMILES model (CharRNN, VAE, AAE, ORGAN) or a plugin over a latent one.
        targets: plugin only: attribute → value (e.g. ``{"logp": 3.0}``); attributes left out are
            drawn as they occur in the plugin's training data given the set ones.
        temperature, beam, prefer_valid: the :class:`Decoding` (see :func:`resolve_decoding`; None:
            the model's default, a beam search of width 5 for a plugin, temperature 1 for a SMILES model).
        seed: equal seeds give equal molecules.
        style_scale: plugin only: scale of the non-attribute ("style") coordinates.
        calibrated: plugin only: map targets through the plugin's measured response (if it has one,
            see :func:`calibrate_molecule_plugin`); False: use them as the condition unchanged.
    """
    from condgen.plugin import Plugin
    from condgen.train.reporting import ProgressBar

    if n < 1:
        raise ConfigError(f"-n must be ≥ 1, got {n}")
    if targets and not isinstance(model, Plugin):
        raise ConfigError("--target needs a molecule plugin (e.g. zinc-vae); fit one with `condgen plugin fit "
                          "SMILES_VAE_DIR --attrs logp,tpsa,sas`")
    decoding = resolve_decoding(model, temperature, beam, prefer_valid)
    generator = torch.Generator().manual_seed(seed)
    smiles: list[str] = []
    bar = ProgressBar(n, 0, progress, description="sampling")
    try:
        while len(smiles) < n:
            size = min(SAMPLING_BATCH, n - len(smiles))
            if isinstance(model, Plugin):
                z = model.sample_latent(size, targets, style_scale=style_scale, generator=generator,
                                        calibrated=calibrated)
                smiles += decode_latents(model.backbone, z, decoding, generator)
            elif decoding.beam > 1:
                smiles += decode_latents(model, model.sample_latent(size, generator), decoding)
            else:
                smiles += model.sample_smiles(size, decoding.temperature, generator)
            bar.update(len(smiles), {})
    finally:
        bar.close()
    return smiles


@torch.no_grad()
def decode_latents(backbone, z: torch.Tensor, decoding: Decoding,
                   generator: torch.Generator | None = None) -> list[str]:
    """SMILES of latents ``z`` decoded by a latent SMILES ``backbone`` with ``decoding``."""
    from rdkit import rdBase

    from condgen.metrics.molecules.properties import parse_smiles

    if decoding.beam == 1:
        return backbone.decode_smiles(z, decoding.temperature, generator)
    candidates = backbone.beam_smiles(z, decoding.beam)
    if not decoding.prefer_valid:
        return [row[0] for row in candidates]
    with rdBase.BlockLogs():
        return [next((s for s in row if parse_smiles(s) is not None), row[0]) for row in candidates]


def write_smiles(smiles: Sequence[str], path: str | Path) -> Path:
    """Write one SMILES per line (atomically)."""
    path = Path(path)
    atomic_write_bytes(path, "".join(f"{s}\n" for s in smiles).encode())
    return path


def canonical_or_none(smiles: Sequence[str]) -> list[str | None]:
    """RDKit canonical SMILES of each string, None where it is invalid (MOSES's parsing rules)."""
    from rdkit import Chem, rdBase

    from condgen.metrics.molecules.properties import parse_smiles

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
    report = {
        "target": float(target), "n": len(smiles), "validity": len(valid) / max(len(smiles), 1),
        "uniqueness": len(set(valid)) / len(valid) if valid else math.nan,
        "novelty": novel_fraction(sorted(set(valid)), train_hashes) if valid and train_hashes is not None else math.nan,
        "mean": float(values.mean()) if valid else math.nan, "std": float(values.std()) if valid else math.nan,
        "mae": float(np.abs(values - target).mean()) if valid else math.nan, "tolerance": tolerance,
        "success_rate": float((np.abs(values - target) <= tolerance).sum() / max(len(smiles), 1)),
    }
    return report


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
def decoded_latents(backbone, molecules, decoding: Decoding = PLUGIN_DECODING,
                    batch_size: int = SAMPLING_BATCH, seed: int = 0, n_jobs: int = -1, progress: bool = False):
    """Latents of ``molecules`` labelled with the properties of what the decoder makes of them.

    Each molecule is encoded (``z = encode(x)``) and decoded again with ``decoding`` (default: the
    plugin's own, a beam search of width 5); the attributes of ``z`` are the properties of that
    decoded SMILES (NaN — a missing label — if it is invalid). A plugin fitted on these learns the
    decoder's own map from latents to properties, so an imperfect reconstruction does not bias its
    targets towards the data mean; it samples with the same decoding. ``molecules`` is a SMILES data
    set in the backbone's vocabulary with the wanted properties as attributes
    (:func:`molecule_plugin_data`); returns a LabeledDataset of latents.
    """
    from condgen.data.dataset import LabeledDataset
    from condgen.data.molecules import property_values
    from condgen.plugin.backbone import backbone_device, eval_mode
    from condgen.train.reporting import ProgressBar

    names = molecules.schema.names
    generator = torch.Generator().manual_seed(seed)
    latents, decoded = [], []
    bar = ProgressBar(len(molecules), 0, progress, description="encode + decode")
    with eval_mode(backbone):
        for start in range(0, len(molecules), batch_size):
            x = molecules.examples(slice(start, start + batch_size)).to(backbone_device(backbone))
            z = backbone.encode(x)
            latents.append(z.float().cpu())
            decoded += decode_latents(backbone, z, decoding, generator)
            bar.update(len(decoded), {})
    bar.close()
    values = property_values(decoded, names, n_jobs)
    attributes = torch.from_numpy(np.stack([values[n] for n in names], axis=1)).float()
    spec = {**molecules.spec, "labels": "decoded", "decoding": asdict(decoding)}
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
    decoding, backbone = resolve_decoding(plugin), plugin.backbone

    def measure(z: torch.Tensor) -> dict[str, np.ndarray]:
        return property_values(decode_latents(backbone, z, decoding), names, n_jobs)

    calibrate(plugin, measure, names, per_point=per_point, points=points, seed=seed, progress=progress)
    return names


def resolve_decoding(model, temperature: float | None = None, beam: int | None = None,
                     prefer_valid: bool | None = None) -> Decoding:
    """The :class:`Decoding` asked for (``temperature``, ``beam``, ``prefer_valid``), or the model's default.

    Defaults: a molecule plugin decodes each targeted latent by a beam search of width
    :data:`PLUGIN_BEAM_WIDTH` that returns its most likely valid SMILES (a plugin fitted on decoded
    labels: the decoding of those labels); a SMILES model samples its own distribution (temperature
    1). A beam needs a latent model: CharRNN and ORGAN have a single most likely SMILES.
    """
    from condgen.plugin import Plugin

    if temperature is not None and temperature < 0:
        raise ConfigError(f"temperature must be ≥ 0, got {temperature}")
    if beam is not None and beam < 1:
        raise ConfigError(f"--beam must be ≥ 1, got {beam}")
    if beam is not None and beam > 1:
        if temperature not in (None, 0):
            raise ConfigError("--beam decodes the most likely SMILES and takes no --temperature; drop one of them")
        if not (isinstance(model, Plugin) or getattr(model, "has_encoder", False)):
            raise ConfigError("--beam needs a latent SMILES model (smiles-vae, smiles-aae) or a molecule plugin; "
                              "a CharRNN or ORGAN has one most likely SMILES, sample it with --temperature")
        decoding = Decoding(0.0, beam)
    elif temperature is not None or beam is not None:
        decoding = Decoding(0.0 if temperature is None else float(temperature), 1)
    elif "decoding" in (spec := getattr(model, "data_spec", None) or {}):
        decoding = Decoding(**{"prefer_valid": False, **spec["decoding"]})  # labels decoded before prefer_valid
    else:
        decoding = PLUGIN_DECODING if isinstance(model, Plugin) else Decoding()
    if prefer_valid is None:
        return decoding
    if decoding.beam == 1:
        raise ConfigError("--top-beam chooses among beam-search candidates: it needs a plugin or --beam K with a "
                          "latent SMILES model (smiles-vae, smiles-aae)")
    return replace(decoding, prefer_valid=prefer_valid)


def properties_csv(smiles_path: str | Path, out: str | Path, names: Sequence[str] | None = None,
                   n_jobs: int = 1) -> tuple[Path, int, int]:
    """Write ``SMILES,valid,<property>…`` for every line of a SMILES file; returns (path, rows, valid)."""
    from condgen.data.molecules import MOLECULE_PROPERTIES, property_values
    from condgen.data.smiles import read_smiles_file

    names = list(names or MOLECULE_PROPERTIES)
    smiles = read_smiles_file(smiles_path, validate=False, comments=False)
    canonical = canonical_or_none(smiles)
    values = property_values(smiles, names, n_jobs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["SMILES", "valid", *names])
    for i, s in enumerate(smiles):
        writer.writerow([s, int(canonical[i] is not None),
                         *("" if math.isnan(values[n][i]) else f"{values[n][i]:.6g}" for n in names)])
    atomic_write_bytes(Path(out), buffer.getvalue().encode())
    return Path(out), len(smiles), sum(c is not None for c in canonical)


def metrics_of_file(smiles_path: str | Path, json_out: str | Path | None = None, n_jobs: int = 2,
                    device: str = "cpu", references: Mapping[str, str | Path | None] | None = None) -> dict[str, float]:
    """The MOSES metrics of a SMILES file (every line counts, invalid ones too); optionally saved as JSON.

    ``references`` may replace the MOSES splits with SMILES files: keys ``test``, ``test_scaffolds``, ``train``.
    """
    from condgen.data.smiles import read_smiles_file
    from condgen.metrics.molecules import moses_metrics

    smiles = read_smiles_file(smiles_path, validate=False, comments=False)
    sets = {key: read_smiles_file(path) for key, path in (references or {}).items() if path is not None}
    metrics = moses_metrics(smiles, n_jobs=n_jobs, device=device, **sets)
    if json_out is not None:
        atomic_write_json(Path(json_out), {"samples": str(smiles_path), "n": len(smiles), "metrics": metrics})
    return metrics
