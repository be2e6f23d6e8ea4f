"""Synthetic tables: condgen's table models against the ``ctgan`` package's CTGAN and TVAE, scored by SDMetrics.

    .venv/bin/python benchmarks/synthetic_tables.py [--tables adult,german-credit] [--epochs adult=25]
        [--peer-python /work/venvs/ctgan-peer/bin/python]       # writes benchmarks/results/synthetic_tables.*

For each table, every model trains on its training split (Adult: the official 32,561 training rows; German
credit: condgen's fixed 800-row part) under **one budget**: the same batch size and the same number of
optimiser steps — ``epochs`` of the ctgan package (CTGAN: floor(rows / batch) steps per epoch, each one critic
and one generator update, as condgen's ``ctgan`` step is; TVAE: ceil(rows / batch) steps per epoch), given to
condgen as ``--steps``. Each model is otherwise at its own package's defaults. It then draws as many rows as the
held-out split holds (seed 0), and :func:`condgen.evaluation.table_quality.table_quality` scores them against the
held-out split (Adult: its official 16,281 test rows; German credit: the other 200): column shapes, column-pair
trends, LogisticDetection, and TSTR (HistGradientBoosting trained on the synthetic rows, tested on the held-out
target) next to the same classifier trained on the real training rows. A last row scores as many real training
rows (a seeded subset) the same way: what a perfect generator would get, given the split's own differences.

Models: condgen ``tvae`` and, when ``condgen models`` lists it, condgen ``ctgan``, each trained by ``condgen
train`` in a process of its own; the ctgan package's ``CTGAN`` and ``TVAE`` (BUSL-licensed: never a dependency of
condgen) through ``benchmarks/peers/ctgan_peer.py``, run by the python of the peer venv (``--peer-python``; made
with ``python3.11 -m venv``, then ``pip install -c C torch==2.13.0`` (the CPU build) and ``pip install -c C ctgan``
with C pinning torch==2.13.0), which reads the training split as ``condgen datasets export`` writes it and writes
its rows as CSV. Without that python the peer rows are skipped, and the report says so. Every process runs one
torch thread (``OMP_NUM_THREADS=1``); training seconds are wall and CPU seconds of the training process (condgen:
the whole ``condgen train`` command; the peer: its ``fit`` call, which includes the package's preprocessing).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy / torch load: one thread everywhere, the scoring included

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, provenance  # noqa: E402
from condgen.data.builtin_tables import load_builtin_table  # noqa: E402
from condgen.data.table_columns import columns_of, parse_rows  # noqa: E402
from condgen.evaluation.table_quality import table_quality  # noqa: E402
from condgen.io import atomic_write_bytes, atomic_write_json  # noqa: E402
from condgen.models.factory import MODEL_NAMES  # noqa: E402
from condgen.tasks.datasets import export_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONDGEN = Path(sys.executable).with_name("condgen")
PEER_SCRIPT = Path(__file__).with_name("peers") / "ctgan_peer.py"
DEFAULT_PEER_PYTHON = "/work/venvs/ctgan-peer/bin/python"
#: The row of real training rows scored as if they were synthetic: what a perfect generator would get.
REFERENCE = "real training rows"
#: (epochs of the ctgan package, batch size) per table; condgen gets the same steps.
BUDGETS = {"adult": (25, 500), "german-credit": (150, 100)}
#: model label → (who, name, how its steps follow from epochs: "floor" for CTGAN's loop, "ceil" for TVAE's)
MODELS = {
    "condgen tvae": ("condgen", "tvae", "ceil"),
    "condgen ctgan": ("condgen", "ctgan", "floor"),
    "ctgan-pkg TVAE": ("peer", "tvae", "ceil"),
    "ctgan-pkg CTGAN": ("peer", "ctgan", "floor"),
}


def steps_for(rule: str, epochs: int, rows: int, batch: int) -> int:
    per_epoch = max(rows // batch, 1) if rule == "floor" else math.ceil(rows / batch)
    return epochs * per_epoch


def timed_run(command: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``command``; its output, wall seconds and CPU seconds (its own and its children's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_condgen(name: str, table: str, steps: int, batch: int, rows: int, work: Path, columns) -> dict:
    model_dir, samples = work / f"condgen-{name}", work / f"condgen-{name}.csv"
    _, wall, cpu = timed_run([str(CONDGEN), "train", name, "--data", table, "--out", str(model_dir),
                              "--steps", str(steps), "--batch-size", str(batch), "--seed", "0",
                              "--sample-every", "0", "--checkpoint-every", str(steps)])
    _, sample_wall, _ = timed_run([str(CONDGEN), "sample", str(model_dir), "-n", str(rows), "--seed", "0",
                                   "--out", str(samples)])
    return {"train_s": wall, "train_cpu_s": cpu, "sample_s": sample_wall, "steps": steps,
            "rows": parse_rows(columns, samples)}


def run_peer(python: str, name: str, train_csv: Path, discrete: list[str], epochs: int, batch: int, rows: int,
             work: Path, columns) -> dict:
    samples = work / f"peer-{name}.csv"
    done, wall, cpu = timed_run([python, str(PEER_SCRIPT), "--model", name, "--data", str(train_csv),
                                 "--discrete", ",".join(discrete), "--epochs", str(epochs), "--batch-size",
                                 str(batch), "--rows", str(rows), "--seed", "0", "--out", str(samples)])
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {"train_s": report["fit_s"], "train_cpu_s": cpu, "process_s": wall, "sample_s": report["sample_s"],
            "steps": report["steps"], "epochs": epochs, "versions": {k: report[k] for k in ("ctgan", "rdt", "torch")},
            "rows": parse_rows(columns, samples)}


def benchmark_table(table: str, epochs: int, batch: int, models: list[str], peer_python: str | None,
                    work: Path) -> dict:
    train, test = load_builtin_table(table, split="train"), load_builtin_table(table, split="test")
    columns, target = columns_of(train.spec), train.spec["target"]
    train_csv, _ = export_table(table, work / f"{table}-train.csv", split="train")
    discrete = [column.name for column in columns if column.kind == "categorical"]
    result = {"train_rows": len(train), "held_out_rows": len(test), "epochs": epochs, "batch_size": batch,
              "target": target, "models": {}, "skipped": {}}
    for label in models:
        who, name, rule = MODELS[label]
        steps = steps_for(rule, epochs, len(train), batch)
        if who == "condgen" and name not in MODEL_NAMES:
            result["skipped"][label] = f"`condgen models` does not list {name} in this checkout"
            continue
        if who == "peer" and peer_python is None:
            result["skipped"][label] = "no peer python (--peer-python): the ctgan package was not run"
            continue
        print(f"[{table}] {label}: {steps:,} steps of batch {batch} …", flush=True)
        if who == "condgen":
            run = run_condgen(name, table, steps, batch, len(test), work, columns)
        else:
            run = run_peer(peer_python, name, train_csv, discrete, epochs, batch, len(test), work, columns)
        rows = run.pop("rows")
        start = time.perf_counter()
        run["quality"] = table_quality(columns, test.data, rows, target=target, real_train=train.data, seed=0)
        run["score_s"] = time.perf_counter() - start
        result["models"][label] = run
        print(f"[{table}] {label}: {summary(run)}", flush=True)
    subset = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:len(test)]
    real = {"train_s": None, "steps": None,
            "quality": table_quality(columns, test.data, train.data[subset], target=target, real_train=train.data)}
    result["models"][REFERENCE] = real
    print(f"[{table}] real training rows: {summary(real)}", flush=True)
    return result


def summary(run: dict) -> str:
    q = run["quality"]
    seconds = "" if run.get("train_s") is None else f"train {run['train_s']:.0f} s, "
    return (f"{seconds}shapes {q['column_shapes']['mean']:.3f}, trends {q['column_pair_trends']['mean']:.3f}, "
            f"detection {q['detection']['score']:.3f}, TSTR acc {q['tstr']['synthetic']['accuracy']:.3f} "
            f"F1 {q['tstr']['synthetic']['f1']:.3f}")


def markdown(record: dict, wall: float) -> str:
    meta = record["provenance"]
    lines = [f"`{meta['command']}` — {wall / 60:.0f} min; commit {meta['commit']}, {meta['machine']}, one torch "
             f"thread per process, {meta['date']}; sdmetrics {record['versions']['sdmetrics']}, ctgan package "
             f"{record['versions'].get('ctgan', 'not run')} (rdt {record['versions'].get('rdt', '-')}).", "",
             "## Synthetic tables: condgen vs the ctgan package (synthetic_tables.json)", "",
             "Each model trains on the training split with the same batch size and optimiser steps, draws as many "
             "rows as the held-out split holds (seed 0), and SDMetrics scores them against the held-out split "
             "(1 = best). Shapes: KSComplement / TVComplement per column, mean. Trends: CorrelationSimilarity / "
             "ContingencySimilarity per column pair, mean. Detection: LogisticDetection, 1 = a logistic regression "
             "cannot tell the rows from real ones. TSTR: HistGradientBoosting trained on the rows, predicting the "
             "held-out target (accuracy; F1 of the rarer class). \"real training rows\": as many real training "
             "rows (a seeded subset) scored the same way, its TSTR columns the classifier trained on all the real "
             "training rows (train real, test real). One seed per model: how far another seed "
             "would move each number was not measured.", ""]
    for table, result in record["tables"].items():
        lines += [f"### {table}: {result['train_rows']:,} training rows, {result['held_out_rows']:,} held out "
                  f"(target {result['target']}); budget {result['epochs']} ctgan epochs of batch "
                  f"{result['batch_size']}", "",
                  "| model | steps | train s (wall) | train CPU s | shapes | pair trends | detection | TSTR accuracy | "
                  "TSTR F1 |", "|---|---|---|---|---|---|---|---|---|"]
        for label, run in result["models"].items():
            q = run["quality"]
            tstr = q["tstr"]["real"] if label == REFERENCE else q["tstr"]["synthetic"]
            steps = "-" if run["steps"] is None else f"{run['steps']:,}"
            train_s = "-" if run["train_s"] is None else f"{run['train_s']:.0f}"
            cpu = "-" if run.get("train_cpu_s") is None else f"{run['train_cpu_s']:.0f}"
            lines.append(f"| {label} | {steps} | {train_s} | {cpu} | {q['column_shapes']['mean']:.3f} | "
                         f"{q['column_pair_trends']['mean']:.3f} | {q['detection']['score']:.3f} | "
                         f"{tstr['accuracy']:.3f} | {tstr['f1']:.3f} |")
        for label, why in result["skipped"].items():
            lines.append(f"| {label} | not run: {why} | | | | | | | |")
        lines.append("")
    lines += ["Train seconds: condgen, the whole `condgen train` process (start-up, data, the mode-specific "
              "normalisation's fits, the loop, the save); the ctgan package, its `fit` call (its preprocessing "
              "included; its process CPU seconds include start-up and sampling). Timings on a shared 2-core "
              "machine: compare them within a table only.", ""]
    if "figure" in record:
        lines += [f"![per-column shape scores]({record['figure']})", ""]
    return "\n".join(lines)


def figure(record: dict, path: Path) -> None:
    """Per-column shape scores on the first table, one bar per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    table, result = next(iter(record["tables"].items()))
    labels = list(result["models"])
    names = list(result["models"][labels[0]]["quality"]["column_shapes"]["columns"])
    width = 0.8 / len(labels)
    fig, axis = plt.subplots(figsize=(12, 4))
    for i, label in enumerate(labels):
        scores = [result["models"][label]["quality"]["column_shapes"]["columns"][n]["score"] for n in names]
        axis.bar(np.arange(len(names)) + i * width, scores, width, label=label)
    axis.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=40, ha="right")
    axis.set_ylim(0.0, 1.05)
    axis.set_ylabel("column shape (KS / TV complement)")
    axis.set_title(f"{table}: each column's shape score, synthetic vs held-out rows")
    axis.legend(fontsize=8, ncol=len(labels), loc="lower center", bbox_to_anchor=(0.5, 1.08))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(BUDGETS))
    parser.add_argument("--models", default=",".join(MODELS), help=f"of {', '.join(MODELS)}")
    parser.add_argument("--epochs", action="append", default=[], metavar="TABLE=N",
                        help="ctgan epochs for a table (condgen: the same steps)")
    parser.add_argument("--peer-python", default=DEFAULT_PEER_PYTHON)
    parser.add_argument("--out", type=Path, default=RESULTS / "synthetic_tables")
    args = parser.parse_args()
    torch.set_num_threads(1)
    budgets = dict(BUDGETS)
    for entry in args.epochs:
        table, epochs = entry.split("=")
        budgets[table] = (int(epochs), budgets.get(table, (0, 500))[1])
    peer_python = args.peer_python if Path(args.peer_python).is_file() else None
    if peer_python is None:
        print(f"no peer python at {args.peer_python}: the ctgan package's rows are skipped", flush=True)
    import sdmetrics

    start = time.perf_counter()
    record = {"tables": {}, "versions": {"sdmetrics": sdmetrics.__version__}, "peer_python": peer_python}
    with tempfile.TemporaryDirectory() as scratch:
        for table in args.tables.split(","):
            epochs, batch = budgets[table]
            record["tables"][table] = benchmark_table(table, epochs, batch, args.models.split(","), peer_python,
                                                      Path(scratch))
    for result in record["tables"].values():
        for run in result["models"].values():
            record["versions"].update(run.get("versions", {}))
    record["provenance"] = provenance()
    wall = time.perf_counter() - start
    record["wall_s"] = wall
    figure(record, args.out.with_suffix(".png"))
    record["figure"] = args.out.with_suffix(".png").name
    atomic_write_json(args.out.with_suffix(".json"), record)
    atomic_write_bytes(args.out.with_suffix(".md"), markdown(record, wall).encode())
    print(f"wrote {args.out}.{{json,md,png}} in {wall / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
