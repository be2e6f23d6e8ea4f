"""Everything MOSES needs to know about one molecule, computed in one pass in a worker process.

The reference implementation walks the molecule list once per metric (parsing, fingerprints for
SNN twice and IntDiv twice, fragments and scaffolds twice, each property once) and ships RDKit
molecules between processes each time. Here each SMILES is parsed once and reduced to a small
record of plain values: canonical SMILES, packed Morgan bits, BRICS fragments, Murcko scaffold,
the filter verdict and four properties.

Generated molecules follow MOSES's exact path: parse the input, canonicalise it, parse the
canonical SMILES again and compute everything on that second molecule; uniqueness, novelty and
FCD use the canonical SMILES of that second molecule (the reference canonicalises twice).
Reference-set molecules are used as they are given, like the reference's precomputed statistics.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from condgen.data.chem.properties import parse_smiles
from condgen.errors import DataError

#: Morgan fingerprints as MOSES uses them: radius 2, 1024 bits.
MORGAN_RADIUS = 2
MORGAN_BITS = 1024
#: Scaffolds with fewer rings are not counted by Scaf (MOSES's ``min_rings``).
SCAFFOLD_MIN_RINGS = 2


class MoleculeRecord(NamedTuple):
    """One molecule reduced to what the metrics read (None fields: not computed or not defined)."""

    canonical: str  # canonical SMILES used for unique@k, novelty and FCD
    fingerprint: bytes  # Morgan bits packed with np.packbits, MORGAN_BITS / 8 bytes
    fragments: tuple[str, ...]  # BRICS fragments (SMILES)
    scaffold: str | None  # Murcko scaffold SMILES, None if fewer than SCAFFOLD_MIN_RINGS rings
    passes_filters: bool | None
    logP: float
    SA: float
    QED: float
    weight: float


@lru_cache(maxsize=1)
def _morgan_generator():
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)


def morgan_bits(mol) -> np.ndarray:
    """``uint8 [1024]`` Morgan fingerprint bits (radius 2) of a molecule, as MOSES computes them."""
    return _morgan_generator().GetFingerprintAsNumPy(mol).astype(np.uint8)


def brics_fragments(mol) -> tuple[str, ...]:
    """SMILES of the fragments left after cutting every BRICS bond (MOSES's ``fragmenter``)."""
    from rdkit import Chem
    from rdkit.Chem.AllChem import FragmentOnBRICSBonds

    return tuple(Chem.MolToSmiles(FragmentOnBRICSBonds(mol)).split("."))


def murcko_scaffold(mol, min_rings: int = SCAFFOLD_MIN_RINGS) -> str | None:
    """Bemis-Murcko scaffold SMILES, or None if it has fewer than ``min_rings`` rings."""
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold

    try:
        scaffold = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    n_rings = scaffold.GetRingInfo().NumRings()
    smiles = Chem.MolToSmiles(scaffold)
    return None if smiles == "" or n_rings < min_rings else smiles


def _record(mol, canonical: str, with_filters: bool, known_to_parse: frozenset[str] = frozenset()) -> MoleculeRecord:
    from rdkit.Chem import Descriptors

    from condgen.data.chem.sascorer import sa_score
    from condgen.metrics.molecules.filters import passes_moses_filters
    from condgen.metrics.molecules.qed import qed_and_logp

    qed, logp = qed_and_logp(mol)
    return MoleculeRecord(
        canonical=canonical,
        fingerprint=np.packbits(morgan_bits(mol)).tobytes(),
        fragments=brics_fragments(mol),
        scaffold=murcko_scaffold(mol),
        passes_filters=passes_moses_filters(mol, known_to_parse=known_to_parse) if with_filters else None,
        logP=logp,
        SA=sa_score(mol),
        QED=qed,
        weight=float(Descriptors.MolWt(mol)),
    )


def describe_generated(smiles_chunk: list[str]) -> list[MoleculeRecord | None]:
    """Records of generated SMILES, None for an invalid one (worker function, see module doc)."""
    from rdkit import Chem, rdBase

    records: list[MoleculeRecord | None] = []
    with rdBase.BlockLogs():
        for smiles in smiles_chunk:
            first = parse_smiles(smiles) if isinstance(smiles, str) else None
            if first is None:
                records.append(None)
                continue
            once = Chem.MolToSmiles(first)
            if once == smiles:  # already canonical: re-parsing the same string gives the same molecule
                mol, canonical, parsed = first, once, frozenset({smiles})
            else:
                # MOSES computes every metric on the re-parsed canonical SMILES; in the rare case where
                # RDKit cannot read its own output back, fall back to the first molecule.
                second = parse_smiles(once)
                mol = second or first
                canonical = Chem.MolToSmiles(mol)
                parsed = frozenset({smiles, once}) if second is not None else frozenset({smiles})
            records.append(_record(mol, canonical, with_filters=True, known_to_parse=parsed))
    return records


def describe_reference(smiles_chunk: list[str]) -> list[MoleculeRecord]:
    """Records of reference-set SMILES (test, scaffold test); an invalid one is a DataError."""
    from rdkit import Chem, rdBase

    records = []
    with rdBase.BlockLogs():
        for smiles in smiles_chunk:
            mol = parse_smiles(smiles) if isinstance(smiles, str) else None
            if mol is None:
                raise DataError(f"reference SMILES {smiles!r} is invalid; a reference set must hold valid "
                                "molecules only")
            records.append(_record(mol, Chem.MolToSmiles(mol), with_filters=False))
    return records


def warm_up_workers() -> None:
    """Load what every worker needs before the pool forks, so workers inherit it instead of reloading."""
    from condgen.data.chem.sascorer import load_sascorer
    from condgen.metrics.molecules.filters import _atom_queries, screened_filter_patterns
    from condgen.metrics.molecules.qed import acceptor_and_alert_fingerprints

    load_sascorer()
    screened_filter_patterns()
    _atom_queries()
    acceptor_and_alert_fingerprints()
    _morgan_generator()
