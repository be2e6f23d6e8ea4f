"""Makes ``toy_models`` (tiny test models) available to this folder's tests as the ``toys`` fixture."""

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).with_name("toy_models.py")


def _load_toys():
    if "condgen_train_toy_models" not in sys.modules:
        spec = importlib.util.spec_from_file_location("condgen_train_toy_models", _PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["condgen_train_toy_models"]


@pytest.fixture
def toys():
    return _load_toys()


@pytest.fixture
def toy_models_path() -> Path:
    return _PATH
