"""The attribute-control report: the plugin and its baselines, judged by one oracle, timed in one run.

Held-out data: for a built-in procedural set, a fresh draw with a seed no model saw; for a user's
data, the last 10 % of a fixed shuffle (the models may have seen it: the report says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.progress import Progress

from condgen.data import BUILTIN_DATASETS, LabeledDataset, load_from_spec
from condgen.errors import ConfigError
from condgen.evaluation.methods import ConditionalModelMethod, DirectionsMethod, PluginMethod
from condgen.evaluation.protocol import (
    discrete_and_continuous,
    evaluate_continuous,
    evaluate_method,
    oracle_accuracy,
)

HELD_OUT_SEED = 10_007


def held_out_data(spec: dict[str, Any], n: int = 2000) -> tuple[LabeledDataset, LabeledDataset, str]:
    """``(training data, held-out data, how the held-out set was made)``."""
    train = load_from_spec(spec)
    if spec.get("name") in BUILTIN_DATASETS and "path" not in spec:
        held = load_from_spec({**spec, "n": n, "seed": HELD_OUT_SEED})
        return train, held, f"fresh draw of {spec['name']} with seed {HELD_OUT_SEED}, never seen in training"
    train_part, held = train.split(0.9, seed=0)
    return train_part, held, "last 10% of a seed-0 shuffle of the user's data (models may have seen it)"


ALL_BASELINES = ("directions", "cvae", "cgan")


def run_report(plugin, plugin_fit_s: float, *, oracle=None, baselines: Sequence[str] = (), baseline_steps: int = 3000,
               n_edit: int = 300, n_generate: int = 250, refit=None, labeller=None) -> dict[str, Any]:
    """Evaluate ``plugin`` and the chosen ``baselines`` (of :data:`ALL_BASELINES`) → report dict.

    ``labeller`` is the classifier that labelled a GAN backbone's samples (the directions baseline
    needs the same labels). ``refit`` (optional) is a zero-argument callable that fits the plugin
    again and returns its wall time, so that the plugin's cost is measured in the same run as the
    baselines'.
    """
    from condgen.evaluation.baselines import fit_directions_timed, train_conditional_timed
    from condgen.evaluation.classifiers import train_oracle

    spec = plugin.source_data_spec
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
    discrete, continuous = discrete_and_continuous(oracle.schema, attributes)
    if not discrete:
        raise ConfigError(f"the evaluation judges binary and categorical attributes (continuous ones alongside "
                          f"them); {', '.join(attributes)} are all continuous")

    def judge(method, label: str) -> dict[str, Any]:
        result = evaluate_method(method, test, oracle, discrete, n_generate=n_generate, n_edit=n_edit,
                                 progress=progress, label=label)
        if continuous:
            result["conditional"]["continuous"] = evaluate_continuous(method, oracle, continuous,
                                                                      n_generate=n_generate)
        return result

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
            **judge(plugin_method, "plugin"),
            "baselines": {name: judge(method, name) for name, method in methods.items()},
        }
    report["timing"] = timing
    if "cvae_train_s" in timing:
        timing["cvae_over_plugin"] = timing["cvae_train_s"] / timing["plugin_fit_s"]
    return report
