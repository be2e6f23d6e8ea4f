"""SMILES models on a fixed MOSES subset with one CPU budget each, and logP targets with the shipped zinc-vae.

    .venv/bin/python benchmarks/molecules.py [--minutes 8] [--n-train 100000] [--n-samples 10000]
                                             [--target-samples 2000] [--models charrnn,smiles-vae,smiles-aae,organ]
                                             [--temperature T | --beam K] [--style-scale S]

Part 1 — MOSES metrics. Each model is trained with condgen's engine on the same ``--n-train``
molecules of the MOSES training split (seed 0) for the number of steps that fits ``--minutes`` of
wall time on this machine (estimated from timed probe steps at each training phase, so ORGAN's
slower adversarial phase is counted), then samples ``--n-samples`` SMILES (temperature 1) that
``condgen.metrics.molecules.moses_metrics`` scores against the MOSES test and scaffold-test splits.
The published MOSES baselines next to them were trained to convergence on a GPU (about a week,
30,000 samples): the budget differs by orders of magnitude, so read the comparison as such.

Part 2 — property targets. The shipped ``zinc-vae`` plugin samples ``--target-samples`` molecules
for logP = 1.5, 3.0 and 4.5 (TPSA and SAS drawn as they occur with that logP in the data), decoded
the plugin's default way (a beam search of width 5 that keeps its most likely valid SMILES, targets
mapped through the plugin's calibration) unless ``--temperature`` or ``--beam`` say otherwise; each
set is scored by :func:`condgen.apps.molecules.target_report` (validity, uniqueness, novelty vs the
MOSES training split, mean logP, MAE, success rate within 0.5), next to the published
plugin-on-CharVAE numbers. With a beam, the ablation also samples without calibration and/or with
the most likely beam kept even when invalid (seed 1 each, so the same style draws).

Writes ``benchmarks/results/molecules.{json,md}``; trained models stay under ``runs/bench-molecules``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, provenance  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "bench-molecules"
#: The sizes benchmarked (CPU-sized versions of the MOSES architectures).
MODEL_OPTIONS = {
    "charrnn": {"hidden": 384, "layers": 2},
    "smiles-vae": {"encoder_hidden": 128, "decoder_hidden": 384, "decoder_layers": 2, "latent_dim": 64},
    "smiles-aae": {"encoder_hidden": 128, "decoder_hidden": 384, "decoder_layers": 2, "latent_dim": 64},
    "organ": {"hidden": 384, "layers": 2},
}
BATCH_SIZE = 128
#: MOSES paper, vs Test (means of 3 runs, GPU, trained to convergence); ORGAN from an older table.
PUBLISHED = {
    "charrnn": {"valid": 0.9748, "unique@10000": 0.9994, "FCD/Test": 0.0732, "SNN/Test": 0.6015,
                "Frag/Test": 0.9998, "Scaf/Test": 0.9242, "IntDiv": 0.8562, "Filters": 0.9943, "Novelty": 0.8419},
    "smiles-vae": {"valid": 0.9767, "unique@10000": 0.9984, "FCD/Test": 0.099, "SNN/Test": 0.6257,
                   "Frag/Test": 0.9994, "Scaf/Test": 0.9386, "IntDiv": 0.8558, "Filters": 0.997, "Novelty": 0.6949},
    "smiles-aae": {"valid": 0.9368, "unique@10000": 0.9973, "FCD/Test": 0.5555, "SNN/Test": 0.6081,
                   "Frag/Test": 0.991, "Scaf/Test": 0.9022, "IntDiv": 0.8557, "Filters": 0.996, "Novelty": 0.7931},
    "organ": {"valid": 0.8731, "FCD/Test": 1.5748},
}
TABLE_KEYS = ("valid", "unique@10000", "FCD/Test", "SNN/Test", "Frag/Test", "Scaf/Test", "IntDiv", "Filters",
              "Novelty")
TARGETS = (1.5, 3.0, 4.5)
#: Plugin on CharVAE (ZINC250k), their notebook: mean logP and validity per target, 25,600 samples each.
PUBLISHED_TARGETS = {1.5: {"mean": 1.97, "validity": 0.932}, 3.0: {"mean": 3.41, "validity": 0.848},
                     4.5: {"mean": 4.35, "validity": 0.432}}


def seconds_per_step(model, dataset, progress: float, repeats: int = 3) -> float:
    """Wall seconds of one engine step (every group of the schedule, fresh batches) at ``progress``."""
    from condgen.models.base import Batch

    probe = copy.deepcopy(model)
    probe.train()
    probe.set_progress(int(progress * 1000), 1000)
    optimizers = {name: torch.optim.Adam(group.parameters, lr=group.lr)
                  for name, group in probe.optimizer_groups().items()}
    times = []
    for repeat in range(repeats + 1):
        started = time.perf_counter()
        for group, count in probe.step_schedule():
            for _ in range(count):
                index = torch.randint(0, len(dataset), (BATCH_SIZE,))
                loss, _ = probe.compute_loss(group, Batch(*dataset.batch(index)))
                probe.zero_grad(set_to_none=True)
                loss.backward()
                optimizers[group].step()
        if repeat:  # the first step warms up allocations
            times.append(time.perf_counter() - started)
    return sum(times) / len(times)


def budget_steps(model, dataset, seconds: float) -> tuple[int, dict[str, float]]:
    """Steps that fit ``seconds``: phases of ORGAN (MLE pre-training, then adversarial) timed apart."""
    share = float(getattr(model.config, "pretrain_share", 1.0))
    phases = {"early": seconds_per_step(model, dataset, 0.0)}
    if share < 1.0:
        phases["late"] = seconds_per_step(model, dataset, min(1.0, share + 0.01))
    per_step = share * phases["early"] + (1 - share) * phases.get("late", phases["early"])
    return max(1, int(seconds / per_step)), phases


def train_and_score(name: str, dataset, args) -> dict:
    from condgen.apps.molecules import sample_molecules
    from condgen.metrics.molecules import moses_metrics
    from condgen.models import build_model
    from condgen.train import TrainConfig, train

    torch.manual_seed(0)
    model = build_model(name, dataset, **MODEL_OPTIONS[name])
    steps, probes = budget_steps(model, dataset, args.minutes * 60)
    print(f"{name}: {steps} steps for {args.minutes} min (probe s/step {probes})", flush=True)
    started = time.perf_counter()
    trained = train(model, dataset, TrainConfig(steps=steps, batch_size=BATCH_SIZE, seed=0, out=RUNS / name,
                                                checkpoint_every=max(steps // 4, 1), progress=True)).model
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    smiles = sample_molecules(trained, args.n_samples, seed=1, temperature=1.0)
    sample_seconds = time.perf_counter() - started
    (RUNS / name / "samples.smi").write_text("".join(f"{s}\n" for s in smiles))
    metrics = moses_metrics(smiles, n_jobs=2)
    print(f"{name}: {json.dumps({k: round(v, 4) for k, v in metrics.items()})}", flush=True)
    return {"steps": steps, "probe_seconds_per_step": probes, "train_seconds": round(train_seconds, 1),
            "sample_seconds": round(sample_seconds, 1), "options": MODEL_OPTIONS[name], "metrics": metrics}


#: Part 2 ablations: (calibrated targets, most likely *valid* beam); the first is condgen's default.
VARIANTS = {"default": (True, True), "uncalibrated": (False, True), "top beam": (True, False),
            "uncalibrated, top beam": (False, False)}


def score_targets(args) -> dict[str, dict]:
    """Variant → target → :func:`target_report`; variants other than the default only with a beam."""
    from condgen.apps.molecules import (
        decoding_options,
        describe_decoding,
        effective_decoding,
        sample_molecules,
        target_report,
    )
    from condgen.metrics.molecules.reference import training_set_hashes
    from condgen.tasks.molecules import load_molecule_generator

    plugin = load_molecule_generator(args.zinc_vae)
    options = decoding_options(plugin, args.temperature, args.beam)
    decoding = effective_decoding(plugin, options)
    args.decoding = describe_decoding(decoding)
    hashes = training_set_hashes(None)
    variants = VARIANTS if decoding.get("beam", 1) > 1 else {"default": (True, None)}
    results = {}
    for variant, (calibrated, prefer_valid) in variants.items():
        rows = results[variant] = {}
        chosen = options if prefer_valid is not False else {**options, "prefer_valid": False}
        for target in TARGETS:
            smiles = sample_molecules(plugin, args.target_samples, {"logp": target}, seed=1,
                                      style_scale=args.style_scale, calibrated=calibrated, **chosen)
            rows[str(target)] = target_report(smiles, "logp", target, hashes, n_jobs=2)
            print(f"{variant}: logp={target}: {json.dumps({k: round(v, 3) for k, v in rows[str(target)].items()})}",
                  flush=True)
    return results


def fmt(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def markdown(results: dict) -> str:
    lines = ["# Molecules benchmark", ""]
    part = results.get("moses")
    if part:
        run = part["provenance"]
        lines += [f"## MOSES metrics after {part['minutes']} min of CPU training each "
                  f"({part['n_train']:,} MOSES molecules, {part['n_samples']:,} samples at temperature 1; published: "
                  "GPU, to convergence, 30,000 samples)", "",
                  f"`{run['command']}` — commit {run['commit']}, {run['machine']}, {run['date']}", "",
                  "| model | steps | " + " | ".join(TABLE_KEYS) + " |", "|---|---|" + "---|" * len(TABLE_KEYS)]
        for name, row in part["models"].items():
            lines.append(f"| {name} (condgen) | {row['steps']} | "
                         + " | ".join(fmt(row["metrics"].get(k)) for k in TABLE_KEYS) + " |")
            lines.append(f"| {name} (MOSES paper) | – | "
                         + " | ".join(fmt(PUBLISHED[name].get(k)) for k in TABLE_KEYS) + " |")
        lines.append("")
    part = results.get("targets")
    if part:
        run = part["provenance"]
        decoding = part.get("decoding", f"temperature {part.get('temperature')}")
        lines += [f"## zinc-vae: logP targets ({part['target_samples']:,} samples each, {decoding}, "
                  f"style scale {part['style_scale']})", "",
                  f"`{run['command']}` — commit {run['commit']}, {run['machine']}, {run['date']}", "",
                  "| target | validity | uniqueness | novelty | mean logP | MAE | success (±0.5) | "
                  "published mean | published validity |", "|---|---|---|---|---|---|---|---|---|"]
        for target, row in part["rows"].items():
            published = PUBLISHED_TARGETS[float(target)]
            lines.append(f"| {target} | {fmt(row['validity'])} | {fmt(row['uniqueness'])} | {fmt(row['novelty'])} | "
                         f"{fmt(row['mean'])} | {fmt(row['mae'])} | {fmt(row['success_rate'])} | "
                         f"{published['mean']:.2f} | {published['validity']:.3f} |")
        lines.append("")
        if part.get("ablation"):
            lines += ["Ablation (seed 1 each, so the same style draws; default: calibrated targets, most likely "
                      "valid beam):", "",
                      "| variant | target | validity | mean logP | MAE | success (±0.5) |", "|---|---|---|---|---|---|"]
            for variant, rows in part["ablation"].items():
                lines += [f"| {variant} | {target} | {fmt(row['validity'])} | {fmt(row['mean'])} | {fmt(row['mae'])} | "
                          f"{fmt(row['success_rate'])} |" for target, row in rows.items()]
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=8.0, help="wall-clock training budget per model")
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--models", default="charrnn,smiles-vae,smiles-aae,organ", help="'' skips part 1")
    parser.add_argument("--zinc-vae", default="zinc-vae", help="'' skips part 2")
    parser.add_argument("--target-samples", type=int, default=2000)
    parser.add_argument("--temperature", type=float, default=None, help="part 2: draw tokens (default: beam search)")
    parser.add_argument("--beam", type=int, default=None, help="part 2: beam width (default: the plugin's, 5)")
    parser.add_argument("--style-scale", type=float, default=1.0)
    args = parser.parse_args()

    from condgen.data.molecules import load_moses

    # One results file; a run of one part keeps the other part's last results.
    path = RESULTS / "molecules.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    names = [n for n in args.models.split(",") if n]
    if names:
        dataset = load_moses(n=args.n_train, seed=0)
        results["moses"] = {"provenance": provenance(), "minutes": args.minutes, "n_train": args.n_train,
                            "n_samples": args.n_samples,
                            "models": {name: train_and_score(name, dataset, args) for name in names}}
    if args.zinc_vae:
        variants = score_targets(args)
        results["targets"] = {"provenance": provenance(), "target_samples": args.target_samples,
                              "decoding": args.decoding, "style_scale": args.style_scale,
                              "rows": variants.pop("default"), "ablation": variants}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    (RESULTS / "molecules.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
