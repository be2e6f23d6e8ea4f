"""Commands for molecules: mol sample, mol metrics, mol props."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from condgen.cli.common import console, out, parse_assignments

mol_app = typer.Typer(help="Molecules: sample SMILES models (with target properties), MOSES metrics, properties.",
                      no_args_is_help=True)


@mol_app.command("sample")
def mol_sample(
    model_dir: Annotated[str, typer.Argument(help="SMILES model or molecule plugin directory, or a shipped name "
                                                  "(zinc-vae)")],
    out_path: Annotated[Path, typer.Option("--out", help="file to write, one SMILES per line")],
    n: Annotated[int, typer.Option("-n", help="number of molecules")] = 1000,
    target: Annotated[list[str] | None, typer.Option(help="plugin: target property ATTR=VALUE, repeatable "
                                                          "(e.g. --target logp=3.0 --target tpsa=60)")] = None,
    temperature: Annotated[float | None, typer.Option(help="draw tokens at this temperature (1: the model's "
                                                           "distribution, 0: greedy; SMILES models: 1)")] = None,
    beam: Annotated[int | None, typer.Option(help="decode each latent to the most likely SMILES found by a beam "
                                                  "search of this width (VAE, AAE, plugins); default for plugins: "
                                                  "5")] = None,
    top_beam: Annotated[bool, typer.Option("--top-beam", help="with a beam: keep the most likely SMILES even when "
                                                              "invalid (default: the most likely valid one)")]
    = False,
    uncalibrated: Annotated[bool, typer.Option("--uncalibrated", help="plugin: use targets as the condition as "
                                                                      "given, not through its calibration")] = False,
    style_scale: Annotated[float, typer.Option(help="plugin: scale of the non-attribute latent coordinates "
                                                    "(lower: closer to typical molecules, less diverse)")] = 1.0,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    report_path: Annotated[Path | None, typer.Option("--report", help="also write the per-target report as "
                                                                        "JSON")] = None,
) -> None:
    """Generate SMILES (invalid ones included: validity is part of the result) and print a summary; with
    targets, validity, uniqueness, novelty (vs the MOSES training split), mean, MAE and success rate
    per target."""
    from condgen.apps.molecules import (
        canonical_or_none,
        load_molecule_generator,
        resolve_decoding,
        sample_molecules,
        target_report,
        write_smiles,
    )

    model = load_molecule_generator(model_dir)
    decoding = resolve_decoding(model, temperature, beam, False if top_beam else None)
    targets = parse_assignments(target, "--target")
    smiles = sample_molecules(model, n, targets or None, temperature=decoding.temperature, beam=decoding.beam,
                              prefer_valid=False if top_beam else None, seed=seed,
                              style_scale=style_scale, progress=True, calibrated=not uncalibrated)
    write_smiles(smiles, out_path)
    canonical = canonical_or_none(smiles)
    valid = [c for c in canonical if c is not None]
    summary = f"wrote {len(smiles)} SMILES ({decoding}) to {out_path}: valid {len(valid) / len(smiles):.3f}"
    if valid:
        summary += f", unique {len(set(valid)) / len(valid):.3f}"
    console.print(summary)
    from condgen.data.molecules import MOLECULE_PROPERTIES

    reports = {}
    train_hashes = _training_hashes() if targets else None
    for name, goal in targets.items():
        if name not in MOLECULE_PROPERTIES:  # a user's own property: condgen cannot recompute it
            console.print(f"  {name}: not a built-in property, not checked")
            continue
        report = target_report(smiles, name, model.schema.parse_value(name, goal), train_hashes,
                               canonical=canonical)
        reports[name] = report
        console.print(f"  {name}={report['target']:g}: mean {report['mean']:.3f} ± {report['std']:.3f}, MAE "
                      f"{report['mae']:.3f}, success {report['success_rate']:.3f} (within ±{report['tolerance']:g}), "
                      f"novelty {report['novelty']:.3f}")
    calibrated = bool(targets) and not uncalibrated and any(name in getattr(model, "calibration", {})
                                                             for name in targets)
    if report_path is not None:
        from condgen.artifact import atomic_write_json

        atomic_write_json(report_path, {"model": str(model_dir), "n": n, "seed": seed,
                                        "decoding": asdict(decoding), "calibrated": calibrated,
                                        "style_scale": style_scale, "targets": reports,
                                        "validity": len(valid) / len(smiles)})
        console.print(f"wrote {report_path}")


def _training_hashes():
    """Hashes of the MOSES training split for novelty, or None (novelty NaN) without molsets."""
    from condgen.errors import DataError
    from condgen.metrics.molecules.reference import training_set_hashes

    try:
        return training_set_hashes(None)
    except DataError:
        return None


@mol_app.command("metrics")
def mol_metrics(
    samples: Annotated[Path, typer.Argument(help="generated SMILES, one per line (.smi/.txt/.csv)")],
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the metrics to this JSON file")] = None,
    n_jobs: Annotated[int, typer.Option(help="worker processes (-1: every core)")] = 2,
    device: Annotated[str, typer.Option(help="torch device for ChemNet (FCD) and similarities")] = "cpu",
    test: Annotated[Path | None, typer.Option(help="reference set instead of MOSES test (SMILES file)")] = None,
    test_scaffolds: Annotated[Path | None, typer.Option(help="instead of MOSES test_scaffolds")] = None,
    train: Annotated[Path | None, typer.Option(help="training set for novelty instead of MOSES train")] = None,
) -> None:
    """The MOSES metric set against the MOSES test and scaffold-test splits.

    The reference statistics are computed once and cached (the first run on a machine takes long:
    about 45 minutes on 2 cores for the full MOSES splits).
    """
    from condgen.apps.molecules import metrics_of_file

    references = {"test": test, "test_scaffolds": test_scaffolds, "train": train}
    metrics = metrics_of_file(samples, json_out, n_jobs=n_jobs, device=device, references=references)
    table = Table(title=f"MOSES metrics of {samples}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, "nan" if math.isnan(value) else f"{value:.4f}")
    out.print(table)
    if json_out:
        console.print(f"wrote {json_out}")


@mol_app.command("props")
def mol_props(
    smiles_file: Annotated[Path, typer.Argument(help="SMILES file (.smi/.txt, or .csv with a SMILES column)")],
    out_path: Annotated[Path, typer.Option("--out", help="CSV to write: SMILES, valid, logp, qed, sas, tpsa, molwt")],
    n_jobs: Annotated[int, typer.Option(help="worker processes (-1: every core)")] = 1,
) -> None:
    """RDKit properties of every SMILES (empty cells where a SMILES is invalid)."""
    from condgen.apps.molecules import properties_csv

    path, rows, valid = properties_csv(smiles_file, out_path, n_jobs=n_jobs)
    console.print(f"wrote {path}: {rows} rows, {valid} valid")


def register(app: typer.Typer) -> None:
    app.add_typer(mol_app, name="mol")
