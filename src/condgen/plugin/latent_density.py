"""A GMM or KDE fitted on a backbone's latents, which is itself a latent backbone: ``sample_latent`` draws
from the fitted density instead of N(0, I), ``decode`` (and ``encode``) are the backbone's.

A VAE's aggregate posterior — the latents its encoder gives real examples — is rarely the standard normal
its prior assumes; sampling latents from a density fitted on them (Ghosh et al., 2020, "ex-post density
estimation") gives samples that look more like the data. ``condgen train gmm --data faces --latents-of
faces-vae --out DIR`` fits one; ``condgen sample DIR`` decodes its draws into images.

Stored as the density's artifact (its config, fit record and tensors) with kind ``latent-density``,
``"density_kind"`` naming the family, and a reference to the backbone exactly as a plugin keeps one
(:mod:`condgen.plugin.storage`: shipped name or relative path, and the sha256 of its weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from condgen.data.dataset import LabeledDataset
from condgen.errors import ArtifactError, ConfigError
from condgen.io import WEIGHTS_FILE, artifact_class, atomic_save_tensors, write_config
from condgen.models.backbone import backbone_device, can_encode, check_backbone, eval_mode
from condgen.models.base import LatentModel
from condgen.models.density import DensityModel
from condgen.models.factory import RECIPES, build_model
from condgen.plugin.storage import backbone_reference, load_referenced_backbone
from condgen.progress import over_slices, status


class LatentDensity(LatentModel):
    """``density`` (a fitted :class:`~condgen.models.density.DensityModel` over ``[N, latent_dim]``) on top of
    ``backbone`` (a latent backbone with an encoder). Shapes: ``z [n, latent_dim]``; ``decode(z)`` is the
    backbone's examples ``[n, …]``."""

    kind = "latent-density"
    fits_in_closed_form = True  # what the CLI reports: fitted, not trained for steps
    copy_backbone = False  # storage.backbone_reference reads it: refer to the backbone, never copy it

    def __init__(self, density: DensityModel, backbone):
        super().__init__(density.config, density.schema)
        check_backbone(backbone)
        if int(backbone.latent_dim) != density.dim:
            raise ConfigError(f"a density of {density.dim}-D vectors cannot serve a backbone with "
                              f"{backbone.latent_dim}-D latents")
        self.density = density
        # its examples are the backbone's: the data it encoded (the density's spec holds that as its source)
        self.data_spec = dict(density.data_spec.get("source", density.data_spec))
        self.__dict__["_backbone"] = backbone  # not a submodule: its weights stay in its own artifact

    @property
    def backbone(self):
        return self._backbone

    @property
    def latent_dim(self) -> int:
        return self.density.dim

    @property
    def has_encoder(self) -> bool:  # type: ignore[override]
        return can_encode(self._backbone)

    @property
    def targeted_decoding(self) -> dict[str, Any]:  # type: ignore[override]
        return dict(getattr(self._backbone, "targeted_decoding", {}))

    @property
    def modality(self):
        return self._backbone.modality

    @property
    def device(self) -> torch.device:
        return backbone_device(self._backbone)

    def log_likelihood(self, z: torch.Tensor) -> float:
        """Mean log-density (nats per example) of latents ``z [N, latent_dim]`` under the fitted density."""
        return self.density.log_likelihood(z.detach().cpu())

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[n, latent_dim]`` draws from the fitted density (every random number from ``generator``)."""
        return self.density.sample(n, generator=generator).to(self.device)

    def decode(self, z: torch.Tensor, *, generator: torch.Generator | None = None, **options) -> torch.Tensor:
        with eval_mode(self._backbone), torch.no_grad():
            return self._backbone.decode(z.to(self.device), generator=generator, **options)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if not self.has_encoder:
            return super().encode(x)
        with eval_mode(self._backbone), torch.no_grad():
            return self._backbone.encode(x.to(self.device))

    # -- artifacts --------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """The density's ``model.safetensors`` and ``config.json`` plus the backbone's reference."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        reference = backbone_reference(self, directory)
        atomic_save_tensors(directory / WEIGHTS_FILE, self.density.state_dict())
        write_config(directory, self.kind, {**self.density.artifact_body(), "density_kind": self.density.kind,
                                            "backbone": reference})
        self.artifact_dir = directory.resolve()
        return directory

    @classmethod
    def from_artifact(cls, directory: Path, body: dict[str, Any]) -> LatentDensity:
        density_kind = body.get("density_kind")
        if density_kind not in ("gmm", "kde"):
            raise ArtifactError(f"{directory}: a latent density needs density_kind gmm or kde, got {density_kind!r}")
        density = artifact_class(density_kind).from_artifact(directory, body)
        model = cls(density, load_referenced_backbone(directory, dict(body.get("backbone") or {})))
        model.artifact_dir = Path(directory).resolve()
        return model


def encode_examples(backbone, dataset: LabeledDataset, batch_size: int = 256, progress: bool = False
                    ) -> LabeledDataset:
    """``dataset`` with every example replaced by ``backbone.encode(x)``: latents ``[N, latent_dim]`` (float,
    CPU), the same attributes, and a spec naming the encoded data."""
    if not can_encode(backbone):
        raise ConfigError(f"{getattr(backbone, 'kind', type(backbone).__name__)} has no encoder; a density on "
                          "latents needs one (vae, beta-vae, wae, aae, smiles-vae, smiles-aae)")
    if getattr(backbone, "is_conditional", False):
        raise ConfigError(f"{backbone.kind} decodes with attribute values; fit the density on an unconditional "
                          "backbone")
    device = backbone_device(backbone)
    status(f"encoding {len(dataset):,} examples with the backbone", progress)

    def encoded(rows: slice) -> torch.Tensor:
        return backbone.encode(dataset.examples(rows).to(device)).float().cpu()

    with eval_mode(backbone), torch.no_grad():
        latents = torch.cat(over_slices(len(dataset), batch_size, encoded, progress, "encoding"))
    spec = {"name": "encoded-latents", "modality": "vectors", "source": dict(dataset.spec)}
    return LabeledDataset(data=latents, attributes=dataset.attributes, schema=dataset.schema, spec=spec)


def fit_latent_density(name: str, backbone, dataset: LabeledDataset, *, seed: int = 0,
                       options: dict[str, Any] | None = None, progress: bool = True) -> LatentDensity:
    """Fit density ``name`` (``gmm`` or ``kde``, with ``options`` as ``-o`` gives them) on the latents
    ``backbone.encode`` gives ``dataset``'s examples; the result samples latents from it and decodes them."""
    if name not in RECIPES or not issubclass(RECIPES[name].model_class, DensityModel):
        raise ConfigError(f"--latents-of fits a density (gmm or kde) on a backbone's latents, not a {name}")
    latents = encode_examples(backbone, dataset, progress=progress)
    density = build_model(name, latents, **(options or {}))
    return LatentDensity(density.fit(latents, seed=seed, progress=progress), backbone)
