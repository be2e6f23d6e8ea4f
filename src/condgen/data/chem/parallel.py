"""A small process pool for per-molecule RDKit work: chunks of SMILES in, plain Python values out.

Workers receive SMILES strings and return strings, numbers and bytes, never RDKit molecules: pickling
a molecule costs about as much as parsing it again, which is what MOSES's reference code pays on
every metric. On Linux workers are forked, so the parent's loaded SA fragment scores and compiled
filter patterns are shared without reloading; elsewhere they are spawned.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from condgen.errors import ConfigError

T = TypeVar("T")

#: Molecules per task: large enough to hide inter-process overhead, small enough to balance load.
CHUNK_SIZE = 256


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's or ``taskset``'s share), else all."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no affinity on macOS and Windows
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs: int) -> int:
    """``n_jobs`` as a worker count: -1 means every available core (:func:`available_cores`); 1, no pool."""
    if n_jobs == -1:
        return available_cores()
    if n_jobs < 1:
        raise ConfigError(f"n_jobs={n_jobs}: use a positive number of workers, or -1 for every core")
    return n_jobs


class Workers:
    """Context manager: ``with Workers(2) as workers: workers.map(func, smiles)``.

    ``func`` takes a list of items and returns a list of results of the same length (a whole chunk
    per call keeps the per-task overhead negligible); it must be a module-level function.
    """

    def __init__(self, n_jobs: int = 1):
        self.n_jobs = resolve_n_jobs(n_jobs)
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        if self.n_jobs > 1:
            method = "fork" if sys.platform.startswith("linux") else "spawn"
            self._executor = ProcessPoolExecutor(self.n_jobs, mp_context=multiprocessing.get_context(method))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def map(self, func: Callable[[list], list[T]], items: Sequence, chunk_size: int = CHUNK_SIZE,
            progress: str | None = None) -> list[T]:
        """``func`` over ``items`` in chunks, in order, in the pool when there is one; with ``progress``, a
        progress bar of that name over the items (on a terminal)."""
        return self.map_later(func, items, chunk_size)(progress)

    def map_later(self, func: Callable[[list], list[T]], items: Sequence, chunk_size: int = CHUNK_SIZE
                  ) -> Callable[[str | None], list[T]]:
        """:meth:`map`, started now in the pool (the caller does other work meanwhile); returns the function
        that waits for the results: ``collect(progress)``. Without a pool the work runs when collected."""
        from condgen.progress import ProgressBar

        chunks = [list(items[i:i + chunk_size]) for i in range(0, len(items), chunk_size)]
        if self._executor is None or len(chunks) < 2:
            parts = (func(chunk) for chunk in chunks)
        else:
            parts = self._executor.map(func, chunks)  # submits every chunk now

        def collect(progress: str | None = None) -> list[T]:
            values: list[T] = []
            with ProgressBar(len(items), 0, progress is not None, description=progress or "") as bar:
                for part in parts:
                    values.extend(part)
                    bar.update(len(values))
            return values

        return collect
