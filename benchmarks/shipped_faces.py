"""The shipped faces backbones side by side, judged exactly as ``families.py`` judges a family on faces.

    python benchmarks/shipped_faces.py     # writes benchmarks/results/shipped_faces.{json,md}

For each of ``faces-vae``, ``faces-wae`` and ``faces-dcgan``: domain FID / KID / IS / precision / recall /
density / coverage of 1,000 samples against 1,000 held-out faces on the faces oracle's features, and the plugin
on smiling / eyeglasses / male (800 flow steps on 20,000 training latents; the GAN's through the shipped labeller)
judged by the oracle through the evaluation protocol: conditional accuracy, edit success, preservation. Which
backbone the demo uses follows from this table (README, "Every family on the same problems").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, provenance  # noqa: E402
from condgen.io import (  # noqa: E402
    atomic_write_bytes,
    atomic_write_json,
    load,  # noqa: E402
)
from families_faces import add_faces_arguments, faces_data, judge, plugin_row  # noqa: E402

SHIPPED = ("faces-vae", "faces-wae", "faces-dcgan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_faces_arguments(parser)
    parser.add_argument("--models", default=",".join(SHIPPED))
    args = parser.parse_args()
    train_set, test, real, oracle = faces_data(args)
    results = {}
    for name in args.models.split(","):
        row, _ = judge(load(name), train_set.attributes, test, real, oracle, args)
        _, plugin = plugin_row(name, name, args)
        results[name] = {"samples": {k: v for k, v in row.items() if k != "bits_per_dim"},
                         "bits_per_dim": row["bits_per_dim"], "plugin": plugin}
        print(name, results[name], flush=True)
    record = {"models": results, "plugin_steps": args.plugin_steps, "n_samples": args.faces_samples,
              "provenance": provenance()}
    atomic_write_json(RESULTS / "shipped_faces.json", record)
    lines = ["## Shipped faces backbones (shipped_faces.json)", "",
             f"{args.faces_samples:,} samples vs as many held-out faces on the faces oracle's features; plugin on "
             f"smiling, eyeglasses, male ({args.plugin_steps} flow steps), judged by the oracle.", "",
             "| backbone | FID | KID | IS | precision | recall | coverage | plugin cond. accuracy | edit success | "
             "preservation | plugin cond. FID |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        s, p = r["samples"], r["plugin"]
        lines.append(f"| {name} | {s['fid']:.1f} | {s['kid']:.1f} | {s['is']:.2f} | {s['precision']:.3f} | "
                     f"{s['recall']:.3f} | {s['coverage']:.3f} | {p['conditional_accuracy']:.3f} | "
                     f"{p['edit_success']:.3f} | {p['preservation']:.3f} | {p['conditional_fid']:.1f} |")
    lines += ["", f"`{record['provenance']['command']}` — commit {record['provenance']['commit']}, "
              f"{record['provenance']['machine']}, {record['provenance']['date']}.", ""]
    atomic_write_bytes(RESULTS / "shipped_faces.md", "\n".join(lines).encode())


if __name__ == "__main__":
    main()
