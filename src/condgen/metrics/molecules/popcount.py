"""Tanimoto similarity on bit-packed fingerprints with the CPU's popcount, compiled by numba.

The shared on-bits of two fingerprints are ``popcount(a & b)`` summed over their 64-bit words: 16
instructions for a 1024-bit Morgan fingerprint instead of 1024 multiply-adds of a matrix product, and
on CPUs without fast int8 products (AVX2 only) the only way SNN over 176k reference fingerprints
stays in seconds. The similarities are formed in float32 exactly as MOSES forms them, so the results
are bit for bit those of its float32 matrix products.

Nearest-neighbour search (SNN) walks the reference grouped by on-bit count ``r``: a generated
fingerprint with ``g`` on-bits can reach at most ``min(g, r) / max(g, r)`` with any member of a group,
so a group that cannot beat the best similarity found so far is skipped; groups are visited nearest
count first, for blocks of generated fingerprints of similar counts. Skipping never changes the maximum.
Work is split over threads (numba releases the GIL).

numba compiles the kernels on first use and caches them under ``$CONDGEN_CACHE/numba`` (unless
``NUMBA_CACHE_DIR`` is set), so only the first run on a machine pays the few seconds.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

#: Generated fingerprints per thread task (sorted by on-bit count, so a block skips the same groups).
QUERY_BLOCK = 64
#: Fingerprints are padded to a multiple of this many 64-bit words (the kernels' unrolled step).
WORDS_PER_STEP = 16


def is_available() -> bool:
    """True if numba imports (the ``molecules`` extra installs it); otherwise callers use matrix products."""
    try:
        _kernels()
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _kernels():
    from condgen.data.cache import cache_dir

    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
    from condgen.metrics.molecules import popcount_kernels

    return popcount_kernels.best_similarities, popcount_kernels.similarity_power_sums


def warm_up() -> None:
    """Load the compiled kernels from numba's cache (about a second per process) or compile them (the first time)."""
    bits = np.zeros((2, 8), dtype=np.uint8)
    max_tanimoto(bits, bits, threads=1)
    tanimoto_power_sums(bits, (1,), threads=1)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """``uint8 [N, D]`` 0/1 bits → ``uint64 [N, W]``, W the multiple of :data:`WORDS_PER_STEP` ≥ D / 64
    (zero-padded; padding changes no count)."""
    bits = np.asarray(bits, dtype=np.uint8)
    step = 64 * WORDS_PER_STEP
    words = -(-bits.shape[1] // step) * WORDS_PER_STEP
    padded = np.zeros((bits.shape[0], words * 64), dtype=np.uint8)
    padded[:, :bits.shape[1]] = bits
    return np.ascontiguousarray(np.packbits(padded, axis=1)).view(np.uint64)


def _threads(threads: int | None) -> int:
    if threads is not None:
        return max(1, threads)
    import torch

    return torch.get_num_threads()


def _map_blocks(function, n: int, block: int, threads: int) -> None:
    blocks = [slice(i, min(i + block, n)) for i in range(0, n, block)]
    if threads == 1 or len(blocks) == 1:
        for rows in blocks:
            function(rows)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(function, blocks))


def max_tanimoto(reference: np.ndarray, generated: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Highest float32 Tanimoto of each generated fingerprint to any reference one, ``float32 [G]``.

    Args:
        reference: ``uint8 [R, D]`` 0/1 bits (faster when sorted by on-bit count, as cached sets are).
        generated: ``uint8 [G, D]`` 0/1 bits.
        threads: worker threads (default: ``torch.get_num_threads()``).
    """
    best_similarities, _ = _kernels()
    reference, generated = np.asarray(reference, dtype=np.uint8), np.asarray(generated, dtype=np.uint8)
    ref_counts = reference.sum(1, dtype=np.int64)
    if (ref_counts[1:] < ref_counts[:-1]).any():
        order = np.argsort(ref_counts, kind="stable")
        reference, ref_counts = reference[order], ref_counts[order]
    group_counts, group_starts = np.unique(ref_counts, return_index=True)
    group_starts = np.append(group_starts, len(ref_counts)).astype(np.int64)
    ref_words = pack_bits(reference)
    gen_counts = generated.sum(1, dtype=np.int64)
    order = np.argsort(gen_counts, kind="stable")  # blocks of similar counts skip the same groups
    queries, query_counts = pack_bits(generated[order]), gen_counts[order]
    best = np.zeros(len(queries), dtype=np.float32)

    def run(rows: slice) -> None:
        centre = np.median(query_counts[rows])
        group_order = np.argsort(np.abs(group_counts - centre), kind="stable").astype(np.int64)
        best_similarities(queries[rows], query_counts[rows], ref_words, group_starts, group_counts, group_order,
                          best[rows])

    if len(ref_counts):
        _map_blocks(run, len(queries), QUERY_BLOCK, _threads(threads))
    out = np.empty_like(best)
    out[order] = best
    return out


def tanimoto_power_sums(fingerprints: np.ndarray, powers: tuple[int, ...], threads: int | None = None
                        ) -> np.ndarray:
    """``float64 [len(powers), N]``: for each fingerprint, the sum over all N of its float32 Tanimoto ** p."""
    _, similarity_power_sums = _kernels()
    counts = np.asarray(fingerprints, dtype=np.uint8).sum(1, dtype=np.int64)
    words = pack_bits(fingerprints)
    exponents = np.asarray(powers, dtype=np.int64)
    totals = np.zeros((len(powers), len(words)), dtype=np.float64)

    def run(rows: slice) -> None:
        part = np.zeros((len(powers), rows.stop - rows.start), dtype=np.float64)
        similarity_power_sums(words[rows], counts[rows], words, counts, exponents, part)
        totals[:, rows] = part

    _map_blocks(run, len(words), QUERY_BLOCK, _threads(threads))
    return totals
