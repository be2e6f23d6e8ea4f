"""The attribute-control report: the plugin and its baselines, judged by one oracle, timed in one run.

Held-out data: for a built-in procedural set, a fresh draw with a seed no model saw; for a user's
data, the last 10 % of a fixed shuffle (the models may have seen it: the report says so).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from condgen.data import BUILTIN_DATASETS, LabeledDataset, load_from_spec
from condgen.errors import ConfigError
from condgen.evaluation.methods import ConditionalModelMethod, DirectionsMethod, PluginMethod
from condgen.evaluation.protocol import (
    discrete_and_continuous,
    evaluate_continuous,
    evaluate_method,
    oracle_accuracy,
)
from condgen.progress import status

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
#: baselines run only when named (run_report(baselines=…)), not by --baselines: guided DDIM is slow on a CPU
OPTIONAL_BASELINES = ("cdiffusion",)


@dataclass(frozen=True)
class FitTime:
    """The measured wall time of a plugin fit: ``seconds``, how it was ``measured`` (words for the report), and
    its ``phases`` (seconds per part, e.g. ``{"data": …, "latents": …, "flow": …}``; empty when not recorded)."""

    seconds: float
    measured: str
    phases: dict[str, float] = field(default_factory=dict)


def fit_timing(plugin_fit: FitTime | float, refit: Callable[[], FitTime] | None = None,
               progress: bool = False) -> dict[str, Any]:
    """The report's plugin timing: ``plugin_fit_s`` (the measured seconds), ``plugin_fit_measured`` (how),
    ``plugin_fit_phases`` (its parts) — of the refit when ``refit`` is given (run now), with the recorded fit's
    seconds kept as ``plugin_fit_recorded_s``."""
    fit = plugin_fit if isinstance(plugin_fit, FitTime) else FitTime(float(plugin_fit), "measured by the caller")
    timing: dict[str, Any] = {}
    if refit is not None:
        status(f"timing the plugin: fitting it again, in this run like the alternatives (its recorded fit took "
               f"{fit.seconds:.1f} s)", progress)
        timing["plugin_fit_recorded_s"] = fit.seconds
        fit = refit()
    return {**timing, "plugin_fit_s": fit.seconds, "plugin_fit_measured": fit.measured,
            "plugin_fit_phases": dict(fit.phases)}


def run_report(plugin, plugin_fit: FitTime | float, *, oracle=None, baselines: Sequence[str] = (),
               baseline_steps: int = 3000, n_edit: int = 300, n_generate: int = 250,
               refit: Callable[[], FitTime] | None = None, labeller=None, progress: bool = True) -> dict[str, Any]:
    """Evaluate ``plugin`` and the chosen ``baselines`` (of :data:`ALL_BASELINES`) → report dict.

    ``plugin_fit``: how long the plugin's fit took (a bare number: seconds the caller measured). ``oracle``: the
    judge; None: a shipped oracle whose data matches, else one trained now (:func:`~condgen.evaluation.oracle.
    choose_oracle`). ``labeller`` is the classifier that labelled a GAN backbone's samples (the directions
    baseline needs the same labels; it never judges). ``refit`` (optional) fits the plugin again and returns its
    :class:`FitTime`, so that the plugin's cost is measured in the same run as the baselines'; the report then
    gives both times. ``progress``: one status line per phase and progress bars.
    """
    from condgen.evaluation.baselines import fit_directions_timed, train_conditional_timed
    from condgen.evaluation.oracle import choose_oracle

    unknown = set(baselines) - set(ALL_BASELINES) - set(OPTIONAL_BASELINES)
    if unknown:
        raise ConfigError(f"unknown baselines {sorted(unknown)}; choose from "
                          f"{', '.join(ALL_BASELINES + OPTIONAL_BASELINES)}")
    attributes = plugin.attributes
    if not discrete_and_continuous(plugin.schema, attributes)[0]:
        raise ConfigError(f"the evaluation judges binary and categorical attributes (continuous ones alongside "
                          f"them); {', '.join(attributes)} are all continuous")
    spec = plugin.source_data_spec
    status(f"loading the data: {spec.get('path') or spec.get('name')} and a held-out set", progress)
    train, test, held_out_note = held_out_data(spec)
    chosen = choose_oracle(spec, train, plugin.schema, attributes, oracle=oracle, labeller=labeller,
                           progress=progress)
    oracle = chosen.model
    timing = fit_timing(plugin_fit, refit, progress)
    plugin_method = PluginMethod(plugin)
    methods: dict[str, Any] = {}
    if "directions" in baselines:
        status("directions baseline: collecting latents, then one linear SVM per attribute", progress)
        directions, timing["directions_fit_s"] = fit_directions_timed(plugin, train, attributes, labeller,
                                                                      progress=progress)
        methods["directions"] = DirectionsMethod(directions, plugin_method)
    for kind in ("cvae", "cgan", "cdiffusion"):
        if kind in baselines:
            status(f"{kind} baseline: training one from scratch for {baseline_steps:,} steps", progress)
            model, timing[f"{kind}_train_s"] = train_conditional_timed(kind, train, attributes, baseline_steps,
                                                                       progress=progress)
            methods[kind] = ConditionalModelMethod(model, train.select_attributes(model.schema.names).attributes)
    discrete, continuous = discrete_and_continuous(oracle.schema, attributes)

    def judge(method, label: str) -> dict[str, Any]:
        result = evaluate_method(method, test, oracle, discrete, n_generate=n_generate, n_edit=n_edit,
                                 progress=progress, label=label)
        if continuous:
            result["conditional"]["continuous"] = evaluate_continuous(method, oracle, continuous,
                                                                      n_generate=n_generate, progress=progress,
                                                                      label=label)
        return result

    status(f"judging {', '.join(['plugin', *methods])}: {n_generate} samples per attribute value, {n_edit} "
           f"held-out edits per attribute", progress)
    report: dict[str, Any] = {
        "setup": {
            "backbone": getattr(plugin.backbone, "kind", type(plugin.backbone).__name__),
            "attributes": attributes,
            "data": spec,
            "held_out": held_out_note,
            "oracle": chosen.describe(),
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
