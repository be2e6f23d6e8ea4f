"""Plugin vs latent directions vs CVAE / CGAN on the built-in faces, with a VAE and a GAN backbone.

    python benchmarks/plugin_faces.py            # writes benchmarks/results/plugin_faces.{json,md,png}

Backbones, labeller and oracle are condgen's shipped artifacts under ``models/`` (each with the
command that trained it). The CVAE and CGAN are trained from scratch here, on the same data, for
``--baseline-steps`` steps; every wall time is measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common import RESULTS, provenance  # noqa: E402
from condgen.data import load_from_spec  # noqa: E402
from condgen.evaluation.report import run_report  # noqa: E402
from condgen.io import load  # noqa: E402
from condgen.plugin import fit_plugin  # noqa: E402
from condgen.train import TrainConfig  # noqa: E402

ATTRIBUTES = ["smiling", "eyeglasses", "male"]
TARGETS = {"conditional mean accuracy": 0.95, "edit mean success": 0.90, "edit preservation": 0.95,
           "cvae time / plugin time": 10.0}


def fit_timed(backbone, attributes, steps, labeller=None, n_latents=20000):
    data = load_from_spec(backbone.data_spec)
    started = time.perf_counter()
    plugin = fit_plugin(backbone, data, attributes, labeller=labeller, n_latents=n_latents,
                        train_config=TrainConfig(steps=steps, batch_size=256, seed=0, progress=True, sample_every=0))
    return plugin, time.perf_counter() - started


def rows_of(report: dict, backbone: str) -> list[dict]:
    timing = report["timing"]
    time_keys = {"plugin": "plugin_fit_s", "directions": "directions_fit_s", "cvae": "cvae_train_s",
                 "cgan": "cgan_train_s"}
    results = {"plugin": report, **report["baselines"]}
    return [{
        "backbone": backbone if name in ("plugin", "directions") else "none (from scratch)",
        "method": name,
        "conditional_accuracy": r["conditional"]["mean_accuracy"],
        "conditional_fid": r["conditional"]["fid"],
        "edit_success": r["edit"]["mean_success"],
        "preservation": r["edit"]["preservation"],
        "edit_fid": r["edit"]["fid"],
        "change_l1": sum(r["edit"]["change_l1"].values()) / len(r["edit"]["change_l1"]),
        "fit_seconds": timing.get(time_keys[name]),
    } for name, r in results.items()]


def markdown(rows: list[dict], meta: dict) -> str:
    lines = ["| backbone | method | cond. accuracy | cond. FID | edit success | preservation | edit FID | "
             "mean abs. change | fit / train s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backbone']} | {r['method']} | {r['conditional_accuracy']:.3f} | "
                     f"{r['conditional_fid']:.2f} | {r['edit_success']:.3f} | {r['preservation']:.3f} | "
                     f"{r['edit_fid']:.2f} | {r['change_l1']:.3f} | {r['fit_seconds']:.0f} |")
    lines += ["", f"Oracle held-out accuracy: {meta['oracle_accuracy']}", "",
              f"Command: `{meta['provenance']['command']}` — commit {meta['provenance']['commit']}, "
              f"{meta['provenance']['machine']}, {meta['provenance']['date']}."]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path) -> None:
    metrics = [("conditional_accuracy", "cond. accuracy"), ("edit_success", "edit success"),
               ("preservation", "preservation")]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 2]})
    labels = [f"{r['method']}\n{r['backbone'].split()[0]}" for r in rows]
    width = 0.8 / len(metrics)
    for i, (key, title) in enumerate(metrics):
        axes[0].bar([j + i * width for j in range(len(rows))], [r[key] for r in rows], width, label=title)
    axes[0].set_xticks([j + width for j in range(len(rows))], labels, fontsize=8)
    axes[0].set_ylim(0, 1.05)
    axes[0].legend(fontsize=8)
    axes[0].set_title("attribute control (oracle-judged)")
    axes[1].bar(labels, [r["fit_seconds"] for r in rows], color="grey")
    axes[1].set_yscale("log")
    axes[1].set_title("wall time to fit / train (s, log)")
    axes[1].tick_params(axis="x", labelsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plugin-steps", type=int, default=3000)
    parser.add_argument("--baseline-steps", type=int, default=8000, help="CVAE/CGAN steps (the VAE had 8000)")
    parser.add_argument("--n-edit", type=int, default=300)
    parser.add_argument("--n-generate", type=int, default=250)
    args = parser.parse_args()

    oracle = load("faces-oracle")
    vae = load("faces-vae")
    plugin, seconds = fit_timed(vae, ATTRIBUTES, args.plugin_steps)
    vae_report = run_report(plugin, seconds, oracle=oracle, baselines=("directions", "cvae", "cgan"),
                            baseline_steps=args.baseline_steps, n_edit=args.n_edit, n_generate=args.n_generate)
    gan, labeller = load("faces-dcgan"), load("faces-labeller")
    gan_plugin, gan_seconds = fit_timed(gan, ATTRIBUTES, args.plugin_steps, labeller=labeller)
    gan_report = run_report(gan_plugin, gan_seconds, oracle=oracle, baselines=("directions",), labeller=labeller,
                            n_edit=args.n_edit, n_generate=args.n_generate)

    rows = rows_of(vae_report, "faces-vae") + [r for r in rows_of(gan_report, "faces-dcgan")]
    plugin_row = rows[0]
    verdicts = {
        "conditional mean accuracy": plugin_row["conditional_accuracy"],
        "edit mean success": plugin_row["edit_success"],
        "edit preservation": plugin_row["preservation"],
        "cvae time / plugin time": vae_report["timing"]["cvae_train_s"] / vae_report["timing"]["plugin_fit_s"],
    }
    directions = next(r for r in rows if r["method"] == "directions" and r["backbone"] == "faces-vae")
    meta = {
        "provenance": provenance(),
        "oracle_accuracy": {k: round(v, 4) for k, v in vae_report["oracle_accuracy"].items()},
        "targets": {k: {"value": verdicts[k], "target": t, "met": verdicts[k] >= t} for k, t in TARGETS.items()},
        "plugin_beats_directions": {
            "edit_success": [plugin_row["edit_success"], directions["edit_success"]],
            "preservation": [plugin_row["preservation"], directions["preservation"]],
            "met": plugin_row["edit_success"] > directions["edit_success"]
            and plugin_row["preservation"] >= directions["preservation"],
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "plugin_faces.json").write_text(json.dumps(
        {"meta": meta, "rows": rows, "reports": {"faces-vae": vae_report, "faces-dcgan": gan_report}}, indent=2))
    (RESULTS / "plugin_faces.md").write_text(markdown(rows, meta))
    plot(rows, RESULTS / "plugin_faces.png")
    print(markdown(rows, meta))
    print(json.dumps(meta["targets"], indent=2), json.dumps(meta["plugin_beats_directions"]))


if __name__ == "__main__":
    main()
