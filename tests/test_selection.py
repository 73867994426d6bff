"""Early stopping's evaluation every epoch (``bpnn.evaluation.Selection``): the split is prepared
once, and the numbers are exactly those of ``selection_error`` and ``selection_loss``."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn import evaluation
from bpnn.network import Network
from bpnn.preprocessing import Preprocessing
from bpnn.targets import Targets


@pytest.mark.parametrize("task", ["classify", "regress"])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_same_numbers_as_the_functions(task, weighted):
    gen = np.random.default_rng(0)
    X = gen.normal(size=(57, 4))
    y = (X[:, 0] > 0).astype(int) if task == "classify" else X[:, 1] * 3 + 1
    w = gen.random(57) if weighted else None
    prep = Preprocessing.fit("ple", X)
    targets = Targets.fit(y, task)
    out, loss = (None, "cross_entropy") if task == "classify" else ("identity", "squared")
    width = prep.apply(X[:1], np.float32).shape[1]
    net = Network(
        [width, 7, targets.n_outputs], "relu", out, loss, "he", np.float32, seed=1, dropout=0.2
    )
    sel = evaluation.Selection(net, prep, targets, X, y, w)
    error, value = sel.error_and_loss(net, 1.0, 0.0, loss=True)
    assert error == evaluation.selection_error(net, prep, targets, X, y, w)
    assert value == evaluation.selection_loss(net, prep, targets, X, y, w, 1.0, 0.0)
    assert sel.error(net) == error and sel.error_and_loss(net)[1] is None
    net.layers[0].W *= 1.5  # the weights change between epochs: the numbers follow them
    assert sel.error_and_loss(net, loss=True)[1] == evaluation.selection_loss(
        net, prep, targets, X, y, w
    )


def test_a_run_prepares_its_validation_split_once(monkeypatch):
    gen = np.random.default_rng(1)
    X = gen.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    calls: list[int] = []
    apply = Preprocessing.apply

    def counted(self, rows, dtype=np.float64):
        calls.append(len(rows))
        return apply(self, rows, dtype)

    monkeypatch.setattr(Preprocessing, "apply", counted)
    model = bpnn.fit(X, y, epochs=12, patience=100, monitor="val_loss", test_fraction=0.0)
    assert len(model.history.epochs) == 12
    # the 20 validation rows were preprocessed once for 12 evaluations (each took two passes)
    assert calls.count(20) == 1, calls
