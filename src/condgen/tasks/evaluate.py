"""``condgen evaluate``: judge a saved plugin (and, if asked, its alternatives) with an independent oracle."""

from __future__ import annotations

import math
from typing import Any

from condgen.apps.molecules import is_molecule_model
from condgen.errors import ConfigError
from condgen.evaluation.report import ALL_BASELINES, run_report
from condgen.io import load, resolve
from condgen.plugin.fit_spec import FIT_FILE, PluginFitSpec
from condgen.tasks.plugins import load_classifier, load_plugin, refit_seconds


def evaluate_plugin_dir(plugin_dir: str, *, baselines: bool = False, oracle_dir: str | None = None,
                        baseline_steps: int = 3000, n_edit: int = 300, n_generate: int = 250) -> dict[str, Any]:
    """Load a plugin and evaluate it; returns the report (the CLI writes it as JSON).

    With ``baselines`` the alternatives are fitted and trained in this run, and the plugin is fitted again
    exactly as its ``fit.json`` says, so that all fit times come from one run."""
    for flag, count in (("--n-edit", n_edit), ("--n-generate", n_generate)):
        if count < 1:
            raise ConfigError(f"{flag} must be ≥ 1, got {count}")
    directory = resolve(plugin_dir)
    plugin = load_plugin(directory)
    if plugin.modality is None or plugin.modality.name != "images":
        hint = "molecule plugin; score its targets with `condgen mol sample PLUGIN --target NAME=VALUE --report " \
            "r.json`" if is_molecule_model(plugin) else "non-image plugin"
        raise ConfigError(f"{plugin_dir}: condgen evaluate judges image plugins with an image oracle, this is a "
                          f"{hint}")
    spec, seconds = PluginFitSpec.read(directory) if (directory / FIT_FILE).is_file() else (None, math.nan)
    refit = (lambda: refit_seconds(directory)) if baselines and spec is not None else None
    oracle = load_classifier(oracle_dir, "--oracle") if oracle_dir else None
    labeller = load(spec.classifier) if spec is not None and spec.classifier else None
    return run_report(plugin, seconds, oracle=oracle, baselines=ALL_BASELINES if baselines else (),
                      baseline_steps=baseline_steps, n_edit=n_edit, n_generate=n_generate, refit=refit,
                      labeller=labeller)
