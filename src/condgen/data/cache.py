"""On-disk cache of generated data sets (``.npz``, no pickles), keyed by everything that shapes them.

Generated sets are deterministic in their parameters, so a cache hit is exactly the data a fresh
generation would give. The key holds the set's name, its parameters (n, size, seed, options) and
the generator version, which a generator bumps whenever its drawing changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from condgen.data.dataset import LabeledDataset
from condgen.errors import ConfigError
from condgen.io import atomic_write_bytes

CACHE_ENV = "CONDGEN_CACHE"


def cache_dir() -> Path:
    """The cache folder: ``$CONDGEN_CACHE`` or ``~/.cache/condgen``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "condgen"


def cache_path(name: str, key: dict[str, Any]) -> Path:
    """File that holds the generated set ``name`` with parameters ``key`` (a JSON-able dict)."""
    text = json.dumps({"name": name, **key}, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    readable = "-".join(f"{k}{key[k]}" for k in ("n", "size", "seed", "version") if k in key)
    return cache_dir() / f"{name}-{readable}-{digest}.npz"


def load_or_build(
    name: str,
    key: dict[str, Any],
    build: Callable[[], dict[str, np.ndarray]],
    use_cache: bool = True,
) -> dict[str, np.ndarray]:
    """Arrays of the cached set ``(name, key)``, generating and storing them with ``build()`` on a miss.

    A cache file that cannot be read (truncated, foreign) is regenerated and replaced rather than
    reported, because the cache holds nothing that cannot be rebuilt.
    """
    if not use_cache:
        return build()
    path = cache_path(name, key)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {k: stored[k] for k in stored.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            pass  # unreadable: fall through and rebuild it
    arrays = build()
    buffer = io.BytesIO()
    # Uncompressed: the per-pixel noise makes images nearly incompressible, and loading stays fast.
    np.savez(buffer, **arrays)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as error:  # a read-only or full cache only costs time, never correctness
        warnings.warn(f"could not write the data cache {path}: {error}; set ${CACHE_ENV} to a writable folder",
                      stacklevel=2)
    return arrays


def load_procedural_images(name: str, schema, generate, version: int, n: int, size: int, seed: int,
                           options: dict) -> LabeledDataset:
    """A procedural image set: ``generate(n, size, seed) -> {"images", "attributes"}``, cached on disk.

    ``options`` may only hold ``cache`` (False skips the on-disk cache); the spec records how to rebuild it.
    """
    from condgen.data.render import check_count, check_size

    options = dict(options)
    use_cache = bool(options.pop("cache", True))
    if options:
        raise ConfigError(f"{name}: unknown option(s) {', '.join(sorted(options))}; {name} takes n, size, seed")
    n, size, seed = check_count(n, name), check_size(size, name), int(seed)
    key = {"n": n, "size": size, "seed": seed, "version": version}
    arrays = load_or_build(name, key, lambda: generate(n, size, seed), use_cache)
    attributes = torch.from_numpy(arrays["attributes"])
    return LabeledDataset(data=torch.from_numpy(arrays["images"]), attributes=attributes,
                          schema=schema.with_statistics(attributes),
                          spec={"name": name, "n": n, "size": size, "seed": seed, "modality": "images"})
