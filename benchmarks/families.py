"""Every generative family on the same problems: the 2-D toy sets and the built-in faces.

    python benchmarks/families.py --toy2d-only          # writes benchmarks/results/families.{json,md,png}
    python benchmarks/families.py --faces-only --merge  # the faces section (hours), keeping the toy2d results
    python benchmarks/families.py --toy2d-only --merge --variants 8gaussians --families gan --toy2d-steps 4000
                                                         # re-run rows with a longer schedule, keeping the others
    python benchmarks/families.py --quick               # a tiny run of both sections, under $TMPDIR

The families are the CLI's model names (``condgen models``, ``models/factory.py`` RECIPES), found by the
modality their class takes, aliases (``dcgan`` = ``gan``) counted once, so a family added to RECIPES is
benchmarked by name.

* **toy2d** (8 Gaussians, 25-Gaussian grid, two moons, swiss roll; 5,000 training points, seed 0): every family
  that takes vectors, trained with the CLI's defaults for ``--toy2d-steps`` engine steps of batch 256 (a WGAN's
  engine step is 5 critic steps and one generator step) or fitted in closed form (gmm, kde). Per family: modes
  covered and share of high-quality samples of 2,000 samples (:func:`condgen.metrics.toy2d.toy2d_quality`), and
  the held-out log-likelihood in nats per point where the family defines one (5,000 fresh points, seed 10007):
  exact for gmm / kde, the importance-weighted lower bound (64 draws) for the VAEs, of log p(x | y) for the CVAE.
  Image flows take images only and are not in this section. ``--plot`` (``families.png``): one scatter plot per
  family and set of this run.
* **faces** (``families_faces.py``): 32-px faces, the same CPU budget for each neural family.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from common import RESULTS, provenance  # noqa: E402
from condgen.data import load_dataset  # noqa: E402
from condgen.data.toy2d import VARIANTS  # noqa: E402
from condgen.errors import ConfigError  # noqa: E402
from condgen.io import atomic_write_json  # noqa: E402
from condgen.metrics.likelihood import bits_per_dim  # noqa: E402
from condgen.metrics.toy2d import toy2d_quality  # noqa: E402
from condgen.models.factory import RECIPES, build_model  # noqa: E402
from condgen.train import TrainConfig, train  # noqa: E402
from condgen.train.seeding import seed_everything  # noqa: E402

HELD_OUT_SEED = 10_007
#: ``--toy-options``: settings for 2-D data where the CLI's (image-tuned) defaults fall short, with their steps.
#: WGAN-GP: the setting of tests/models/test_quality.py (lr 1e-3, λ = 1 — with λ = 10 the 2-D dynamics
#: oscillate —, an 8-d latent, MLP 3×128); WGAN: the same networks, its clipped critic at a 10x higher lr.
TOY_OPTIONS = {
    "wgan-gp": ({"hidden": 128, "depth": 3, "latent_dim": 8, "lr": 1e-3, "gp_weight": 1.0}, 800),
    "wgan": ({"hidden": 128, "depth": 3, "latent_dim": 8, "lr": 5e-4}, 3000),
}


def family_names(modality: str) -> list[str]:
    """The CLI names whose model takes ``modality``, an alias (same class and options as an earlier name) once."""
    names, seen = [], []
    for name, recipe in RECIPES.items():
        key = (recipe.model_class, sorted(recipe.fixed.items()), sorted(recipe.defaults.items()))
        if modality in recipe.model_class.modalities and key not in seen:
            names.append(name)
            seen.append(key)
    return names


def train_family(name: str, data, steps: int, batch_size: int, seed: int = 0, **options):
    """Model ``name`` trained (or fitted) on ``data`` with the CLI's defaults; returns ``(model, seconds)``."""
    seed_everything(seed)
    started = time.perf_counter()
    model = build_model(name, data, **options)
    if getattr(model, "fits_in_closed_form", False):
        model.fit(data, seed=seed, progress=False)
    else:
        model = train(model, data, TrainConfig(steps=steps, batch_size=batch_size, seed=seed, progress=False,
                                               sample_every=0)).model
    return model.eval(), time.perf_counter() - started


@torch.no_grad()
def draw(model, n: int, seed: int, label_pool: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """``n`` samples, seeded; a conditional model gets attribute rows drawn from ``label_pool``."""
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        attributes = None
        if model.is_conditional:
            attributes = label_pool[torch.randint(len(label_pool), (size,), generator=generator)]
        parts.append(model.sample(size, generator=generator, attributes=attributes).cpu())
    return torch.cat(parts)


def log_likelihood(model, test, draws: int = 64) -> tuple[float | None, str | None]:
    """Held-out log-likelihood in nats per example and what it is, or ``(None, None)`` without a likelihood."""
    extras = {"attributes": test.attributes} if model.is_conditional else {}
    try:
        result = bits_per_dim(model, test.examples(), samples=draws, generator=torch.Generator().manual_seed(0),
                              **extras)
    except ConfigError:
        return None, None
    nats = -result.mean * test.examples()[0].numel() * math.log(2)
    kind = "exact" if result.kind == "exact" else "lower bound"
    return nats, kind + (" of log p(x | y)" if model.is_conditional else "")


def toy2d_variant(variant: str, entries: list[tuple[str, str, int, dict]], n: int,
                  n_samples: int) -> tuple[dict, dict]:
    """One toy2d set for ``entries`` ``(row name, family, steps, options)``: ``({row: metrics}, {row: samples})``."""
    torch.set_num_threads(1)
    train_set = load_dataset(f"toy2d-{variant}", n=n, seed=0)
    test = load_dataset(f"toy2d-{variant}", n=n, seed=HELD_OUT_SEED)
    rows, samples = {}, {}
    for row_name, name, steps, options in entries:
        model, seconds = train_family(name, train_set, steps, 256, **options)
        points = draw(model, n_samples, 1, test.attributes)
        quality = toy2d_quality(points, variant)
        nats, kind = log_likelihood(model, test)
        closed = getattr(model, "fits_in_closed_form", False)
        row = {"modes": quality["modes"], "modes_total": quality["modes_total"],
               "high_quality": quality["high_quality"], "log_likelihood": nats, "log_likelihood_kind": kind,
               "steps": None if closed else steps, "train_seconds": seconds, "options": options}
        rows[row_name], samples[row_name] = row, points
        print(f"toy2d {variant:12s} {row_name:10s} modes {row['modes']:2d}/{row['modes_total']:2d}  high-quality "
              f"{row['high_quality']:.3f}  log-lik {nats if nats is None else round(nats, 3)}  {seconds:.1f} s",
              flush=True)
    return rows, samples


def run_toy2d(args) -> tuple[dict, dict]:
    """``({variant: {family: row}}, {variant: {family: samples}})``; ``args.workers`` processes share the sets."""
    families = [name for name in family_names("vectors") if name in args.families] if args.families else \
        family_names("vectors")
    variants = args.variants or list(VARIANTS)
    if args.toy_options:
        entries = [(f"{name} (toy options)", name, min(steps, args.toy2d_steps) if args.quick else steps, options)
                   for name, (options, steps) in TOY_OPTIONS.items() if name in families]
    else:
        entries = [(name, name, args.toy2d_steps, {}) for name in families]
    jobs = [(variant, entries, args.toy2d_n, args.toy2d_samples) for variant in variants]
    if args.workers > 1:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            outcomes = pool.starmap(toy2d_variant, jobs)
    else:
        outcomes = [toy2d_variant(*job) for job in jobs]
    return ({variant: rows for variant, (rows, _) in zip(variants, outcomes, strict=True)},
            {variant: samples for variant, (_, samples) in zip(variants, outcomes, strict=True)})


def plot_toy2d(samples: dict, results: dict, path) -> None:
    variants = list(samples)
    families = list(next(iter(samples.values())))
    figure, axes = plt.subplots(len(variants), len(families), figsize=(1.9 * len(families), 2.0 * len(variants)),
                                squeeze=False)
    for i, variant in enumerate(variants):
        data = load_dataset(f"toy2d-{variant}", n=2000, seed=HELD_OUT_SEED).data
        for j, name in enumerate(families):
            axis, points, row = axes[i][j], samples[variant][name], results[variant][name]
            axis.scatter(data[:, 0], data[:, 1], s=1, color="lightgrey", linewidths=0)
            axis.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4, color="tab:blue", linewidths=0)
            low, high = data.min(0).values - 1, data.max(0).values + 1
            axis.set_xlim(float(low[0]), float(high[0]))
            axis.set_ylim(float(low[1]), float(high[1]))
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_title(f"{name}: {row['modes']}/{row['modes_total']}, {row['high_quality']:.2f}", fontsize=7)
            if j == 0:
                axis.set_ylabel(variant, fontsize=8)
    figure.suptitle("samples (blue) over held-out data (grey); title: modes covered, high-quality share", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def toy2d_markdown(results: dict) -> list[str]:
    lines = ["### toy2d (5,000 training points; neural families: engine steps of batch 256, CLI defaults)", "",
             "| set | family | steps | modes covered | high-quality share | held-out log-lik (nats/point) | train s |",
             "|---|---|---|---|---|---|---|"]
    for variant, rows in results.items():
        for name, r in rows.items():
            ll = "—" if r["log_likelihood"] is None else \
                f"{r['log_likelihood']:.3f}" + ("" if r["log_likelihood_kind"] == "exact" else " (≥, bound)")
            steps = "closed form" if r["steps"] is None else r["steps"]
            lines.append(f"| {variant} | {name} | {steps} | {r['modes']}/{r['modes_total']} | "
                         f"{r['high_quality']:.3f} | {ll} | {r['train_seconds']:.1f} |")
    tuned = {name: r["options"] for rows in results.values() for name, r in rows.items() if r.get("options")}
    lines += [""] + [f"{name}: `{options}`." for name, options in tuned.items()]
    lines += ["", "High quality: within 3 std of the noise-free support (mode centre or curve); a mode (moons: 8 arcs, "
              "swiss roll: 10 arcs) is covered with at least 20 % of a uniform share of high-quality samples. "
              "Image flows (realnvp, glow) take images only. The CVAE's number is of log p(x | y). Train s: wall "
              "seconds of training (or fitting) on a shared 2-core machine with other jobs running, not a speed "
              "comparison."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--toy2d-only", action="store_true")
    parser.add_argument("--faces-only", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run of both sections (checks the code), under $TMPDIR/condgen-families-quick/")
    parser.add_argument("--merge", action="store_true", help="keep the results file's sections this run skips")
    parser.add_argument("--families", type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
                        default=None, help="comma-separated CLI names (default: every family of the modality)")
    parser.add_argument("--toy2d-steps", type=int, default=500)
    parser.add_argument("--toy-options", action="store_true",
                        help="train only the families of TOY_OPTIONS, with those options and steps (rows "
                             "'NAME (toy options)'; use with --merge)")
    parser.add_argument("--variants", type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
                        default=None, help=f"comma-separated toy2d sets (default: {', '.join(VARIANTS)})")
    parser.add_argument("--toy2d-n", type=int, default=5000)
    parser.add_argument("--toy2d-samples", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the toy2d sets (one thread each)")
    from families_faces import add_faces_arguments, run_faces

    add_faces_arguments(parser)
    parser.add_argument("--plot", default="families.png", help="the toy2d scatter plots' file in results/")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite families.md from families.json")
    args = parser.parse_args()
    if args.markdown_only:
        write_markdown(json.loads((RESULTS / "families.json").read_text()), RESULTS / "families.json")
        return
    if args.quick:
        args.toy2d_steps, args.toy2d_n, args.toy2d_samples = 20, 600, 300
    # A quick run checks the code; its numbers mean nothing, so it never lands in results/.
    results_dir = Path(tempfile.gettempdir()) / "condgen-families-quick" if args.quick else RESULTS
    stem = "families"
    path = results_dir / f"{stem}.json"
    section = "faces" if args.faces_only else "toy2d" if args.toy2d_only else "all"
    if args.merge and (args.families or args.variants or args.toy_options):  # keep the other rows' provenance
        names = [f"{name} (toy options)" for name in TOY_OPTIONS] if args.toy_options else args.families
        section += f" ({', '.join(names or ['every family'])} on {', '.join(args.variants or ['every set'])})"
    run = {"provenance": {section: provenance()}}
    results_dir.mkdir(parents=True, exist_ok=True)
    if not args.faces_only:
        run["toy2d"], samples = run_toy2d(args)
        run["toy2d_setup"] = {"batch_size": 256, "n_train": args.toy2d_n, "n_samples": args.toy2d_samples,
                              "held_out_seed": HELD_OUT_SEED}  # steps: each row's own
        plot_toy2d(samples, run["toy2d"], results_dir / args.plot)
    if not args.toy2d_only:
        run.update(run_faces(args, results_dir / f"{stem}_faces.png"))
    # Read the file only now: a --merge run keeps what another run wrote there in the meantime.
    results = json.loads(path.read_text()) if args.merge and path.exists() else {}
    for key, value in run.items():
        if key in ("provenance", "toy2d") and args.merge:  # row by row: a --merge run replaces the rows it ran
            for inner, rows in value.items():
                target = results.setdefault(key, {})
                target[inner] = {**target.get(inner, {}), **rows} if key == "toy2d" else rows
        else:
            results[key] = value
    atomic_write_json(path, results)
    write_markdown(results, path)


def write_markdown(results: dict, path: Path) -> None:
    """``families.md`` next to ``path`` (the JSON) from its results; printed too."""
    lines = [f"## Generative families ({path.name})", ""]
    if "toy2d" in results:
        lines += toy2d_markdown(results["toy2d"]) + [""]
    if "faces" in results:
        from families_faces import faces_markdown

        lines += faces_markdown(results) + [""]
    lines += [f"{section}: `{p['command']}` — commit {p['commit']}, {p['machine']}, torch threads "
              f"{p['torch_threads']}, {p['date']}." for section, p in results["provenance"].items()]
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
