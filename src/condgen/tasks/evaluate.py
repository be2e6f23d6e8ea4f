"""``condgen evaluate``: judge a saved plugin (and, if asked, its alternatives) with an independent oracle."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from condgen.apps.molecules import is_molecule_model
from condgen.errors import ConfigError
from condgen.evaluation.report import ALL_BASELINES, FitTime, run_report
from condgen.io import load, resolve
from condgen.plugin.fit_spec import FIT_FILE, PluginFitSpec, recorded_phases
from condgen.progress import status
from condgen.tasks.plugins import fit_plugin_from_spec, load_classifier, load_plugin


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
        hint = "molecule plugin; score its targets with `condgen mol sample PLUGIN --target NAME=VALUE --report " \
            "r.json`" if is_molecule_model(plugin) else "non-image plugin"
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
