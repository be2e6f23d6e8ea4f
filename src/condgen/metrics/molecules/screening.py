"""Substructure matching of many SMARTS patterns against one molecule, screened by pattern fingerprints.

RDKit's pattern fingerprint is built for substructure screening (its SubstructLibrary relies on
it): if a pattern matches a molecule, every bit of the pattern's fingerprint is set in the
molecule's. Checking those bits for all patterns at once is a few microseconds, so only the few
patterns that pass are matched for real, and the answers equal matching every pattern.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def packed_bits(bit_vector) -> np.ndarray:
    """An RDKit bit vector's bits packed into ``uint64 [n_bits / 64]``."""
    as_text = np.frombuffer(bit_vector.ToBitString().encode(), dtype=np.uint8) == ord("1")
    return np.packbits(as_text).view(np.uint64)


def pattern_fingerprints(patterns: Sequence) -> np.ndarray:
    """Packed pattern fingerprints ``uint64 [P, 32]`` of RDKit query molecules."""
    from rdkit import Chem

    return np.stack([packed_bits(Chem.PatternFingerprint(p)) for p in patterns])


def possible_matches(mol, fingerprints: np.ndarray) -> np.ndarray:
    """Indices of the patterns whose fingerprint bits are all set in ``mol``'s (all others cannot match)."""
    from rdkit import Chem

    molecule = packed_bits(Chem.PatternFingerprint(mol))
    return np.flatnonzero(~(fingerprints & ~molecule).any(axis=1))
