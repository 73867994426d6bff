"""No silent wrong answer and memory bounded by what is asked (issue 20, items 6, 7, 9, 10, 13):
values beyond float32 refused wherever data enters, serve and predict in the model's own classes
or values, a test class the training data lacks found before training, a cap on classes, the
parameter cap counting a batch's activations.  Blow-ups run in a subprocess with limits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

import bpnn
from bpnn.errors import BpnnError
from bpnn.modelfile import read_model
from bpnn.server import create_app
from conftest import run_cli, run_limited

SRC = str(Path(__file__).resolve().parents[1] / "src")


# ---------------------------------------------------------------------- item 6: beyond float32


def test_fit_refuses_features_beyond_float32_by_row_and_column(rng):
    X = rng.normal(size=(40, 3))
    X[7, 2] = 1e300
    with pytest.raises(BpnnError, match=r"row 7, column 2") as info:
        bpnn.fit(X, np.arange(40) % 2, hidden=[3], epochs=1)
    assert "\n" not in str(info.value)


def test_fit_refuses_targets_beyond_float32(rng):
    y = rng.normal(size=40)
    y[3] = -1e300
    with pytest.raises(BpnnError, match=r"targets holds.*at row 3"):
        bpnn.fit(rng.normal(size=(40, 3)), y, task="regress", hidden=[3], epochs=1)


def test_predict_and_estimators_refuse_inputs_beyond_float32(rng):
    from bpnn.sklearn import BPNNRegressor

    X = rng.normal(size=(40, 3))
    model = bpnn.fit(X, X.sum(axis=1), task="regress", hidden=[3], epochs=1)
    bad = X[:2].copy()
    bad[1, 0] = 1e300
    with pytest.raises(ValueError, match=r"row 1, column 0"):
        model.predict(bad)
    est = BPNNRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, X.sum(axis=1))
    with pytest.raises(ValueError, match=r"row 1, column 0"):
        est.predict(bad)
    with pytest.raises(ValueError, match=r"row 1, column 0"):  # scikit-learn's error
        BPNNRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(bad, [1.0, 2.0])


def test_cli_train_on_a_csv_with_1e300_is_one_line(capsys, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "a,b,y\n" + "".join(f"{i},{i % 3},{i * 0.5}\n" for i in range(30)) + "1,1e300,2\n"
    )
    code, out, err = run_cli(capsys, "train", "--data", path, "--out", tmp_path / "run")
    assert code == 2 and "line 32" in err and "'b'" in err and "float32" in err
    assert len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------- item 7: own classes


def pixel_model(tmp_path, y, **settings) -> Path:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(len(y), 784)).astype(np.uint8)
    model = bpnn.fit(X, y, hidden=[4], epochs=1, **settings)
    model.save(tmp_path / "m.npz")
    return tmp_path / "m.npz"


def grey_answer(path: Path) -> dict:
    net, meta = read_model(path)
    client = TestClient(create_app(net, meta))
    grey = [0] * (28 * 10) + [255] * (28 * 8) + [0] * (28 * 10)
    response = client.post("/api/predict", json={"grey": grey, "width": 28, "height": 28})
    assert response.status_code == 200, response.text
    return response.json()


def test_serve_a_regressor_answers_a_value(tmp_path):
    path = pixel_model(tmp_path, np.linspace(10.0, 20.0, 60), task="regress")
    doc = grey_answer(path)
    assert "probabilities" not in doc and "digit" not in doc
    assert isinstance(doc["value"], float) and 0 < doc["value"] < 40


def test_serve_string_classes_answers_the_label(tmp_path):
    labels = np.array(["cat", "dog", "emu"])[np.arange(60) % 3]
    doc = grey_answer(pixel_model(tmp_path, labels))
    assert doc["classes"] == ["cat", "dog", "emu"]
    assert doc["digit"] in ("cat", "dog", "emu")
    assert doc["digit"] == doc["classes"][doc["index"]]


def test_predict_top_of_a_regressor_prints_its_value(capsys, tmp_path):
    from PIL import Image

    path = pixel_model(tmp_path, np.linspace(10.0, 20.0, 60), task="regress")
    image = tmp_path / "d.png"
    Image.fromarray((np.eye(28) * 255).astype(np.uint8)).save(image)
    code, out, err = run_cli(capsys, "predict", path, image, "--top", "1")
    assert code == 0, err
    value = float(out.strip().split(": ")[1])
    assert "%" not in out and 0 < value < 40
    code, out, err = run_cli(capsys, "predict", path, image, "--json")
    assert "value" in json.loads(out)["results"][0]


# ---------------------------------------------------------------------- item 9: test classes


def test_a_test_class_the_training_data_lacks_is_found_before_training(capsys, tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("a,y\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(30)))
    test.write_text("a,y\n1,a\n2,c\n")
    code, out, err = run_cli(
        capsys, "train", "--data", train, "--test", test, "--out", tmp_path / "run"
    )
    assert code == 2 and "lacks" in err and "c" in err
    assert "epoch" not in out.lower()
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


# ---------------------------------------------------------------------- item 10: classes


def test_too_many_classes_are_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("a,y\n" + "".join(f"{i % 7},id{i}\n" for i in range(30_000)))
    out = run_limited(
        f"""
        from bpnn.cli import main
        print("exit", main(["train", "--data", {str(path)!r}, "--out", {str(tmp_path / "r")!r}]))
        """,
        memory=1500 << 20,
    )
    assert "exit 2" in out


def test_too_many_classes_in_the_estimator(rng):
    from bpnn.sklearn import BPNNClassifier

    X = rng.normal(size=(20_000, 2))
    with pytest.raises(ValueError, match="MAX_CLASSES"):
        BPNNClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(X, np.arange(20_000))


def test_wide_target_rows_fall_back_to_class_indices(rng):
    from bpnn.limits import MAX_TARGET_ROWS_BYTES
    from bpnn.network import Network
    from bpnn.optim import make_optimizer
    from bpnn.steppers import make_stepper

    k = 5000
    n = MAX_TARGET_ROWS_BYTES // (k * 4) + 10
    net = Network([2, k], output="softmax", loss="cross_entropy", dtype=np.float32)
    stepper = make_stepper(
        net,
        make_optimizer("sgd", 0.1),
        np.zeros((n, 2), np.float32),
        rng.integers(0, k, n),
        32,
        rng,
    )
    assert "MAX_TARGET_ROWS_BYTES" in (stepper.fallback or "")


# ---------------------------------------------------------------------- item 13: activations


def test_parameter_cap_counts_a_batchs_activations():
    out = run_limited(
        """
        import numpy as np
        from bpnn.sklearn import BPNNClassifier
        X = np.random.default_rng(0).normal(size=(300, 2))
        try:
            BPNNClassifier(hidden_layer_sizes=(10_000_000,)).fit(X, np.arange(300) % 2)
        except ValueError as exc:
            print(exc)
        """,
        memory=1500 << 20,
    )
    assert "activations" in out and "MAX_BATCH_ACTIVATIONS" in out
