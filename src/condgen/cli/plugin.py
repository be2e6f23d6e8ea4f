"""Commands for plugins and attribute classifiers: plugin fit / calibrate, generate, edit, evaluate, demo,
classifier train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from condgen.cli.common import (
    App,
    DataOption,
    KindOption,
    console,
    default_output,
    out,
    parse_assignments,
    parse_data_options,
    split_names,
)
from condgen.plugin.fit_spec import PluginFitSpec

plugin_app = App(help="Fit a plugin that makes chosen attributes of a frozen model controllable.",
                 no_args_is_help=True)
classifier_app = App(help="Attribute classifiers: label GAN samples for a plugin, or judge results.",
                     no_args_is_help=True)
SET_HELP = "attribute value ATTR=VALUE (binary: 1/0 or yes/no; continuous: a number), repeatable"
#: The defaults of `plugin fit` are those of the fit spec, written once.
FIT = PluginFitSpec


@plugin_app.command("fit")
def plugin_fit(
    backbone_dir: Annotated[str, typer.Argument(help="trained backbone directory (or shipped name, e.g. faces-vae)")],
    attrs: Annotated[str, typer.Option(help="attributes to control, comma-separated, e.g. smiling,eyeglasses")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory that becomes the plugin artifact")],
    data: Annotated[str | None, typer.Option(help="labelled data (default: the backbone's own data set)")] = None,
    kind: KindOption = None,
    data_option: DataOption = None,
    classifier: Annotated[str | None, typer.Option(help="GAN backbones: classifier that labels samples")] = None,
    steps: Annotated[int | None, typer.Option(help="flow optimisation steps (default: 3,000, or 150 passes over "
                                                   "the latents where that is fewer)")] = FIT.steps,
    batch_size: Annotated[int, typer.Option(help="batch size")] = FIT.batch_size,
    n_latents: Annotated[int, typer.Option(help="GAN backbones: number of sampled latents to label; SMILES "
                                                "backbones: number of molecules")] = FIT.n_latents,
    coupling: Annotated[str, typer.Option(help="affine (RealNVP) or additive (NICE)")] = FIT.coupling,
    sigma: Annotated[float, typer.Option(help="final width σ of the attribute coordinates around their labels "
                                              "(smaller: tighter control of continuous attributes)")] = FIT.sigma,
    seed: Annotated[int, typer.Option(help="training seed")] = FIT.seed,
    labels: Annotated[str, typer.Option(help="SMILES backbones: label latents with the properties of the data "
                                             "molecules ('data') or of their decodings ('decoded')")]
    = FIT.labels,
    calibrate: Annotated[int | None, typer.Option(help="SMILES backbones: then calibrate the targets with this many "
                                                       "decoded latents per grid point (0: don't; default 300)")]
    = FIT.calibrate,
    copy_backbone: Annotated[bool, typer.Option("--copy-backbone", help="store a copy of the backbone in the plugin "
                                                                        "(default: refer to it by name or path)")]
    = FIT.copy_backbone,
    projection: Annotated[int | None, typer.Option(help="the flow models this many coordinates of a fixed "
                                                        "orthogonal projection of the latents (0: all; default: "
                                                        "256 for latents wider than 512, else all)")]
    = FIT.projection,
) -> None:
    """Fit a plugin flow on the latents of a frozen backbone; the backbone never changes."""
    from condgen.cli.report import format_phases
    from condgen.plugin.fit_spec import recorded_phases
    from condgen.tasks.plugins import fit_plugin_from_spec

    spec = PluginFitSpec(backbone=backbone_dir, attributes=tuple(split_names(attrs)), data=data,
                         data_options=parse_data_options(data_option, kind), classifier=classifier,
                         steps=steps, batch_size=batch_size, n_latents=n_latents, seed=seed, coupling=coupling,
                         sigma=sigma, labels=labels, calibrate=calibrate, copy_backbone=copy_backbone,
                         projection=projection)
    _, seconds = fit_plugin_from_spec(spec, out_dir)
    console.print(f"saved plugin to [bold]{out_dir}[/] in {seconds:.1f} s ({format_phases(recorded_phases(out_dir))})")


@plugin_app.command("calibrate")
def plugin_calibrate(
    plugin_dir: Annotated[str, typer.Argument(help="plugin directory (or shipped name, with --out)")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="save the calibrated plugin here (default: in "
                                                                "place)")] = None,
    per_point: Annotated[int | None, typer.Option(help="decoded latents per grid point (default 300)")] = None,
    points: Annotated[int, typer.Option(help="grid points between mean ± 3.5 std of each attribute")] = 15,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    classifier: Annotated[str | None, typer.Option(help="image plugins: attribute classifier that measures the "
                                                        "decoded images (molecules: RDKit)")] = None,
) -> None:
    """Measure what a plugin's decodings reach for a grid of values of each continuous attribute and
    invert it, so that asking for T gives decodings of mean T (molecules: --target logp=T); the
    weights do not change."""
    from condgen.errors import ConfigError
    from condgen.io import load
    from condgen.plugin.calibration import PER_POINT
    from condgen.progress import status
    from condgen.tasks.plugins import calibrate_plugin, load_plugin

    status(f"loading the plugin {plugin_dir}" + (f" and the classifier {classifier}" if classifier else ""))
    plugin = load_plugin(plugin_dir)
    if out_dir is None and not Path(plugin_dir).is_dir():
        raise ConfigError(f"{plugin_dir} is a shipped model: pass --out DIR for the calibrated copy")
    directory = out_dir if out_dir is not None else Path(plugin_dir)
    status(f"calibrating: {points} grid points per continuous attribute, {per_point or PER_POINT} decodings each")
    names = calibrate_plugin(plugin, load(classifier) if classifier else None, per_point, points, seed)
    status(f"saving the calibrated plugin to {directory}")
    plugin.save(directory)
    console.print(f"calibrated {', '.join(names)}; saved to [bold]{directory}[/]")


@classifier_app.command("train")
def classifier_train(
    data: Annotated[str, typer.Option(help="labelled data: built-in name or path")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory that becomes the classifier artifact")],
    attrs: Annotated[str | None, typer.Option(help="attributes to predict (default: all)")] = None,
    arch: Annotated[str, typer.Option(help="conv-small, conv-wide or mlp")] = "conv-small",
    steps: Annotated[int, typer.Option(help="optimisation steps")] = 1500,
    size: Annotated[int | None, typer.Option(help="image side for built-in sets")] = None,
    n: Annotated[int | None, typer.Option("-n", "--number", help="examples for built-in sets")] = None,
    seed: Annotated[int, typer.Option(help="seed (use different seeds for labeller and oracle)")] = 0,
    kind: KindOption = None,
    data_option: DataOption = None,
) -> None:
    """Train an attribute classifier and print its held-out accuracy."""
    from condgen.data import load_dataset
    from condgen.evaluation.classifiers import train_classifier

    dataset = load_dataset(data, n=n, size=size, **parse_data_options(data_option, kind))
    train_set, held_out = dataset.split(0.9, seed=seed)
    model = train_classifier(train_set, split_names(attrs) or None, arch=arch, steps=steps, seed=seed,
                             out=out_dir, progress=True)
    out.print(held_out_table(model.schema, model.evaluate(held_out), len(held_out)))
    console.print(f"saved classifier to [bold]{out_dir}[/]")


def held_out_table(schema, scores: dict, n: int):
    """The classifier's held-out quality, one row per attribute: accuracy, or MAE and R² (3 decimals)."""
    from rich.table import Table

    table = Table(title=f"held-out quality ({n} examples)")
    for column in ("attribute", "kind", "accuracy", "MAE", "R²"):
        table.add_column(column, justify="left" if column in ("attribute", "kind") else "right")
    for attribute in schema:
        score = scores[attribute.name]
        cells = ("-", f"{score['mae']:.3f}", f"{score['r2']:.3f}") if isinstance(score, dict) else \
            (f"{score:.3f}", "-", "-")
        table.add_row(attribute.name, attribute.kind, *cells)
    return table


def generate(
    plugin_dir: Annotated[str, typer.Argument(help="plugin directory or shipped name (faces-plugin, zinc-vae)")],
    set_: Annotated[list[str] | None, typer.Option("--set", metavar="ATTR=VALUE", help=SET_HELP)] = None,
    n: Annotated[int, typer.Option("-n", "--number", help="number of samples")] = 64,
    out_path: Annotated[Path | None, typer.Option("--out", help="file to write: a PNG grid for images, .smi for "
                                                                "molecules, .csv/.npy for vectors")] = None,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    style_scale: Annotated[float, typer.Option(help="temperature of the style coordinates (0.1 … 1)")] = 1.0,
) -> None:
    """Generate examples with chosen attribute values (unset attributes are drawn from their prior)."""
    from condgen.tasks.plugins import generate as generate_samples
    from condgen.tasks.plugins import load_plugin

    plugin = load_plugin(plugin_dir)
    path = plugin.modality.check_path(out_path or default_output("generated", plugin.modality))
    samples = generate_samples(plugin, parse_assignments(set_, "--set"), n, seed, style_scale, progress=True)
    console.print(f"wrote {', '.join(str(p) for p in plugin.modality.write_samples(samples, path))}")


def edit(
    plugin_dir: Annotated[str, typer.Argument(help="plugin directory or shipped name")],
    set_: Annotated[list[str], typer.Option("--set", metavar="ATTR=VALUE", help=SET_HELP)],
    out_path: Annotated[Path | None, typer.Option("--out", help="file to write: a PNG figure for images, a CSV "
                                                                "table for molecules and vectors")] = None,
    index: Annotated[list[int] | None, typer.Option(help="edit example N of the plugin's data set, repeatable")]
    = None,
    input_path: Annotated[list[Path] | None, typer.Option("--input", "--image", help="edit the examples of this "
                                                                                     "file (repeatable): an image "
                                                                                     "of the backbone's size, a "
                                                                                     "SMILES file, a CSV of vectors")]
    = None,
    strength: Annotated[float, typer.Option(help="1 = exactly the target, >1 exaggerates")] = 1.0,
) -> None:
    """Edit attributes of examples; one row per example: original, reconstruction, then the edits."""
    import torch

    from condgen.tasks.plugins import edit as edit_examples
    from condgen.tasks.plugins import load_plugin

    plugin = load_plugin(plugin_dir)
    modality = plugin.modality
    path = modality.check_comparison_path(out_path or f"edit{modality.comparison_suffix}")
    examples = torch.cat([modality.read(file) for file in input_path]) if input_path else None
    columns = edit_examples(plugin, parse_assignments(set_, "--set"), indices=index or None, examples=examples,
                            strength=strength)
    console.print(f"wrote {modality.write_comparison(columns, path)}")


def evaluate(
    plugin_dir: Annotated[str, typer.Argument(help="plugin directory, or a table model (tvae, …) or table plugin")],
    json_path: Annotated[Path, typer.Option("--json", help="report to write")] = Path("report.json"),
    baselines: Annotated[bool, typer.Option(help="also fit latent directions and train CVAE/CGAN")] = False,
    oracle: Annotated[str | None, typer.Option(help="oracle classifier directory (default: the shipped oracle "
                                                   "where it was trained on the plugin's data, else one trained "
                                                   "now)")] = None,
    baseline_steps: Annotated[int, typer.Option(help="training steps of the CVAE/CGAN baselines")] = 3000,
    n_edit: Annotated[int, typer.Option(help="held-out images edited per attribute")] = 300,
    n_generate: Annotated[int, typer.Option(help="samples per requested attribute value")] = 250,
    data: Annotated[str | None, typer.Option(help="tables: the table whose held-out split (split=test) the rows "
                                                  "are scored against, a built-in name or a CSV with the model's "
                                                  "columns (default: the model's own)")] = None,
    seed: Annotated[int, typer.Option(help="tables: seed of the rows drawn (and of the detection folds)")] = 0,
) -> None:
    """Judge a plugin (and, with --baselines, the alternatives) with an independent oracle; a table model: score as
    many rows as the held-out split holds against it with SDMetrics (shapes, pair trends, detection, TSTR)."""
    from condgen.errors import ConfigError
    from condgen.io import atomic_write_json
    from condgen.tasks.evaluate import evaluate_plugin_dir, evaluate_table_model, is_table_artifact

    if is_table_artifact(plugin_dir):
        from condgen.cli.report import print_table_quality

        if baselines or oracle:
            raise ConfigError("--baselines and --oracle judge image plugins; a table model is scored against its "
                              "held-out rows with SDMetrics")
        report = evaluate_table_model(plugin_dir, data=data, seed=seed)
        atomic_write_json(json_path, report)
        print_table_quality(report)
        console.print(f"wrote {json_path}")
        return
    if data is not None:
        raise ConfigError("--data chooses the held-out table of a table model; an image plugin is judged on its "
                          "own data")
    from condgen.cli.report import print_report

    report = evaluate_plugin_dir(plugin_dir, baselines=baselines, oracle_dir=oracle,
                                 baseline_steps=baseline_steps, n_edit=n_edit, n_generate=n_generate)
    atomic_write_json(json_path, report)
    print_report(report)
    console.print(f"wrote {json_path}")


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="where pictures, plugin and report go")]
    = Path("outputs/demo"),
    steps: Annotated[int, typer.Option(help="plugin flow optimisation steps")] = 2000,
) -> None:
    """The plugin story on the built-in faces: backbone, plugin fit, pictures, metrics table."""
    from condgen.cli.report import print_report, print_targets
    from condgen.tasks.demo import run_demo

    report = run_demo(out_dir, steps=steps, say=lambda text: console.print(text, highlight=False))
    print_report(report)
    print_targets(report["demo_targets"])
    console.print(f"report: {out_dir / 'report.json'}")


def register(app: typer.Typer) -> None:
    app.add_typer(plugin_app, name="plugin")
    app.add_typer(classifier_app, name="classifier")
    app.command()(generate)
    app.command()(edit)
    app.command()(evaluate)
    app.command()(demo)
