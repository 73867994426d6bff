"""A validation size that would leave less than half the data for training is replaced by 10%,
and the run's notes say so, whether it was given as a count or as a fraction."""

import numpy as np
import pytest

from bpnn.prepare import prepare
from bpnn.settings import TrainConfig


@pytest.mark.parametrize("size", [150.0, 0.99, 0.6])
def test_a_too_large_validation_size_is_noted(size):
    X, y = np.zeros((200, 3)), np.arange(200) % 2
    config = TrainConfig(val_size=size, test_fraction=0.0, stop_on="val", task="classify")
    prep = prepare(X, y, config=config)
    assert len(prep.val.y) == 20
    assert any("holding out 10% (20)" in note for note in prep.notes), prep.notes


def test_a_fitting_fraction_gives_no_note():
    X, y = np.zeros((200, 3)), np.arange(200) % 2
    config = TrainConfig(val_size=0.25, test_fraction=0.0, stop_on="val", task="classify")
    prep = prepare(X, y, config=config)
    assert len(prep.val.y) == 50 and not prep.notes
