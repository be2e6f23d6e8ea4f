"""Printing the attribute-control report of ``condgen evaluate`` and ``condgen demo``."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from condgen.cli.common import console, out


def print_report(report: dict[str, Any]) -> None:
    """The metrics table: one row per method, then the oracle's own held-out accuracy."""
    table = Table(title=f"attribute control on {report['setup']['data'].get('name', 'data')} "
                        f"({', '.join(report['setup']['attributes'])})")
    for column in ("method", "cond. acc", "cond. FID", "edit success", "preservation", "edit FID", "fit s"):
        table.add_column(column, justify="right" if column != "method" else "left", no_wrap=column == "method")
    timing = report["timing"]
    rows = [("plugin", report, timing.get("plugin_fit_s"))]
    time_keys = {"directions": "directions_fit_s", "cvae": "cvae_train_s", "cgan": "cgan_train_s",
                 "cdiffusion": "cdiffusion_train_s"}
    rows += [(name, result, timing.get(time_keys.get(name, ""))) for name, result in report["baselines"].items()]
    for name, result, seconds in rows:
        table.add_row(name, f"{result['conditional']['mean_accuracy']:.3f}", f"{result['conditional']['fid']:.2f}",
                      f"{result['edit']['mean_success']:.3f}", f"{result['edit']['preservation']:.3f}",
                      f"{result['edit']['fid']:.2f}", _seconds(seconds))
    out.print(table)
    if "plugin_fit_measured" in timing:
        out.print(plugin_fit_line(timing), highlight=False)
    for name, result, _ in rows:
        for attribute, scores in result["conditional"].get("continuous", {}).items():
            out.print(f"{name}, {attribute} (continuous): MAE {scores['mae']:.3f}, within ½ std "
                      f"{scores['within_half_std']:.3f}, correlation {scores['correlation']:.3f}")
    accuracy = ", ".join(f"{k} {v:.3f}" for k, v in report["oracle_accuracy"].items())
    source = report["setup"]["oracle"].get("source")
    out.print(f"oracle{f' ({source})' if source else ''} held-out accuracy: {accuracy}")


def format_phases(phases: dict[str, float]) -> str:
    """``backbone 0.1 s, data 4.0 s, latents 9.0 s, flow 168.7 s``: what a fit's time is made of."""
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())


def plugin_fit_line(timing: dict[str, Any]) -> str:
    """What the plugin's "fit s" covers: how it was measured, its phases, and the recorded fit when refitted."""
    line = f"plugin fit s: {_seconds(timing['plugin_fit_s'])} s, {timing['plugin_fit_measured']}"
    if timing.get("plugin_fit_phases"):
        line += f" ({format_phases(timing['plugin_fit_phases'])})"
    if "plugin_fit_recorded_s" in timing:
        line += f"; the fit recorded in fit.json took {timing['plugin_fit_recorded_s']:.1f} s"
    return line


def print_targets(verdicts: dict[str, dict[str, Any]]) -> None:
    """One line per demo target: value, threshold, met or not."""
    for name, verdict in verdicts.items():
        mark = "[green]met[/]" if verdict["met"] else "[red]NOT met[/]"
        console.print(f"  {name}: {verdict['value']:.3f} (target >= {verdict['target']}) {mark}")


def _seconds(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"
