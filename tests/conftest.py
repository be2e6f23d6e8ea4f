"""Shared test fixtures: a private cache directory so tests never touch the user's cache."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    import os

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
