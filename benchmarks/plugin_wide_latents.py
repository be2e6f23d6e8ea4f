"""Plugin fit steps per second on a wide latent (3,072-d: a 32-px RGB image flow), with the flow on the whole
latent (``projection_dim=0``, as before projections) against the default 256-d projection, in one run.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/plugin_wide_latents.py [--dim 3072] [--steps 3]

A step = the plugin's loss on a batch of 256, its backward pass and an Adam update, exactly what the engine runs
per step; the one-off costs (building the flow, fitting the projection on the latents) are timed apart. Writes
``benchmarks/results/plugin_wide_latents.json``.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from common import RESULTS, provenance
from condgen.data.schema import Attribute, AttributeSchema
from condgen.models.base import Batch
from condgen.plugin import Plugin, PluginConfig
from condgen.plugin.plugin import FLOW_BATCH, FLOW_WIDTH


def time_fit(latents: torch.Tensor, values: torch.Tensor, schema: AttributeSchema, projection_dim: int | None,
             steps: int) -> dict[str, float]:
    """Seconds to build the plugin and fit its statistics (projection included), and seconds per step."""
    torch.manual_seed(0)
    started = time.perf_counter()
    plugin = Plugin(PluginConfig(hidden=FLOW_WIDTH, projection_dim=projection_dim), schema, latents.shape[1])
    plugin.set_data_statistics(latents, values)
    setup = time.perf_counter() - started
    optimizer = torch.optim.Adam(plugin.parameters(), lr=1e-3)
    seconds = []
    for step in range(steps):
        rows = slice(step * FLOW_BATCH % len(latents), step * FLOW_BATCH % len(latents) + FLOW_BATCH)
        started = time.perf_counter()
        loss, _ = plugin.compute_loss("flow", Batch(x=latents[rows], attributes=values[rows]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - started)
    per_step = sorted(seconds)[len(seconds) // 2]  # the median: the machine is shared
    return {"flow_dim": plugin.flow_dim, "setup_seconds": setup, "seconds_per_step": per_step,
            "steps_per_second": 1 / per_step, "parameters": sum(p.numel() for p in plugin.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=3072)
    parser.add_argument("--latents", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(args.latents, args.dim, generator=generator)
    values = (latents[:, :1] + 0.5 * latents[:, 1:2] > 0).float()
    schema = AttributeSchema((Attribute("a", "binary"),)).with_statistics(values)
    runs = {}
    for name, projection_dim in (("whole latent", 0), ("default projection", None)):
        runs[name] = time_fit(latents, values, schema, projection_dim, args.steps)
        print(name, {key: round(value, 3) for key, value in runs[name].items()}, flush=True)
    ratio = runs["default projection"]["steps_per_second"] / runs["whole latent"]["steps_per_second"]
    print(f"speed-up per step: {ratio:.0f}x", flush=True)
    RESULTS.mkdir(exist_ok=True)
    record = {"dim": args.dim, "latents": args.latents, "steps_timed": args.steps, "runs": runs,
              "speedup_per_step": ratio, **provenance()}
    (RESULTS / "plugin_wide_latents.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
