"""The compiled kernels of :mod:`~condgen.metrics.molecules.popcount` (imported only through it).

They live at module level because numba caches only module-level functions on disk; popcount.py sets
the cache folder before this module imports numba.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from condgen.metrics.molecules.popcount import WORDS_PER_STEP


@intrinsic
def popcount(typingctx, word):
    """``llvm.ctpop``: the CPU's popcount instruction on one 64-bit word."""

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(inline="always")
def shared_bits(a, i, b, j):
    """On-bits shared by row ``i`` of ``a`` and row ``j`` of ``b`` (``uint64 [N, W]``, W a multiple of 16)."""
    count = 0
    for base in range(0, a.shape[1], WORDS_PER_STEP):
        for w in range(WORDS_PER_STEP):  # a literal trip count: unrolled, 2.7x faster than a loop over a.shape[1]
            count += popcount(a[i, base + w] & b[j, base + w])
    return count


@njit(inline="always")
def similarity(shared, union):
    """float32 Tanimoto as MOSES forms it; 1 for two empty fingerprints."""
    return np.float32(1.0) if union == 0 else np.float32(shared) / np.float32(union)


@njit(nogil=True, cache=True)
def best_similarities(queries, query_counts, reference, group_starts, group_counts, group_order, out):
    """``out[i]`` ← max(``out[i]``, best Tanimoto of query i over the reference groups, in ``group_order``)."""
    for k in group_order:
        r = group_counts[k]
        for i in range(queries.shape[0]):
            g = query_counts[i]
            if similarity(min(g, r), max(g, r)) <= out[i]:  # the most any member of this group can reach
                continue
            most = 0
            for j in range(group_starts[k], group_starts[k + 1]):
                most = max(most, shared_bits(queries, i, reference, j))
            out[i] = max(out[i], similarity(most, g + r - most))


@njit(nogil=True, cache=True)
def similarity_power_sums(rows, row_counts, columns, column_counts, powers, out):
    """``out[k, i]`` ← sum over columns j of Tanimoto(row i, column j) ** ``powers[k]`` (float64 sums)."""
    similarities = np.empty(columns.shape[0], np.float32)
    for i in range(rows.shape[0]):
        for j in range(columns.shape[0]):
            shared = shared_bits(rows, i, columns, j)
            similarities[j] = similarity(shared, row_counts[i] + column_counts[j] - shared)
        for k in range(powers.shape[0]):
            total = 0.0
            for s in similarities:
                value = np.float32(1.0)
                for _ in range(powers[k]):  # float32 products, as MOSES's jac ** p on float32
                    value = np.float32(value * s)
                total += value
            out[k, i] = total
