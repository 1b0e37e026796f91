"""Sample-quality and usefulness metrics of a generator: a function and, where it streams, a class per metric.

``fid`` / ``FID``, ``kid`` / ``KID``, ``precision_recall`` / ``PrecisionRecall``, ``density_coverage`` /
``DensityCoverage`` take features (see ``feature_extractor`` and ``extract_features``);
``classification_accuracy_score``, ``mode_collapse_report`` and ``diversity_ratio`` take a generator or
images; ``evaluate`` runs them all. ``paired_test`` and ``summarize`` compare scores over seeds.
"""
from .cas import classification_accuracy_score, real_data_accuracy
from .collapse import mode_collapse_report, nearest_real_distance
from .diversity import diversity_ratio, intra_class_diversity
from .evaluate import evaluate, format_report
from .feature_cache import SHIPPED_WEIGHTS, default_cache_dir
from .feature_net import feature_extractor
from .features import extract_features
from .fid import FID, FeatureStats, fid, frechet_distance
from .kid import KID, kid
from .prdc import DensityCoverage, PrecisionRecall, density_coverage, precision_recall
from .stats import paired_test, summarize

__all__ = [
    "FID", "KID", "SHIPPED_WEIGHTS", "DensityCoverage", "FeatureStats", "PrecisionRecall",
    "classification_accuracy_score", "default_cache_dir", "density_coverage", "diversity_ratio", "evaluate",
    "extract_features", "feature_extractor", "fid", "format_report", "frechet_distance", "intra_class_diversity", "kid",
    "mode_collapse_report", "nearest_real_distance", "paired_test", "precision_recall", "real_data_accuracy",
    "summarize",
]
