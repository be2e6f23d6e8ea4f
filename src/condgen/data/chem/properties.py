"""Molecular properties with RDKit: logP, QED, SAS, TPSA and molecular weight.

These are the properties condgen conditions molecule generators on, and (logP, SA, QED, weight)
the ones whose distributions MOSES compares. SMILES are parsed the way MOSES parses them
(:func:`parse_smiles`); a string RDKit cannot parse gets NaN for every property.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from condgen.data.chem.parallel import Workers
from condgen.errors import ConfigError

PROPERTY_NAMES = ("logP", "QED", "SAS", "TPSA", "MolWt")


def parse_smiles(smiles: str):
    """RDKit molecule of ``smiles``, or None if it is empty or RDKit cannot parse and sanitise it.

    The same rules as MOSES's ``get_mol``, so "valid" means the same thing here and there.
    """
    from rdkit import Chem

    if not smiles:
        return None
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    try:
        Chem.SanitizeMol(mol)
    except ValueError:
        return None
    return mol


def property_functions() -> dict[str, Callable]:
    """Property name → function of an RDKit molecule returning a float."""
    from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors

    from condgen.data.chem.sascorer import sa_score

    return {
        "logP": Crippen.MolLogP,
        "QED": QED.qed,
        "SAS": sa_score,
        "TPSA": rdMolDescriptors.CalcTPSA,
        "MolWt": Descriptors.MolWt,
    }


def check_property_names(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple, after checking each is a known property (ConfigError listing them)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [n for n in names if n not in PROPERTY_NAMES]
    if unknown or not names:
        raise ConfigError(f"unknown molecular properties {unknown}; choose from {list(PROPERTY_NAMES)}")
    return names


def _properties_of_chunk(smiles_chunk: list[str], names: tuple[str, ...]) -> list[tuple[float, ...]]:
    from rdkit import rdBase

    functions = property_functions()
    rows = []
    with rdBase.BlockLogs():
        for smiles in smiles_chunk:
            mol = parse_smiles(smiles)
            rows.append(tuple(float("nan") if mol is None else float(functions[n](mol)) for n in names))
    return rows


def compute_properties(smiles_list: Sequence[str], names: Sequence[str] = PROPERTY_NAMES,
                       n_jobs: int = 1) -> dict[str, np.ndarray]:
    """Properties of many SMILES: name → ``float64 [N]``, NaN where the SMILES is invalid.

    Args:
        smiles_list: N SMILES strings.
        names: which of :data:`PROPERTY_NAMES` to compute.
        n_jobs: worker processes (1: in this process; -1: one per core).
    """
    names = check_property_names(names)
    if "SAS" in names:  # load the fragment scores before forking, so workers share them
        from condgen.data.chem.sascorer import load_sascorer

        load_sascorer()
    with Workers(n_jobs) as workers:
        rows = workers.map(partial(_properties_of_chunk, names=names), list(smiles_list))
    table = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names))
    return {name: table[:, i].copy() for i, name in enumerate(names)}
