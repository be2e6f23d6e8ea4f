"""The ``ctgan`` package's side of ``synthetic_tables.py``: run with the python of a venv of its own, never
imported by condgen (ctgan is BUSL-licensed: a benchmark peer only, not a dependency).

    /work/venvs/ctgan-peer/bin/python benchmarks/peers/ctgan_peer.py --model ctgan --data train.csv \\
        --discrete workclass,education,... --epochs 100 --batch-size 500 --rows 16281 --out synthetic.csv

Reads a table's CSV (its own values, as ``condgen datasets export`` writes it), fits ctgan's ``CTGAN`` or
``TVAE`` at the package's defaults except ``epochs`` and ``batch_size``, draws ``--rows`` rows into ``--out``
(CSV, the same columns) and prints one JSON line: the seconds of ``fit`` (the package's own preprocessing
included) and of ``sample``, the optimiser steps that ``fit`` took, the package's version and torch's threads.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from importlib.metadata import version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("ctgan", "tvae"), required=True)
    parser.add_argument("--data", required=True, help="training rows (CSV with a header)")
    parser.add_argument("--discrete", default="", help="the categorical columns, comma-separated")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rows", type=int, required=True, help="synthetic rows to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import pandas as pd
    import torch
    from ctgan import CTGAN, TVAE

    torch.set_num_threads(args.threads)
    frame = pd.read_csv(args.data, skipinitialspace=True)
    discrete = [name for name in args.discrete.split(",") if name]
    for name in discrete:
        frame[name] = frame[name].astype(str)
    if args.model == "ctgan":
        model = CTGAN(epochs=args.epochs, batch_size=args.batch_size, enable_gpu=False)
        steps = args.epochs * max(len(frame) // args.batch_size, 1)  # CTGAN.fit: floor(rows / batch) per epoch
    else:
        model = TVAE(epochs=args.epochs, batch_size=args.batch_size, enable_gpu=False)
        steps = args.epochs * math.ceil(len(frame) / args.batch_size)  # its DataLoader keeps the last batch
    model.set_random_state(args.seed)
    start = time.perf_counter()
    model.fit(frame, discrete_columns=discrete)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = model.sample(args.rows)
    sample_seconds = time.perf_counter() - start
    synthetic[list(frame.columns)].to_csv(args.out, index=False)
    print(json.dumps({"fit_s": fit_seconds, "sample_s": sample_seconds, "steps": steps, "rows": len(synthetic),
                      "ctgan": version("ctgan"), "rdt": version("rdt"), "torch": torch.__version__,
                      "torch_threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
