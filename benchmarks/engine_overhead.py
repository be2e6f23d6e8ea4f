"""The engine's overhead: one VAE trained by a bare PyTorch loop, by condgen's engine and by pythae's trainer.

    .venv/bin/python benchmarks/engine_overhead.py [--steps 500] [--repeats 3] [--warmup-steps 20]

The model: condgen's ``vae`` at its defaults (the shipped ``faces-vae`` recipe: DCGAN stacks, base channels 32,
latent 64, Adam lr 1e-3) on the built-in faces at 32 px, the first ``steps × batch / epochs`` of them
(16,000 for the defaults: two passes), batch 64, one torch thread, on the CPU. Three ways to train it:

* ``bare``: a hand-written loop — a ``randperm`` per epoch, then per step the batch's images as the engine
  takes them (``data.batch(rows)``: the stored uint8 rows scaled to [-1, 1]; converting the whole set to
  floats once instead made the loop about 5% *slower* here, gathering rows from a 4× larger array),
  ``model.compute_loss`` (condgen's own negative ELBO, so the math is identical), ``zero_grad``,
  ``backward``, ``Adam.step``; nothing logged, nothing saved.
* ``condgen``: ``condgen.train.train(model, data, TrainConfig(steps, batch_size, out=DIR))``, everything else at
  its default: the CSV log every 50 steps, a checkpoint (and the model artifact) every 500 steps and at the end,
  the progress bar (drawn only on a terminal), divergence checks every step.
* ``pythae``: pythae 0.1.2's ``BaseTrainer`` at its defaults (no eval set: it keeps the best model on the
  training loss, saves the final model, tqdm bars) training pythae's ``VAE`` around *the same torch modules*
  (condgen's encoder and decoder stacks; pythae takes custom networks), in a venv of its own that this script
  makes under ``$CONDGEN_CACHE/pythae-venv`` (torch 2.13.0, CPU build, then pythae 0.1.2). pythae's loss is
  its own (squared error / 2 plus the KL, no KL warm-up): the same network work, a different constant.

Each timed run trains a fresh, identically seeded model for ``--steps`` steps after a warm-up run of
``--warmup-steps`` in the same process; the time covers the whole training call (set-up, loop, logs, the
saves at the end), not building the model or loading data. The three alternate within each of ``--repeats``
rounds, in a rotating order, so that a loaded machine slows all alike; the table gives the median of wall
steps/s and of steps per CPU second of the process (less sensitive to other jobs on a shared machine).
Finally cProfile runs the engine once more and attributes its time per step (profiling slows Python calls, so
the shares are what to read). Writes ``benchmarks/results/engine_overhead.{json,md}``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, provenance  # noqa: E402
from condgen.data.cache import cache_dir  # noqa: E402
from condgen.data.registry import load_dataset  # noqa: E402
from condgen.models.base import Batch  # noqa: E402
from condgen.models.vae import VAE, VAEConfig  # noqa: E402
from condgen.train import TrainConfig, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYTHAE_WORKER = Path(__file__).with_name("engine_overhead_pythae.py")
PYTHAE_PINS = ("torch==2.13.0", "pythae==0.1.2")
METHODS = ("bare", "condgen", "pythae")
#: Where the engine's time goes: (label, file, function) as cProfile names them.
PROFILED = (
    ("model forward + loss (compute_loss)", "base.py", "forward"),
    ("backward", "_tensor.py", "backward"),
    ("Adam step", "adam.py", "step"),
    ("zero_grad", "module.py", "zero_grad"),
    ("batch: index + uint8 → float", "dataset.py", "batch"),
    ("sampler: next indices", "sampler.py", "next_indices"),
    ("float(loss) + divergence check", "engine.py", "_checked_loss"),
    ("run log: add per step", "reporting.py", "add"),
    ("run log: CSV flush (every 50)", "reporting.py", "flush"),
    ("lr: scheduler step", "lr_scheduler.py", "step"),
    ("lr: read for the log", "optim.py", "current_lr"),
    ("progress bar update", "progress.py", "update"),
    ("KL warm-up (set_progress)", "vae.py", "set_progress"),
    ("checkpoint + artifact (every 500)", "engine.py", "_save_checkpoint"),
)
#: What a bare loop does too; the rest of the engine's time is its own.
TRAINING_WORK = ("base.py", "_tensor.py", "adam.py", "module.py")


def faces(steps: int, batch_size: int, epochs: int):
    """The first ``steps · batch_size / epochs`` built-in faces (so ``epochs`` passes make ``steps`` steps)."""
    if steps % epochs:
        raise SystemExit(f"--steps {steps} must be a multiple of --epochs {epochs}")
    n = steps // epochs * batch_size
    data = load_dataset("faces")
    if n > len(data):
        raise SystemExit(f"{n} faces needed but the built-in set has {len(data)}: raise --epochs")
    return data.subset(torch.arange(n))


def fresh_model(seed: int) -> VAE:
    torch.manual_seed(seed)
    return VAE(VAEConfig())


def bare_loop(model: VAE, data, steps: int, batch_size: int) -> float:
    """The loop one writes by hand; returns the last loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=model.config.lr, betas=tuple(model.config.betas))
    model.train()
    per_epoch = len(data) // batch_size
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(len(data))
        x, attributes = data.batch(order[step % per_epoch * batch_size:(step % per_epoch + 1) * batch_size])
        model.set_progress(step, steps)
        loss, _ = model.compute_loss("model", Batch(x, attributes))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def run_bare(data, steps: int, batch_size: int, warmup: int, seed: int) -> dict:
    bare_loop(fresh_model(seed), data, warmup, batch_size)
    model = fresh_model(seed)
    torch.manual_seed(seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    loss = bare_loop(model, data, steps, batch_size)
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started,
            "steps": steps, "final_loss": loss}


def engine_config(steps: int, batch_size: int, seed: int, out: Path) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=batch_size, seed=seed, out=out)


def run_engine(data, steps: int, batch_size: int, warmup: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        train(fresh_model(seed), data, engine_config(warmup, batch_size, seed, Path(folder) / "warm"))
        model = fresh_model(seed)
        started, cpu_started = time.perf_counter(), time.process_time()
        result = train(model, data, engine_config(steps, batch_size, seed, Path(folder) / "run"))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "steps": result.steps_done,
            "final_loss": result.history[-1]["model/loss"]}


def pythae_python() -> Path:
    """The venv's python, made on first use: torch (the CPU build on this disk) first, then pythae."""
    venv = cache_dir() / "pythae-venv"
    python = venv / "bin" / "python"
    marker = venv / "condgen-installed.txt"
    if not marker.is_file():
        print(f"making {venv} ({', '.join(PYTHAE_PINS)}) …", flush=True)
        subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
        for pin in PYTHAE_PINS:
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", pin], check=True)
        marker.write_text("\n".join(PYTHAE_PINS) + "\n")
    return python


def run_pythae(python: Path, data_file: Path, steps: int, batch_size: int, epochs: int, warmup: int,
               seed: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [str(python), str(PYTHAE_WORKER), "--data", str(data_file), "--steps", str(steps), "--batch-size",
             str(batch_size), "--epochs", str(epochs), "--warmup-steps", str(warmup), "--src", str(ROOT / "src"),
             "--out", folder, "--seed", str(seed)],
            capture_output=True, text=True, env=env, cwd=folder)
    if done.returncode != 0:
        raise SystemExit(f"pythae worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def profile_engine(data, steps: int, batch_size: int, seed: int) -> dict:
    """cProfile of one engine run: ms per step (profiled) of each part of :data:`PROFILED`."""
    model = fresh_model(seed)
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as folder:
        config = engine_config(steps, batch_size, seed, Path(folder) / "run")
        profiler.enable()
        train(model, data, config)
        profiler.disable()
    stats = pstats.Stats(profiler).stats

    def cumulative(file: str, function: str) -> float:
        return sum(ct for (path, _, name), (_, _, _, ct, _) in stats.items()
                   if name == function and os.path.basename(path) == file)

    total = cumulative("engine.py", "train")
    parts = [{"part": label, "function": f"{file}:{function}", "ms_per_step": 1000 * cumulative(file, function) / steps,
              "share": cumulative(file, function) / total} for label, file, function in PROFILED]
    work = sum(cumulative(file, function) for _, file, function in PROFILED if file in TRAINING_WORK)
    return {"steps": steps, "total_ms_per_step": 1000 * total / steps, "parts": parts,
            "engine_own_ms_per_step": 1000 * (total - work) / steps, "engine_own_share": (total - work) / total}


def summarise(runs: dict[str, list[dict]]) -> dict[str, dict]:
    table = {}
    for method, results in runs.items():
        speeds = [r["steps"] / r["seconds"] for r in results]
        cpu_speeds = [r["steps"] / r["cpu_seconds"] for r in results]
        table[method] = {"steps_per_s": statistics.median(speeds), "runs_steps_per_s": speeds,
                         "cpu_steps_per_s": statistics.median(cpu_speeds), "runs_cpu_steps_per_s": cpu_speeds,
                         "final_loss": results[-1]["final_loss"]}
    for row in table.values():
        row["vs_bare"] = row["steps_per_s"] / table["bare"]["steps_per_s"]
        row["cpu_vs_bare"] = row["cpu_steps_per_s"] / table["bare"]["cpu_steps_per_s"]
    return table


def markdown(meta: dict) -> str:
    table, profile, p = meta["table"], meta["profile"], meta["provenance"]
    lines = [f"# Engine overhead: one VAE, three training loops ({meta['steps']} steps, batch {meta['batch_size']}, "
             "one thread)", "",
             "| loop | steps/s (median) | runs | × bare loop | per CPU second (median) | × bare loop |",
             "|---|---|---|---|---|---|"]
    for method in METHODS:
        row = table[method]
        runs = ", ".join(f"{s:.2f}" for s in row["runs_steps_per_s"])
        lines.append(f"| {meta['labels'][method]} | {row['steps_per_s']:.2f} | {runs} | {row['vs_bare']:.3f} | "
                     f"{row['cpu_steps_per_s']:.2f} | {row['cpu_vs_bare']:.3f} |")
    met = {key: "met" if value else "missed" for key, value in meta["targets"].items()}
    lines += ["", f"Targets: condgen within 5% of the bare loop — {met['within_5pct_of_bare']} "
              f"({100 * (table['condgen']['vs_bare'] - 1):+.1f}%); at least as fast as pythae — "
              f"{met['at_least_pythae']} "
              f"({table['condgen']['steps_per_s'] / table['pythae']['steps_per_s']:.2f}×)."]
    lines += ["", "Same model, data, batch, steps, Adam (lr 1e-3, betas 0.9/0.999) and one torch thread in all three; "
              "pythae trains the same torch modules (condgen's encoder/decoder stacks as its custom networks) "
              "with its own loss (squared error / 2 + KL; condgen's: / 2σ², KL warm-up), through its DataLoader "
              "(item by item, then collated), keeping the best model on the training loss and saving the final "
              "one. The bare loop takes its batches as the engine does (uint8 rows scaled per batch). Times "
              "cover the whole training call after a warm-up run; data loading and model building excluded."]
    if profile is not None:
        lines += profile_lines(profile)
    lines += ["", f"Command: `{p['command']}` — commit {p['commit']}, {p['machine']}, torch {p['torch']}, {p['date']}."]
    return "\n".join(lines) + "\n"


def profile_lines(profile: dict) -> list[str]:
    lines = ["", f"## Where the engine's time goes (cProfile, {profile['steps']} steps, "
              f"{profile['total_ms_per_step']:.1f} ms per profiled step)", "",
              "| part | function | ms/step | share |", "|---|---|---|---|"]
    for part in profile["parts"]:
        lines.append(f"| {part['part']} | `{part['function']}` | {part['ms_per_step']:.3f} | "
                     f"{100 * part['share']:.2f}% |")
    lines += ["", f"The engine's own work (all but forward, backward, Adam and zero_grad): "
              f"{profile['engine_own_ms_per_step']:.2f} ms per step, {100 * profile['engine_own_share']:.1f}% "
              "of the profiled time."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2, help="passes over the data the steps make")
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile-steps", type=int, default=500, help="engine steps under cProfile (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    python = pythae_python()
    data = faces(args.steps, args.batch_size, args.epochs)
    runs: dict[str, list[dict]] = {method: [] for method in METHODS}
    with tempfile.TemporaryDirectory() as folder:
        data_file = Path(folder) / "faces.npy"
        np.save(data_file, data.examples().numpy(), allow_pickle=False)
        for repeat in range(args.repeats):
            for method in METHODS[repeat % 3:] + METHODS[:repeat % 3]:
                if method == "bare":
                    result = run_bare(data, args.steps, args.batch_size, args.warmup_steps, args.seed)
                elif method == "condgen":
                    result = run_engine(data, args.steps, args.batch_size, args.warmup_steps, args.seed)
                else:
                    result = run_pythae(python, data_file, args.steps, args.batch_size, args.epochs,
                                        args.warmup_steps, args.seed)
                runs[method].append(result)
                print(f"round {repeat + 1}: {method:8s} {result['steps'] / result['seconds']:.2f} steps/s", flush=True)
    table = summarise(runs)
    profile = profile_engine(data, args.profile_steps, args.batch_size, args.seed) if args.profile_steps else None
    meta = {
        "steps": args.steps, "batch_size": args.batch_size, "epochs": args.epochs, "examples": len(data),
        "warmup_steps": args.warmup_steps, "repeats": args.repeats, "data": data.spec,
        "model": {"kind": "vae", "config": "VAEConfig() defaults (the faces-vae recipe)"},
        "labels": {"bare": "bare PyTorch loop", "condgen": "condgen engine (defaults, out=DIR)",
                   "pythae": "pythae 0.1.2 BaseTrainer (same torch modules)"},
        "table": table, "runs": runs, "profile": profile,
        "targets": {"within_5pct_of_bare": table["condgen"]["vs_bare"] >= 0.95,
                    "at_least_pythae": table["condgen"]["steps_per_s"] >= table["pythae"]["steps_per_s"]},
        "pythae_pins": list(PYTHAE_PINS), "provenance": provenance(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine_overhead.json").write_text(json.dumps(meta, indent=2) + "\n")
    (RESULTS / "engine_overhead.md").write_text(markdown(meta))
    print(json.dumps({m: round(table[m]["steps_per_s"], 3) for m in METHODS}), json.dumps(meta["targets"]))


if __name__ == "__main__":
    main()
