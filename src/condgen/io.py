"""Files: atomic writes, JSON, safetensors, and the artifact format.

Every trained thing is a directory of ``config.json`` + ``*.safetensors``. ``config.json`` holds
``kind``, ``format_version``, the hyper-parameters, the data spec and the attribute schema; weights
are safetensors. Nothing is ever pickled. :func:`load` rebuilds any artifact through
:data:`ARTIFACT_KINDS`, a table ``kind -> "module:Class"`` that imports only the module of the kind
it loads (loading a VAE imports the VAE, not torchmetrics or RDKit).
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from condgen.errors import ArtifactError

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

#: kind -> "module:Class"; the class has ``kind`` equal to the key and ``from_artifact(directory, config)``.
ARTIFACT_KINDS: dict[str, str] = {
    "vae": "condgen.models.vae:VAE",
    "wae": "condgen.models.wae:WAE",
    "aae": "condgen.models.aae:AAE",
    "gan": "condgen.models.gan:GAN",
    "cvae": "condgen.models.cvae:CVAE",
    "cgan": "condgen.models.cgan:CGAN",
    "progan": "condgen.models.progan:ProGAN",
    "diffusion": "condgen.models.diffusion:GaussianDiffusion",
    "cdiffusion": "condgen.models.conditional_diffusion:ConditionalDiffusion",
    "charrnn": "condgen.models.charrnn:CharRNN",
    "smiles-vae": "condgen.models.smiles_vae:SmilesVAE",
    "smiles-aae": "condgen.models.smiles_aae:SmilesAAE",
    "organ": "condgen.models.organ:ORGAN",
    "gmm": "condgen.models.gmm:GaussianMixtureModel",
    "tvae": "condgen.models.tvae:TVAE",
    "ctgan": "condgen.models.ctgan:CTGAN",
    "kde": "condgen.models.kde:KernelDensityModel",
    "realnvp": "condgen.models.image_flow:RealNVP",
    "glow": "condgen.models.image_flow:Glow",
    "classifier": "condgen.models.classifier:AttributeClassifier",
    "plugin": "condgen.plugin.plugin:Plugin",
    "directions": "condgen.plugin.directions:LatentDirections",
    "latent-density": "condgen.plugin.latent_density:LatentDensity",
}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader never sees a half-written file.

    A path that exists and is not a regular file (``/dev/null``, ``/dev/stdout``, a named pipe) is
    written to directly: renaming a temporary file over it would replace the device with a file. The
    file gets the permissions a plain ``open`` would give it (a temporary file is private, mode 0600).
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        with open(path, "wb") as stream:
            stream.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _new_file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_file_mode() -> int:
    """``0o666`` minus the process's umask: the mode ``open(path, "w")`` gives a new file."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def json_ready(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by None (JSON has no NaN; ``null`` says "no value")."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: json_ready(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(value) for value in obj]
    return obj


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as strict JSON (NaN and infinities become ``null``), atomically."""
    text = json.dumps(json_ready(obj), indent=2, sort_keys=True, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def atomic_write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV table (``header`` then ``rows``) atomically; returns ``path``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(Path(path), buffer.getvalue().encode())
    return Path(path)


def tensors_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors file of ``tensors``, as bytes (the same bytes for the same tensors)."""
    # safetensors refuses shared or non-contiguous storage; clone makes each tensor its own.
    return save({k: v.detach().contiguous().clone().cpu() for k, v in tensors.items()}, metadata)


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None):
    """Save tensors as safetensors atomically (write to a temporary file, then rename)."""
    atomic_write_bytes(Path(path), tensors_bytes(tensors, metadata))


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
    """A directory path, or the name of a model shipped with condgen (see :func:`shipped_models_dir`)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = shipped_models_dir() / str(name_or_path)
    if shipped.is_dir():
        return shipped
    names = ", ".join(shipped_names()) or "none"
    raise ArtifactError(f"{name_or_path}: no such directory and no shipped model of that name (shipped: {names})")


#: Where a wheel installs the shipped models (pyproject.toml maps the repository's models/ onto it).
INSTALLED_MODELS = Path(__file__).resolve().parent / "shipped_models"
#: The repository's models/, for a source checkout or an editable install.
CHECKOUT_MODELS = Path(__file__).resolve().parents[2] / "models"


def shipped_models_dir() -> Path:
    """Where condgen's own pre-trained models live.

    ``$CONDGEN_MODELS`` when set; else the installed package's ``condgen/shipped_models`` when it
    exists (an install from a wheel); else the source checkout's ``models/``.
    """
    env = os.environ.get("CONDGEN_MODELS")
    if env:
        return Path(env)
    if INSTALLED_MODELS.is_dir():
        return INSTALLED_MODELS
    return CHECKOUT_MODELS


def shipped_names() -> list[str]:
    """The names of the shipped models, sorted (directories holding a ``config.json``)."""
    return sorted(p.name for p in shipped_models_dir().glob("*") if (p / CONFIG_FILE).is_file())


def artifact_class(kind: str) -> type:
    """The class that rebuilds artifacts of ``kind`` (importing its module only now)."""
    if kind not in ARTIFACT_KINDS:
        raise ArtifactError(f"unknown artifact kind {kind!r} (known: {', '.join(sorted(ARTIFACT_KINDS))})")
    module, _, name = ARTIFACT_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def load(name_or_path: str | os.PathLike) -> Any:
    """Rebuild any condgen artifact (model, plugin, classifier) from its directory or shipped name."""
    directory = resolve(name_or_path)
    config = read_config(directory)
    kind = config["kind"]
    if kind not in ARTIFACT_KINDS:
        raise ArtifactError(f"{directory}: unknown kind {kind!r} (known: {', '.join(sorted(ARTIFACT_KINDS))})")
    return artifact_class(kind).from_artifact(directory, config)


def shipped_model(name: str) -> Path | None:
    """The directory of the shipped model ``name``, or None (a local folder of that name does not count)."""
    directory = shipped_models_dir() / name
    return directory if (directory / CONFIG_FILE).is_file() else None


def shipped_name(directory: str | os.PathLike) -> str | None:
    """The shipped name of an artifact directory, or None when it is not one of the shipped models."""
    directory = Path(directory).resolve()
    shipped = shipped_model(directory.name)
    return directory.name if shipped is not None and shipped.resolve() == directory else None


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (read in chunks: weights files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
