"""condgen's MOSES metrics against the original MOSES code: speed and agreement on the full reference sets.

    .venv/bin/python benchmarks/moses_metrics_speed.py [--n 10000] [--n-jobs 2] [--repeats 2]

What is timed: one call of ``condgen.metrics.molecules.moses_metrics(generated, n_jobs=2)`` and one
call of the original ``moses.get_all_metrics(generated, n_jobs=2)`` (molsets 0.3.1, unmodified, with
the import shims of ``tests/metrics/moses_reference/moses_shims.py``), each in a fresh Python
process, on the same generated SMILES, on the CPU, against the default MOSES test, scaffold-test
and training sets. Caches are warm on both sides: MOSES loads its shipped precomputed test
statistics (pickled ``.npz``), condgen its own cache under ``$CONDGEN_CACHE/moses`` (built first,
and timed separately, if missing). Each call's time includes loading those statistics and the
training set; Python start-up and imports are not included (reported apart as process wall time).
CPU seconds (the process and its worker processes) are reported too: on a shared machine they vary
less than wall time. With ``--repeats`` the runs alternate and the speed-up is the ratio of sums.

The generated set: ``--n`` molecules drawn from the MOSES training split (seeded), 3% of them then
corrupted into mostly invalid strings — so the MOSES "Train" baseline row is the sanity check.

Agreement: MOSES's precomputed statistics were made in 2019 with an older RDKit; condgen's are
recomputed with the installed one, so values may differ slightly where RDKit changed.
The script also checks, on RDKit's bundled NCI set (unfiltered molecules, many PAINS hits), that
condgen's pattern-fingerprint screen of the filter SMARTS never rejects a real match.

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


def timed_child(which: str, input_path: Path, n_jobs: int, workdir: Path) -> dict:
    output = workdir / f"{which}.json"
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", which, "--input", str(input_path), "--output",
                    str(output), "--n-jobs", str(n_jobs)], check=True, cwd=ROOT)
    result = json.loads(output.read_text())
    result["process_seconds"] = time.perf_counter() - start
    print(f"{which}: {result['seconds']:.1f} s in the call ({result['cpu_seconds']:.1f} CPU-s), "
          f"{result['process_seconds']:.1f} s process", flush=True)
    return result


def warm_condgen_cache(n_jobs: int) -> float:
    """Build condgen's reference-statistics cache if missing; seconds it took (about 0 when warm)."""
    from condgen.data.chem.parallel import Workers
    from condgen.metrics.molecules.features import warm_up_workers
    from condgen.metrics.molecules.reference import reference_statistics, training_set_hashes

    start = time.perf_counter()
    warm_up_workers()
    with Workers(n_jobs) as workers:
        for split in ("test", "test_scaffolds"):
            reference_statistics(None, split, workers, fcd_jobs=n_jobs)
    training_set_hashes(None)
    return time.perf_counter() - start


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="alternate condgen/MOSES runs this many times")
    parser.add_argument("--skip-screen-check", action="store_true")
    parser.add_argument("--child", choices=["condgen", "moses"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.child, args.input, args.output, args.n_jobs)
        return

    workdir = Path(tempfile.mkdtemp(prefix="moses-speed-"))
    input_path = workdir / "generated.smi"
    input_path.write_text("\n".join(generated_sample(args.n)) + "\n")
    cold_cache_seconds = warm_condgen_cache(args.n_jobs)
    print(f"condgen cache ready ({cold_cache_seconds:.0f} s)", flush=True)
    load_before = os.getloadavg()
    runs = {"condgen": [], "moses": []}
    for _ in range(args.repeats):  # alternating, so a burst of load on this shared machine hits both
        for which in runs:
            runs[which].append(timed_child(which, input_path, args.n_jobs, workdir))
    load_after = os.getloadavg()
    ours, reference = runs["condgen"][0], runs["moses"][0]
    total = {which: {key: sum(r[key] for r in results) for key in ("seconds", "cpu_seconds", "process_seconds")}
             for which, results in runs.items()}
    diffs = {k: abs(ours["values"][k] - v) for k, v in reference["values"].items()}
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    record = {
        "command": f"python benchmarks/moses_metrics_speed.py --n {args.n} --n-jobs {args.n_jobs} "
                   f"--repeats {args.repeats}",
        "commit": commit,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": load_after},
        "timed": "one metrics call each, fresh process, CPU, n_jobs workers, default MOSES test / "
                 "test_scaffolds / train, warm caches (MOSES: its shipped precomputed statistics; condgen: "
                 "$CONDGEN_CACHE/moses); loading statistics and training set included, imports excluded",
        "generated": f"{args.n} MOSES training molecules, 3% corrupted (seed 0)",
        "repeats": args.repeats,
        "seconds_per_run": {which: [round(r["seconds"], 1) for r in results] for which, results in runs.items()},
        "cpu_seconds_per_run": {which: [round(r["cpu_seconds"], 1) for r in results]
                                for which, results in runs.items()},
        "process_seconds_per_run": {which: [round(r["process_seconds"], 1) for r in results]
                                    for which, results in runs.items()},
        "condgen_cold_cache_build_seconds": cold_cache_seconds,
        "speedup": total["moses"]["seconds"] / total["condgen"]["seconds"],
        "speedup_cpu_seconds": total["moses"]["cpu_seconds"] / total["condgen"]["cpu_seconds"],
        "values": {"condgen": ours["values"], "moses": reference["values"]},
        "abs_diff": diffs,
        "published_moses_train_row": PUBLISHED_TRAIN_ROW,
    }
    if not args.skip_screen_check:
        record["filter_screen_check"] = check_filter_screen()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "moses_metrics_speed.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"speed-up {record['speedup']:.2f}x wall, {record['speedup_cpu_seconds']:.2f}x CPU; largest differences:",
          sorted(diffs.items(), key=lambda kv: -kv[1])[:5])


if __name__ == "__main__":
    main()
