"""Per-sample SGD on several threads without locks (``--parallel-samples``, Hogwild).

Its results vary from run to run, so it is tested by what it must do: train (the loss falls, the
accuracy on a small learnable problem is close to the serial loop's), leave the serial default
as it was, and refuse in one line what it cannot run.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpnn.errors import BpnnError
from bpnn.network import Network
from bpnn.optim import SGD, make_optimizer
from bpnn.settings import TrainConfig
from bpnn.steppers import make_stepper
from conftest import run_cli, synthetic_digits

pytest.importorskip("numba")


def digits(n: int = 600, seed: int = 1):
    images, labels = synthetic_digits(n, np.random.default_rng(seed))
    return images.reshape(n, -1), labels


def train(parallel: int, epochs: int = 4, seed: int = 0):
    """(per-epoch mean losses, training accuracy) of a 784-32-10 tutorial-style net."""
    X, y = digits()
    net = Network([784, 32, 10], seed=seed, dtype=np.float32)
    step = make_stepper(
        net, SGD(0.3), X, y, 1, np.random.default_rng(0), scale=1 / 255, parallel_samples=parallel
    )
    order = np.random.default_rng(seed)
    losses = [step(order.permutation(len(X))) / len(X) for _ in range(epochs)]
    accuracy = float(np.mean(net.predict(X.astype(np.float32) / 255).argmax(1) == y))
    return step, losses, accuracy


def test_hogwild_trains_like_the_serial_loop():
    step, losses, accuracy = train(2)
    assert step.name == "numba-per-sample-hogwild-2"
    assert losses[-1] < 0.5 * losses[0]
    serial, serial_losses, serial_accuracy = train(1)
    assert serial.name == "numba-per-sample"
    assert accuracy >= serial_accuracy - 0.05 and accuracy > 0.8
    assert losses[-1] < 2 * serial_losses[-1]


def test_hogwild_with_more_parts_than_samples_or_threads():
    X, y = digits(20)
    net = Network([784, 8, 10], seed=0, dtype=np.float32)
    step = make_stepper(net, SGD(0.1), X, y, 1, np.random.default_rng(0), parallel_samples=7)
    assert np.isfinite(step(np.arange(3))) and np.isfinite(step(np.arange(20)))


def test_serial_default_is_reproducible():
    weights = []
    for _ in range(2):
        X, y = digits(100)
        net = Network([784, 16, 10], seed=3, dtype=np.float32)
        make_stepper(net, SGD(0.3), X, y, 1, np.random.default_rng(0), scale=1 / 255)(
            np.arange(100)
        )
        weights.append(net.params())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"batch_size": 8}, "batch size 8"),
        ({"optimizer": make_optimizer("momentum", 0.1)}, "momentum=0.9"),
        ({"optimizer": make_optimizer("adam", 0.1)}, "optimizer adam"),
        ({"optimizer": SGD(0.1, weight_decay=0.01)}, "weight_decay=0.01"),
        ({"net": {"dropout": 0.5}, "batch_size": 1}, "dropout"),
        ({"weights": np.ones(20)}, "sample weights"),
        ({"reference": True}, "the reference path"),
        ({"device": "jax-cpu"}, "device jax-cpu"),
    ],
)
def test_hogwild_refuses_what_it_cannot_run(kw, words):
    X, y = digits(20)
    net = Network([784, 8, 10], seed=0, dtype=np.float32, **kw.pop("net", {}))
    with pytest.raises(BpnnError, match="--parallel-samples 2 runs only") as err:
        make_stepper(
            net,
            kw.pop("optimizer", SGD(0.1)),
            X,
            y,
            kw.pop("batch_size", 1),
            np.random.default_rng(0),
            parallel_samples=2,
            **kw,
        )
    assert words in str(err.value) and "\n" not in str(err.value)


def test_setting_in_the_table_and_the_cli(tiny_mnist_dir, tmp_path, capsys):
    assert TrainConfig().parallel_samples == 1
    with pytest.raises(ValueError, match="parallel-samples must be a whole number >= 1"):
        TrainConfig(parallel_samples=0)
    common = ["--data", str(tiny_mnist_dir), "--val-size", "40", "--epochs", "2"]
    with pytest.raises(SystemExit):
        run_cli(capsys, "train", "--help")
    out = " ".join(capsys.readouterr().out.split())
    assert "--parallel-samples" in out and "not reproducible" in out
    code, out, err = run_cli(
        capsys, "train", *common, "--preset", "tutorial", "--parallel-samples", "2",
        "--out", tmp_path / "a", "--no-report",
    )  # fmt: skip
    assert code == 0, err
    assert "training path: numba-per-sample-hogwild-2" in out + err  # the log says which ran
    code, out, err = run_cli(
        capsys, "train", *common, "--batch-size", "16", "--parallel-samples", "2",
        "--out", tmp_path / "b", "--no-report",
    )  # fmt: skip
    errors = [line for line in err.splitlines() if "error" in line]
    assert code == 2 and len(errors) == 1 and "batch size 16" in errors[0]
    assert "Traceback" not in err
