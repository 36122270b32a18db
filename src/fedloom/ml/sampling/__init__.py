"""Sampling and weighting of aligned rows: SampleWeight's instance weights, HeteroDataSplit's
train / validate / test parts, FederatedSample's down- and upsampling.

The guest draws (it holds the labels); hosts follow the row positions it sends, after both
sides have checked that they hold the same ids (:mod:`.guest`, :mod:`.host`).
"""

from fedloom.ml.sampling._common import id_digest, label_key, sorted_order
from fedloom.ml.sampling.draws import draw_sample, draw_split, split_sizes
from fedloom.ml.sampling.guest import share_parts
from fedloom.ml.sampling.host import PartRules, follow_parts
from fedloom.ml.sampling.weights import balanced_class_weights, class_weights, column_weights

__all__ = [
    "PartRules",
    "balanced_class_weights",
    "class_weights",
    "column_weights",
    "draw_sample",
    "draw_split",
    "follow_parts",
    "id_digest",
    "label_key",
    "share_parts",
    "sorted_order",
    "split_sizes",
]
