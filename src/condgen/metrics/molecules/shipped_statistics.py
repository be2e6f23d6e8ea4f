"""The MOSES wheel's precomputed test statistics, read once through the strict loader.

molsets ships ``test_stats.npz`` and ``test_scaffolds_stats.npz``: each holds one pickled dict, made by
``moses.metrics.compute_intermediate_statistics`` on the split as stored, which MOSES's own
``get_all_metrics`` loads for the default splits::

    {"FCD": {"mu": float32 [512], "sigma": float64 [512, 512]},
     "SNN": {"fps": uint8 [N, 1024]},          # Morgan r=2 bits, rows in the split's file order
     "Frag": {"frag": Counter}, "Scaf": {"scaf": Counter},
     "logP" / "SA" / "QED" / "weight": {"values": list of N floats}}

That is everything :class:`~condgen.metrics.molecules.reference.ReferenceStatistics` needs, so using
it makes condgen's reference side the reference implementation's exactly (instead of a recomputation
with another RDKit) and spares a new user the hour that recomputation takes. The file is read with
:func:`condgen.data.strict_pickle.strict_load_npz` (numpy arrays, numbers, strings, lists, dicts and
Counters only) and converted into condgen's own pickle-free cache by the caller.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from condgen.errors import DataError
from condgen.metrics.molecules.fcd import ChemNetStatistics
from condgen.metrics.molecules.features import MORGAN_BITS

#: Where each part of condgen's statistics sits in MOSES's dict: (outer key, inner key).
_FCD = ("FCD", "mu"), ("FCD", "sigma")
_FINGERPRINTS = ("SNN", "fps")
_FRAGMENTS = ("Frag", "frag")
_SCAFFOLDS = ("Scaf", "scaf")
_PROPERTY_KEYS = ("logP", "SA", "QED", "weight")


def _part(stats: dict, path: tuple[str, str]) -> Any:
    """``stats[outer][inner]``, or None where MOSES's file lacks it."""
    outer = stats.get(path[0])
    return outer.get(path[1]) if isinstance(outer, dict) else None


def shipped_statistics_parts(path: Path) -> dict[str, Any]:
    """The parts of MOSES's statistics file ``path`` in condgen's terms; a part the file lacks is None.

    Returns:
        ``{"fcd": ChemNetStatistics | None, "fingerprints": uint8 [N, 1024] | None,
        "fragments": Counter | None, "scaffolds": Counter | None,
        "properties": {name: float64 [N]} | None}`` (properties None unless all four are there).

    Raises:
        DataError: the file is unreadable, holds a refused global, is not a MOSES statistics dict, or
            its parts disagree in size (names ``path``).
    """
    from condgen.data.strict_pickle import strict_load_npz

    stats = strict_load_npz(path).get("stats")
    if not isinstance(stats, dict):
        raise DataError(f"{path}: no MOSES statistics dict under 'stats'; reinstall molsets")
    mu, sigma = (_part(stats, key) for key in _FCD)
    fingerprints = _part(stats, _FINGERPRINTS)
    values = {name: _part(stats, (name, "values")) for name in _PROPERTY_KEYS}
    parts: dict[str, Any] = {
        "fcd": (ChemNetStatistics(np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64))
                if mu is not None and sigma is not None else None),
        "fingerprints": None if fingerprints is None else np.asarray(fingerprints, dtype=np.uint8),
        "fragments": _counter(_part(stats, _FRAGMENTS), path),
        "scaffolds": _counter(_part(stats, _SCAFFOLDS), path),
        "properties": (None if any(v is None for v in values.values())
                       else {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}),
    }
    _check_sizes(parts, path)
    return parts


def _counter(value: Any, path: Path) -> Counter | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(n, int) for k, n in value.items()):
        raise DataError(f"{path}: fragment/scaffold counts are not a SMILES → count mapping; reinstall molsets")
    return Counter(value)


def _check_sizes(parts: dict[str, Any], path: Path) -> None:
    sizes = {name: len(v) for name, v in (parts["properties"] or {}).items()}
    if parts["fingerprints"] is not None:
        if parts["fingerprints"].ndim != 2 or parts["fingerprints"].shape[1] != MORGAN_BITS:
            raise DataError(f"{path}: SNN fingerprints of shape {parts['fingerprints'].shape}, expected "
                            f"[N, {MORGAN_BITS}]")
        sizes["fingerprints"] = len(parts["fingerprints"])
    if len(set(sizes.values())) > 1:
        raise DataError(f"{path}: its parts cover different numbers of molecules {sizes}; reinstall molsets")
    fcd = parts["fcd"]
    if fcd is not None and (fcd.mu.shape != (512,) or fcd.sigma.shape != (512, 512)):
        raise DataError(f"{path}: FCD statistics of shapes {fcd.mu.shape}, {fcd.sigma.shape}, expected "
                        "[512] and [512, 512]")
