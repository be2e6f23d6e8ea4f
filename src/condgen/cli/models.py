"""Commands for data sets and generative backbones: datasets, train, sample, reconstruct."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from condgen.cli.common import (
    App,
    DataOption,
    KindOption,
    console,
    default_output,
    out,
    parse_assignments,
    parse_data_options,
    parse_options,
)

DATA_HELP = "built-in data set name (see `condgen datasets`) or a path to your own data"


datasets_app = App(help="The built-in data sets: list them (no subcommand), or export one (a table as CSV, images "
                        "as a folder).",
                   invoke_without_command=True)


@datasets_app.callback()
def datasets(context: typer.Context) -> None:
    """List the built-in data sets: modality, size, attributes and source (instant: nothing is built)."""
    if context.invoked_subcommand is not None:
        return
    from condgen.tasks.datasets import describe_datasets

    table = Table(title="built-in data sets (or pass a path: image folder + attributes.csv, CelebA, IDX, a table's "
                        "CSV with --target, SMILES)")
    table.add_column("name", no_wrap=True)
    table.add_column("modality")
    table.add_column("examples", no_wrap=True)
    table.add_column("attributes (what the set is; its source and license)")
    for name, modality, examples, attributes, description, source in describe_datasets():
        table.add_row(name, modality, examples, Text.assemble(attributes, "\n", (description, "dim"), "\n",
                                                              (source, "dim italic")))
    out.print(table)


@datasets_app.command("export")
def export_dataset(
    name: Annotated[str, typer.Argument(help="a built-in table (adult, german-credit, compas, breast-cancer, "
                                             "wine, diabetes) or image set (faces, shapes, digits, ...)")],
    out_path: Annotated[Path, typer.Option("--out", help="the CSV to write (a table) or a new folder (images: "
                                                         "img/*.png + attributes.csv)")],
    split: Annotated[str, typer.Option(help="tables: train, test (the held-out rows) or all")] = "all",
    number: Annotated[int | None, typer.Option("--number", "-n", help="image sets: examples to generate")] = None,
    size: Annotated[int | None, typer.Option(help="image sets: image side in pixels")] = None,
    seed: Annotated[int, typer.Option(help="image sets: generation seed (the data seed 0 trained the shipped "
                                           "models)")] = 0,
) -> None:
    """Write a built-in set as condgen reads it back: a table as a CSV (its own column names and values, the target
    column last), an image set as an image folder whose attributes.csv can take a label column of your own."""
    from condgen.tasks.datasets import export_dataset as export

    path, rows = export(name, out_path, split=split, n=number, size=size, seed=seed)
    console.print(f"wrote {path} ({rows:,} {'rows' if path.suffix else 'images'})")


def list_models(
    name: Annotated[str | None, typer.Argument(help="a model: list the -o keys it takes and their defaults")] = None,
) -> None:
    """List the models `condgen train` builds; with a model's name, its -o KEY=VALUE hyper-parameters."""
    from condgen.models.factory import MODEL_NAMES, option_defaults

    if name is None:
        table = Table(title="models (`condgen models NAME` lists a model's -o keys)")
        table.add_column("name")
        table.add_column("what")
        for model, description in MODEL_NAMES.items():
            table.add_row(model, description)
    else:
        table = Table(title=f"condgen train {name} -o KEY=VALUE")
        table.add_column("key")
        table.add_column("default (JSON)")
        for key, value in option_defaults(name).items():
            table.add_row(key, value if isinstance(value, str) else json.dumps(value))
    out.print(table)
    if name is not None:
        out.print("The data decides the shape of the examples (and arch: mlp below 16 px); null: the model's "
                  "choice.", highlight=False)


def train(
    model: Annotated[str, typer.Argument(help="vae, beta-vae, wae, aae, gan, dcgan, lsgan, wgan, wgan-gp, "
                                               "hinge-gan, sagan, progan, cvae, cgan, ddpm, ddim, cdiffusion, "
                                               "realnvp, glow; densities of vectors (or of a backbone's latents, "
                                               "--latents-of): gmm, kde; for SMILES (--data moses or a .smi/.csv "
                                               "file): charrnn, smiles-vae, smiles-aae, organ; for tables "
                                               "(--data adult, or a CSV with --target): tvae, ctgan")],
    data: Annotated[str, typer.Option("--data", help=DATA_HELP)],
    out_dir: Annotated[Path, typer.Option("--out", help="directory that becomes the model artifact")],
    steps: Annotated[int, typer.Option(help="optimisation steps")] = 5000,
    batch_size: Annotated[int, typer.Option(help="global batch size (split across DDP ranks)")] = 64,
    size: Annotated[int | None, typer.Option(help="image side in pixels (e.g. 32 or 64)")] = None,
    n: Annotated[int | None, typer.Option("-n", "--number", help="number of examples for built-in sets")] = None,
    seed: Annotated[int, typer.Option(help="seed of data generation and training")] = 0,
    resume: Annotated[bool, typer.Option(help="continue from the last checkpoint in --out")] = False,
    change_options: Annotated[bool, typer.Option(help="with --resume: apply the -o options that differ from the "
                                                      "checkpoint's from its step on, recorded in config.json")]
    = False,
    checkpoint_every: Annotated[int, typer.Option(help="steps between checkpoints")] = 500,
    sample_every: Annotated[int, typer.Option(help="steps between sample grids (0: never)")] = 500,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1, mps")] = "auto",
    attrs: Annotated[str | None, typer.Option(help="conditional models: attributes to condition on "
                                                   "(comma-separated; default all)")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", metavar="KEY=VALUE",
                                                     help="model hyper-parameter, repeatable "
                                                          "(e.g. -o latent_dim=32 -o beta=4); `condgen models "
                                                          "MODEL` lists the keys")] = None,
    kind: KindOption = None,
    data_option: DataOption = None,
    target: Annotated[str | None, typer.Option(help="tables: the column a classifier predicts (moved last; a "
                                                    "built-in table has its own)")] = None,
    latents_of: Annotated[str | None, typer.Option(help="gmm, kde: fit the density on the latents this backbone "
                                                        "(directory or shipped name, e.g. faces-vae) encodes the "
                                                        "data to; sampling then decodes its draws")] = None,
    skip_bad: Annotated[bool, typer.Option(help="skip unreadable examples of your data, reporting the count")]
    = False,
    lr_schedule: Annotated[str, typer.Option(help="learning rate per step: constant, warmup (linear over "
                                                  "--warmup-steps) or cosine (warm-up, then decay)")] = "constant",
    warmup_steps: Annotated[int, typer.Option(help="steps of linear lr warm-up (warmup, cosine)")] = 0,
    min_lr_ratio: Annotated[float, typer.Option(help="cosine: the last step's lr as a fraction of the base lr")]
    = 0.0,
    ema_decay: Annotated[float | None, typer.Option(help="keep an exponential moving average of the weights "
                                                         "(e.g. 0.999); the artifact then holds it (default: "
                                                         "0.995 for ddpm/ddim/cdiffusion, else off; 0: off)")]
    = None,
    group_lr: Annotated[list[str] | None, typer.Option("--group-lr", metavar="GROUP=LR",
                                                       help="an optimiser group's learning rate, repeatable (e.g. "
                                                            "--group-lr generator=1e-4 --group-lr discriminator=4e-4)")]
    = None,
) -> None:
    """Train a generative model and save it as an artifact directory (config.json + safetensors).

    Multi-GPU / multi-node: launch the same command with `torchrun --nproc_per_node=N -m condgen.cli ...`.
    """
    from condgen.tasks.training import train_named_model

    result = train_named_model(
        model, data, out_dir, steps=steps, batch_size=batch_size, size=size, n=n, seed=seed, resume=resume,
        change_options=change_options, checkpoint_every=checkpoint_every, sample_every=sample_every, device=device,
        attributes=attrs,
        options=parse_options(option), skip_bad=skip_bad, lr_schedule=lr_schedule, warmup_steps=warmup_steps,
        min_lr_ratio=min_lr_ratio, ema_decay=ema_decay, group_lr=parse_assignments(group_lr, "--group-lr"),
        data_options={**parse_data_options(data_option, kind), **({"target": target} if target else {})},
        latents_of=latents_of,
    )
    if getattr(result.model, "fits_in_closed_form", False):
        console.print(f"saved {model} to [bold]{result.out}[/] (fitted in closed form; --steps does not apply)")
    else:
        console.print(f"saved {model} to [bold]{result.out}[/] after {result.steps_done} steps")


def sample(
    model_dir: Annotated[str, typer.Argument(help="model directory, or the name of a shipped model")],
    n: Annotated[int, typer.Option("-n", "--number", help="number of samples")] = 64,
    out_path: Annotated[Path | None, typer.Option("--out", help="file to write: a PNG grid for images, .smi for "
                                                                "SMILES models, .csv/.npy for vectors (2-D: and a "
                                                                ".png scatter plot next to it)")] = None,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    set_: Annotated[list[str] | None, typer.Option("--set", metavar="ATTR=VALUE", help="conditional models: an "
                                                   "attribute's value, repeatable; ctgan: one category of one "
                                                   "column, e.g. --set job=clerk")] = None,
) -> None:
    """Draw samples from a trained model and write them (PNG grid, SMILES file or table)."""
    from condgen.tasks.training import load_model, sample_model

    model = load_model(model_dir)
    path = model.modality.check_path(out_path or default_output("samples", model.modality))
    samples = sample_model(model, n=n, seed=seed, conditions=parse_assignments(set_, "--set"))
    console.print(f"wrote {', '.join(str(p) for p in model.modality.write_samples(samples, path))}")


def reconstruct(
    model_dir: Annotated[str, typer.Argument(help="model directory with an encoder (vae, wae, aae, cvae, "
                                                  "realnvp/glow: exact inverse, ddpm/ddim/cdiffusion: DDIM "
                                                  "inversion, smiles-vae, smiles-aae)")],
    out_path: Annotated[Path | None, typer.Option("--out", help="file to write: one row per example, original "
                                                                "then reconstruction (PNG for images, CSV "
                                                                "otherwise)")] = None,
    n: Annotated[int, typer.Option("-n", "--number", help="number of examples")] = 16,
    data: Annotated[str | None, typer.Option(help="data to reconstruct (default: the model's own)")] = None,
    seed: Annotated[int, typer.Option(help="which examples to take")] = 0,
) -> None:
    """Encode and decode examples; writes each original next to its reconstruction."""
    from condgen.tasks.training import load_model
    from condgen.tasks.training import reconstruct as reconstruct_examples

    model = load_model(model_dir)
    path = model.modality.check_comparison_path(out_path or f"reconstructions{model.modality.comparison_suffix}")
    columns, error = reconstruct_examples(model, n=n, data=data, seed=seed)
    written = model.modality.write_comparison(columns, path)
    console.print(f"wrote {written}" + ("" if error is None else f" (mean absolute error on [-1, 1]: {error:.4f})"))


def register(app: typer.Typer) -> None:
    app.add_typer(datasets_app, name="datasets")
    app.command("models")(list_models)
    app.command()(train)
    app.command()(sample)
    app.command()(reconstruct)
