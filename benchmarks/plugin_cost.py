"""The plugin's cost advantage as curves: oracle-judged quality against wall seconds, plugin vs CVAE vs CGAN.

    python benchmarks/plugin_cost.py     # writes benchmarks/results/plugin_cost.{json,md,png}

One run, one torch thread, the built-in faces (20,000 images, 32 px), attributes smiling / eyeglasses /
male, judged by the shipped ``faces-oracle`` on the held-out faces exactly as ``plugin_faces.py`` judges
them (250 samples per attribute value, 300 held-out edits per attribute).

* **plugin**: fitted from scratch on the frozen shipped ``faces-vae`` at each ``--plugin-steps`` budget
  (batch 256, as ``condgen plugin fit``); its time is encoding the 20,000 faces plus the flow's steps. The
  backbone's own training is not part of it (the premise: the backbone exists); its recorded training
  command is stated next to the curves.
* **cvae**: trained from scratch once per ``--cvae-steps`` budget (its KL warm-up is a share of the
  budget, so a shorter run is not a prefix of a longer one); time = that run's wall time.
* **cgan**: one run from scratch, stopped at each ``--cgan-steps`` budget, judged, then resumed from its
  checkpoint (nothing in the CGAN depends on the budget: constant learning rate, no schedule, so the
  model at step k is the one a k-step run ends with); time = the training wall time up to k, judging
  excluded, checkpoint writes and reads included.

``time_to_target_s`` in the JSON: per method, the wall time of the first budget at which both
conditional accuracy ≥ 0.95 and edit success ≥ 0.90 hold (null if none does).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from common import RESULTS, provenance  # noqa: E402
from condgen.evaluation.baselines import train_conditional_timed  # noqa: E402
from condgen.evaluation.methods import ConditionalModelMethod, PluginMethod  # noqa: E402
from condgen.evaluation.protocol import evaluate_method  # noqa: E402
from condgen.evaluation.report import held_out_data  # noqa: E402
from condgen.io import load  # noqa: E402
from condgen.models import build_model  # noqa: E402
from condgen.plugin import collect_latents, fit_plugin  # noqa: E402
from condgen.train import TrainConfig  # noqa: E402
from condgen.train import train as run_training  # noqa: E402
from condgen.train.seeding import seed_everything  # noqa: E402

ATTRIBUTES = ["smiling", "eyeglasses", "male"]
TARGET_ACCURACY, TARGET_EDIT = 0.95, 0.90
TARGET_RATIO, AIM_RATIO = 10.0, 20.0


def judged(method, test, oracle, n_generate: int, n_edit: int, label: str) -> dict:
    report = evaluate_method(method, test, oracle, ATTRIBUTES, n_generate=n_generate, n_edit=n_edit, label=label)
    return {"conditional_accuracy": report["conditional"]["mean_accuracy"],
            "edit_success": report["edit"]["mean_success"], "preservation": report["edit"]["preservation"],
            "conditional_fid": report["conditional"]["fid"], "edit_fid": report["edit"]["fid"]}


def plugin_curve(backbone, train, test, oracle, budgets, batch_size, args) -> list[dict]:
    points = []
    for steps in budgets:
        started = time.perf_counter()
        latents = collect_latents(backbone, train, ATTRIBUTES, progress=False)
        encoded = time.perf_counter()
        plugin = fit_plugin(backbone, None, ATTRIBUTES, latents=latents, progress=False,
                            train_config=TrainConfig(steps=steps, batch_size=batch_size, seed=0, progress=False))
        finished = time.perf_counter()
        point = {"steps": steps, "seconds": finished - started, "encode_seconds": encoded - started,
                 "flow_seconds": finished - encoded, "flow_width": plugin.config.hidden,
                 **judged(PluginMethod(plugin), test, oracle, args.n_generate, args.n_edit, f"plugin@{steps}")}
        points.append(point)
        print("plugin", json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in point.items()}),
              flush=True)
    return points


def conditional_model_method(model, train):
    return ConditionalModelMethod(model.eval(), train.select_attributes(model.schema.names).attributes)


def cvae_curve(train, test, oracle, budgets, args) -> list[dict]:
    points = []
    for steps in budgets:
        model, seconds = train_conditional_timed("cvae", train, ATTRIBUTES, steps, progress=False)
        point = {"steps": steps, "seconds": seconds,
                 **judged(conditional_model_method(model, train), test, oracle, args.n_generate, args.n_edit,
                          f"cvae@{steps}")}
        points.append(point)
        print("cvae", json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in point.items()}),
              flush=True)
    return points


def cgan_curve(train, test, oracle, budgets, args) -> list[dict]:
    data, points, seconds = train.select_attributes(ATTRIBUTES), [], 0.0
    with tempfile.TemporaryDirectory(prefix="plugin-cost-cgan-") as out:
        for i, steps in enumerate(budgets):
            started = time.perf_counter()
            seed_everything(0)
            model = build_model("cgan", data)  # replaced by the checkpoint's weights when resuming
            result = run_training(model, data, TrainConfig(steps=steps, batch_size=64, seed=0, progress=False,
                                                           out=Path(out), resume=i > 0, checkpoint_every=steps,
                                                           sample_every=0))
            seconds += time.perf_counter() - started
            point = {"steps": steps, "seconds": seconds,
                     **judged(conditional_model_method(result.model, train), test, oracle, args.n_generate,
                              args.n_edit, f"cgan@{steps}")}
            points.append(point)
            print("cgan", json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in point.items()}),
                  flush=True)
    return points


def time_to_target(points: list[dict]) -> float | None:
    reached = [p["seconds"] for p in points
               if p["conditional_accuracy"] >= TARGET_ACCURACY and p["edit_success"] >= TARGET_EDIT]
    return min(reached) if reached else None


def plot(curves: dict[str, list[dict]], backbone_note: str, path: Path) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for (key, title, target), axis in zip((("conditional_accuracy", "conditional accuracy", TARGET_ACCURACY),
                                           ("edit_success", "edit success", TARGET_EDIT)), axes, strict=True):
        for method, points in curves.items():
            axis.plot([p["seconds"] for p in points], [p[key] for p in points], marker="o", label=method)
            for p in points:
                axis.annotate(str(p["steps"]), (p["seconds"], p[key]), fontsize=6, xytext=(2, -8),
                              textcoords="offset points")
        axis.axhline(target, color="grey", linestyle="--", linewidth=0.8)
        axis.set_xscale("log")
        axis.set_xlabel("wall seconds of fitting / training (log; labels: steps)")
        axis.set_ylim(0, 1.02)
        axis.set_title(f"{title} (oracle-judged, held-out faces)")
        axis.legend(fontsize=8, loc="lower right")
    figure.suptitle(f"plugin on the frozen faces-vae vs CVAE / CGAN from scratch, one thread; {backbone_note}",
                    fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def markdown(curves: dict[str, list[dict]], times: dict, meta: dict) -> str:
    lines = ["| method | steps | wall s | cond. accuracy | edit success | preservation | cond. FID | edit FID |",
             "|---|---|---|---|---|---|---|---|"]
    for method, points in curves.items():
        for p in points:
            lines.append(f"| {method} | {p['steps']} | {p['seconds']:.1f} | {p['conditional_accuracy']:.3f} | "
                         f"{p['edit_success']:.3f} | {p['preservation']:.3f} | {p['conditional_fid']:.1f} | "
                         f"{p['edit_fid']:.1f} |")
    lines += ["", f"Time to conditional accuracy ≥ {TARGET_ACCURACY} and edit success ≥ {TARGET_EDIT}: "
              + ", ".join(f"{m} {'never' if s is None else f'{s:.1f} s'}" for m, s in times.items()),
              "", f"Ratios (target ≥ {TARGET_RATIO:.0f}x): " + ", ".join(
                  f"{k} {'n/a' if v is None else f'{v:.1f}x'}" for k, v in meta["ratios"].items()),
              "", f"Backbone (not part of the plugin's cost): {meta['backbone']}",
              "", f"Command: `{meta['provenance']['command']}` — commit {meta['provenance']['commit']}, "
              f"{meta['provenance']['machine']}, {meta['provenance']['torch_threads']} torch thread(s), "
              f"{meta['provenance']['date']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plugin-steps", type=int, nargs="+", default=[50, 100, 200, 400, 800])
    parser.add_argument("--plugin-batch-size", type=int, default=256)
    parser.add_argument("--cvae-steps", type=int, nargs="+", default=[250, 500, 1000, 2000, 4000])
    parser.add_argument("--cgan-steps", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--n-edit", type=int, default=300)
    parser.add_argument("--n-generate", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    oracle, backbone = load("faces-oracle"), load("faces-vae")
    train, test, held_out = held_out_data(backbone.data_spec)
    curves = {"plugin": plugin_curve(backbone, train, test, oracle, args.plugin_steps, args.plugin_batch_size, args),
              "cvae": cvae_curve(train, test, oracle, args.cvae_steps, args),
              "cgan": cgan_curve(train, test, oracle, args.cgan_steps, args)}
    times = {method: time_to_target(points) for method, points in curves.items()}
    ratios = {f"{other} / plugin": (times[other] / times["plugin"] if times[other] and times["plugin"] else None)
              for other in ("cvae", "cgan")}
    trained_with = (Path(__file__).resolve().parents[1] / "models" / "faces-vae" / "TRAINED_WITH.md").read_text()
    command = " ".join(line.strip().rstrip("\\") for line in trained_with.splitlines()
                       if line.startswith("    "))
    meta = {"provenance": provenance(), "held_out": held_out, "attributes": ATTRIBUTES,
            "targets": {"conditional_accuracy": TARGET_ACCURACY, "edit_success": TARGET_EDIT,
                        "ratio": TARGET_RATIO, "aim_ratio": AIM_RATIO},
            "ratios": ratios, "backbone": f"faces-vae, trained by `{command}` (8,000 steps; see "
                                          "models/faces-vae/TRAINED_WITH.md)"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "plugin_cost.json").write_text(json.dumps(
        {"meta": meta, "time_to_target_s": times, "curves": curves}, indent=2) + "\n")
    (RESULTS / "plugin_cost.md").write_text(markdown(curves, times, meta))
    plot(curves, "backbone training not counted", RESULTS / "plugin_cost.png")
    print(markdown(curves, times, meta))


if __name__ == "__main__":
    main()
