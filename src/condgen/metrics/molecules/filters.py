"""MOSES's medicinal-chemistry filters: MCF and PAINS patterns plus its ring, charge and atom rules.

The SMARTS come from the files the molsets wheel ships (``moses/metrics/mcf.csv``,
``moses/metrics/wehi_pains.csv``), read the way MOSES reads them (pandas, same columns), so the
patterns are byte-for-byte the reference's.

Matching 502 patterns was most of the per-molecule cost of the MOSES metrics, so the patterns are
screened by pattern fingerprint first (:mod:`~condgen.metrics.molecules.screening`) and only the
~5% that pass are matched. The verdicts equal the unscreened ones (checked in the tests and on
RDKit's 5,000 NCI molecules by ``benchmarks/moses_metrics_speed.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from condgen.errors import DataError
from condgen.metrics.molecules.screening import pattern_fingerprints, possible_matches

#: Elements MOSES allows; any other element fails the filters.
ALLOWED_ELEMENTS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})
#: Rings of this many atoms or more fail the filters.
LARGEST_RING_ALLOWED = 7


@lru_cache(maxsize=1)
def screened_filter_patterns() -> tuple[np.ndarray, tuple]:
    """Packed pattern fingerprints ``uint64 [P, 32]`` and the patterns of :func:`filter_patterns`."""
    patterns = filter_patterns()
    return pattern_fingerprints(patterns), patterns


@lru_cache(maxsize=1)
def filter_patterns() -> tuple:
    """Compiled MCF + PAINS SMARTS patterns (RDKit query molecules), once per process."""
    import pandas as pd
    from rdkit import Chem

    from condgen.data.moses import moses_package_dir

    folder = moses_package_dir() / "metrics"
    mcf = pd.read_csv(folder / "mcf.csv")
    pains = pd.read_csv(folder / "wehi_pains.csv", names=["smarts", "names"])
    smarts = list(mcf["smarts"]) + list(pains["smarts"])
    patterns = tuple(Chem.MolFromSmarts(s) for s in smarts)
    if any(p is None for p in patterns):
        raise DataError(f"{folder}: a filter SMARTS does not parse with this RDKit")
    return patterns


@lru_cache(maxsize=1)
def _atom_queries() -> tuple:
    """Single-atom queries: any charged atom; any atom outside :data:`ALLOWED_ELEMENTS`."""
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    allowed = ";".join(f"!#{table.GetAtomicNumber(symbol)}" for symbol in sorted(ALLOWED_ELEMENTS))
    return Chem.MolFromSmarts("[!+0]"), Chem.MolFromSmarts(f"[{allowed}]")


def matches_any_pattern(mol_with_hydrogens, screen: bool = True) -> bool:
    """True if any MCF/PAINS pattern matches; ``screen=False`` matches every pattern without screening."""
    if not screen:
        return any(mol_with_hydrogens.HasSubstructMatch(pattern) for pattern in filter_patterns())
    fingerprints, patterns = screened_filter_patterns()
    return any(mol_with_hydrogens.HasSubstructMatch(patterns[i])
               for i in possible_matches(mol_with_hydrogens, fingerprints))


def passes_moses_filters(mol, screen: bool = True, known_to_parse: frozenset[str] = frozenset()) -> bool:
    """True if an RDKit molecule passes every MOSES filter (``mol_passes_filters`` of the reference).

    Fails: no molecule; a ring of 8+ atoms; a charged atom; an element outside
    :data:`ALLOWED_ELEMENTS`; a match of any MCF/PAINS pattern on the molecule with explicit
    hydrogens; a non-stereo SMILES that does not parse back. ``known_to_parse``: SMILES the caller
    has already parsed; a non-stereo SMILES among them is not parsed again.
    """
    from rdkit import Chem

    if mol is None:
        return False
    ring_info = mol.GetRingInfo()
    if ring_info.NumRings() != 0 and any(len(ring) > LARGEST_RING_ALLOWED for ring in ring_info.AtomRings()):
        return False
    charged, foreign = _atom_queries()  # one C++ call each instead of a Python loop over atoms
    if mol.HasSubstructMatch(charged) or mol.HasSubstructMatch(foreign):
        return False
    if matches_any_pattern(Chem.AddHs(mol), screen):  # AddHs: PAINS patterns name hydrogens ([#1])
        return False
    smiles = Chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(smiles) and (smiles in known_to_parse or Chem.MolFromSmiles(smiles) is not None)
