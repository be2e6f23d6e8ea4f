"""One-off (2026-12-02): bring the shipped artifacts under models/ to the layout of the architecture issue.

    python tools/convert_shipped_artifacts.py

Only JSON changes; no weights are touched (their sha256 are printed before and after). What it does:

* every artifact's data spec names its modality (``"modality": "images"`` / ``"smiles"``), which condgen
  otherwise infers once from the config of artifacts written before data specs named it;
* ``zinc-vae/config.json``: the backbone reference of format ``{"saved": true}`` becomes
  ``{"kind": "smiles-vae", "copy": "backbone", "sha256": …}`` (the plugin keeps its copy in ``backbone/``),
  and the plugin's decoding (until now the CLI's default, beam 5 keeping the most likely valid SMILES) is
  stored in the plugin: ``"decoding": {"beam": 5, "prefer_valid": true}``; the latents' data spec says what it
  describes (encoded latents of the MOSES molecules, under ``source``);
* ``zinc-vae/fit.json``: the flat record with the absolute path of the machine it was trained on becomes a
  versioned fit spec whose backbone is ``backbone`` (the copy, relative to the plugin).

Running it twice changes nothing the second time.
"""

from __future__ import annotations

import json
from pathlib import Path

from condgen.io import atomic_write_json, file_sha256

MODELS = Path(__file__).resolve().parents[1] / "models"


def with_modality(config: dict, modality: str) -> dict:
    config["data"] = {**config.get("data", {}), "modality": modality}
    return config


def convert_zinc_vae(directory: Path) -> None:
    config = json.loads((directory / "config.json").read_text())
    config["backbone"] = {"kind": "smiles-vae", "copy": "backbone",
                          "sha256": file_sha256(directory / "backbone" / "model.safetensors")}
    config.setdefault("decoding", {"beam": 5, "prefer_valid": True})
    data = config.get("data", {})
    if "source" not in data:
        config["data"] = {"name": "encoded-latents", "modality": "vectors", "source": {**data, "modality": "smiles"}}
    atomic_write_json(directory / "config.json", config)
    record = json.loads((directory / "fit.json").read_text())
    if "format" not in record:
        spec = {key: value for key, value in record.items() if key != "seconds"}
        # calibrate: the plugin was calibrated afterwards with the defaults (TRAINED_WITH.md), 300 per point
        spec.update(backbone="backbone", copy_backbone=True, coupling=spec.get("coupling") or "affine",
                    calibrate=spec.get("calibrate") or 300)
        atomic_write_json(directory / "fit.json", {"format": 1, "spec": spec, "seconds": record["seconds"]})


def main() -> None:
    weights = sorted(MODELS.rglob("model.safetensors"))
    before = {path: file_sha256(path) for path in weights}
    for name, modality in (("faces-vae", "images"), ("faces-dcgan", "images"), ("faces-oracle", "images"),
                           ("faces-labeller", "images"), ("zinc-vae/backbone", "smiles")):
        path = MODELS / name / "config.json"
        atomic_write_json(path, with_modality(json.loads(path.read_text()), modality))
    convert_zinc_vae(MODELS / "zinc-vae")
    for path in weights:
        assert file_sha256(path) == before[path], f"{path} changed"
        print(f"{path.relative_to(MODELS)}: sha256 {before[path][:16]}… unchanged")


if __name__ == "__main__":
    main()
