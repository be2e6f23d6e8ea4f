"""Metrics: the attribute classifier (latent labeller and evaluation oracle), realism of images
(domain FID / KID, Inception FID, precision / recall / density / coverage) and attribute metrics of
conditional generation and editing.

The 2-D toy metrics live in :mod:`condgen.metrics.toy2d` (imported on demand, not here).
"""

from condgen.metrics.attributes import (
    change_size,
    conditional_accuracy,
    edit_success,
    flip_rates,
    mnac,
    preservation,
)
from condgen.metrics.classifier import (
    AttributeClassifier,
    ClassifierConfig,
    classifier_config_for,
    train_classifier,
)
from condgen.metrics.features import FeatureExtractor, extract_features
from condgen.metrics.fid import (
    domain_fid,
    domain_kid,
    domain_precision_recall,
    inception_fid,
    precision_recall_density_coverage,
)

__all__ = [
    "AttributeClassifier",
    "ClassifierConfig",
    "FeatureExtractor",
    "change_size",
    "classifier_config_for",
    "conditional_accuracy",
    "domain_fid",
    "domain_kid",
    "domain_precision_recall",
    "edit_success",
    "extract_features",
    "flip_rates",
    "inception_fid",
    "mnac",
    "precision_recall_density_coverage",
    "preservation",
    "train_classifier",
]
