"""HeteroFeatureSelection's algorithms: the filters (:mod:`.filters`) and the exchange of a
federated filter between the guest (:mod:`.guest`) and a host (:mod:`.host`)."""

from fedloom.ml.feature_selection.filters import (
    by_rule,
    correlation_filter,
    percentage_value,
    unique_value,
)
from fedloom.ml.feature_selection.guest import gather_left, send_keep
from fedloom.ml.feature_selection.host import SelectionError, check_positions, federated_choice

__all__ = [
    "SelectionError",
    "by_rule",
    "check_positions",
    "correlation_filter",
    "federated_choice",
    "gather_left",
    "percentage_value",
    "send_keep",
    "unique_value",
]
