"""Commands for molecules: mol sample, mol metrics, mol props."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from condgen.cli.common import App, console, out, parse_assignments

mol_app = App(help="Molecules: sample SMILES models (with target properties), MOSES metrics, properties.",
              no_args_is_help=True)


@mol_app.command("sample")
def mol_sample(
    model_dir: Annotated[str, typer.Argument(help="SMILES model or molecule plugin directory, or a shipped name "
                                                  "(zinc-vae)")],
    out_path: Annotated[Path, typer.Option("--out", help="file to write, one SMILES per line")],
    n: Annotated[int, typer.Option("-n", "--number", help="number of molecules")] = 1000,
    target: Annotated[list[str] | None, typer.Option(metavar="ATTR=VALUE", help="plugin: target property, repeatable "
                                                          "(e.g. --target logp=3.0 --target tpsa=60)")] = None,
    temperature: Annotated[float | None, typer.Option(help="draw tokens at this temperature (1: the model's "
                                                           "distribution, 0: greedy; SMILES models: 1)")] = None,
    beam: Annotated[int | None, typer.Option(help="decode each latent to the most likely SMILES found by a beam "
                                                  "search of this width (VAE, AAE, plugins); default for plugins: "
                                                  "their own decoding (beam 5)")] = None,
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
    from condgen.io import atomic_write_json
    from condgen.tasks.molecules import load_molecule_generator, sample_with_report

    model = load_molecule_generator(model_dir)
    path = model.modality.check_path(out_path)
    result = sample_with_report(model, n, parse_assignments(target, "--target"), seed=seed, temperature=temperature,
                                beam=beam, top_beam=top_beam, style_scale=style_scale, calibrated=not uncalibrated,
                                progress=True)
    model.modality.write(result.smiles, path)
    summary = f"wrote {len(result.smiles)} SMILES ({result.decoding_text}) to {path}: valid {result.validity:.3f}"
    if not math.isnan(result.uniqueness):
        summary += f", unique {result.uniqueness:.3f}"
    console.print(summary)
    for name in result.unchecked:  # a user's own property: condgen cannot recompute it
        console.print(f"  {name}: not a built-in property, not checked")
    for name, report in result.reports.items():
        console.print(f"  {name}={report['target']:g}: mean {report['mean']:.3f} ± {report['std']:.3f}, MAE "
                      f"{report['mae']:.3f}, success {report['success_rate']:.3f} (within ±{report['tolerance']:g}), "
                      f"novelty {report['novelty']:.3f}")
    if report_path is not None:
        atomic_write_json(report_path, result.to_json(model_dir, n, seed, style_scale))
        console.print(f"wrote {report_path}")


@mol_app.command("metrics")
def mol_metrics(
    samples: Annotated[Path, typer.Argument(help="generated SMILES, one per line (.smi/.txt/.csv)")],
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the metrics to this JSON file")] = None,
    n_jobs: Annotated[int, typer.Option(help="worker processes (-1, the default: every core this process may use)")
                      ] = -1,
    device: Annotated[str, typer.Option(help="torch device for ChemNet (FCD) and similarities")] = "cpu",
    test: Annotated[Path | None, typer.Option(help="reference set instead of MOSES test (SMILES file)")] = None,
    test_scaffolds: Annotated[Path | None, typer.Option(help="instead of MOSES test_scaffolds")] = None,
    train: Annotated[Path | None, typer.Option(help="training set for novelty instead of MOSES train")] = None,
) -> None:
    """The MOSES metric set against the MOSES test and scaffold-test splits.

    The first run converts the statistics molsets ships for the MOSES splits into condgen's cache
    (seconds); statistics of other reference sets are computed once and cached.
    """
    from condgen.io import atomic_write_json
    from condgen.tasks.molecules import metrics_of_file

    references = {"test": test, "test_scaffolds": test_scaffolds, "train": train}
    report = metrics_of_file(samples, n_jobs=n_jobs, device=device, references=references)
    metrics = report["metrics"]
    table = Table(title=f"MOSES metrics of {samples}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, "nan" if math.isnan(value) else f"{value:.4f}")
    out.print(table)
    if json_out:
        atomic_write_json(json_out, report)
        console.print(f"wrote {json_out}")


@mol_app.command("props")
def mol_props(
    smiles_file: Annotated[Path, typer.Argument(help="SMILES file (.smi/.txt, or .csv with a SMILES column)")],
    out_path: Annotated[Path, typer.Option("--out", help="CSV to write: SMILES, valid, logp, qed, sas, tpsa, molwt")],
    n_jobs: Annotated[int, typer.Option(help="worker processes (-1: every core)")] = 1,
) -> None:
    """RDKit properties of every SMILES (empty cells where a SMILES is invalid)."""
    from condgen.io import atomic_write_csv
    from condgen.tasks.molecules import properties_table

    header, rows = properties_table(smiles_file, n_jobs=n_jobs)
    atomic_write_csv(out_path, header, rows)
    console.print(f"wrote {out_path}: {len(rows)} rows, {sum(row[1] for row in rows)} valid")


def register(app: typer.Typer) -> None:
    app.add_typer(mol_app, name="mol")
