"""One interface over every way of getting attribute control, so they share one evaluation.

A *method* generates images for requested attribute values and edits real images:

* :class:`PluginMethod` — the flow plugin on a frozen backbone,
* :class:`DirectionsMethod` — InterFaceGAN-style linear directions on the same backbone,
* :class:`ConditionalModelMethod` — a CVAE, CGAN or classifier-free-guided diffusion (cdiffusion) trained
  from scratch on the attributes.

``prepare(x, labels)`` turns real images into whatever the method edits (latents, or latents
with labels); ``edit(state, changes)`` returns edited images. States are tensors or tuples of
tensors whose first dimension indexes the examples.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

State = torch.Tensor | tuple[torch.Tensor, ...]


def take(state: State, index: torch.Tensor) -> State:
    """Rows ``index`` of a state (a tensor or a tuple of tensors)."""
    if isinstance(state, tuple):
        return tuple(part[index] for part in state)
    return state[index]


class PluginMethod:
    """The plugin: sample with conditions; edit = encode (or invert), move coordinates, decode."""

    def __init__(self, plugin, inversion_steps: int = 300):
        self.plugin = plugin
        self.inversion_steps = inversion_steps
        self._prepared: tuple[torch.Tensor, torch.Tensor] | None = None  # (examples, their latents)

    def generate(self, conditions: Mapping[str, float], n: int, generator: torch.Generator) -> torch.Tensor:
        return self.plugin.sample(n, conditions, generator=generator).cpu()

    def prepare(self, x: torch.Tensor, labels: torch.Tensor) -> State:
        # The directions baseline edits the same held-out images on the same backbone; keeping the last
        # latents spares it a second encoding — for a GAN, a second latent optimisation.
        if self._prepared is None or not torch.equal(self._prepared[0], x):
            self._prepared = (x.clone(), self.plugin.encode(x, self.inversion_steps).cpu())
        return self._prepared[1]

    def edit(self, state: State, changes: Mapping[str, float]) -> torch.Tensor:
        return self.plugin.decode(self.plugin.edit_latent(state, changes)).cpu()


class DirectionsMethod:
    """Latent directions (linear SVM normals) on the plugin's backbone; editing keeps the other
    evaluated attributes by projecting their normals out (conditional editing)."""

    def __init__(self, directions, plugin_method: PluginMethod):
        self.directions = directions
        self.backbone_method = plugin_method

    def generate(self, conditions: Mapping[str, float], n: int, generator: torch.Generator) -> torch.Tensor:
        z = self.directions.conditional_latents(n, conditions, generator=generator)
        return self.backbone_method.plugin.decode(z).cpu()

    def prepare(self, x: torch.Tensor, labels: torch.Tensor) -> State:
        return self.backbone_method.prepare(x, labels)

    def edit(self, state: State, changes: Mapping[str, float]) -> torch.Tensor:
        keep = [name for name in self.directions.attributes if name not in changes]
        z = self.directions.edit(state, changes, keep=keep)
        return self.backbone_method.plugin.decode(z).cpu()


class ConditionalModelMethod:
    """A conditional model (CVAE / CGAN) trained from scratch on the attributes.

    Generation sets the requested attributes and takes the others from random rows of the training
    labels (the data's own joint distribution). Editing encodes the image with its true labels (the
    CVAE's encoder, cdiffusion's guided DDIM inversion; a CGAN is inverted by latent optimisation) and decodes
    with the changed labels.
    """

    def __init__(self, model, label_pool: torch.Tensor, inversion_steps: int = 300):
        self.model = model.eval()
        self.schema = model.schema
        self.label_pool = label_pool
        self.inversion_steps = inversion_steps

    def _labels(self, conditions: Mapping[str, float], n: int, generator: torch.Generator) -> torch.Tensor:
        rows = torch.randint(len(self.label_pool), (n,), generator=generator)
        labels = self.label_pool[rows].clone()
        for name, value in conditions.items():
            labels[:, self.schema.index(name)] = float(value)
        return labels

    @torch.no_grad()
    def generate(self, conditions: Mapping[str, float], n: int, generator: torch.Generator) -> torch.Tensor:
        labels = self._labels(conditions, n, generator)
        z = self.model.sample_latent(n, generator=generator)
        return self.model.decode(z, attributes=labels.to(self.model.device)).cpu()

    def prepare(self, x: torch.Tensor, labels: torch.Tensor) -> State:
        if self.model.has_encoder:
            with torch.no_grad():
                z = self.model.encode(x.to(self.model.device), attributes=labels.to(self.model.device)).cpu()
        else:
            from condgen.plugin.inversion import invert

            z = invert(_ConditionedDecoder(self.model, labels), x, steps=self.inversion_steps).cpu()
        return z, labels.clone()

    @torch.no_grad()
    def edit(self, state: State, changes: Mapping[str, float]) -> torch.Tensor:
        z, labels = state
        labels = labels.clone()
        for name, value in changes.items():
            labels[:, self.schema.index(name)] = float(value)
        return self.model.decode(z.to(self.model.device), attributes=labels.to(self.model.device)).cpu()


class _ConditionedDecoder:
    """A conditional generator with its labels fixed, seen as an unconditional backbone for inversion."""

    def __init__(self, model, labels: torch.Tensor):
        self.model, self.labels = model, labels
        self.latent_dim = model.latent_dim

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.model.sample_latent(n, generator=generator)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.model.decode(z, attributes=self.labels[: z.shape[0]].to(z.device))

    def parameters(self):
        return self.model.parameters()
