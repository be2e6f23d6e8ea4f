"""Reference-side statistics for the MOSES metrics, made once and cached on disk.

For the default MOSES test and scaffold-test splits the statistics come from the molsets wheel
itself: it ships them precomputed (``test_stats.npz``, ``test_scaffolds_stats.npz``, the very files
MOSES's ``get_all_metrics`` loads), read once through the strict allow-list loader
(:mod:`~condgen.metrics.molecules.shipped_statistics`); a part such a file lacked would be computed.
Any other reference set is computed here with the installed RDKit. Either way the result is kept
under ``$CONDGEN_CACHE/moses/`` as an ``.npz`` (arrays, ``allow_pickle=False``) plus a ``.json``
(fragment and scaffold counts). The cache key holds the molecules (the split's and statistics
file's identity for a MOSES split, a hash of the SMILES otherwise), the RDKit version and
:data:`STATISTICS_VERSION`, so a different input or RDKit never reads stale numbers.

The training set is only needed for novelty: it is cached as the sorted 64-bit BLAKE2b hashes of
its SMILES (13 MB instead of 1.6 million Python strings; a false "not novel" would need a 64-bit
collision, odds about 1e-9 for 10k molecules). MOSES's novelty compares the generated molecules'
canonical SMILES with the training SMILES *as stored*, so they are hashed as stored, without
RDKit; they are RDKit-canonical anyway (see :func:`training_set_hashes` for the measurement).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from condgen.data.chem.parallel import Workers
from condgen.metrics.molecules.fcd import ChemNetStatistics, chemnet_statistics
from condgen.metrics.molecules.features import MORGAN_BITS, describe_reference
from condgen.metrics.molecules.fingerprints import unpack_fingerprints

#: Bump when the way statistics are computed changes; old cache files are then ignored.
STATISTICS_VERSION = 2
PROPERTY_KEYS = ("logP", "SA", "QED", "weight")


@dataclass
class ReferenceStatistics:
    """What the MOSES metrics need of a reference set of N molecules.

    Attributes:
        fingerprints: ``uint8 [N, 1024]`` Morgan bits (radius 2); the row order carries no meaning
            (:func:`reference_statistics` sorts them by on-bit count, the order SNN reads fastest).
        fcd: ChemNet activation mean/covariance (None for fewer than 2 molecules).
        fragments: BRICS fragment SMILES → count over all molecules.
        scaffolds: Murcko scaffold SMILES (2+ rings) → count.
        properties: "logP", "SA", "QED", "weight" → ``float64 [N]``.
    """

    fingerprints: np.ndarray
    fcd: ChemNetStatistics | None
    fragments: Counter
    scaffolds: Counter
    properties: dict[str, np.ndarray]


def complete_statistics(known: dict[str, Any], smiles: Sequence[str], workers: Workers, device: str = "cpu",
                        what: str = "reference") -> ReferenceStatistics:
    """``known`` parts (keys of :class:`ReferenceStatistics`; a missing or None one is computed from ``smiles``).

    RDKit describes the molecules only when a part other than ``fcd`` is missing, or ``fcd`` is (it needs
    their canonical SMILES); ChemNet runs only when ``fcd`` is missing.
    """
    missing = [name for name in ("fingerprints", "fcd", "fragments", "scaffolds", "properties")
               if known.get(name) is None]
    parts = dict(known)
    if missing:
        from condgen.progress import status

        status(f"{what}: computing {', '.join(missing)} of {len(smiles):,} molecules (once; then cached)")
        records = workers.map(describe_reference, list(smiles), progress=what)
        computed = {
            "fingerprints": lambda: unpack_fingerprints(np.frombuffer(
                b"".join(r.fingerprint for r in records), dtype=np.uint8).reshape(len(records), MORGAN_BITS // 8)),
            "fcd": lambda: chemnet_statistics([r.canonical for r in records], device=device),
            "fragments": lambda: Counter(fragment for r in records for fragment in r.fragments),
            "scaffolds": lambda: Counter(r.scaffold for r in records if r.scaffold is not None),
            "properties": lambda: {k: np.array([getattr(r, k) for r in records], dtype=np.float64)
                                   for k in PROPERTY_KEYS},
        }
        if "fcd" in missing:
            status(f"{what}: ChemNet activations of {len(records):,} molecules for FCD")
        parts.update({name: computed[name]() for name in missing})
    return ReferenceStatistics(**{name: parts[name] for name in ReferenceStatistics.__dataclass_fields__})


def compute_reference_statistics(smiles: Sequence[str], workers: Workers, device: str = "cpu"
                                 ) -> ReferenceStatistics:
    """Statistics of a reference set, computed now (see :func:`reference_statistics` for the cache)."""
    return complete_statistics({}, smiles, workers, device)


# -- cache -----------------------------------------------------------------------------------------
def _cache_stem(kind: str, key: dict[str, Any]) -> Path:
    from rdkit import __version__ as rdkit_version

    from condgen.data.cache import cache_dir

    full = {"kind": kind, "rdkit": rdkit_version, "version": STATISTICS_VERSION, **key}
    digest = hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / "moses" / f"{kind}-{key.get('split', 'custom')}-{digest}"


def _split_key(split: str) -> dict[str, Any]:
    from importlib import metadata

    from condgen.data.moses import moses_split_path

    path = moses_split_path(split)
    return {"split": split, "molsets": metadata.version("molsets"), "bytes": path.stat().st_size}


def _smiles_key(smiles: Sequence[str]) -> dict[str, Any]:
    digest = hashlib.sha256("\n".join(smiles).encode()).hexdigest()
    return {"n": len(smiles), "sha256": digest}


def _save(stem: Path, stats: ReferenceStatistics) -> None:
    from condgen.io import atomic_write_bytes

    arrays = {"fingerprints": np.packbits(stats.fingerprints, axis=1),
              **{f"property_{k}": v for k, v in stats.properties.items()}}
    if stats.fcd is not None:
        arrays.update(fcd_mu=stats.fcd.mu, fcd_sigma=stats.fcd.sigma)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    counts = {"fragments": dict(stats.fragments), "scaffolds": dict(stats.scaffolds)}
    try:
        atomic_write_bytes(stem.with_suffix(".json"), json.dumps(counts).encode())
        atomic_write_bytes(stem.with_suffix(".npz"), buffer.getvalue())
    except OSError:
        pass  # a read-only cache costs time, never correctness


def _load(stem: Path) -> ReferenceStatistics | None:
    try:
        counts = json.loads(stem.with_suffix(".json").read_text())
        with np.load(stem.with_suffix(".npz"), allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None  # missing or unreadable: recompute
    fcd = ChemNetStatistics(arrays["fcd_mu"], arrays["fcd_sigma"]) if "fcd_mu" in arrays else None
    return ReferenceStatistics(
        fingerprints=unpack_fingerprints(arrays["fingerprints"], MORGAN_BITS),
        fcd=fcd,
        fragments=Counter(counts["fragments"]),
        scaffolds=Counter(counts["scaffolds"]),
        properties={k: arrays[f"property_{k}"] for k in PROPERTY_KEYS},
    )


def reference_statistics(smiles: Sequence[str] | None, split: str, workers: Workers, device: str = "cpu",
                         use_cache: bool = True) -> ReferenceStatistics:
    """Statistics of ``smiles``, or of the MOSES split ``split`` when ``smiles`` is None; cached on disk.

    For a MOSES split, the statistics the molsets wheel ships (``<split>_stats.npz``) are used where it has
    them; only what such a file lacks is computed.
    """
    from condgen.data.moses import moses_split, moses_statistics_path
    from condgen.progress import status

    shipped = moses_statistics_path(split) if smiles is None else None
    key = _split_key(split) if smiles is None else _smiles_key(smiles)
    if shipped is not None:
        key = {**key, "shipped_statistics_bytes": shipped.stat().st_size}
    stem = _cache_stem("reference", key)
    if use_cache and (stored := _load(stem)) is not None:
        return stored
    known: dict[str, Any] = {}
    if shipped is not None:
        from condgen.metrics.molecules.shipped_statistics import shipped_statistics_parts

        status(f"{split}: reading the statistics molsets ships ({shipped.name}; once, then cached)")
        known = shipped_statistics_parts(shipped)
    needs_molecules = not known or any(v is None for v in known.values())
    molecules = (moses_split(split) if smiles is None else smiles) if needs_molecules else []
    stats = complete_statistics(known, molecules, workers, device=device, what=split)
    stats.fingerprints = stats.fingerprints[np.argsort(stats.fingerprints.sum(1), kind="stable")]
    if use_cache:
        _save(stem, stats)
    return stats


# -- training set (novelty) --------------------------------------------------------------------------
def smiles_hashes(smiles: Sequence[str]) -> np.ndarray:
    """Sorted distinct 64-bit BLAKE2b hashes ``uint64 [M]`` of SMILES strings."""
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") for s in smiles),
        dtype=np.uint64, count=len(smiles))
    return np.unique(hashes)


def training_set_hashes(train: Sequence[str] | None, use_cache: bool = True) -> np.ndarray:
    """:func:`smiles_hashes` of ``train``, or of the MOSES train split (cached) when it is None.

    The SMILES are hashed as given, never canonicalised: that is what MOSES's novelty compares the
    canonical generated SMILES against (``set(train)``), and it takes seconds instead of the half hour
    canonicalising 1.58M molecules costs. Measured with RDKit 2026.09.1 on 200,000 stored MOSES training
    SMILES (``benchmarks/moses_train_canonical.py``): 45 (0.02 %) differ from their canonical form, all
    the same after a second pass (mostly an explicit ``[H]N=`` imine); MOSES counts a generated copy of
    one of those as novel, and so does this.
    """
    from condgen.data.moses import moses_split
    from condgen.io import atomic_write_bytes

    if train is not None:
        return smiles_hashes(train)
    path = _cache_stem("train-hashes", _split_key("train")).with_suffix(".npy")
    if use_cache:
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            pass
    from condgen.progress import status

    train = moses_split("train")
    status(f"train: hashing the {len(train):,} MOSES training SMILES for novelty (once, then cached)")
    hashes = smiles_hashes(train)
    if use_cache:
        buffer = io.BytesIO()
        np.save(buffer, hashes)
        try:
            atomic_write_bytes(path, buffer.getvalue())
        except OSError:
            pass
    return hashes


def novel_fraction(canonical_smiles: Sequence[str], train_hashes: np.ndarray) -> float:
    """Share of the distinct SMILES whose hash is not among the (sorted) training hashes."""
    distinct = smiles_hashes(list(set(canonical_smiles)))
    if len(distinct) == 0:
        return float("nan")
    position = np.clip(np.searchsorted(train_hashes, distinct), 0, max(len(train_hashes) - 1, 0))
    seen = train_hashes[position] == distinct if len(train_hashes) else np.zeros(len(distinct), dtype=bool)
    return float(1.0 - seen.mean())
