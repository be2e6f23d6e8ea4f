"""condgen's MOSES metrics against the original MOSES code: speed (cold and warm) and agreement.

    .venv/bin/python benchmarks/moses_metrics_speed.py [--n 5000 30000] [--n-jobs 2] [--repeats 2]

What is timed, for each ``--n``: one call of ``condgen.metrics.molecules.moses_metrics(generated,
n_jobs)`` and one call of the original ``moses.get_all_metrics(generated, n_jobs)`` (molsets 0.3.1,
unmodified, with the import shims of ``tests/metrics/moses_reference/moses_shims.py``), each in a
fresh Python process, on the same generated SMILES, on the CPU, against the default MOSES test,
scaffold-test and training sets. condgen runs twice over: *cold*, with ``$CONDGEN_CACHE`` a fresh
empty temporary folder (a new user's first run: it converts the statistics molsets ships and hashes
the training set), then *warm*, on the cache the cold run left. MOSES has no cache of its own: it
loads its shipped precomputed statistics (pickled ``.npz``) and the training set on every call.
Each call's time includes loading statistics and the training set; Python start-up and imports are
not included (reported apart as process wall time). CPU seconds (the process and its worker
processes) are reported too: on a shared machine they vary less than wall time. With
``--repeats`` the warm condgen and MOSES runs alternate and the speed-up is the ratio of sums.

The generated set: ``n`` molecules drawn from the MOSES training split (seeded), 3% of them then
corrupted into mostly invalid strings — so the MOSES "Train" baseline row is the sanity check.

Agreement: both read the same shipped reference statistics, so differences come only from the
generated side (the installed RDKit for both) and from float rounding.
The script also checks, on RDKit's bundled NCI set (unfiltered molecules, many PAINS hits), that
condgen's pattern-fingerprint screen of the filter SMARTS never rejects a real match.

Profile (``--profile-n``, default 5000, warm): each side once more with a timer around the functions
behind each metric (:data:`PROFILED`; wall seconds in the parent, so worker time shows as the parent
waiting for it; no profiler, so no profiler overhead); for condgen also the per-molecule cost of
each RDKit part on one core, the ChemNet forward pass alone (FCD's floor) and, for SNN, what the
float32 matrix products that MOSES (and condgen on a GPU) uses would cost here (timed on 500 generated
molecules, scaled to the set), next to the popcount kernel condgen uses on a CPU.

``--merge`` keeps the sizes already in the results file that this run does not measure.

Writes ``benchmarks/results/moses_metrics_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHIMS = ROOT / "tests" / "metrics" / "moses_reference"
#: MOSES paper, Table "Train" row (30k molecules, vs Test), for context only.
PUBLISHED_TRAIN_ROW = {"valid": 1.0, "unique@10000": 1.0, "FCD/Test": 0.008, "SNN/Test": 0.6419,
                       "Frag/Test": 1.0, "Scaf/Test": 0.9907, "IntDiv": 0.8567, "Filters": 1.0}


def generated_sample(n: int, seed: int = 0) -> list[str]:
    """``n`` MOSES training molecules with 3% corrupted (cut in the middle, an extra ring digit)."""
    import numpy as np

    from condgen.data.moses import moses_split

    smiles = moses_split("train", n=n, seed=seed + 100)
    rng = np.random.default_rng(seed)
    for i in rng.choice(n, size=int(0.03 * n), replace=False):
        cut = len(smiles[i]) // 2
        smiles[i] = smiles[i][:cut] + "1" + smiles[i][cut + 2:]
    return [smiles[i] for i in rng.permutation(n)]


def run_one(which: str, input_path: Path, output_path: Path, n_jobs: int) -> None:
    """Child process: time one metrics call and write its values and seconds."""
    generated = input_path.read_text().splitlines()
    cpu_before = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                     for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    if which == "condgen":
        from condgen.metrics.molecules import moses_metrics

        start = time.perf_counter()
        values = moses_metrics(generated, n_jobs=n_jobs, device="cpu")
    else:
        sys.path.insert(0, str(SHIMS))
        from moses_shims import import_original_moses

        moses, _ = import_original_moses()
        start = time.perf_counter()
        values = moses.get_all_metrics(generated, n_jobs=n_jobs, device="cpu")
    seconds = time.perf_counter() - start
    cpu_seconds = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                      for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) - cpu_before
    output_path.write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds,
                                       "values": {k: float(v) for k, v in values.items()}}))


#: Timed functions, per side: label → "module:name" or "module:Class.method" as the metrics code looks
#: them up (a function imported by name is patched where it is imported).
PROFILED = {
    "moses": {
        "load test/scaffold statistics and splits": ["moses.metrics.metrics:get_statistics",
                                                     "moses.metrics.metrics:get_dataset"],
        "valid, canonicalise, unique@k": ["moses.metrics.metrics:fraction_valid",
                                          "moses.metrics.metrics:remove_invalid",
                                          "moses.metrics.metrics:fraction_unique"],
        "FCD (ChemNet, twice)": ["fcd_torch.fcd:FCD.__call__"],
        "SNN (fingerprints + 176k-reference Tanimoto, twice)": ["moses.metrics.metrics:SNNMetric.precalc",
                                                               "moses.metrics.metrics:SNNMetric.metric"],
        "Frag (BRICS, twice)": ["moses.metrics.metrics:FragMetric.precalc", "moses.metrics.metrics:FragMetric.metric"],
        "Scaf (Murcko, twice)": ["moses.metrics.metrics:ScafMetric.precalc", "moses.metrics.metrics:ScafMetric.metric"],
        "IntDiv, IntDiv2": ["moses.metrics.metrics:internal_diversity"],
        "Filters": ["moses.metrics.metrics:fraction_passes_filters"],
        "logP, SA, QED, weight": ["moses.metrics.metrics:WassersteinMetric.precalc",
                                  "moses.metrics.metrics:WassersteinMetric.metric"],
        "Novelty": ["moses.metrics.metrics:novelty"],
    },
    "condgen": {
        "load cached statistics, training hashes, Tanimoto kernels (while the workers describe)": [
            "condgen.metrics.molecules.moses_metrics:reference_statistics",
            "condgen.metrics.molecules.moses_metrics:training_set_hashes",
            "condgen.metrics.molecules.moses_metrics:prepare_tanimoto"],
        "describe generated (parse, canonicalise, fingerprint, BRICS, Murcko, filters, QED, SA, logP, weight; "
        "workers; the wait left after the loading)": ["condgen.data.chem.parallel:Workers.map_later()"],
        "FCD (ChemNet once, distinct molecules)": ["condgen.metrics.molecules.moses_metrics:chemnet_statistics"],
        "SNN (popcount kernel, both sets)": ["condgen.metrics.molecules.moses_metrics:average_max_tanimoto"],
        "IntDiv, IntDiv2 (one pass)": ["condgen.metrics.molecules.moses_metrics:internal_diversities"],
        "Novelty": ["condgen.metrics.molecules.moses_metrics:novel_fraction"],
        "load tables before forking": ["condgen.metrics.molecules.moses_metrics:warm_up_workers"],
    },
}


def _time_calls(target: str, seconds: dict[str, float], label: str) -> None:
    """Replace the function ``"module:name"`` / ``"module:Class.method"`` by one adding its wall time to
    ``seconds[label]``; a target ending in ``()`` times the function that the call returns instead."""
    import functools
    import importlib

    module, qualified = target.split(":")
    returned = qualified.endswith("()")
    owner = importlib.import_module(module)
    *path, name = qualified.removesuffix("()").split(".")
    for part in path:
        owner = getattr(owner, part)
    function = getattr(owner, name)

    def timer(inner):
        @functools.wraps(inner)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - start

        return timed

    if returned:
        setattr(owner, name, functools.wraps(function)(lambda *args, **kwargs: timer(function(*args, **kwargs))))
    else:
        setattr(owner, name, timer(function))


def profile_one(which: str, input_path: Path, output_path: Path, n_jobs: int) -> None:
    """Child process: one call with :data:`PROFILED`'s functions timed, plus condgen's floors."""
    generated = input_path.read_text().splitlines()
    if which == "condgen":
        from condgen.metrics.molecules import moses_metrics as call
    else:
        sys.path.insert(0, str(SHIMS))
        from moses_shims import import_original_moses

        call = import_original_moses()[0].get_all_metrics
    seconds = dict.fromkeys(PROFILED[which], 0.0)
    for label, targets in PROFILED[which].items():
        for target in targets:
            _time_calls(target, seconds, label)
    start = time.perf_counter()
    call(generated, n_jobs=n_jobs, device="cpu")
    total = time.perf_counter() - start
    seconds = {label: round(value, 2) for label, value in seconds.items()}
    seconds["rest (pool start-up, parsing for the metrics, glue)"] = round(total - sum(seconds.values()), 2)
    result = {"total_seconds": round(total, 2), "seconds": seconds}
    if which == "condgen":
        result.update(condgen_floors(generated))
    output_path.write_text(json.dumps(result))


def condgen_floors(generated: list[str]) -> dict:
    """Per-molecule ms of each RDKit part (one core, 1,000 molecules) and the SNN / FCD floors (whole set)."""
    import numpy as np
    import torch
    from rdkit import Chem, rdBase
    from rdkit.Chem import Descriptors

    from condgen.data.chem.sascorer import sa_score
    from condgen.metrics.molecules import features
    from condgen.metrics.molecules.fcd import _chemnet, chemnet_inputs
    from condgen.metrics.molecules.filters import passes_moses_filters
    from condgen.metrics.molecules.qed import qed_and_logp
    from condgen.metrics.molecules.reference import reference_statistics

    features.warm_up_workers()
    with rdBase.BlockLogs():
        molecules = [m for m in map(Chem.MolFromSmiles, generated) if m is not None]
    parts = {"parse + canonical SMILES": lambda m: Chem.MolToSmiles(Chem.MolFromSmiles(Chem.MolToSmiles(m))),
             "Morgan bits": features.morgan_bits, "BRICS fragments": features.brics_fragments,
             "Murcko scaffold": features.murcko_scaffold, "filters (screened)": passes_moses_filters,
             "QED + logP (screened alerts)": qed_and_logp, "SA": sa_score, "weight": Descriptors.MolWt}
    per_molecule = {}
    for name, part in parts.items():
        start = time.perf_counter()
        for mol in molecules[:1000]:
            part(mol)
        per_molecule[name] = round(1000 * (time.perf_counter() - start) / len(molecules[:1000]), 3)
    canonical = sorted({Chem.MolToSmiles(m) for m in molecules})
    model = _chemnet("cpu")
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(canonical), 512):
            model(chemnet_inputs(canonical[i:i + 512]))
    chemnet_seconds = time.perf_counter() - start
    sample = molecules[:500]
    bits = torch.as_tensor(np.stack([features.morgan_bits(m) for m in sample]), dtype=torch.float32)
    product_seconds = 0.0
    for split in ("test", "test_scaffolds"):
        reference = torch.as_tensor(reference_statistics(None, split, None).fingerprints, dtype=torch.float32)
        blocks = [reference[j:j + 2048].T.contiguous() for j in range(0, len(reference), 2048)]
        start = time.perf_counter()
        for block in blocks:
            torch.mm(bits, block)
        product_seconds += time.perf_counter() - start
    return {"rdkit_ms_per_molecule_one_core": per_molecule, "torch_threads": torch.get_num_threads(),
            "floor_fcd_chemnet_forward_seconds": round(chemnet_seconds, 2),
            "snn_float32_products_seconds_scaled_from_500": round(product_seconds * len(molecules) / len(sample), 2)}


def timed_child(which: str, input_path: Path, n_jobs: int, workdir: Path, cache: Path, label: str,
                profile: bool = False) -> dict:
    """Run one timed (or profiled) call in a fresh process with ``$CONDGEN_CACHE`` = ``cache``; its result."""
    output = workdir / f"{label}.json"
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", which, "--input", str(input_path), "--output",
                    str(output), "--n-jobs", str(n_jobs), *(["--profile"] if profile else [])], check=True, cwd=ROOT,
                   env={**os.environ, "CONDGEN_CACHE": str(cache)})
    result = json.loads(output.read_text())
    if profile:
        print(f"{label}:", json.dumps(result, indent=1), flush=True)
        return result
    result["process_seconds"] = time.perf_counter() - start
    print(f"{label}: {result['seconds']:.1f} s in the call ({result['cpu_seconds']:.1f} CPU-s), "
          f"{result['process_seconds']:.1f} s process", flush=True)
    return result


def check_filter_screen() -> dict:
    """Per (molecule, pattern): does the pattern-fingerprint screen ever reject a real match?"""
    from rdkit import Chem, RDConfig, rdBase

    from condgen.metrics.molecules.filters import screened_filter_patterns
    from condgen.metrics.molecules.screening import possible_matches

    path = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    fingerprints, patterns = screened_filter_patterns()
    molecules = matches = misses = with_match = 0
    with rdBase.BlockLogs():
        for line in path.read_text().splitlines():
            mol = Chem.MolFromSmiles(line.split()[0]) if line.split() else None
            if mol is None:
                continue
            molecules += 1
            hydrogens = Chem.AddHs(mol)
            possible = set(possible_matches(hydrogens, fingerprints).tolist())
            hits = [i in possible for i, p in enumerate(patterns) if hydrogens.HasSubstructMatch(p)]
            matches += len(hits)
            misses += hits.count(False)
            with_match += bool(hits)
    return {"file": "RDKit Data/NCI/first_5K.smi", "molecules": molecules, "molecules_matching_a_pattern":
            with_match, "pattern_matches": matches, "matches_rejected_by_screen": misses}


def measure(n: int, n_jobs: int, repeats: int, workdir: Path, profile: bool = False) -> dict:
    """Cold condgen, then ``repeats`` alternating warm condgen / MOSES runs, on ``n`` generated SMILES."""
    input_path = workdir / f"generated-{n}.smi"
    input_path.write_text("\n".join(generated_sample(n)) + "\n")
    cache = Path(tempfile.mkdtemp(prefix="condgen-cache-", dir=workdir))  # empty: a new user's machine
    cold = timed_child("condgen", input_path, n_jobs, workdir, cache, f"condgen-cold-{n}")
    runs = {"condgen": [], "moses": []}
    for repeat in range(repeats):  # alternating, so a burst of load on this shared machine hits both
        for which in runs:
            runs[which].append(timed_child(which, input_path, n_jobs, workdir, cache, f"{which}-warm-{n}-{repeat}"))
    total = {which: {key: sum(r[key] for r in results) for key in ("seconds", "cpu_seconds", "process_seconds")}
             for which, results in runs.items()}
    profiles = {which: timed_child(which, input_path, n_jobs, workdir, cache, f"{which}-profile-{n}", profile=True)
                for which in runs} if profile else None
    ours, reference = runs["condgen"][0], runs["moses"][0]

    def rounded(results: list[dict], key: str) -> list[float]:
        return [round(r[key], 1) for r in results]

    warm_mean = total["condgen"]["seconds"] / repeats
    return {
        "n": n,
        "generated": f"{n} MOSES training molecules, 3% corrupted (seed 0)",
        "rows": {
            "condgen cold (empty $CONDGEN_CACHE)": {"seconds": round(cold["seconds"], 1),
                                                    "cpu_seconds": round(cold["cpu_seconds"], 1),
                                                    "process_seconds": round(cold["process_seconds"], 1)},
            "condgen warm": {key: rounded(runs["condgen"], key) for key in ("seconds", "cpu_seconds",
                                                                             "process_seconds")},
            "moses": {key: rounded(runs["moses"], key) for key in ("seconds", "cpu_seconds", "process_seconds")},
        },
        "cold_over_warm": cold["seconds"] / warm_mean,
        "speedup_warm": total["moses"]["seconds"] / total["condgen"]["seconds"],
        "speedup_warm_cpu_seconds": total["moses"]["cpu_seconds"] / total["condgen"]["cpu_seconds"],
        "speedup_cold": (total["moses"]["seconds"] / repeats) / cold["seconds"],
        "values": {"condgen": ours["values"], "moses": reference["values"]},
        "abs_diff": {k: abs(ours["values"][k] - v) for k, v in reference["values"].items()},
        "abs_diff_cold_warm": {k: abs(cold["values"][k] - v) for k, v in ours["values"].items()},
        **({"profile_warm": profiles} if profiles else {}),
    }


def _cpu_model() -> str:
    """The CPU's model name and the vector extensions that decide the kernels' speed (Linux; else "")."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    lines = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    model = next((v.strip() for k, v in lines.items() if k.strip() == "model name"), "")
    flags = next((v.split() for k, v in lines.items() if k.strip() == "flags"), [])
    vector = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_vpopcntdq", "amx_int8") if f in flags]
    return f"{model} ({', '.join(vector)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5000, 30000], help="generated set sizes")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="alternate warm condgen/MOSES runs this many times")
    parser.add_argument("--skip-screen-check", action="store_true")
    parser.add_argument("--merge", action="store_true", help="keep the results file's other sizes")
    parser.add_argument("--profile-n", type=int, default=5000, help="set size of the profile (0: no profile)")
    parser.add_argument("--child", choices=["condgen", "moses"], help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (profile_one if args.profile else run_one)(args.child, args.input, args.output, args.n_jobs)
        return

    workdir = Path(tempfile.mkdtemp(prefix="moses-speed-"))
    load_before = os.getloadavg()
    command = (f"python benchmarks/moses_metrics_speed.py --n {' '.join(map(str, args.n))} --n-jobs {args.n_jobs} "
               f"--repeats {args.repeats} --profile-n {args.profile_n}{' --merge' if args.merge else ''}")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    machine = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
               "cpu_model": _cpu_model(), "cpu_count": os.cpu_count(), "python": platform.python_version()}
    sizes = [{**measure(n, args.n_jobs, args.repeats, workdir, profile=n == args.profile_n), "command": command,
              "commit": commit, "machine": machine} for n in args.n]
    results_path = RESULTS / "moses_metrics_speed.json"
    earlier: list = []
    if args.merge and results_path.exists():
        previous = json.loads(results_path.read_text())
        measured = {size["n"] for size in sizes}
        kept = [size for size in previous["sizes"] if size["n"] not in measured]
        sizes = sorted(kept + sizes, key=lambda size: size["n"])
        earlier = previous.get("earlier_runs", [])
    load_after = os.getloadavg()
    record = {
        "command": command,
        "commit": commit,
        "machine": {**machine, "load_average_before": load_before, "load_average_after": load_after},
        "timed": "one metrics call each, fresh process, CPU, n_jobs workers, default MOSES test / "
                 "test_scaffolds / train; condgen cold = empty $CONDGEN_CACHE (a temporary folder), warm = the "
                 "cache the cold run left; MOSES loads its shipped precomputed statistics every call; loading "
                 "statistics and training set included, imports excluded",
        "repeats": args.repeats,
        "sizes": sizes,
        "published_moses_train_row": PUBLISHED_TRAIN_ROW,
        **({"earlier_runs": earlier} if earlier else {}),
    }
    if not args.skip_screen_check:
        record["filter_screen_check"] = check_filter_screen()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(record, indent=2) + "\n")
    for size in sizes:
        print(f"n={size['n']}: cold/warm {size['cold_over_warm']:.2f}x, warm speed-up {size['speedup_warm']:.2f}x "
              f"wall ({size['speedup_warm_cpu_seconds']:.2f}x CPU); largest differences:",
              sorted(size["abs_diff"].items(), key=lambda kv: -kv[1])[:5])


if __name__ == "__main__":
    main()
