"""The faces section of ``families.py``: every image family on the built-in faces at 32 px, one CPU budget each.

Per family (the CLI's names that take images, aliases once; conditional ones trained on the plugin's attributes
smiling / eyeglasses / male and sampled with label rows of the training data):

* **training**: the CLI's defaults, batch 64, one thread, for as many engine steps as ``--faces-budget`` seconds
  of *CPU time* allow: after a warm-up run, two probe runs (5 and 5 + ``--probe-steps`` steps) measure the CPU
  seconds per step without the one-time costs, then a run from scratch takes ``budget / (seconds per step)``
  steps. CPU time of the one-thread process, not wall time, so that families trained side by side
  (``--workers``) or next to other jobs get the same budget; each row records both, and the CPU seconds the
  run took.
  Families that differ only in how they sample (``ddim`` is ``ddpm`` sampled by DDIM) share one training run;
* **sampling**: diffusion families with ``--diffusion-steps`` steps (DDPM ancestral and DDIM alike; T = 1000 at
  training), as 1,000 steps per image do not fit a CPU benchmark;
* **realism** of ``--faces-samples`` samples against as many held-out faces (a fresh draw, seed 10007) on the
  shipped ``faces-oracle``'s features: domain FID, KID (mean), Inception Score over the oracle's six binary
  attributes (range [1, 64]; the real faces' IS is given too), precision / recall / density / coverage (k = 5);
* **bits/dim** on ``--bpd-n`` held-out faces where the family defines a likelihood (VAE: negative-ELBO bound with
  the decoder discretised to 256 levels; flows: their dequantised estimate; :mod:`condgen.metrics.likelihood`);
* **sampling time** per 1,000 images (CPU seconds, one thread, batches of 250);
* a row of samples per family in ``families_faces.png``.

The shipped ``faces-vae``, ``faces-wae`` and ``faces-dcgan`` (trained for longer; their ``TRAINED_WITH.md``) are
measured the same way as reference rows: the issue's target is the best family's FID at least 3x below the shipped
VAE's.

The **plugin** rows: the plugin fitted on each trained backbone of ``--plugin-backbones`` that is present (encoder,
exact inverse or, for GANs, the shipped ``faces-labeller`` and latent optimisation; a diffusion backbone's latents
by DDIM inversion of ``--inversion-latents`` faces), judged by the oracle through the evaluation protocol
(``evaluation/protocol.py``: conditional accuracy, edit success, preservation), next to the conditional families
trained above (same protocol; their fit time is their training time).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from pathlib import Path

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
from condgen.models.diffusion import GaussianDiffusion
from condgen.models.factory import RECIPES
from condgen.plugin import fit_plugin
from condgen.plugin.plugin import FLOW_STEPS
from condgen.train import TrainConfig
from condgen.viz import save_labeled_rows
from families import HELD_OUT_SEED, draw, family_names, train_family

ATTRIBUTES = ["smiling", "eyeglasses", "male"]
PLUGIN_BACKBONES = "vae,realnvp,glow,ddpm,gan,sagan,progan"  # ddim: the same model as ddpm as a backbone
QUICK_PLUGIN_BACKBONES = "vae,gan"  # one encoder backbone, one labeller + inversion backbone: both code paths
SHIPPED_REFERENCES = ("faces-vae", "faces-wae", "faces-dcgan")
SAMPLING_OPTIONS = {"sampler"}  # recipe defaults that change sampling only, not training
GRID_SAMPLES = 12
PROBE_BASE_STEPS = 5


def add_faces_arguments(parser) -> None:
    parser.add_argument("--faces-budget", type=float, default=180.0,
                        help="CPU seconds of training per neural family (one thread, measured on this machine)")
    parser.add_argument("--faces-n", type=int, default=20000, help="training faces")
    parser.add_argument("--faces-samples", type=int, default=1000, help="samples (and held-out faces) per metric")
    parser.add_argument("--probe-steps", type=int, default=20)
    parser.add_argument("--bpd-n", type=int, default=200)
    parser.add_argument("--diffusion-steps", type=int, default=20, help="sampling steps of the diffusion families")
    parser.add_argument("--plugin-backbones", default=None,
                        help=f"comma-separated families to fit the plugin on (default {PLUGIN_BACKBONES}; --quick: "
                             f"{QUICK_PLUGIN_BACKBONES})")
    parser.add_argument("--plugin-steps", type=int, default=FLOW_STEPS, help="the plugin's flow steps (batch 256)")
    parser.add_argument("--inversion-latents", type=int, default=1000,
                        help="faces a diffusion backbone's plugin is fitted on (each costs a DDIM inversion)")
    parser.add_argument("--n-generate", type=int, default=100)
    parser.add_argument("--n-edit", type=int, default=100)


def quick(args) -> None:
    args.faces_budget, args.faces_n, args.faces_samples, args.probe_steps = 2.0, 512, 64, 2
    args.bpd_n, args.plugin_steps, args.n_generate, args.n_edit = 16, 10, 12, 12
    args.diffusion_steps, args.inversion_latents = 2, 16
    args.plugin_backbones = args.plugin_backbones or QUICK_PLUGIN_BACKBONES


def training_groups(names: list[str]) -> list[list[str]]:
    """``names`` grouped by what their training is: same class and options but for :data:`SAMPLING_OPTIONS`."""
    groups: dict[str, list[str]] = {}
    for name in names:
        recipe = RECIPES[name]
        training = {k: v for k, v in recipe.defaults.items() if k not in SAMPLING_OPTIONS}
        key = repr((recipe.model_class, sorted(recipe.fixed.items()), sorted(training.items())))
        groups.setdefault(key, []).append(name)
    return list(groups.values())


def options_for(name: str, args) -> dict:
    if issubclass(RECIPES[name].model_class, GaussianDiffusion):
        return {"ddim_steps": args.diffusion_steps, "ddpm_steps": args.diffusion_steps}
    return {}


def faces_data(args):
    """``(training faces, held-out faces, real faces for the metrics, oracle)``, the same in every process."""
    torch.set_num_threads(1)
    train_set = load_dataset("faces", n=args.faces_n, size=32, seed=0)
    test = load_dataset("faces", n=max(args.faces_samples, args.bpd_n, args.n_edit), size=32, seed=HELD_OUT_SEED)
    return train_set, test, test.examples(slice(0, args.faces_samples)), load("faces-oracle")


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


def judge(model, label_pool, test, real, oracle, args) -> tuple[dict, torch.Tensor]:
    """The metrics of one model's samples, and its first :data:`GRID_SAMPLES` samples."""
    started = time.process_time()
    fake = draw(model, args.faces_samples, 1, label_pool, batch_size=250)
    sample_seconds = time.process_time() - started
    row = {**realism(real, fake, oracle), "bits_per_dim": likelihood(model, test, args.bpd_n),
           "sampling_seconds_per_1000": 1000 * sample_seconds / args.faces_samples}
    return row, fake[:GRID_SAMPLES]


def cpu_seconds_per_step(name: str, data, args) -> float:
    """CPU seconds of one engine step of ``name``: the difference of a short and a longer probe run, after a
    warm-up run, so that what a run pays once (building the model, a process's first calls) is not counted
    per step."""
    seconds = []
    train_family(name, data, PROBE_BASE_STEPS, 64, **options_for(name, args))  # warm-up: imports, first calls
    for steps in (PROBE_BASE_STEPS, PROBE_BASE_STEPS + args.probe_steps):
        cpu = time.process_time()
        train_family(name, data, steps, 64, **options_for(name, args))
        seconds.append(time.process_time() - cpu)
    return max(seconds[1] - seconds[0], 1e-3) / args.probe_steps


def train_group(group: list[str], args, out_dir: str) -> list[tuple[str, dict, torch.Tensor]]:
    """Train the first family of ``group`` on the budget, save it under ``out_dir``, judge it as each of them."""
    train_set, test, real, oracle = faces_data(args)
    first = group[0]
    data = train_set.select_attributes(ATTRIBUTES) if RECIPES[first].model_class.is_conditional else train_set
    per_step = cpu_seconds_per_step(first, data, args)
    steps = max(1, int(args.faces_budget / per_step))
    cpu = time.process_time()
    model, seconds = train_family(first, data, steps, 64, **options_for(first, args))
    training = {"steps": steps, "probe_cpu_seconds_per_step": per_step, "train_cpu_seconds": time.process_time() - cpu,
                "train_seconds": seconds, "trained_as": first}
    model.save(Path(out_dir) / first)
    outcomes = []
    for name in group:
        for option in SAMPLING_OPTIONS & RECIPES[name].defaults.keys():  # what sets the group's members apart
            setattr(model.config, option, RECIPES[name].defaults[option])
        row, grid = judge(model, data.attributes, test, real, oracle, args)
        outcomes.append((name, {**row, **training}, grid))
        print("faces", name, {k: v for k, v in outcomes[-1][1].items() if k != "bits_per_dim"}, flush=True)
    return outcomes


def judge_shipped(name: str, args) -> tuple[str, dict, torch.Tensor]:
    train_set, test, real, oracle = faces_data(args)
    row, grid = judge(load(name), train_set.attributes, test, real, oracle, args)
    print("faces", name, {k: v for k, v in row.items() if k != "bits_per_dim"}, flush=True)
    return f"{name} (shipped)", row, grid


def plugin_row(name: str, path: str, args) -> tuple[str, dict]:
    """The plugin on backbone ``name`` (saved at ``path``), or a conditional family itself, through the protocol."""
    train_set, test, _, oracle = faces_data(args)
    model = load(path)
    if model.is_conditional:
        method = ConditionalModelMethod(model, train_set.select_attributes(model.schema.names).attributes)
        report = evaluate_method(method, test, oracle, ATTRIBUTES, n_generate=args.n_generate, n_edit=args.n_edit,
                                 label=name)
        return name, summary(report, None, "training from scratch (the budget)")
    n_latents = args.inversion_latents if isinstance(model, GaussianDiffusion) else 20000
    started = time.process_time()
    plugin = fit_plugin(model, train_set, ATTRIBUTES, labeller=None if can_encode(model) else load("faces-labeller"),
                        n_latents=min(n_latents, len(train_set)), progress=False,
                        train_config=TrainConfig(steps=args.plugin_steps, batch_size=256, seed=0, progress=False))
    seconds = time.process_time() - started
    report = evaluate_method(PluginMethod(plugin), test, oracle, ATTRIBUTES, n_generate=args.n_generate,
                             n_edit=args.n_edit, label=f"plugin on {name}")
    row = summary(report, seconds, "plugin fit (latents + flow), CPU seconds, backbone excluded")
    print("faces plugin", name, row, flush=True)
    return f"plugin on {name}", {**row, "n_latents": min(n_latents, len(train_set))}


def summary(report: dict, seconds: float | None, measured: str) -> dict:
    return {"conditional_accuracy": report["conditional"]["mean_accuracy"],
            "edit_success": report["edit"]["mean_success"], "preservation": report["edit"]["preservation"],
            "conditional_fid": report["conditional"]["fid"], "fit_seconds": seconds, "fit_measured": measured}


def run_faces(args, grid_path) -> dict:
    """``{"faces": {family: metrics}, "faces_setup": …, "faces_plugin": {row: metrics}}``; writes the sample grid.
    ``args.workers`` one-thread processes share the families, then the plugin rows."""
    if args.quick:
        quick(args)
    families = [n for n in family_names("images") if n in args.families] if args.families else family_names("images")
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="condgen-faces-") as out_dir, context.Pool(args.workers) as pool:
        trained = pool.starmap(train_group, [(group, args, out_dir) for group in training_groups(families)],
                               chunksize=1)
        shipped = pool.starmap(judge_shipped, [(name, args) for name in SHIPPED_REFERENCES], chunksize=1)
        outcomes = [o for group in trained for o in group] + shipped
        results = {name: row for name, row, _ in outcomes}
        wanted = [n.strip() for n in (args.plugin_backbones or PLUGIN_BACKBONES).split(",") if n.strip()]
        jobs = [(name, str(Path(out_dir) / name), args) for name in families if name in wanted
                and issubclass(RECIPES[name].model_class, LatentModel) and not RECIPES[name].model_class.is_conditional]
        jobs += [(name, str(Path(out_dir) / name), args) for name in families
                 if RECIPES[name].model_class.is_conditional]
        plugin = dict(pool.starmap(plugin_row, jobs, chunksize=1))
    for name, row in plugin.items():
        if name in results and row["fit_seconds"] is None:
            row["fit_seconds"] = results[name]["train_cpu_seconds"]
    save_labeled_rows([grid for _, _, grid in outcomes], [str(i + 1) for i in range(GRID_SAMPLES)], grid_path,
                      row_titles=[name for name, _, _ in outcomes], scale=2)
    _, _, real, oracle = faces_data(args)
    setup = {"budget_cpu_seconds_per_family": args.faces_budget, "batch_size": 64, "n_train": args.faces_n,
             "size": 32, "n_samples": args.faces_samples, "held_out_seed": HELD_OUT_SEED, "extractor": "faces-oracle",
             "real_is": domain_inception_score(real, oracle)[0], "attributes": ATTRIBUTES,
             "diffusion_sampling_steps": args.diffusion_steps, "plugin_steps": args.plugin_steps,
             "inversion_latents": args.inversion_latents, "n_generate": args.n_generate, "n_edit": args.n_edit,
             "workers": args.workers}
    return {"faces": results, "faces_setup": setup, "faces_plugin": plugin}


def faces_markdown(results: dict) -> list[str]:
    setup = results["faces_setup"]
    lines = [f"### faces, 32 px ({setup['n_train']:,} training faces; {setup['budget_cpu_seconds_per_family']:.0f} "
             "CPU seconds of training per neural family, one thread; diffusion sampled in "
             f"{setup['diffusion_sampling_steps']} steps; metrics on the faces-oracle's features against "
             f"{setup['n_samples']:,} held-out faces; real faces' IS {setup['real_is']:.2f} of at most 64)", "",
             "| family | steps | FID | KID | IS | precision | recall | density | coverage | bits/dim | "
             "sampling CPU s / 1,000 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["faces"].items():
        bits = "—" if r["bits_per_dim"] is None else f"{r['bits_per_dim']['bits_per_dim']:.3f}"
        steps = r.get("steps", "see TRAINED_WITH.md")
        lines.append(f"| {name} | {steps} | {r['fid']:.2f} | {r['kid']:.4f} | {r['is']:.2f} | "
                     f"{r['precision']:.3f} | {r['recall']:.3f} | {r['density']:.3f} | {r['coverage']:.3f} | {bits} | "
                     f"{r['sampling_seconds_per_1000']:.1f} |")
    lines += ["", f"Plugin ({setup['plugin_steps']} flow steps) on each backbone vs the conditional families, judged "
              f"by the oracle on {', '.join(setup['attributes'])} ({setup['n_generate']} samples per condition, "
              f"{setup['n_edit']} edited faces):", "",
              "| method | cond. accuracy | edit success | preservation | cond. FID | fit CPU s |",
              "|---|---|---|---|---|---|"]
    for name, r in results.get("faces_plugin", {}).items():
        lines.append(f"| {name} | {r['conditional_accuracy']:.3f} | {r['edit_success']:.3f} | "
                     f"{r['preservation']:.3f} | {r['conditional_fid']:.2f} | {r['fit_seconds']:.0f} |")
    return lines
