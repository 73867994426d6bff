"""Every registered activation, loss and optimiser on every training path, from the registries.

The paths: the NumPy reference (``NumpyStepper``), the compiled Numba path (whichever stepper
``make_stepper`` picks) and the JAX program on JAX's CPU backend (``device="jax-cpu"``).  From
the same weights on the same batches each path either agrees with the reference to float32
rounding or refuses with its reason: the compiled path falls back to NumPy (its ``fallback``),
the JAX program raises one ``DeviceError`` line (``--device`` exits with it).  A component added
to a registry is covered here with no edit.

Then a loss added the README's way (a class in ``LOSSES``, no kernel branch, no JAX form) and a
subclass of a loss that has both: each path other than NumPy refuses them, naming the loss,
instead of computing another loss's maths.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpnn import fast
from bpnn.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, get_activation
from bpnn.device import DeviceError
from bpnn.losses import LOSSES, Loss, SquaredError, get_loss
from bpnn.network import Network
from bpnn.optim import OPTIMIZERS, make_optimizer
from bpnn.steppers import NumpyStepper, make_stepper

N, N_IN, N_OUT, BATCH = 70, 12, 3, 16  # a chunk of 4 batches, then 4 and a short one of 6
# "numba": the compiled path make_stepper picks (these nets are small: the small-net loop);
# "numba-blas": the BLAS mini-batch path, as a larger net would get
PATHS = ("numba", "numba-blas", "jax")


def picked(path: str, **kw):
    """``make_stepper(**kw)`` as for ``path`` ("numba-blas": with the small-net bound at -1)."""
    from bpnn.fast import small

    old = small.SMALL_WORK, small.DEEP_WORK
    if path == "numba-blas":
        small.SMALL_WORK = small.DEEP_WORK = -1
    try:
        return make_stepper(**kw)
    finally:
        small.SMALL_WORK, small.DEEP_WORK = old


def accepts(loss: str, output: str) -> bool:
    try:
        get_loss(loss).output_activation(output)
    except ValueError:
        return False
    return True


# every (loss, output activation) pair the losses accept, every optimiser by its registry name
PAIRS = [(loss, out) for loss in LOSSES for out in ACTIVATIONS if accepts(loss, out)]
OPTIMISERS = list(OPTIMIZERS)
# each pair once and each optimiser at least once, every hidden activation in every network
# (compiling a JAX program takes seconds: the whole product is the slow test)
DIAGONAL = [
    (*PAIRS[i % len(PAIRS)], OPTIMISERS[i % len(OPTIMISERS)])
    for i in range(max(len(PAIRS), len(OPTIMISERS)))
]
PRODUCT = [(*pair, opt) for pair in PAIRS for opt in OPTIMISERS]


def data(seed: int = 0):
    gen = np.random.default_rng(seed)
    X = gen.integers(0, 256, (N, N_IN)).astype(np.uint8)
    X[:, :3] = 0  # inputs zero everywhere, as MNIST's borders
    return X, gen.integers(0, N_OUT, N)


def chunks(seed: int = 1) -> list[np.ndarray]:
    """As the trainer calls a stepper: whole batches, an epoch's rest, whole batches again."""
    order = np.random.default_rng(seed).permutation(N)
    again = np.random.default_rng(seed + 1).permutation(N)
    return [order[: 4 * BATCH], order[4 * BATCH :], again[: 4 * BATCH]]


def network(loss: str, output: str) -> Network:
    """A float32 net whose hidden layers use each registered hidden activation once."""
    sizes = [N_IN] + [10 - i for i in range(len(HIDDEN_ACTIVATIONS))] + [N_OUT]
    net = Network(sizes, loss=loss, output=output, init="xavier", dtype=np.float32, seed=4)
    for layer, name in zip(net.layers, HIDDEN_ACTIVATIONS):
        layer.activation = get_activation(name)
    return net


def stepper(path: str, net: Network, opt_name: str):
    """The path's stepper for a copy of ``net`` with a fresh optimiser (weight decay on), or
    the path's refusal: the reason it gives (a string)."""
    twin = net.copy()
    for layer, src in zip(twin.layers, net.layers):
        layer.activation = src.activation
    lr = 0.002 if opt_name.startswith("adam") else 0.05
    # adamw's decay is decoupled (lr x wd x w a step): 0.01 would move a net whose loss
    # gradient is zero (a dead relu output) by less than float32 rounding
    opt = make_optimizer(opt_name, lr, weight_decay=1.0 if opt_name == "adamw" else 0.01)
    X, y = data()
    kw = dict(scale=1 / 255, reference=path == "numpy")
    if path == "jax":
        pytest.importorskip("jax", reason="jax is not installed (pip install jax)")
        kw["device"] = "jax-cpu"
    try:
        step = picked(
            path, net=twin, optimizer=opt, X=X, targets=y, batch_size=BATCH,
            rng=np.random.default_rng(0), **kw,
        )  # fmt: skip
    except DeviceError as exc:
        return str(exc)
    return step.fallback if isinstance(step, NumpyStepper) and path != "numpy" else step


def reason_of(path: str, net: Network, opt_name: str) -> str | None:
    """What the path's own check says of this setup (None: it runs it)."""
    opt = make_optimizer(opt_name, 0.01, weight_decay=0.01)
    if path.startswith("numba"):
        return fast.unsupported_reason(net, opt, data()[0])
    from bpnn.accel.jax_stepper import unsupported_reason

    reason = unsupported_reason(net, opt)
    return None if reason is None else f"--device jax-cpu: {reason}"


def assert_same_training(ref, other, rtol=2e-4, atol=2e-6):
    """Both steppers on the same chunks: losses, weights and optimiser state agree to float32
    rounding (and the weights moved far more than that)."""
    start = [p.copy() for p in ref.net.params()]
    for idx in chunks():
        assert other(idx) == pytest.approx(ref(idx), rel=1e-4)
    assert max(np.abs(p - s).max() for p, s in zip(ref.net.params(), start)) > 100 * atol
    for p, q in zip(ref.net.params(), other.net.params()):
        np.testing.assert_allclose(q, p, rtol=rtol, atol=atol)
    ref_state, other_state = ref.optimizer.state_dict(), other.optimizer.state_dict()
    assert ref_state.keys() == other_state.keys()
    for key in ref_state:
        np.testing.assert_allclose(other_state[key], ref_state[key], rtol=rtol, atol=atol)


def check_every_path(loss: str, output: str, opt_name: str) -> dict[str, str]:
    """Each path agrees with the reference or refuses with its own reason; returns the refusals."""
    net = network(loss, output)
    refused = {}
    for path in PATHS:
        ref, other = stepper("numpy", net, opt_name), stepper(path, net, opt_name)
        if isinstance(other, str):
            assert other == reason_of(path, net, opt_name) and "\n" not in other
            refused[path] = other
        else:
            assert reason_of(path, net, opt_name) is None and other.name != "numpy"
            want = {"numba": "compiled-small-net", "numba-blas": "compiled-mini-batch"}
            assert other.name == want.get(path, other.name)
            assert_same_training(ref, other)
    return refused


def test_the_registries_are_all_covered():
    assert {loss for loss, _ in PAIRS} == set(LOSSES)
    assert {out for _, out in PAIRS} == set(ACTIVATIONS)
    assert {c[:2] for c in DIAGONAL} == set(PAIRS) and {c[2] for c in DIAGONAL} == set(OPTIMIZERS)


@pytest.mark.parametrize("loss,output,opt_name", DIAGONAL)
def test_every_path_agrees_or_refuses_with_its_reason(loss, output, opt_name):
    refused = check_every_path(loss, output, opt_name)
    if fast.jit_available():  # the kernels have no softmax branch for squared error (only)
        assert ("numba" in refused) == (loss == "squared" and output == "softmax")
    assert "jax" not in refused  # every registered class has its JAX form


@pytest.mark.slow
@pytest.mark.parametrize("loss,output,opt_name", PRODUCT)
def test_every_path_agrees_everywhere(loss, output, opt_name):
    check_every_path(loss, output, opt_name)


# ---- a loss the compiled and JAX paths do not know --------------------------------------------
class SumOfSquares(Loss):
    """E = sum_i (t_i - y_i)^2: squared error without its 1/2, a loss added as the README says
    (a class in ``LOSSES``); no kernel branch, no JAX form."""

    name = "sum_of_squares"
    default_output = "sigmoid"

    def value(self, z, y, T):
        diff = T - y
        return np.einsum("ij,ij->i", diff, diff)

    def delta(self, z, y, T, output):
        return output.backward(y, 2 * (y - T))


class HalfSquares(SquaredError):
    """A subclass of a loss that has both forms, computing something else: it inherits the
    kernels' ``code`` but not the maths behind it."""

    name = "half_squares"

    def value(self, z, y, T):
        return 0.5 * super().value(z, y, T)

    def delta(self, z, y, T, output):
        return 0.5 * super().delta(z, y, T, output)


@pytest.fixture(params=[SumOfSquares, HalfSquares])
def new_loss(request, monkeypatch):
    """A loss registered for one test (the registry is restored afterwards)."""
    monkeypatch.setitem(LOSSES, request.param.name, request.param)
    return request.param.name


def test_a_new_loss_is_refused_by_name_not_computed_as_squared_error(new_loss):
    net = Network([N_IN, 6, N_OUT], loss=new_loss, output="sigmoid", dtype=np.float32, seed=1)
    twin = net.copy()
    twin.loss_fn = get_loss("squared")
    X, y = data()
    T = get_loss("squared").targets(y, N_OUT, 0.9, 0.1, np.float32)
    scale = {"sum_of_squares": 2.0, "half_squares": 0.5}[new_loss]
    assert net.loss_value(X / 255, T) == pytest.approx(scale * twin.loss_value(X / 255, T))

    numba = stepper("numba", net, "momentum")
    if fast.jit_available():
        assert numba == f"loss '{new_loss}' has no fast path"
    assert isinstance(stepper("numpy", net, "momentum"), NumpyStepper)

    pytest.importorskip("jax", reason="jax is not installed (pip install jax)")
    from bpnn.accel.jax_stepper import make_spec

    assert stepper("jax", net, "momentum") == f"--device jax-cpu: loss '{new_loss}' has no JAX form"
    with pytest.raises(ValueError, match=f"loss '{new_loss}' has no JAX form"):
        make_spec(net, make_optimizer("sgd", 0.1))


def test_a_new_loss_on_the_command_line(new_loss, tiny_mnist_dir, tmp_path, capsys):
    """``bpnn train``: on the CPU the log says the NumPy path runs and why; ``--device jax-cpu``
    ends with one line naming the loss, exit status 2."""
    from conftest import run_cli

    argv = ["train", "--data", tiny_mnist_dir, "--loss", new_loss, "--epochs", "1"]
    argv += ["--batch-size", "16", "--no-report"]
    code, out, err = run_cli(capsys, *argv, "--out", tmp_path / "cpu")
    assert code == 0, err
    if fast.jit_available():
        assert f"training with the NumPy reference path: loss '{new_loss}' has no fast path" in out
    pytest.importorskip("jax", reason="jax is not installed (pip install jax)")
    code, out, err = run_cli(capsys, *argv, "--device", "jax-cpu", "--out", tmp_path / "jax")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"--device jax-cpu: loss '{new_loss}' has no JAX form" in err


def test_an_update_option_the_paths_do_not_read_is_refused(monkeypatch):
    """An option added to ``UpdateRule`` (as gradient noise would be) and set: until the
    kernels and the JAX program read it, they refuse the optimiser by the option's name instead
    of dropping it."""
    from dataclasses import dataclass

    from bpnn.optim import SGD, UpdateRule

    @dataclass(frozen=True)
    class NoisyRule(UpdateRule):
        gradient_noise: float = 0.0

    noisy = NoisyRule(SGD.code, 0.05, gradient_noise=1.0)
    assert not noisy.plain and NoisyRule(SGD.code, 0.05).plain
    monkeypatch.setattr(SGD, "rule", lambda self, t=None: noisy)
    net = network("cross_entropy", "softmax")
    if fast.jit_available():
        assert (
            stepper("numba", net, "sgd") == "optimizer setting gradient_noise=1.0 has no fast path"
        )
    pytest.importorskip("jax", reason="jax is not installed (pip install jax)")
    assert stepper("jax", net, "sgd") == (
        "--device jax-cpu: optimizer setting gradient_noise=1.0 has no JAX form"
    )
