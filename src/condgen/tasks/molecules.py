"""``condgen mol sample | props | metrics``: molecules from SMILES models and molecule plugins, with per-target
reports, RDKit properties of a SMILES file, and the MOSES metrics of a SMILES file."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condgen.apps.molecules import (
    canonical_or_none,
    decoding_options,
    describe_decoding,
    effective_decoding,
    is_molecule_model,
    sample_molecules,
    target_report,
)
from condgen.errors import ConfigError, DataError
from condgen.io import load
from condgen.plugin import Plugin


def load_molecule_generator(name_or_dir: str | Path):
    """A SMILES model or a plugin over one, by directory or shipped name (e.g. ``zinc-vae``)."""
    model = load(name_or_dir)
    if not is_molecule_model(model):
        raise ConfigError(f"{name_or_dir} holds a {getattr(model, 'kind', type(model).__name__)}, not a SMILES "
                          "model; train one with `condgen train smiles-vae --data moses`")
    return model


@dataclass
class MoleculeSample:
    """What ``condgen mol sample`` makes: the SMILES (invalid ones included), how they were decoded, and per
    target a report (:func:`~condgen.apps.molecules.target_report`); ``unchecked`` targets are users' own
    properties that condgen cannot recompute."""

    smiles: list[str]
    decoding: dict[str, Any]
    validity: float
    uniqueness: float
    calibrated: bool
    reports: dict[str, dict[str, float]] = field(default_factory=dict)
    unchecked: list[str] = field(default_factory=list)

    @property
    def decoding_text(self) -> str:
        return describe_decoding(self.decoding)

    def to_json(self, model: str, n: int, seed: int, style_scale: float) -> dict[str, Any]:
        return {"model": str(model), "n": n, "seed": seed, "decoding": self.decoding, "calibrated": self.calibrated,
                "style_scale": style_scale, "targets": self.reports, "validity": self.validity}


def sample_with_report(model, n: int, targets: Mapping[str, str] | None = None, *, seed: int = 0,
                       temperature: float | None = None, beam: int | None = None, top_beam: bool = False,
                       style_scale: float = 1.0, calibrated: bool = True, progress: bool = False) -> MoleculeSample:
    """``n`` SMILES of ``model`` (see :func:`~condgen.apps.molecules.sample_molecules`) and, for each target,
    validity, uniqueness, novelty against the MOSES training split, mean, MAE and success rate."""
    from condgen.data.molecules import MOLECULE_PROPERTIES

    options = decoding_options(model, temperature, beam, top_beam)
    targets = dict(targets or {})
    smiles = sample_molecules(model, n, targets or None, seed=seed, style_scale=style_scale, calibrated=calibrated,
                              progress=progress, **options)
    canonical = canonical_or_none(smiles)
    valid = [c for c in canonical if c is not None]
    result = MoleculeSample(
        smiles, effective_decoding(model, options), len(valid) / len(smiles),
        len(set(valid)) / len(valid) if valid else math.nan,
        bool(targets) and calibrated and any(name in getattr(model, "calibration", {}) for name in targets))
    train_hashes = training_hashes() if targets else None
    for name, goal in targets.items():
        if name not in MOLECULE_PROPERTIES:
            result.unchecked.append(name)
            continue
        value = model.schema.parse_value(name, goal) if isinstance(model, Plugin) else float(goal)
        result.reports[name] = target_report(smiles, name, value, train_hashes, canonical=canonical)
    return result


def training_hashes():
    """Hashes of the MOSES training split for novelty, or None (novelty NaN) without molsets."""
    from condgen.metrics.molecules.reference import training_set_hashes

    try:
        return training_set_hashes(None)
    except DataError:
        return None


def properties_table(smiles_path: str | Path, names: list[str] | None = None,
                     n_jobs: int = 1) -> tuple[list[str], list[list[object]]]:
    """``(header, rows)``: ``SMILES, valid, <property>…`` for every line of a SMILES file (empty cells where a
    SMILES is invalid)."""
    from condgen.data.molecules import MOLECULE_PROPERTIES, property_values

    names = list(names or MOLECULE_PROPERTIES)
    smiles = read_generated_smiles(smiles_path)
    canonical = canonical_or_none(smiles)
    values = property_values(smiles, names, n_jobs)
    rows = [[s, int(canonical[i] is not None),
             *("" if math.isnan(values[n][i]) else f"{values[n][i]:.6g}" for n in names)]
            for i, s in enumerate(smiles)]
    return ["SMILES", "valid", *names], rows


def metrics_of_file(smiles_path: str | Path, n_jobs: int = -1, device: str = "cpu",
                    references: Mapping[str, str | Path | None] | None = None) -> dict[str, Any]:
    """``{"samples": path, "n": lines, "metrics": {name: value}}``: the MOSES metrics of a SMILES file (every
    line counts, invalid ones too).

    ``references`` may replace the MOSES splits with SMILES files: keys ``test``, ``test_scaffolds``, ``train``.

    Raises:
        DataError: the file holds no SMILES, or none of them is valid (every metric but validity would be
            undefined), or a reference file holds no valid SMILES.
    """
    from rdkit import rdBase

    from condgen.data.chem.properties import parse_smiles
    from condgen.data.smiles import read_smiles_file
    from condgen.metrics.molecules import moses_metrics

    smiles = read_generated_smiles(smiles_path)
    with rdBase.BlockLogs():  # stops at the first valid SMILES: cheap unless the file is all invalid
        if not any(parse_smiles(s) is not None for s in smiles):
            raise DataError(f"{smiles_path}: none of the {len(smiles)} SMILES is valid; the MOSES metrics need "
                            "valid molecules")
    sets = {key: read_smiles_file(path) for key, path in (references or {}).items() if path is not None}
    for key, reference in sets.items():
        if not reference:
            raise DataError(f"{references[key]}: no valid SMILES in it (--{key.replace('_', '-')})")
    metrics = moses_metrics(smiles, n_jobs=n_jobs, device=device, **sets)
    return {"samples": str(smiles_path), "n": len(smiles), "metrics": metrics}


def read_generated_smiles(path: str | Path) -> list[str]:
    """Every line of a generated SMILES file, invalid ones included; a file without any is a DataError."""
    from condgen.data.smiles import read_smiles_file

    smiles = read_smiles_file(path, validate=False, comments=False)
    if not smiles:
        raise DataError(f"{path}: no SMILES in it (one per line expected)")
    return smiles
