"""scikit-learn's own conformance suite on BPNNClassifier and BPNNRegressor.

Small ``max_iter`` keeps it fast; checks that cannot pass are listed with their reasons in
``bpnn.sklearn.expected_failed_checks`` (and the README).
"""

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks

from bpnn.sklearn import BPNNClassifier, BPNNRegressor, expected_failed_checks

ESTIMATORS = [
    BPNNClassifier(max_iter=50, random_state=0),
    BPNNRegressor(max_iter=50, random_state=0),
    BPNNRegressor(max_iter=50, random_state=0, dtype="float64"),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_conformance(estimator, check):
    check(estimator)
