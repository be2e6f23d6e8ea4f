"""The faces section of ``families.py``: every image family on the built-in faces at 32 px, one CPU budget each.

Per family (the CLI's names that take images, aliases once; conditional ones trained on the plugin's attributes
smiling / eyeglasses / male and sampled with label rows of the training data):

* **training**: the CLI's defaults, batch 64, for as many engine steps as ``--faces-budget`` seconds allow on
  this machine: a ``--probe-steps`` run measures the seconds per step, then a run from scratch takes
  ``budget / (seconds per step)`` steps (its own wall time is recorded, ``train_seconds``);
* **realism** of ``--faces-samples`` samples against as many held-out faces (a fresh draw, seed 10007) on the
  shipped ``faces-oracle``'s features: domain FID, KID (mean), Inception Score over the oracle's six binary
  attributes (range [1, 64]; the real faces' IS is given too), precision / recall / density / coverage (k = 5);
* **bits/dim** on ``--bpd-n`` held-out faces where the family defines a likelihood (VAE: negative-ELBO bound with
  the decoder discretised to 256 levels; flows: their dequantised estimate; :mod:`condgen.metrics.likelihood`);
* **sampling time** per 1,000 images (one thread, batches of 250);
* a row of samples per family in ``families_faces.png``.

The **plugin** rows: the plugin fitted on each trained backbone of ``--plugin-backbones`` that is present (encoder,
exact inverse or, for GANs, the shipped ``faces-labeller`` and latent optimisation), judged by the oracle through
the evaluation protocol (``evaluation/protocol.py``: conditional accuracy, edit success, preservation), next to
the conditional families trained above (same protocol; their fit time is their training time).
"""

from __future__ import annotations

import time

import torch

from condgen.data import load_dataset
from condgen.errors import ConfigError
from condgen.evaluation.methods import ConditionalModelMethod, PluginMethod
from condgen.evaluation.protocol import evaluate_method
from condgen.io import load
from condgen.metrics.fid import domain_fid, domain_kid, domain_precision_recall
from condgen.metrics.inception import domain_inception_score
from condgen.metrics.likelihood import bits_per_dim
from condgen.models.backbone import can_encode
from condgen.models.base import LatentModel
from condgen.models.factory import RECIPES
from condgen.plugin import fit_plugin
from condgen.train import TrainConfig
from condgen.viz import save_labeled_rows
from families import HELD_OUT_SEED, draw, family_names, train_family

ATTRIBUTES = ["smiling", "eyeglasses", "male"]
PLUGIN_BACKBONES = "vae,realnvp,glow,ddpm,ddim,gan,sagan"
QUICK_PLUGIN_BACKBONES = "vae,gan"  # one encoder backbone, one labeller + inversion backbone: both code paths
GRID_SAMPLES = 12


def add_faces_arguments(parser) -> None:
    parser.add_argument("--faces-budget", type=float, default=1200.0,
                        help="training seconds per neural family (measured on this machine)")
    parser.add_argument("--faces-n", type=int, default=20000, help="training faces")
    parser.add_argument("--faces-samples", type=int, default=2000, help="samples (and held-out faces) per metric")
    parser.add_argument("--probe-steps", type=int, default=20)
    parser.add_argument("--bpd-n", type=int, default=500)
    parser.add_argument("--plugin-backbones", default=None,
                        help=f"comma-separated families to fit the plugin on (default {PLUGIN_BACKBONES}; --quick: "
                             f"{QUICK_PLUGIN_BACKBONES}, as a plugin on a flow's 3,072-d latents takes minutes even "
                             "for 10 steps)")
    parser.add_argument("--plugin-steps", type=int, default=3000)
    parser.add_argument("--n-generate", type=int, default=250)
    parser.add_argument("--n-edit", type=int, default=300)


def quick(args) -> None:
    args.faces_budget, args.faces_n, args.faces_samples, args.probe_steps = 2.0, 512, 64, 2
    args.bpd_n, args.plugin_steps, args.n_generate, args.n_edit = 16, 10, 12, 12
    args.plugin_backbones = args.plugin_backbones or QUICK_PLUGIN_BACKBONES


def budget_steps(name: str, data, args) -> tuple[int, float]:
    """Engine steps that fit the budget, from a probe run's seconds per step; ``(steps, seconds per step)``."""
    _, seconds = train_family(name, data, args.probe_steps, 64)
    per_step = seconds / args.probe_steps
    return max(1, int(args.faces_budget / per_step)), per_step


def realism(real: torch.Tensor, fake: torch.Tensor, oracle) -> dict[str, float]:
    kid, _ = domain_kid(real, fake, oracle, subsets=50, subset_size=min(1000, len(real), len(fake)))
    manifold = domain_precision_recall(real, fake, oracle, k=5)
    return {"fid": domain_fid(real, fake, oracle), "kid": kid, "is": domain_inception_score(fake, oracle)[0],
            **manifold}


def likelihood(model, test, n: int) -> dict | None:
    subset = test.select_attributes(model.schema.names) if model.is_conditional else test
    extras = {"attributes": subset.attributes[:n]} if model.is_conditional else {}
    try:
        result = bits_per_dim(model, subset.examples(slice(0, n)), generator=torch.Generator().manual_seed(0),
                              **extras)
    except ConfigError:
        return None
    return result.to_dict()


def plugin_rows(trained: dict, train_set, test, oracle, args) -> dict[str, dict]:
    labeller, rows = load("faces-labeller"), {}
    wanted = [name.strip() for name in (args.plugin_backbones or PLUGIN_BACKBONES).split(",") if name.strip()]
    for name in [n for n in wanted if n in trained]:
        backbone = trained[name]["model"]
        if not isinstance(backbone, LatentModel):
            continue
        started = time.perf_counter()
        plugin = fit_plugin(backbone, train_set, ATTRIBUTES, labeller=None if can_encode(backbone) else labeller,
                            n_latents=min(20000, len(train_set)), progress=False,
                            train_config=TrainConfig(steps=args.plugin_steps, batch_size=256, seed=0, progress=False))
        seconds = time.perf_counter() - started
        report = evaluate_method(PluginMethod(plugin), test, oracle, ATTRIBUTES, n_generate=args.n_generate,
                                 n_edit=args.n_edit, label=f"plugin on {name}")
        rows[f"plugin on {name}"] = summary(report, seconds, "plugin fit (latents + flow), backbone excluded")
        print("faces plugin", name, rows[f"plugin on {name}"], flush=True)
    for name, entry in trained.items():
        model = entry["model"]
        if model.is_conditional:
            method = ConditionalModelMethod(model, train_set.select_attributes(model.schema.names).attributes)
            report = evaluate_method(method, test, oracle, ATTRIBUTES, n_generate=args.n_generate, n_edit=args.n_edit,
                                     label=name)
            rows[name] = summary(report, entry["train_seconds"], "training from scratch (the budget)")
            print("faces conditional", name, rows[name], flush=True)
    return rows


def summary(report: dict, seconds: float, measured: str) -> dict:
    return {"conditional_accuracy": report["conditional"]["mean_accuracy"],
            "edit_success": report["edit"]["mean_success"], "preservation": report["edit"]["preservation"],
            "conditional_fid": report["conditional"]["fid"], "fit_seconds": seconds, "fit_measured": measured}


def run_faces(args, grid_path) -> dict:
    """``{"faces": {family: metrics}, "faces_setup": …, "faces_plugin": {row: metrics}}``; writes the sample grid."""
    if args.quick:
        quick(args)
    oracle = load("faces-oracle")
    train_set = load_dataset("faces", n=args.faces_n, size=32, seed=0)
    test = load_dataset("faces", n=max(args.faces_samples, args.bpd_n, args.n_edit), size=32, seed=HELD_OUT_SEED)
    real = test.examples(slice(0, args.faces_samples))
    families = [n for n in family_names("images") if n in args.families] if args.families else family_names("images")
    results, trained, grid = {}, {}, []
    for name in families:
        data = train_set.select_attributes(ATTRIBUTES) if RECIPES[name].model_class.is_conditional else train_set
        steps, per_step = budget_steps(name, data, args)
        model, seconds = train_family(name, data, steps, 64)
        started = time.perf_counter()
        fake = draw(model, args.faces_samples, 1, data.attributes, batch_size=250)
        sample_seconds = time.perf_counter() - started
        row = {**realism(real, fake, oracle), "bits_per_dim": likelihood(model, test, args.bpd_n),
               "sampling_seconds_per_1000": 1000 * sample_seconds / args.faces_samples, "steps": steps,
               "probe_seconds_per_step": per_step, "train_seconds": seconds}
        results[name], trained[name] = row, {"model": model, "train_seconds": seconds}
        grid.append(fake[:GRID_SAMPLES])
        print("faces", name, {k: v for k, v in row.items() if k != "bits_per_dim"}, flush=True)
    if grid:
        save_labeled_rows(grid, [str(i + 1) for i in range(GRID_SAMPLES)], grid_path, row_titles=list(results),
                          scale=2)
    real_is = domain_inception_score(real, oracle)[0]
    setup = {"budget_seconds_per_family": args.faces_budget, "batch_size": 64, "n_train": args.faces_n, "size": 32,
             "n_samples": args.faces_samples, "held_out_seed": HELD_OUT_SEED, "extractor": "faces-oracle",
             "real_is": real_is, "attributes": ATTRIBUTES, "plugin_steps": args.plugin_steps,
             "n_generate": args.n_generate, "n_edit": args.n_edit}
    return {"faces": results, "faces_setup": setup,
            "faces_plugin": plugin_rows(trained, train_set, test, oracle, args)}


def faces_markdown(results: dict) -> list[str]:
    setup = results["faces_setup"]
    lines = [f"### faces, 32 px ({setup['n_train']:,} training faces; {setup['budget_seconds_per_family']:.0f} s of "
             "training per neural family on this machine; metrics on the faces-oracle's features against "
             f"{setup['n_samples']:,} held-out faces; real faces' IS {setup['real_is']:.2f} of at most 64)", "",
             "| family | steps | FID | KID | IS | precision | recall | density | coverage | bits/dim | "
             "sampling s / 1,000 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["faces"].items():
        bits = "—" if r["bits_per_dim"] is None else f"{r['bits_per_dim']['bits_per_dim']:.3f}"
        lines.append(f"| {name} | {r['steps']} | {r['fid']:.2f} | {r['kid']:.4f} | {r['is']:.2f} | "
                     f"{r['precision']:.3f} | {r['recall']:.3f} | {r['density']:.3f} | {r['coverage']:.3f} | {bits} | "
                     f"{r['sampling_seconds_per_1000']:.2f} |")
    lines += ["", f"Plugin ({setup['plugin_steps']} flow steps) on each backbone vs the conditional families, judged "
              f"by the oracle on {', '.join(setup['attributes'])}:", "",
              "| method | cond. accuracy | edit success | preservation | cond. FID | fit s |",
              "|---|---|---|---|---|---|"]
    for name, r in results.get("faces_plugin", {}).items():
        lines.append(f"| {name} | {r['conditional_accuracy']:.3f} | {r['edit_success']:.3f} | "
                     f"{r['preservation']:.3f} | {r['conditional_fid']:.2f} | {r['fit_seconds']:.0f} |")
    return lines
