"""Metrics, as pure functions: realism of images (domain FID / KID on a classifier's features, Inception
FID, precision / recall / density / coverage, Inception Score) and attribute metrics of conditional generation
and editing. The attribute classifier that provides the features is a model (:mod:`condgen.models.classifier`).

The 2-D toy metrics live in :mod:`condgen.metrics.toy2d` and bits/dim in :mod:`condgen.metrics.likelihood`
(imported on demand, not here).
"""

from condgen.metrics.attributes import (
    change_size,
    conditional_accuracy,
    edit_success,
    flip_rates,
    mnac,
    preservation,
)
from condgen.metrics.features import FeatureExtractor, extract_features
from condgen.metrics.fid import (
    domain_fid,
    domain_kid,
    domain_precision_recall,
    inception_fid,
    precision_recall_density_coverage,
)
from condgen.metrics.inception import domain_inception_score, inception_score, per_attribute_inception_scores

__all__ = [
    "FeatureExtractor",
    "change_size",
    "conditional_accuracy",
    "domain_fid",
    "domain_inception_score",
    "domain_kid",
    "domain_precision_recall",
    "edit_success",
    "extract_features",
    "flip_rates",
    "inception_fid",
    "inception_score",
    "mnac",
    "per_attribute_inception_scores",
    "precision_recall_density_coverage",
    "preservation",
]
