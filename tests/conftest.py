"""Shared test fixtures: a private cache directory so tests never touch the user's cache. Under pytest-xdist
(``make test`` runs one worker per core) each worker, and the CLI processes it starts, gets its share of the
cores as threads, so that workers do not fight over them."""

import os

import pytest

if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    _threads = str(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = _threads
    import torch

    torch.set_num_threads(int(_threads))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    os.environ["CONDGEN_CACHE"] = str(tmp_path_factory.mktemp("condgen-cache"))
    yield


@pytest.fixture
def progress_console(monkeypatch):
    """The console of progress bars and status lines (condgen.progress.CONSOLE), recording as if it were a
    terminal, so that bars show too; ``progress_console.export_text()`` reads what it showed."""
    import io

    from rich.console import Console

    import condgen.progress

    console = Console(record=True, force_terminal=True, width=160, file=io.StringIO())
    monkeypatch.setattr(condgen.progress, "CONSOLE", console)
    return console


@pytest.fixture
def write_moses_style_npz():
    """``write(path, value)``: an ``.npz`` laid out like the MOSES wheel's statistics files — one member
    ``stats.npy`` holding ``value`` as a pickled (protocol 2) 0-d object array. Only tests write pickles."""
    import io
    import pickle
    import zipfile

    import numpy as np

    def write(path, value) -> None:
        array = np.empty((), dtype=object)
        array[()] = value
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, np.lib.format.header_data_from_array_1_0(array))
        pickle.dump(array, buffer, protocol=2)
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("stats.npy", buffer.getvalue())

    return write
