"""Does target calibration help an image plugin? Continuous yaw and skin tone on the shipped faces VAE.

    .venv/bin/python benchmarks/calibration_faces.py [--n 500] [--steps 3000]

Fits a plugin on ``faces-vae`` for yaw, skin_tone and smiling (``condgen plugin fit`` defaults),
calibrates its continuous attributes with ``faces-labeller`` (``condgen plugin calibrate
--classifier``), then samples ``--n`` faces per target with and without the calibration (seed 1,
the same style draws) and judges them with the independent ``faces-oracle``: mean predicted value
and MAE to the target. Writes ``benchmarks/results/calibration_faces.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from common import RESULTS, provenance

TARGETS = {"yaw": (-0.75, -0.4, 0.0, 0.4, 0.75), "skin_tone": (0.1, 0.3, 0.5, 0.7, 0.9)}


def judge(plugin, oracle, name: str, target: float, n: int, calibrated: bool) -> dict[str, float]:
    z = plugin.conditional_latents(n, {name: target}, generator=torch.Generator().manual_seed(1), calibrated=calibrated)
    values = oracle.predict_values(plugin.decode(z))[:, oracle.schema.index(name)].numpy()
    return {"target": target, "mean": float(values.mean()), "mae": float(np.abs(values - target).mean())}


def markdown(results: dict) -> str:
    run = results["provenance"]
    lines = ["# Target calibration on an image plugin", "",
             f"`{run['command']}` — commit {run['commit']}, {run['machine']}, {run['date']}", "",
             f"Plugin on faces-vae (yaw, skin_tone, smiling; {results['steps']} steps), calibrated with "
             f"faces-labeller, {results['n']} faces per target judged by faces-oracle.", "",
             "| attribute | target | mean (raw) | mean (calibrated) | MAE (raw) | MAE (calibrated) |",
             "|---|---|---|---|---|---|"]
    for name, rows in results["attributes"].items():
        for raw, calibrated in zip(rows["raw"], rows["calibrated"], strict=True):
            lines.append(f"| {name} | {raw['target']:g} | {raw['mean']:.3f} | {calibrated['mean']:.3f} | "
                         f"{raw['mae']:.3f} | {calibrated['mae']:.3f} |")
        lines.append(f"| {name} | all (mean MAE) | | | {np.mean([r['mae'] for r in rows['raw']]):.3f} | "
                     f"{np.mean([r['mae'] for r in rows['calibrated']]):.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="faces per target")
    parser.add_argument("--steps", type=int, default=3000, help="plugin flow steps")
    args = parser.parse_args()

    from condgen.io import load
    from condgen.plugin.fit_spec import PluginFitSpec
    from condgen.tasks.plugins import calibrate_with_classifier, fit_plugin_from_spec

    spec = PluginFitSpec(backbone="faces-vae", attributes=("yaw", "skin_tone", "smiling"), steps=args.steps)
    with tempfile.TemporaryDirectory() as scratch:
        plugin, _ = fit_plugin_from_spec(spec, Path(scratch) / "plugin", progress=False)
    calibrate_with_classifier(plugin, load("faces-labeller"))
    oracle = load("faces-oracle")
    attributes = {name: {mode: [judge(plugin, oracle, name, t, args.n, mode == "calibrated") for t in targets]
                         for mode in ("raw", "calibrated")} for name, targets in TARGETS.items()}
    results = {"provenance": provenance(), "n": args.n, "steps": args.steps, "attributes": attributes,
               "calibration": {name: entry.to_dict() for name, entry in plugin.calibration.items()}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "calibration_faces.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "calibration_faces.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
