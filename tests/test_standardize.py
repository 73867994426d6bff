"""Standardize keeps 0/1 columns (one-hot levels, yes/no, missing indicators) as they are."""

import numpy as np
import pytest

import bpnn
from bpnn.preprocessing import Preprocessing

RNG = np.random.default_rng(0)
N = 400
X = np.column_stack(
    [
        RNG.normal(50.0, 10.0, N),  # a number: standardized
        (np.arange(N) % 50 == 0).astype(float),  # a rare level (2%): kept as 0/1
        (np.arange(N) % 2).astype(float),  # yes/no: kept
        np.ones(N),  # constant 1: maps to 0, as every constant column does
        np.where(np.arange(N) % 3 == 0, 2.0, np.arange(N) % 2),  # 0, 1 and 2: a number
    ]
)


def test_zero_one_columns_are_kept_and_numbers_standardized():
    p = Preprocessing.fit("standardize", X)
    out = p.apply(X)
    np.testing.assert_array_equal(out[:, 1:3], X[:, 1:3])
    np.testing.assert_array_equal(out[:, 3], 0.0)
    for j in (0, 4):
        assert abs(out[:, j].mean()) < 1e-12 and abs(out[:, j].std() - 1.0) < 1e-12
    assert p.extra["indicators_kept"] == 2
    assert "2 0/1 columns kept as they are" in p.describe()


def test_no_indicator_no_new_field_and_file_round_trip():
    plain = Preprocessing.fit("standardize", X[:, [0, 4]])
    assert "indicators_kept" not in plain.to_dict()
    assert plain.describe().endswith("training split)")
    p = Preprocessing.fit("standardize", X)
    back = Preprocessing.from_dict(p.to_dict())
    np.testing.assert_array_equal(back.apply(X), p.apply(X))
    assert back.describe() == p.describe()


def test_a_value_other_than_0_or_1_past_the_first_block_is_seen():
    col = np.zeros(70_000)
    col[::7] = 1.0
    col[69_999] = 0.5  # in the second 65,536-row block
    p = Preprocessing.fit("standardize", col[:, None])
    assert "indicators_kept" not in p.extra
    assert abs(p.apply(col[:, None]).std() - 1.0) < 1e-9


def test_a_table_run_states_it_and_predicts_the_same_after_loading(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {"x": X[:, 0], "member": np.where(X[:, 2] > 0, "yes", "no"), "region": list("abcd") * 100}
    )
    y = X[:, 0] * 0.1 + X[:, 2]
    model = bpnn.fit(
        frame, y, task="regress", epochs=3, preprocessing="standardize", out=tmp_path / "run"
    )
    info = model.preprocessing.to_dict()
    assert info["indicators_kept"] == 5  # member (one 0/1 input) and region's four levels
    again = bpnn.load(tmp_path / "run" / "model.npz")
    np.testing.assert_array_equal(again.predict(frame), model.predict(frame))


def test_a_bad_count_in_a_model_file_is_one_format_error():
    from bpnn.errors import FormatError

    data = Preprocessing.fit("standardize", X).to_dict()
    for bad in ("abc", True, -3, 2.5):
        with pytest.raises(FormatError, match="indicators_kept must be a count"):
            Preprocessing.from_dict({**data, "indicators_kept": bad})
