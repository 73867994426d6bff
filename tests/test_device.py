"""Devices (``bpnn.device``) and the JAX program (``bpnn.accel``) against the NumPy reference.

The JAX program runs here on JAX's CPU backend (``device="jax-cpu"``): the same compiled program
a GPU runs, so its formulas are checked without a GPU.  The tests marked ``gpu`` need a CUDA
device that JAX sees and skip with the reason otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpnn.activations import HIDDEN_ACTIVATIONS, get_activation
from bpnn.augment import random_shifts, shift_images
from bpnn.device import (
    Device,
    DeviceError,
    cuda_problem,
    default_threads,
    limit_threads,
    resolve_device,
)
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.steppers import NumpyStepper, make_stepper

jax = pytest.importorskip("jax", reason="jax is not installed (pip install jax)")
from bpnn.accel import jax_stepper  # noqa: E402

N, N_IN, N_OUT, BATCH = 70, 12, 3, 16  # a chunk of 4 batches, then 4 and a short one of 6
GPU_PROBLEM = cuda_problem()
gpu = pytest.mark.skipif(GPU_PROBLEM is not None, reason=f"no GPU: {GPU_PROBLEM}")

# every hidden activation in one network, then the output layer of each loss
# (from the registry: a new activation is checked here too; leaky ReLU with a non-default alpha)
HIDDEN = [("leaky_relu", {"alpha": 0.2}) if a == "leaky_relu" else a for a in HIDDEN_ACTIVATIONS]
LOSSES = [
    ("squared", "sigmoid"),
    ("squared", "identity"),
    ("squared", "softmax"),
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
]
OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam", "adamw"]


def data(seed=0, n=N):
    gen = np.random.default_rng(seed)
    X = gen.integers(0, 256, (n, N_IN)).astype(np.uint8)
    X[:, :3] = 0  # some inputs zero everywhere, as MNIST's borders
    return X, gen.integers(0, N_OUT, n)


def every_activation_net(loss: str, output: str, hidden=HIDDEN) -> Network:
    """A float32 net whose hidden layers use each of ``hidden``'s activations once."""
    net = Network(
        [N_IN] + [10 - i for i in range(len(hidden))] + [N_OUT],
        loss=loss,
        output=output,
        init="xavier",
        dtype=np.float32,
        seed=4,
    )
    for layer, act in zip(net.layers, hidden):
        name, params = act if isinstance(act, tuple) else (act, None)
        layer.activation = get_activation(name, params)
    return net


def pair(loss, output, opt_name, *, weights=None, lr=0.05, hidden=("tanh",)):
    """The same net and optimiser twice: one trained by NumPy, one by the JAX program."""
    ref_net = every_activation_net(loss, output, hidden)
    jax_net = ref_net.copy()
    for layer, src in zip(jax_net.layers, ref_net.layers):
        layer.activation = src.activation
    extra = {"lr": 0.002} if opt_name.startswith("adam") else {"lr": lr}
    opts = [make_optimizer(opt_name, weight_decay=0.01, **extra) for _ in range(2)]
    X, y = data()
    kw = dict(scale=1 / 255, weights=weights)
    ref = make_stepper(
        ref_net, opts[0], X, y, BATCH, np.random.default_rng(0), reference=True, **kw
    )
    dev = make_stepper(
        jax_net, opts[1], X, y, BATCH, np.random.default_rng(0), device="jax-cpu", **kw
    )
    return ref, dev


def assert_same_training(ref, dev, calls, rtol=2e-4, atol=2e-6):
    """Both steppers on the same chunks: losses, weights and optimiser state agree to float32
    rounding (and the weights moved far more than that)."""
    start = [p.copy() for p in ref.net.params()]
    for idx in calls:
        assert dev(idx) == pytest.approx(ref(idx), rel=1e-4)
    moved = max(np.abs(p - s).max() for p, s in zip(ref.net.params(), start))
    assert moved > 100 * atol
    for p, q in zip(ref.net.params(), dev.net.params()):
        np.testing.assert_allclose(q, p, rtol=rtol, atol=atol)
    assert ref.optimizer.t == dev.optimizer.t
    ref_state, dev_state = ref.optimizer.state_dict(), dev.optimizer.state_dict()
    assert ref_state.keys() == dev_state.keys()
    for key in ref_state:
        np.testing.assert_allclose(dev_state[key], ref_state[key], rtol=rtol, atol=atol)


def chunks(seed=1):
    """Chunks as the trainer makes them: whole batches, then an epoch's rest (whole batches and
    a short last one), then whole batches again."""
    order = np.random.default_rng(seed).permutation(N)
    again = np.random.default_rng(seed + 1).permutation(N)
    return [order[: 4 * BATCH], order[4 * BATCH :], again[: 4 * BATCH]]


# Each loss with its output once, each optimiser at least once, every hidden activation in each
# network (compiling a program takes seconds: the whole matrix is the slow test below).
DIAGONAL = [(*loss, OPTIMIZERS[i % len(OPTIMIZERS)]) for i, loss in enumerate(LOSSES)]


@pytest.mark.parametrize("loss,output,opt_name", DIAGONAL)
def test_jax_program_agrees_with_numpy(loss, output, opt_name):
    ref, dev = pair(loss, output, opt_name, hidden=HIDDEN)
    assert isinstance(ref, NumpyStepper) and dev.name == "jax-cpu"
    assert_same_training(ref, dev, chunks())


@pytest.mark.slow
@pytest.mark.parametrize("opt_name", OPTIMIZERS)
@pytest.mark.parametrize("loss,output", LOSSES)
def test_jax_program_agrees_with_numpy_everywhere(loss, output, opt_name):
    ref, dev = pair(loss, output, opt_name, hidden=HIDDEN)
    assert_same_training(ref, dev, chunks())


def test_sample_weights_agree():
    w = np.random.default_rng(2).uniform(0, 2, N)
    w[:20] = 0
    ref, dev = pair("cross_entropy", "softmax", "momentum", weights=w)
    assert_same_training(ref, dev, chunks())


def test_learning_rate_may_change_between_calls():
    """Schedules set optimizer.lr between calls: the program takes it as an argument."""
    ref, dev = pair("squared", "sigmoid", "nesterov", lr=0.3)
    for idx, lr in zip(chunks(), (0.3, 0.01, 0.1)):
        ref.optimizer.lr = dev.optimizer.lr = lr
        assert_same_training(ref, dev, [idx])


def test_no_recompilation_per_call():
    ref, dev = pair("cross_entropy", "softmax", "adam")
    program = jax_stepper._chunk_program(dev.spec, False)
    idx = chunks()
    dev(idx[0])
    dev(idx[1])
    compiled = program._cache_size()
    for _ in range(3):
        dev(idx[0])
        dev(idx[1])
    assert program._cache_size() == compiled


def test_device_shifts_equal_shifted_images():
    """Augmentation on the device moves the images exactly as ``shift_images``."""
    gen = np.random.default_rng(3)
    X = gen.integers(0, 256, (60, 16)).astype(np.uint8)  # 4x4 images
    y = gen.integers(0, 2, 60)
    shifts = random_shifts(60, 2, gen)
    nets = [Network([16, 5, 2], activation="relu", loss="cross_entropy", dtype=np.float32, seed=1)]
    nets.append(nets[0].copy())
    opts = [make_optimizer("momentum", 0.1) for _ in range(2)]
    ref = make_stepper(
        nets[0], opts[0], shift_images(X, shifts), y, 8, np.random.default_rng(0), scale=1 / 255
    )
    dev = make_stepper(nets[1], opts[1], X, y, 8, None, scale=1 / 255, device="jax-cpu")
    dev.set_shifts(shifts, 2, 4)
    order = gen.permutation(60)
    assert dev(order) == pytest.approx(ref(order), rel=1e-5)
    for p, q in zip(nets[0].params(), nets[1].params()):
        np.testing.assert_allclose(q, p, rtol=1e-4, atol=1e-6)


def test_dropout_runs_trains_and_is_seeded():
    X = data(n=320)[0]
    y = X[:, 3:6].argmax(axis=1)  # a rule to learn

    def train(seed, device="jax-cpu"):
        net = Network(
            [N_IN, 32, N_OUT],
            activation="relu",
            loss="cross_entropy",
            init="he",
            dtype=np.float32,
            seed=0,
            dropout=[0.1, 0.3],
        )
        opt = make_optimizer("momentum", 0.05)
        step = make_stepper(
            net, opt, X, y, 32, np.random.default_rng(seed), scale=1 / 255, device="jax-cpu"
        )
        order = np.random.default_rng(0).permutation(320)
        losses = [step(order) for _ in range(15)]
        return losses, net

    losses, net = train(0)
    assert losses[-1] < 0.6 * losses[0]
    numpy_losses, _ = train(0, "cpu")  # NumPy's masks are other masks: similar progress
    assert 0.7 < losses[-1] / numpy_losses[-1] < 1.4
    again, net2 = train(0)
    assert again == losses  # the same generator gives the same masks
    other, _ = train(1)
    assert other != losses
    assert np.isfinite(net.params()[0]).all()


def test_device_forward_equals_network_forward():
    net = every_activation_net("cross_entropy", "softmax", HIDDEN)
    X = data()[0].astype(np.float32) / 255
    forward = jax_stepper.DeviceForward(net, resolve_device("jax-cpu").jax_device())
    np.testing.assert_allclose(forward(X), net.forward(X).outputs[-1], rtol=1e-5, atol=1e-7)


def test_sync_writes_back_and_rereads():
    """With deferred syncing the network changes at sync(); changes made after it count."""
    ref, dev = pair("squared", "identity", "momentum")
    dev.sync_every_call = False
    before = dev.net.params()[0].copy()
    dev(chunks()[0])
    np.testing.assert_array_equal(dev.net.params()[0], before)  # not yet written back
    dev.sync()
    assert not np.array_equal(dev.net.params()[0], before)
    ref.net.set_params(dev.net.params())
    ref.optimizer.load_state_dict(dev.optimizer.state_dict())
    dev.sync_every_call = True
    assert_same_training(ref, dev, [chunks()[1]])


# ---- choosing the device ---------------------------------------------------------------------
def test_resolve_device():
    assert resolve_device("cpu") == Device("cpu")
    assert resolve_device("jax-cpu").uses_jax
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    with pytest.raises(DeviceError, match="float32 networks only"):
        resolve_device("jax-cpu", "float64")
    auto = resolve_device("auto", "float64")
    assert auto.name == "cpu" and auto.note


@pytest.mark.skipif(GPU_PROBLEM is None, reason="a GPU is present")
def test_cuda_without_a_gpu_says_why():
    with pytest.raises(DeviceError, match="--device cuda: ") as info:
        resolve_device("cuda")
    assert "\n" not in str(info.value)
    assert resolve_device("auto").name == "cpu"


def test_cuda_without_jax_says_how_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "jax", None)  # import jax fails
    assert "pip install 'bpnn[gpu]'" in cuda_problem()
    with pytest.raises(DeviceError, match=r"jax is not installed \(pip install 'bpnn\[gpu\]'\)"):
        resolve_device("cuda")
    assert resolve_device("auto") == Device("cpu", note=resolve_device("auto").note)


def test_threads_are_set_and_restored():
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    with limit_threads(1) as n:
        assert n == 1 and numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with limit_threads(None) as n:
        assert n == default_threads()
    with pytest.raises(ValueError, match="threads"), limit_threads(0):
        pass


# ---- on a GPU ----------------------------------------------------------------------------
@gpu
@pytest.mark.parametrize("opt_name", ["momentum", "adam"])
def test_gpu_agrees_with_numpy(opt_name):
    ref_net = every_activation_net("cross_entropy", "softmax", HIDDEN)
    gpu_net = ref_net.copy()
    for layer, src in zip(gpu_net.layers, ref_net.layers):
        layer.activation = src.activation
    opts = [make_optimizer(opt_name, 0.01) for _ in range(2)]
    X, y = data()
    ref = make_stepper(
        ref_net, opts[0], X, y, BATCH, np.random.default_rng(0), scale=1 / 255, reference=True
    )
    dev = make_stepper(
        gpu_net, opts[1], X, y, BATCH, np.random.default_rng(0), scale=1 / 255, device="cuda"
    )
    assert dev.name == "jax-gpu"
    assert_same_training(ref, dev, chunks())


# ---- the trainer on a device -------------------------------------------------------------------
def test_trained_on_a_device_resumes_and_loads_on_the_cpu(tmp_path):
    """A run with dropout on the JAX program saves the same files as a CPU run; it resumes on the
    CPU, and its model loads and predicts there."""
    from bpnn.model import Model
    from bpnn.modelfile import load_arrays
    from bpnn.settings import TrainConfig
    from bpnn.train import Split, Trainer

    X, y = data(n=300)
    y = X[:, 3:6].argmax(axis=1)
    cfg = dict(
        layers=[N_IN, 16, 3],
        activation="relu",
        loss="cross_entropy",
        init="he",
        optimizer="momentum",
        lr=0.05,
        batch_size=32,
        epochs=2,
        dropout=[0.1, 0.2],
        stop_on="train",
        schedule="cosine",
    )
    runs = {}
    for device in ("jax-cpu", "cpu"):
        config = TrainConfig(**cfg, device=device)
        t = Trainer(
            config, Split(X, y), None, Split(X[:50], y[:50]), tmp_path / device, progress=False
        )
        runs[device] = t.run()
        assert t.history.stepper == ("jax-cpu" if device == "jax-cpu" else "compiled-small-net")
    ckpt = {d: load_arrays(tmp_path / d / "checkpoint.npz") for d in runs}
    assert ckpt["jax-cpu"][0].keys() == ckpt["cpu"][0].keys()
    assert ckpt["jax-cpu"][1]["config"]["device"] == "jax-cpu"
    assert runs["jax-cpu"]["test_error"] < 0.5
    resumed = Trainer.resume(
        tmp_path / "jax-cpu",
        Split(X, y),
        None,
        Split(X[:50], y[:50]),
        changes={"epochs": 3, "device": "cpu"},
        progress=False,
    )
    assert resumed.device.name == "cpu"
    assert resumed.run()["epochs"] == 3
    assert resumed.history.changes[-1]["device"] == "cpu"
    model = Model.load(tmp_path / "jax-cpu" / "model.npz")
    assert model.predict(X[:5]).shape == (5,)


def test_device_evaluation_equals_cpu_evaluation(tmp_path):
    from bpnn.settings import TrainConfig
    from bpnn.train import Split, Trainer

    X, y = data(n=200)
    config = TrainConfig(layers=[N_IN, 8, 3], epochs=1, stop_on="train", device="jax-cpu")
    t = Trainer(config, Split(X, y), None, None, None, progress=False)
    on_device = t.error(t.train)
    t.device = resolve_device("cpu")
    assert t.error(t.train) == on_device


@pytest.mark.skipif(GPU_PROBLEM is None, reason="a GPU is present")
def test_cli_device_cuda_without_a_gpu_is_one_line(capsys, tmp_path):
    from bpnn.cli import main

    status = main(
        [
            "train",
            "--device",
            "cuda",
            "--data",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "--device cuda: " in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_gpu_check_quick_on_the_cpu_backend(mnist_dir):
    """benchmarks/gpu_check.py's smoke test: every section runs (on JAX's CPU backend)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parent.parent / "benchmarks" / "gpu_check.py"
    child = subprocess.run(
        [sys.executable, str(script), str(mnist_dir), "--quick", "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr
    summary = json.loads(child.stdout)
    for name in ("environment", "agreement", "timings", "best_preset"):
        assert "error" not in summary[name], summary[name]
    assert all(case["agree"] for case in summary["agreement"].values())
    assert summary["best_preset"]["stepper"] == "jax-cpu"
