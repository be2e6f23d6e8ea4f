"""Tanimoto similarity on bit-packed fingerprints with the CPU's popcount, compiled by numba.

The shared on-bits of two fingerprints are ``popcount(a & b)`` summed over their 64-bit words: 16
instructions for a 1024-bit Morgan fingerprint instead of 1024 multiply-adds of a matrix product, and
on CPUs without fast int8 products (AVX2 only) the only way SNN over 176k reference fingerprints
stays in seconds. The similarities are formed in float32 exactly as MOSES forms them, so the results
are bit for bit those of its float32 matrix products.

Nearest-neighbour search (SNN) walks the reference grouped by on-bit count ``r``: a generated
fingerprint with ``g`` on-bits can reach at most ``min(g, r) / max(g, r)`` with any member of a group,
so a group that cannot beat the best similarity found so far is skipped; groups are visited nearest
count first, and each group is scanned in cache-sized chunks for a block of generated fingerprints of
similar counts. Skipping never changes the maximum. Work is split over threads (numba releases the GIL).

numba compiles the kernels on first use and caches them under ``$CONDGEN_CACHE/numba`` (unless
``NUMBA_CACHE_DIR`` is set), so only the first run on a machine pays the few seconds.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

#: Generated fingerprints per task: they share each reference chunk while it is in cache.
QUERY_BLOCK = 64
#: Reference fingerprints scanned per query before the next query (1024 x 128 B = 128 kB, in L2).
REFERENCE_CHUNK = 1024


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
    from numba import njit, types
    from numba.extending import intrinsic

    @intrinsic
    def popcount(typingctx, word):
        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])

        return types.uint64(types.uint64), codegen

    @njit(inline="always")
    def shared_bits(a, i, b, j):
        count = 0
        for w in range(a.shape[1]):
            count += popcount(a[i, w] & b[j, w])
        return count

    @njit(inline="always")
    def similarity(shared, union):
        return np.float32(1.0) if union == 0 else np.float32(shared) / np.float32(union)

    @njit(nogil=True, cache=True)
    def best_similarities(queries, query_counts, reference, group_starts, group_counts, group_order, out):
        n = queries.shape[0]
        most = np.zeros(n, np.int64)
        active = np.zeros(n, np.bool_)
        for k in group_order:
            r = group_counts[k]
            any_active = False
            for i in range(n):
                g = query_counts[i]
                bound = similarity(min(g, r), max(g, r))  # the most any member of this group can reach
                active[i] = bound > out[i]
                most[i] = 0
                any_active = any_active or active[i]
            if not any_active:
                continue
            for start in range(group_starts[k], group_starts[k + 1], REFERENCE_CHUNK):
                stop = min(start + REFERENCE_CHUNK, group_starts[k + 1])
                for i in range(n):
                    if active[i]:
                        m = most[i]
                        for j in range(start, stop):
                            m = max(m, shared_bits(queries, i, reference, j))
                        most[i] = m
            for i in range(n):
                if active[i]:
                    out[i] = max(out[i], similarity(most[i], query_counts[i] + r - most[i]))

    @njit(nogil=True, cache=True)
    def similarity_power_sums(rows, row_counts, columns, column_counts, powers, out):
        for i in range(rows.shape[0]):
            for j in range(columns.shape[0]):
                shared = shared_bits(rows, i, columns, j)
                s = similarity(shared, row_counts[i] + column_counts[j] - shared)
                for k in range(powers.shape[0]):
                    value = np.float32(1.0)
                    for _ in range(powers[k]):  # float32 products, as MOSES's jac ** p on float32
                        value = np.float32(value * s)
                    out[k, i] += value

    return best_similarities, similarity_power_sums


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """``uint8 [N, D]`` 0/1 bits → ``uint64 [N, ceil(D / 64)]`` (zero-padded; padding changes no count)."""
    bits = np.asarray(bits, dtype=np.uint8)
    words = -(-bits.shape[1] // 64)
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
        best_similarities(queries[rows], query_counts[rows], ref_words, group_starts, group_counts.astype(np.int64),
                          group_order, best[rows])

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
