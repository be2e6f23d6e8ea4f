"""The attribute-control report: the plugin and its baselines, judged by one oracle, timed in one run.

Held-out data: for a built-in procedural set, a fresh draw with a seed no model saw; for a user's
data, the last 10 % of a fixed shuffle (the models may have seen it: the report says so).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.progress import Progress
from rich.table import Table

from condgen.apps.evaluation import evaluate_method, oracle_accuracy
from condgen.apps.methods import ConditionalModelMethod, DirectionsMethod, PluginMethod
from condgen.artifact import atomic_write_json, read_json
from condgen.cli.common import out
from condgen.data import BUILTIN_DATASETS, LabeledDataset, load_from_spec
from condgen.errors import ConfigError

HELD_OUT_SEED = 10_007
FIT_RECORD = "fit.json"


def held_out_data(spec: dict[str, Any], n: int = 2000) -> tuple[LabeledDataset, LabeledDataset, str]:
    """``(training data, held-out data, how the held-out set was made)``."""
    train = load_from_spec(spec)
    if spec.get("name") in BUILTIN_DATASETS and "path" not in spec:
        held = load_from_spec({**spec, "n": n, "seed": HELD_OUT_SEED})
        return train, held, f"fresh draw of {spec['name']} with seed {HELD_OUT_SEED}, never seen in training"
    train_part, held = train.split(0.9, seed=0)
    return train_part, held, "last 10% of a seed-0 shuffle of the user's data (models may have seen it)"


def train_oracle(train: LabeledDataset, steps: int = 2500, seed: int = 1):
    """The independent judge: another architecture (conv-wide) and seed than the GAN labeller."""
    from condgen.metrics.classifier import train_classifier

    return train_classifier(train, arch="conv-wide", steps=steps, seed=seed, progress=True)


ALL_BASELINES = ("directions", "cvae", "cgan")


def run_report(plugin, plugin_fit_s: float, *, oracle=None, baselines: Sequence[str] = (), baseline_steps: int = 3000,
               n_edit: int = 300, n_generate: int = 250, refit=None, labeller=None) -> dict[str, Any]:
    """Evaluate ``plugin`` and the chosen ``baselines`` (of :data:`ALL_BASELINES`) → report dict.

    ``labeller`` is the classifier that labelled a GAN backbone's samples (the directions baseline
    needs the same labels). ``refit`` (optional) is a zero-argument callable that fits the plugin
    again and returns its wall time, so that the plugin's cost is measured in the same run as the
    baselines'.
    """
    from condgen.apps.baselines import fit_directions_timed, train_conditional_timed

    spec = plugin.data_spec.get("source", plugin.data_spec)
    train, test, held_out_note = held_out_data(spec)
    oracle = oracle or train_oracle(train)
    attributes = plugin.attributes
    timing = {"plugin_fit_s": refit() if refit else plugin_fit_s}
    plugin_method = PluginMethod(plugin)
    methods: dict[str, Any] = {}
    unknown = set(baselines) - set(ALL_BASELINES)
    if unknown:
        raise ConfigError(f"unknown baselines {sorted(unknown)}; choose from {', '.join(ALL_BASELINES)}")
    if "directions" in baselines:
        directions, timing["directions_fit_s"] = fit_directions_timed(plugin, train, attributes, labeller)
        methods["directions"] = DirectionsMethod(directions, plugin_method)
    for kind in ("cvae", "cgan"):
        if kind in baselines:
            model, timing[f"{kind}_train_s"] = train_conditional_timed(kind, train, attributes, baseline_steps)
            methods[kind] = ConditionalModelMethod(model, train.select_attributes(model.schema.names).attributes)
    with Progress(transient=True) as progress:
        report: dict[str, Any] = {
            "setup": {
                "backbone": getattr(plugin.backbone, "kind", type(plugin.backbone).__name__),
                "attributes": attributes,
                "data": spec,
                "held_out": held_out_note,
                "oracle": {"arch": oracle.config.arch, "trained_on": "real training images"},
                "n_edit": n_edit,
                "n_generate_per_value": n_generate,
            },
            "oracle_accuracy": oracle_accuracy(oracle, test),
            **evaluate_method(plugin_method, test, oracle, attributes, n_generate=n_generate, n_edit=n_edit,
                              progress=progress, label="plugin"),
            "baselines": {
                name: evaluate_method(method, test, oracle, attributes, n_generate=n_generate, n_edit=n_edit,
                                      progress=progress, label=name)
                for name, method in methods.items()
            },
        }
    report["timing"] = timing
    if "cvae_train_s" in timing:
        timing["cvae_over_plugin"] = timing["cvae_train_s"] / timing["plugin_fit_s"]
    return report


def evaluate_plugin_dir(plugin_dir: str, json_path: Path, *, baselines: bool = False, oracle_dir: str | None = None,
                        baseline_steps: int = 3000, n_edit: int = 300, n_generate: int = 250) -> dict[str, Any]:
    """``condgen evaluate``: load a plugin, evaluate it, write the JSON report."""
    from condgen.apps.plugin_tasks import load_plugin
    from condgen.artifact import load, resolve

    directory = resolve(plugin_dir)
    plugin = load_plugin(directory)
    record_path = directory / FIT_RECORD
    record = read_json(record_path) if record_path.is_file() else {}
    refit = None
    if baselines and record:
        refit = lambda: refit_seconds(record)  # noqa: E731 - a deferred call, timed inside run_report
    oracle = load(oracle_dir) if oracle_dir else None
    labeller = load(record["classifier"]) if record.get("classifier") else None
    report = run_report(plugin, record.get("seconds", math.nan), oracle=oracle,
                        baselines=ALL_BASELINES if baselines else (),
                        baseline_steps=baseline_steps, n_edit=n_edit, n_generate=n_generate, refit=refit,
                        labeller=labeller)
    atomic_write_json(json_path, report)
    return report


def refit_seconds(record: dict[str, Any]) -> float:
    """Fit the plugin again exactly as recorded (into a temporary directory) and return the wall time."""
    from condgen.apps.plugin_tasks import fit_plugin_from_dirs

    with tempfile.TemporaryDirectory() as scratch:
        _, seconds = fit_plugin_from_dirs(
            record["backbone"], record["attributes"], Path(scratch) / "plugin", data=record.get("data"),
            classifier_dir=record.get("classifier"), steps=record["steps"], batch_size=record["batch_size"],
            n_latents=record["n_latents"], seed=record["seed"], coupling=record.get("coupling"), progress=False)
    return seconds


def print_report(report: dict[str, Any]) -> None:
    """The metrics table: one row per method."""
    table = Table(title=f"attribute control on {report['setup']['data'].get('name', 'data')} "
                        f"({', '.join(report['setup']['attributes'])})")
    for column in ("method", "cond. acc", "cond. FID", "edit success", "preservation", "edit FID", "fit s"):
        table.add_column(column, justify="right" if column != "method" else "left")
    timing = report["timing"]
    rows = [("plugin", report, timing.get("plugin_fit_s"))]
    time_keys = {"directions": "directions_fit_s", "cvae": "cvae_train_s", "cgan": "cgan_train_s"}
    rows += [(name, result, timing.get(time_keys.get(name, ""))) for name, result in report["baselines"].items()]
    for name, result, seconds in rows:
        table.add_row(name, f"{result['conditional']['mean_accuracy']:.3f}", f"{result['conditional']['fid']:.2f}",
                      f"{result['edit']['mean_success']:.3f}", f"{result['edit']['preservation']:.3f}",
                      f"{result['edit']['fid']:.2f}", "-" if seconds is None else f"{seconds:.1f}")
    out.print(table)
    accuracy = ", ".join(f"{k} {v:.3f}" for k, v in report["oracle_accuracy"].items())
    out.print(f"oracle held-out accuracy: {accuracy}")
