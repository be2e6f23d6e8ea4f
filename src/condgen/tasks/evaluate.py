"""``condgen evaluate``: judge a saved plugin (and, if asked, its alternatives) with an independent oracle; a table
model or a table plugin: score its rows against the table's held-out split with SDMetrics
(:mod:`condgen.evaluation.table_quality`)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import torch

from condgen.apps.molecules import is_molecule_model
from condgen.data import BUILTIN_DATASETS, LabeledDataset, load_dataset, load_from_spec
from condgen.data.registry import ALIASES
from condgen.data.table_columns import TableColumn, columns_of
from condgen.data.tables import is_table_csv
from condgen.errors import ConfigError, DataError
from condgen.evaluation.report import ALL_BASELINES, FitTime, run_report
from condgen.evaluation.table_quality import table_quality
from condgen.io import load, read_config, resolve
from condgen.models.base import GenerativeModel
from condgen.plugin import Plugin
from condgen.plugin.fit_spec import FIT_FILE, PluginFitSpec, recorded_phases
from condgen.progress import status
from condgen.tasks.plugins import fit_plugin_from_spec, generate, load_classifier, load_plugin
from condgen.tasks.training import sample_model


def evaluate_plugin_dir(plugin_dir: str, *, baselines: bool = False, oracle_dir: str | None = None,
                        baseline_steps: int = 3000, n_edit: int = 300, n_generate: int = 250,
                        progress: bool = True) -> dict[str, Any]:
    """Load a plugin and evaluate it; returns the report (the CLI writes it as JSON).

    The oracle is ``oracle_dir``, else a shipped one trained on the plugin's data, else one trained now. The
    plugin's fit time is the one its ``fit.json`` records (measured by ``condgen plugin fit``); with
    ``baselines`` the alternatives are fitted and trained in this run, and the plugin is fitted again exactly as
    its ``fit.json`` says, so that all fit times come from one run (the report keeps the recorded one too)."""
    for flag, count in (("--n-edit", n_edit), ("--n-generate", n_generate)):
        if count < 1:
            raise ConfigError(f"{flag} must be ≥ 1, got {count}")
    directory = resolve(plugin_dir)
    status(f"loading the plugin {plugin_dir}", progress)
    plugin = load_plugin(directory)
    if plugin.modality is None or plugin.modality.name != "images":
        if plugin.modality is not None and plugin.modality.name == "tables":
            hint = "table plugin; score its rows with evaluate_table_model (what `condgen evaluate` runs on it)"
        elif is_molecule_model(plugin):
            hint = "molecule plugin; score its targets with `condgen mol sample PLUGIN --target NAME=VALUE --report " \
                "r.json`"
        else:
            hint = "non-image plugin"
        raise ConfigError(f"{plugin_dir}: condgen evaluate judges image plugins with an image oracle, this is a "
                          f"{hint}")
    spec, fit = recorded_fit(directory)
    refit = (lambda: refit_plugin(spec, progress)) if baselines and spec is not None else None
    oracle = load_classifier(oracle_dir, "--oracle") if oracle_dir else None
    labeller = load(spec.classifier) if spec is not None and spec.classifier else None
    return run_report(plugin, fit, oracle=oracle, baselines=ALL_BASELINES if baselines else (),
                      baseline_steps=baseline_steps, n_edit=n_edit, n_generate=n_generate, refit=refit,
                      labeller=labeller, progress=progress)


def recorded_fit(directory: Path) -> tuple[PluginFitSpec | None, FitTime]:
    """The fit spec of a plugin directory and the fit time its ``fit.json`` records (NaN without one)."""
    if not (directory / FIT_FILE).is_file():
        return None, FitTime(math.nan, f"not recorded: {directory} has no {FIT_FILE}")
    spec, seconds = PluginFitSpec.read(directory)
    return spec, FitTime(seconds, f"by `condgen plugin fit`, recorded in {FIT_FILE}", recorded_phases(directory))


def refit_plugin(spec: PluginFitSpec, progress: bool = True) -> FitTime:
    """Fit the plugin ``spec`` describes again, into a temporary directory, and return the measured time."""
    with tempfile.TemporaryDirectory() as scratch:
        _, seconds = fit_plugin_from_spec(spec, Path(scratch) / "plugin", progress=progress)
        return FitTime(seconds, f"in this run, fitting it again as its {FIT_FILE} says",
                       recorded_phases(Path(scratch) / "plugin"))


# -- tables ----------------------------------------------------------------------------------------------------
def is_table_artifact(name_or_dir: str | Path) -> bool:
    """True for a table model (tvae, …) or a plugin over one, read from its ``config.json`` (nothing loaded)."""
    config = read_config(resolve(name_or_dir))
    data = config.get("data", {})
    return data.get("modality") == "tables" or data.get("source", {}).get("modality") == "tables"


def evaluate_table_model(model_dir: str, *, data: str | None = None, seed: int = 0,
                         progress: bool = True) -> dict[str, Any]:
    """Draw as many rows from the table model (or table plugin, unconditionally) ``model_dir`` as the held-out
    split of its table holds and score them against it (:func:`~condgen.evaluation.table_quality.table_quality`:
    column shapes, pair trends, detection, train synthetic / test real next to train real / test real on the
    training split). ``data``: another copy of the table (a built-in name or a CSV with the same columns; default
    the model's own data); ``seed``: the draw's, the same rows as ``condgen sample -n N --seed SEED`` (``condgen
    generate`` for a plugin). Returns the report with its ``setup``."""
    status(f"loading {model_dir}", progress)
    model = load(model_dir)
    modality = model.modality if isinstance(model, Plugin | GenerativeModel) else None
    if modality is None or modality.name != "tables":
        raise ConfigError(f"{model_dir}: not a table model; condgen evaluate scores tables and image plugins")
    spec = model.source_data_spec if isinstance(model, Plugin) else model.data_spec
    source = data if data is not None else spec
    columns = list(modality.columns)
    where = f"--data {data}" if data is not None else f"{model_dir}'s own table ({spec.get('name', 'its data')})"
    held_out = in_model_columns(columns, table_split(source, "test", spec.get("seed", 0)), where)
    train = in_model_columns(columns, table_split(source, "train", spec.get("seed", 0)), where)
    status(f"drawing {len(held_out):,} rows (as many as the held-out split), seed {seed}", progress)
    if isinstance(model, Plugin):
        synthetic = generate(model, {}, len(held_out), seed=seed)
    else:
        synthetic = sample_model(model, len(held_out), seed=seed)
    status("scoring them with SDMetrics (shapes, pair trends, detection) and train synthetic / test real",
           progress)
    report = table_quality(columns, held_out, torch.as_tensor(synthetic), target=modality.target,
                           real_train=train, seed=seed)
    trained_on = spec.get("split")
    report["setup"] = {
        "model": str(model_dir), "kind": model.kind, "data": data if data is not None else spec.get("name"),
        "held_out": "split=test", "seed": seed, "trained_on_split": trained_on,
        "held_out_seen_in_training": trained_on == "all",
    }
    return report


def table_split(source: str | dict[str, Any], split: str, seed: int = 0) -> LabeledDataset:
    """The ``split`` part of a table: ``source`` is a data spec (a model's) or a built-in name / CSV path."""
    if isinstance(source, dict):
        spec = {key: value for key, value in source.items() if key != "n"}  # the whole part, not the first n
        return load_from_spec({**spec, "split": split})
    builtin = BUILTIN_DATASETS.get(ALIASES.get(source, source))
    if (builtin is not None and builtin.modality != "tables") or (builtin is None and not is_table_csv(Path(source))):
        raise ConfigError(f"--data {source}: not a table; give a built-in table (adult, german-credit, compas, "
                          "breast-cancer, wine, diabetes) or a CSV of the model's columns")
    return load_dataset(source, split=split, seed=seed)


def in_model_columns(columns: list[TableColumn], dataset: LabeledDataset, where: str) -> torch.Tensor:
    """``dataset``'s rows ``[N, C]`` in the model's column order and category indices; a table with other columns,
    a column of another kind or a category the model does not know is a one-line :class:`DataError`."""
    theirs = {column.name: (j, column) for j, column in enumerate(columns_of(dataset.spec))}
    ours = [column.name for column in columns]
    missing, extra = [n for n in ours if n not in theirs], [n for n in theirs if n not in ours]
    if missing or extra:
        raise DataError(f"{where}: not the model's table (the model's columns missing: {_few(missing)}; columns the "
                        f"model does not have: {_few(extra)}); evaluate against the table it was trained on")
    rows = torch.empty(len(dataset), len(columns))
    for j, column in enumerate(columns):
        index, their_column = theirs[column.name]
        values = dataset.data[:, index]
        if (column.kind == "categorical") != (their_column.kind == "categorical"):
            raise DataError(f"{where}: column {column.name!r} is {their_column.kind} there but {column.kind} in the "
                            "model's table")
        if column.kind == "categorical":
            lookup = torch.tensor([column.categories.index(c) if c in column.categories else -1
                                   for c in their_column.categories], dtype=torch.float32)
            values = lookup[values.long()]
            if (values < 0).any():
                unknown = their_column.categories[int(dataset.data[int((values < 0).nonzero()[0]), index])]
                raise DataError(f"{where}: column {column.name!r} holds {unknown!r}, not one of the model's "
                                f"categories ({_few(list(column.categories))})")
        rows[:, j] = values
    return rows


def _few(names: list[str], limit: int = 5) -> str:
    if not names:
        return "none"
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
