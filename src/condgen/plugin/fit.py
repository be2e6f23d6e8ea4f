"""Fit a plugin: collect labelled latents from a frozen backbone, then train the flow with the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import warn_if_few_labels
from condgen.errors import ConfigError, DataError
from condgen.models.backbone import backbone_device, can_encode, check_backbone, eval_mode
from condgen.plugin.plugin import FLOW_BATCH, FLOW_STEPS, Plugin, PluginConfig, flow_steps, flow_width
from condgen.progress import over_slices, status


@torch.no_grad()
def collect_latents(backbone, dataset: LabeledDataset | None, attributes: Sequence[str], labeller=None,
                    n_latents: int | None = None, batch_size: int = 256,
                    generator: torch.Generator | None = None, progress: bool = False) -> LabeledDataset:
    """A :class:`LabeledDataset` of latents ``data [N, D]`` (float) with the chosen attributes ``[N, K]``.

    * Backbone with an encoder: ``z = backbone.encode(x)`` for every example of ``dataset``
      (batched, no gradients, eval mode) with the dataset's labels (NaN = missing, kept).
    * Backbone without one (GAN): ``n_latents`` draws of ``backbone.sample_latent``, decoded and
      labelled by ``labeller.predict_values(images) -> [N, K']`` in the encoding of ``labeller.schema``.

    The returned schema holds statistics fitted on the returned labels. ``progress``: say so in one line and
    show a bar over the examples.
    """
    check_backbone(backbone)
    names = list(attributes)
    if not names:
        raise ConfigError("choose at least one attribute for the plugin")
    device = backbone_device(backbone)
    with eval_mode(backbone):
        if can_encode(backbone):
            if dataset is None:
                raise ConfigError("a backbone with an encoder needs a labelled dataset to encode")
            selected = dataset.select_attributes(names)
            status(f"encoding {len(selected):,} examples with the backbone", progress)
            def encoded(rows: slice) -> torch.Tensor:
                return backbone.encode(selected.examples(rows).to(device)).float().cpu()

            latents = torch.cat(over_slices(len(selected), batch_size, encoded, progress, "encoding"))
            values, schema = selected.attributes, selected.schema
            spec = {"name": "encoded-latents", "modality": "vectors", "source": dict(selected.spec)}
        else:
            if labeller is None:
                raise ConfigError(f"{type(backbone).__name__} has no encoder: pass a labeller (an attribute "
                                  "classifier with predict_values and schema) to label sampled examples")
            n = n_latents or (len(dataset) if dataset is not None else 10_000)
            columns = labeller.schema.columns(names)

            def labelled(rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
                z = backbone.sample_latent(rows.stop - rows.start, generator=generator)
                return z.float().cpu(), labeller.predict_values(backbone.decode(z))[:, columns].float().cpu()

            status(f"sampling {n:,} latents and labelling their decodings with the classifier", progress)
            parts = over_slices(n, batch_size, labelled, progress, "labelling")
            latents, values = torch.cat([z for z, _ in parts]), torch.cat([labels for _, labels in parts])
            schema = labeller.schema.subset(names)
            spec = {"name": "sampled-latents", "modality": "vectors",
                    **({"source": dict(dataset.spec)} if dataset is not None else {})}
    if latents.ndim != 2 or latents.shape[1] != backbone.latent_dim:
        raise DataError(f"backbone gave latents of shape {list(latents.shape)}, expected [N, {backbone.latent_dim}]")
    return LabeledDataset(latents, values, schema.with_statistics(values), spec)


def fit_plugin(backbone, dataset: LabeledDataset | None, attributes: Sequence[str],
               config: PluginConfig | None = None, train_config=None, labeller=None,
               n_latents: int | None = None, latents: LabeledDataset | None = None,
               decoding: Mapping[str, Any] | None = None, copy_backbone: bool = False,
               progress: bool = True) -> Plugin:
    """Train a :class:`Plugin` over the frozen ``backbone`` for ``attributes``.

    Latents come from :func:`collect_latents` (or ``latents``, an already collected set). The flow
    is trained by :func:`condgen.train.train` with ``train_config`` (default: seed 0, the batch and steps of
    ``condgen plugin fit``, :data:`~condgen.plugin.plugin.FLOW_BATCH` and :data:`~condgen.plugin.plugin.FLOW_STEPS`,
    or 150 passes over the latents where that is fewer: :func:`~condgen.plugin.plugin.flow_steps`); when
    ``train_config.out`` is set the engine saves the plugin there. ``decoding``: how the plugin decodes the
    latents it chooses (keyword options of ``backbone.decode``; default the backbone's ``targeted_decoding``),
    stored with it. ``copy_backbone``: save a copy of the backbone in the plugin's directory instead of a
    reference to it. ``progress``: a status line per phase and progress
    bars (encoding, the flow's steps), as the engine shows; ``False`` is silent (bars need a terminal).
    """
    from condgen.train import TrainConfig, train

    default_steps = train_config is None
    train_config = train_config or TrainConfig(steps=FLOW_STEPS, batch_size=FLOW_BATCH, seed=0)
    train_config = replace(train_config, progress=train_config.progress and progress)
    if latents is None:
        # Seeded so that a resumed run (GAN: sampled latents) sees the same latents again.
        generator = torch.Generator().manual_seed(train_config.seed)
        latents = collect_latents(backbone, dataset, attributes, labeller, n_latents, generator=generator,
                                  progress=progress)
    else:
        latents = latents.select_attributes(list(attributes))
        latents = LabeledDataset(latents.data.float(), latents.attributes,
                                 latents.schema.with_statistics(latents.attributes),
                                 {**latents.spec, "modality": "vectors"})
    if default_steps:
        train_config = replace(train_config, steps=flow_steps(len(latents), train_config.batch_size,
                                                              train_config.steps))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(train_config.seed)  # the flow's initial weights follow the run's seed
        config = replace(config or PluginConfig())  # a copy: the caller's config is not changed
        if config.hidden is None:
            config.hidden = flow_width(len(latents))
        plugin = Plugin(config, latents.schema, backbone.latent_dim, backbone)
    warn_if_few_labels(latents.schema, latents.attributes, plugin.flow_dim)
    if plugin.projection is not None:
        status(f"projecting the {plugin.latent_dim:,}-d latents onto {plugin.flow_dim} coordinates for the flow",
               progress)
    plugin.set_data_statistics(latents.data, latents.attributes)
    plugin.data_spec = dict(latents.spec)
    plugin.decoding = dict(getattr(backbone, "targeted_decoding", {}) if decoding is None else decoding)
    plugin.copy_backbone = copy_backbone
    saving = f", saved to {train_config.out}" if train_config.out is not None else ""
    status(f"fitting the flow on {len(latents):,} latents: {train_config.steps:,} steps of batch "
           f"{train_config.batch_size}{saving}", progress)
    result = train(plugin, latents, train_config)
    trained = result.model
    trained.eval()
    return trained
