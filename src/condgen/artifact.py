"""Artifacts: every trained thing is a directory of ``config.json`` + ``*.safetensors``.

``config.json`` holds ``kind`` (the registry key), ``format_version``, the model's
hyper-parameters, the data spec and the attribute schema. Weights are safetensors.
Nothing is ever pickled. :func:`load` rebuilds any artifact through :data:`REGISTRY`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from condgen.errors import ArtifactError

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

#: kind -> a function that rebuilds the object from its directory and parsed config.
REGISTRY: dict[str, Callable[[Path, dict[str, Any]], Any]] = {}


def register(kind: str) -> Callable:
    """Class decorator: ``cls.from_artifact(directory, config)`` rebuilds objects of ``kind``."""

    def decorate(cls):
        if kind in REGISTRY:
            raise ValueError(f"artifact kind {kind!r} registered twice")
        REGISTRY[kind] = cls.from_artifact
        cls.kind = kind
        return cls

    return decorate


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader never sees a half-written file.

    A path that exists and is not a regular file (``/dev/null``, ``/dev/stdout``, a named pipe) is
    written to directly: renaming a temporary file over it would replace the device with a file.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        with open(path, "wb") as stream:
            stream.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None):
    """Save tensors as safetensors atomically (write to a temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        # safetensors refuses shared or non-contiguous storage; clone makes each tensor its own.
        save_file({k: v.detach().contiguous().clone().cpu() for k, v in tensors.items()}, tmp, metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: not found")
    try:
        value = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path}: not valid JSON ({error}); the file is corrupt") from None
    if not isinstance(value, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    return value


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: weights file not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ArtifactError(f"{path}: not a readable safetensors file ({error})") from None


def write_config(directory: Path, kind: str, body: dict[str, Any]) -> None:
    """Write ``config.json`` for an artifact of ``kind``; ``body`` must be JSON-serialisable."""
    from condgen import __version__

    atomic_write_json(
        Path(directory) / CONFIG_FILE,
        {"kind": kind, "format_version": FORMAT_VERSION, "condgen_version": __version__, **body},
    )


def read_config(directory: Path) -> dict[str, Any]:
    """Read and check ``config.json`` of an artifact directory."""
    directory = Path(directory)
    if not directory.exists():
        raise ArtifactError(f"{directory}: no such artifact directory")
    if not directory.is_dir():
        raise ArtifactError(f"{directory}: an artifact is a directory with config.json, not a file")
    config = read_json(directory / CONFIG_FILE)
    if "kind" not in config or "format_version" not in config:
        raise ArtifactError(f"{directory / CONFIG_FILE}: not a condgen config (no 'kind'/'format_version')")
    if config["format_version"] > FORMAT_VERSION:
        raise ArtifactError(
            f"{directory}: written by a newer condgen (format {config['format_version']}); upgrade condgen"
        )
    return config


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A directory path, or the name of a model shipped under the repository's ``models/``."""
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = shipped_models_dir() / str(name_or_path)
    if shipped.is_dir():
        return shipped
    names = ", ".join(sorted(p.name for p in shipped_models_dir().glob("*") if p.is_dir())) or "none"
    raise ArtifactError(f"{name_or_path}: no such directory and no shipped model of that name (shipped: {names})")


def shipped_models_dir() -> Path:
    """Where condgen's own pre-trained weights live (``$CONDGEN_MODELS`` or the repo's ``models/``)."""
    env = os.environ.get("CONDGEN_MODELS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models"


def load(name_or_path: str | os.PathLike) -> Any:
    """Rebuild any condgen artifact (model, plugin, classifier) from its directory or shipped name."""
    directory = resolve(name_or_path)
    config = read_config(directory)
    _import_all_kinds()
    kind = config["kind"]
    if kind not in REGISTRY:
        raise ArtifactError(f"{directory}: unknown kind {kind!r} (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[kind](directory, config)


def _import_all_kinds() -> None:
    """Import the modules whose classes register artifact kinds."""
    import condgen.metrics  # noqa: F401
    import condgen.models  # noqa: F401
    import condgen.plugin  # noqa: F401
