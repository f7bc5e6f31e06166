"""The table of the API under test (SPEC.md): one row per public name.

Properties, the report and the zoo all read this table, so adding a name here is
the only place the harness learns about it (as OpInfo does for PyTorch ops).
"""
from typing import NamedTuple, Optional


class ApiName(NamedTuple):
    name: str
    family: str                  # the properties module that judges it
    loss_model: Optional[str] = None   # "svm" | "softmax" for the four losses
    vectorized: bool = False     # must not loop over examples


API = (
    ApiName("svm_loss_naive", "losses", "svm"),
    ApiName("svm_loss_vectorized", "losses", "svm", vectorized=True),
    ApiName("softmax_loss_naive", "losses", "softmax"),
    ApiName("softmax_loss_vectorized", "losses", "softmax", vectorized=True),
    ApiName("sample_batch", "sampling"),
    ApiName("train_linear_classifier", "training"),
    ApiName("predict_linear_classifier", "prediction"),
    ApiName("svm_get_search_params", "search"),
    ApiName("softmax_get_search_params", "search"),
    ApiName("test_one_param_set", "search"),
    ApiName("LinearClassifier", "classes"),
    ApiName("LinearSVM", "classes", "svm"),
    ApiName("Softmax", "classes", "softmax"),
)

NAMES = tuple(row.name for row in API)
BY_NAME = {row.name: row for row in API}
LOSSES = tuple(row for row in API if row.family == "losses")
VECTORIZED_LOSSES = tuple(row for row in LOSSES if row.vectorized)
