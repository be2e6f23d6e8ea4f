"""How a plugin is stored: its flow and prior (``config.json`` + ``model.safetensors``) and a reference to
the backbone it steers, which it does not copy.

``config.json`` → ``"backbone"`` is one of

* ``{"kind": "vae", "name": "faces-vae", "sha256": …}`` — a shipped model, by name;
* ``{"kind": "vae", "path": "../vae", "sha256": …}`` — another artifact directory, relative to the
  plugin's own directory (absolute only where no relative path exists);
* ``{"kind": "vae", "copy": "backbone", "sha256": …}`` — a copy in the plugin's ``backbone/``: asked for
  (:attr:`Plugin.copy_backbone`, ``--copy-backbone``), or because the backbone's weights were never saved;
* ``{"kind": null, "type": "BackboneAdapter"}`` — a backbone condgen cannot save: pass it to
  :meth:`Plugin.load` (``backbone=``).

``sha256`` is the hash of the backbone's ``model.safetensors``; loading checks it, so a plugin never
silently steers other weights than those it was fitted on. Plugins written before references existed
(``{"saved": true, …}`` and a ``backbone/`` folder) load as copies.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from condgen.data.schema import AttributeSchema
from condgen.errors import ArtifactError, ConfigError, DataError
from condgen.io import (
    WEIGHTS_FILE,
    atomic_save_tensors,
    file_sha256,
    load,
    read_config,
    shipped_model,
    shipped_name,
    tensors_bytes,
    write_config,
)
from condgen.plugin.calibration import calibration_from_dict

BACKBONE_DIR = "backbone"


def save_plugin(plugin, directory: Path) -> Path:
    """Write ``plugin`` to ``directory``: flow weights, config and the backbone's reference (module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    reference = backbone_reference(plugin, directory)
    atomic_save_tensors(directory / WEIGHTS_FILE, plugin.state_dict())
    write_config(directory, plugin.kind, {**plugin.artifact_body(), "backbone": reference})
    plugin.artifact_dir = directory.resolve()
    return directory


def backbone_reference(plugin, directory: Path) -> dict[str, Any]:
    """How ``directory``'s config will find the plugin's backbone; copies it into ``backbone/`` if needed.

    The backbone is referred to when its artifact directory holds exactly its current weights; the
    answer is kept on the plugin, so the engine's checkpoints hash the backbone only once per run.
    """
    backbone = plugin._backbone
    kind = getattr(backbone, "kind", None) if callable(getattr(backbone, "save", None)) else None
    if not kind:
        return {"kind": None, "type": type(backbone).__name__ if backbone is not None else None}
    cached = plugin.__dict__.get("_reference_cache")
    if cached is not None and cached[0] is backbone and cached[1] == directory.resolve():
        reference = cached[2]
    else:
        reference = _new_reference(plugin, backbone, kind, directory)
        plugin.__dict__["_reference_cache"] = (backbone, directory.resolve(), reference)
    if "copy" in reference and not (directory / BACKBONE_DIR / WEIGHTS_FILE).is_file():
        backbone.save(directory / BACKBONE_DIR)
    return dict(reference)


def _new_reference(plugin, backbone, kind: str, directory: Path) -> dict[str, Any]:
    weights = tensors_bytes(backbone.state_dict())
    sha = hashlib.sha256(weights).hexdigest()
    source = getattr(backbone, "artifact_dir", None)
    on_disk = source is not None and (Path(source) / WEIGHTS_FILE).is_file() and \
        file_sha256(Path(source) / WEIGHTS_FILE) == sha
    if plugin.copy_backbone or not on_disk or Path(source).resolve() == (directory / BACKBONE_DIR).resolve():
        backbone.save(directory / BACKBONE_DIR)
        backbone.artifact_dir = source  # the copy belongs to this plugin; other plugins must not refer to it
        return {"kind": kind, "copy": BACKBONE_DIR, "sha256": sha}
    name = shipped_name(source)
    if name is not None:
        return {"kind": kind, "name": name, "sha256": sha}
    try:
        where = os.path.relpath(Path(source).resolve(), directory.resolve())
    except ValueError:  # another drive (Windows): no relative path exists
        where = str(Path(source).resolve())
    return {"kind": kind, "path": where, "sha256": sha}


def load_plugin(directory: Path, backbone=None):
    """Rebuild the plugin saved in ``directory``; ``backbone`` replaces the one it refers to."""
    config = read_config(directory)
    if config["kind"] != "plugin":
        raise ArtifactError(f"{directory}: holds a {config['kind']!r}, not a plugin")
    return plugin_from_config(directory, config, backbone)


def plugin_from_config(directory: Path, body: dict[str, Any], backbone=None):
    """The plugin described by ``body`` (a parsed ``config.json`` of ``directory``) with its backbone."""
    from condgen.plugin.plugin import Plugin

    try:
        # Plugins saved before the flow had mixing layers have couplings only; before projections, none.
        config = Plugin.build_config({"mixing": "none", "projection_dim": 0, **body["config"]})
        schema = AttributeSchema.from_dict(body["attributes"])
        latent_dim = int(body["latent_dim"])
        prior = body.get("prior", {})
    except (KeyError, TypeError, ValueError, ConfigError, DataError) as error:
        raise ArtifactError(f"{directory}: config.json does not describe a plugin ({error})") from None
    reference = dict(body.get("backbone") or {})
    if backbone is None:
        backbone = load_referenced_backbone(directory, reference)
    plugin = Plugin(config, schema, latent_dim, None, prior.get("category_rates"), prior.get("quantiles"),
                    prior.get("correlation"))
    plugin.data_spec = dict(body.get("data", {}))
    try:
        plugin.calibration = calibration_from_dict(body.get("calibration"))
    except (TypeError, ValueError, AttributeError) as error:
        raise ArtifactError(f"{directory}: config.json has a malformed calibration ({error})") from None
    plugin.decoding = stored_decoding(body, backbone)
    plugin.copy_backbone = "copy" in reference or bool(reference.get("saved"))
    plugin.load_weights(directory)
    plugin.attach_backbone(backbone)
    plugin.artifact_dir = Path(directory).resolve()
    plugin.eval()
    return plugin


def load_referenced_backbone(directory: Path, reference: dict[str, Any]):
    """The backbone a plugin's ``reference`` names, after checking its weights are the ones it was fitted on."""
    if "name" in reference:
        source = shipped_model(reference["name"])
        where = f"the shipped model {reference['name']!r}"
        if source is None:
            raise ArtifactError(f"{directory}: its backbone is {where}, which is not installed; reinstall condgen "
                                "or set $CONDGEN_MODELS to the folder of shipped models")
    elif "path" in reference:
        source = Path(directory) / reference["path"]
        where = f"{reference['path']} (relative to the plugin)"
    elif "copy" in reference or reference.get("saved"):
        source = Path(directory) / BACKBONE_DIR
        where = f"its copy in {BACKBONE_DIR}/"
    else:
        raise ArtifactError(f"{directory}: the plugin was saved without its backbone (a "
                            f"{reference.get('type') or 'model condgen cannot save'}); load it with "
                            "condgen.plugin.Plugin.load(directory, backbone=...)")
    if not (source / WEIGHTS_FILE).is_file():
        raise ArtifactError(f"{directory}: its backbone, {where}, is missing ({source}); put it back, or load "
                            "with Plugin.load(directory, backbone=...)")
    expected = reference.get("sha256")
    if expected:
        actual = file_sha256(source / WEIGHTS_FILE)
        if actual != expected:
            raise ArtifactError(f"{directory}: fitted on backbone weights with sha256 {expected[:12]}…, but "
                                f"{where} has {actual[:12]}…; refit the plugin on these weights (condgen plugin "
                                "fit) or restore the original backbone")
    return load(source)


def stored_decoding(body: dict[str, Any], backbone) -> dict[str, Any]:
    """The plugin's decode options. Plugins saved before they stored them decode as they did then: with the
    decoding their decoded labels were made with, else with their backbone's ``targeted_decoding``."""
    if "decoding" in body:
        return dict(body["decoding"])
    legacy = (body.get("data") or {}).get("decoding")
    if legacy:  # {"temperature", "beam", "prefer_valid"?} of plugins fitted on decoded labels
        if int(legacy.get("beam", 1)) > 1:
            return {"beam": int(legacy["beam"]), "prefer_valid": bool(legacy.get("prefer_valid", False))}
        return {"temperature": float(legacy.get("temperature", 1.0))}
    return dict(getattr(backbone, "targeted_decoding", {}))
