"""``condgen explain``: counterfactual explanations of a classifier through a plugin, and attribute rankings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from condgen.cli.common import console, split_names

NamesOption = Annotated[list[str] | None, typer.Option(metavar="ATTR[,ATTR]", help="repeatable or comma-separated")]


def explain(
    plugin_dir: Annotated[str, typer.Argument(help="plugin directory or shipped name")],
    classifier: Annotated[str, typer.Option(help="the classifier to explain: an .onnx file or a condgen "
                                                 "classifier directory (with --attribute)")],
    index: Annotated[list[int] | None, typer.Option(help="explain held-out example N (the same split every run: "
                                                         "a table's test rows, a held-out face draw), repeatable")]
    = None,
    row: Annotated[Path | None, typer.Option(help="tables: a CSV of rows to explain (the table's column names)")]
    = None,
    image: Annotated[list[Path] | None, typer.Option(help="images: an image file to explain, repeatable")] = None,
    target_class: Annotated[str | None, typer.Option(help="the class wanted (name or index; default: the opposite "
                                                          "of a binary classifier's decision)")] = None,
    k: Annotated[int, typer.Option("-k", help="counterfactuals per example")] = 4,
    out_path: Annotated[Path | None, typer.Option("--out", help="cf.csv (tables) or cf.png (images)")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the explanation as JSON")] = None,
    freeze: NamesOption = None,
    increase: NamesOption = None,
    decrease: NamesOption = None,
    attribute: Annotated[str | None, typer.Option(help="condgen classifier: the attribute it decides")] = None,
    margin: Annotated[float, typer.Option(help="probability margin past the decision boundary")] = 0.1,
    max_changes: Annotated[int, typer.Option(help="most attributes changed at once")] = 3,
    rank: Annotated[bool, typer.Option(help="also rank the attributes by how often changing one alone flips the "
                                            "decision, on held-out examples; writes a bar chart")] = False,
    rank_n: Annotated[int, typer.Option(help="held-out examples the ranking uses")] = 100,
    anchored: Annotated[bool, typer.Option("--anchored/--decoded", help="a counterfactual is the example moved by "
                                           "what the edit changes in its decoding (default; a table's other "
                                           "columns stay as they are), or the decoding itself")] = True,
    moves: Annotated[str, typer.Option(help="anchored tables: 'attributes' changes only the plugin's attribute "
                                            "columns; 'coupled' also moves the columns the edit moves in the "
                                            "decoding (those that go with the attributes)")] = "attributes",
) -> None:
    """Counterfactuals: the fewest attribute changes (through the plugin) that flip a classifier's decision."""
    import torch

    from condgen.io import atomic_write_json
    from condgen.tasks.explain import (
        explain as explain_examples,
    )
    from condgen.tasks.explain import (
        explanation_record,
        held_out_examples,
        write_image_counterfactuals,
        write_ranking_chart,
        write_table_counterfactuals,
    )
    from condgen.tasks.plugins import load_plugin

    plugin = load_plugin(plugin_dir)
    modality = plugin.modality
    path = modality.check_comparison_path(out_path or f"cf{modality.comparison_suffix}")
    given = sum(x is not None for x in (index, row, image))
    if given != 1:
        from condgen.errors import ConfigError

        raise ConfigError("give exactly one of --index N, --row FILE.csv (tables) or --image FILE (images)")
    if index is not None:
        examples = held_out_examples(plugin, index)
    elif row is not None:
        examples = modality.read(row)
    else:
        examples = torch.cat([modality.read(file) for file in image])
    rank_examples = held_out_examples(plugin, list(range(rank_n))) if rank else None
    result = explain_examples(plugin, classifier, examples, target_class=target_class, k=k, margin=margin,
                              freeze=names(freeze), increase=names(increase),
                              decrease=names(decrease), max_changes=max_changes, attribute=attribute,
                              rank_examples=rank_examples, anchored=anchored, moves=moves,
                              progress=True)
    written = (write_table_counterfactuals(plugin, result, path) if modality.name == "tables"
               else write_image_counterfactuals(result, path))
    record = explanation_record(result, str(plugin_dir), classifier, getattr(modality, "columns", None))
    found = [s for s in result.sets if not s.in_target]
    console.print(f"{sum(any(c.valid for c in s.counterfactuals) for s in found)} of {len(found)} examples "
                  f"flipped; wrote {written}")
    if rank:
        chart = write_ranking_chart(result.ranking, path.with_name(path.stem + "_rank.png"),
                                    target_class or "the other class")
        console.print("ranking: " + ", ".join(f"{e.name} {e.flip_rate:.2f}" for e in result.ranking)
                      + f"; wrote {chart}")
    if json_path is not None:
        atomic_write_json(json_path, record)
        console.print(f"wrote {json_path}")


def register(app: typer.Typer) -> None:
    app.command()(explain)


def names(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated names as one list."""
    return split_names(",".join(values or []))
