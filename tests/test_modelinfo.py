"""ModelInfo, the model file's metadata: read and written back unchanged, typed, checked."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn.errors import FormatError
from bpnn.modelfile import load_model, read_model
from bpnn.modelinfo import DataInfo, ModelInfo

CLI_DATA = {  # as `bpnn train` records a CSV run: nulls and keys a reader never asks for
    "source": "/data/animals.csv",
    "target": None,
    "test": None,
    "limit": None,
    "checksum": "ab12",
    "kind": "tabular",
    "image_shape": None,
    "feature_names": ["a", "b", "c"],
    "target_names": ["animal"],
    "report": True,
}


def test_a_trained_model_file_round_trips_exactly(tmp_path):
    X = np.random.default_rng(0).random((40, 3))
    model = bpnn.fit(X, (X[:, 0] > 0.5).astype(int), epochs=1, hidden=[3])
    model.save(tmp_path / "m.npz")
    _, meta = load_model(tmp_path / "m.npz")
    _, info = read_model(tmp_path / "m.npz")
    assert info.to_meta() == meta and list(info.to_meta()) == list(meta)
    assert list(meta)[:5] == ["config", "data", "trained_with", "results", "targets"]
    assert info.data.source == "arrays" and info.results["epochs"] == 1 and info.version == 1


def test_data_is_typed_and_written_back_as_recorded():
    info = ModelInfo.from_meta({"data": CLI_DATA, "later": {"x": 1}})
    assert info.data.feature_names == ("a", "b", "c") and info.data.limit is None
    assert info.to_meta()["data"] == CLI_DATA and info.to_meta()["later"] == {"x": 1}
    assert DataInfo("scikit-learn", kind="tabular").to_dict() == {
        "source": "scikit-learn",
        "kind": "tabular",
    }
    assert ModelInfo().to_meta() == {"format": "bpnn-model", "version": 1}


def test_data_fields_of_the_wrong_type_read_as_none():
    data = DataInfo.from_dict({"source": 3, "limit": "5", "image_shape": [8], "feature_names": 1})
    assert data == DataInfo()
    assert DataInfo.from_dict({"image_shape": [8, 8]}).image_shape == (8, 8)


@pytest.mark.parametrize(
    "key", ["network", "preprocessing", "config", "results", "targets", "data"]
)
def test_a_section_that_is_not_an_object_is_refused(key):
    with pytest.raises(FormatError, match=f"m.npz: metadata '{key}' must be an object, got list"):
        ModelInfo.from_meta({key: [1]}, "m.npz")
