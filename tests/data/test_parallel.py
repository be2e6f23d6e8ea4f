"""The per-molecule process pool: worker counts from the cores available, ordered results, a progress bar."""

import inspect
import os

import pytest

from condgen.data.chem.parallel import Workers, available_cores, resolve_n_jobs
from condgen.errors import ConfigError


def _lengths(chunk: list[str]) -> list[int]:
    return [len(s) for s in chunk]


def test_every_core_means_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert available_cores() == 3 and resolve_n_jobs(-1) == 3 and resolve_n_jobs(2) == 2
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    assert available_cores() == 7
    with pytest.raises(ConfigError, match="n_jobs=0"):
        resolve_n_jobs(0)


def test_mol_metrics_defaults_to_every_available_core():
    from condgen.cli.molecules import mol_metrics
    from condgen.metrics.molecules.moses_metrics import moses_metrics
    from condgen.tasks.molecules import metrics_of_file

    for function in (moses_metrics, metrics_of_file):
        assert inspect.signature(function).parameters["n_jobs"].default == -1
    assert inspect.signature(mol_metrics).parameters["n_jobs"].default == -1


def test_map_keeps_order_in_a_pool_and_shows_a_bar(progress_console):
    items = [("x" * (i % 7)) for i in range(1000)]
    with Workers(2) as workers:
        assert workers.map(_lengths, items, chunk_size=64, progress="lengths") == [i % 7 for i in range(1000)]
    shown = progress_console.export_text()
    assert "lengths" in shown and "1000/1000" in shown
