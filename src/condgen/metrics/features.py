"""Domain feature extractors: turn a trained attribute classifier (or any module) into the feature
network that torchmetrics' FID / KID take through their ``feature=<nn.Module>`` argument.

Inception features describe ImageNet photographs; on 32-pixel cartoon faces or digits a network
trained on the domain itself gives a more meaningful feature space (the same reasoning as FCD for
molecules). Scores computed with different extractors are not comparable with each other.
"""

from __future__ import annotations

import torch
from torch import nn

from condgen.errors import DataError
from condgen.models.classifier import AttributeClassifier


class FeatureExtractor(nn.Module):
    """Wraps ``extractor`` so that ``forward(images [B, C, H, W] in [-1, 1]) -> [B, F]`` float64.

    torchmetrics hands a custom feature module the images exactly as given to ``update`` (it only
    rescales for its own Inception network), so we feed [-1, 1] floats straight through. Returning
    float64 makes torchmetrics report the distance in float64 too (it casts the result back to the
    features' dtype). ``num_features`` spares torchmetrics its dummy forward pass.

    Args:
        extractor: an :class:`AttributeClassifier` (its penultimate layer is used) or any module
            mapping images to ``[B, F]`` (run in eval mode, without grad).
        num_features: ``F``; found by running ``example`` through the extractor when not given.
        example: a few input images used to infer ``num_features``.
    """

    def __init__(self, extractor: AttributeClassifier | nn.Module, num_features: int | None = None,
                 example: torch.Tensor | None = None):
        super().__init__()
        self.extractor = extractor
        if num_features is None:
            if isinstance(extractor, AttributeClassifier):
                num_features = int(extractor.config.hidden)
            elif example is None:
                raise DataError("FeatureExtractor: pass num_features or an example batch to infer it")
            else:
                num_features = int(self.forward(example[:2]).shape[-1])
        self.num_features = num_features

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if isinstance(self.extractor, AttributeClassifier):
            features = self.extractor.features(images)
        else:
            was_training = self.extractor.training
            self.extractor.eval()
            try:
                features = self.extractor(images)
            finally:
                self.extractor.train(was_training)
        return features.reshape(images.shape[0], -1).double()


def extract_features(images: torch.Tensor, extractor: AttributeClassifier | nn.Module,
                     batch_size: int = 256) -> torch.Tensor:
    """Features ``[N, F]`` (float64) of ``images [N, C, H, W]`` in [-1, 1], computed batch by batch."""
    module = extractor if isinstance(extractor, FeatureExtractor) else \
        FeatureExtractor(extractor, example=images)
    return torch.cat([module(chunk) for chunk in images.split(batch_size)])
