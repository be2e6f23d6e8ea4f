"""Printing the attribute-control report of ``condgen evaluate`` and ``condgen demo``, and the table-quality report
of ``condgen evaluate`` on a table model."""

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


def print_table_quality(report: dict[str, Any]) -> None:
    """The SDMetrics scores of a table model's rows (1 = best; TSTR next to the same classifier trained on the real
    training rows), then each column's shape score."""
    setup, rows, trends, tstr = report["setup"], report["rows"], report["column_pair_trends"], report["tstr"]
    table = Table(title=f"{setup['model']}: {rows['synthetic']:,} synthetic rows against the {rows['real']:,} "
                        f"held-out rows of {setup['data']} (SDMetrics; 1 = best)")
    for column in ("measure", "synthetic", "real train", "what it compares"):
        table.add_column(column, justify="right" if column in ("synthetic", "real train") else "left")
    skipped = f"; {len(trends['incomputable'])} pairs incomputable" if trends["incomputable"] else ""
    table.add_row("column shapes", f"{report['column_shapes']['mean']:.3f}", "",
                  "each column's distribution: KSComplement (numbers), TVComplement (categories); mean")
    table.add_row("column-pair trends", f"{trends['mean']:.3f}", "", f"{len(trends['pairs'])} pairs: Correlation"
                  f"Similarity (two numbers), ContingencySimilarity (with a category); mean{skipped}")
    table.add_row("detection", f"{report['detection']['score']:.3f}", "",
                  "LogisticDetection: 1 = a logistic regression cannot tell the rows from real ones")
    if tstr is not None:
        for measure in ("r2",) if tstr["task"] == "regression" else ("accuracy", "f1"):
            real = "" if tstr["real"] is None else f"{tstr['real'][measure]:.3f}"
            what = tstr["f1"] if measure == "f1" else measure
            table.add_row(f"TSTR {measure}", f"{tstr['synthetic'][measure]:.3f}", real,
                          f"predicting {tstr['target']} of the held-out rows ({what}), trained on those rows")
    out.print(table)
    shapes = ", ".join(f"{name} {entry['score']:.3f}" for name, entry in report["column_shapes"]["columns"].items())
    out.print(f"column shapes: {shapes}", highlight=False)
    if setup.get("held_out_seen_in_training"):
        console.print("warning: the model was trained on all rows of its table, so its held-out split is not unseen",
                      highlight=False)


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
