"""Shared test fixtures: a private cache directory so tests never touch the user's cache."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    import os

    os.environ["CONDGEN_CACHE"] = str(tmp_path_factory.mktemp("condgen-cache"))
    yield
