"""Training and evaluation on a JAX device (a CUDA GPU, or JAX's CPU backend): ``JaxStepper``.

At batch 128 a GPU framework that launches each operation from Python spends about 1 ms a step
on launches for a few microseconds of arithmetic.  Here a whole chunk of steps is one compiled
program: ``jax.jit`` over ``lax.scan`` of the steps, each step bpnn's own forward pass, output
delta, backward pass and optimiser update (``bpnn.accel.jax_math``).

- The data goes to the device once: inputs X (n, d) as they are (uint8 pixels stay uint8),
  target rows T (n, k), sample weights (n,).  Each call sends only the chunk's indices (the
  trainer's shuffle, so a CPU run and a device run see the same batches), plus the learning
  rate (schedules change it between calls: it is an argument, not a constant of the program)
  and Adam's per-step step sizes, computed on the host in float64 as ``bpnn.optim`` does.
- Full batches run in one scan; a chunk's last, smaller batch runs as a scan of one step of its
  own shape.  Programs are cached on the setup (``Spec``) and shapes, so a new stepper for the
  same setup (a new epoch of shifted images) compiles nothing.
- Dropout masks are drawn on the device with ``jax.random`` from a seed the trainer's generator
  gives each call: a seeded run is reproducible on one device, but its masks differ from the
  NumPy path's (which draws from NumPy's generator).
- Image shifts and deformations (augmentation) are applied on the device per batch
  (``set_shifts``, ``set_deform``: ``bpnn.accel.jax_deform``), so the
  images are not shifted and sent again every epoch.
- The weights and the optimiser's state live on the device between calls; ``sync()`` copies them
  back into the ``Network`` and the ``Optimizer`` (the same arrays, so model files and
  checkpoints are the same on every device).  By default every call syncs; the trainer turns
  that off (``sync_every_call = False``) and syncs once an epoch and before saving.

Not here: choosing the device (``bpnn.device``), the NumPy/Numba paths (``bpnn.steppers``).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..deform import Deformation
from ..dropout import DropoutPlan
from ..job import Job, Stepper
from ..network import Network
from ..optim import Optimizer
from . import jax_math as jm
from .jax_deform import deform_batch

__all__ = ["DeviceForward", "JaxStepper", "make_spec", "unsupported_reason"]


def unsupported_reason(net: Network, optimizer: Optimizer) -> str | None:
    """Why the JAX program cannot train this setup (a short sentence), or None.

    A loss, activation or optimiser class without a JAX form (``bpnn.accel.jax_math``), or a
    setting of the optimiser's rule the program does not read, is a reason, never a default.
    """
    if net.dtype != np.float32:
        return f"the JAX path trains float32 networks only, this one is {net.dtype}"
    reason = _missing_form(net)
    if reason is not None:
        return reason
    if type(optimizer) not in jm.UPDATES:
        return f"optimizer {type(optimizer).__name__} has no JAX form"
    ignored = optimizer.rule().ignored(jm.RULE_FIELDS)
    if ignored:
        return f"optimizer setting {', '.join(ignored)} has no JAX form"
    return None


def _missing_form(net: Network) -> str | None:
    """Why ``jax_math`` cannot compute this network's activations or loss, or None."""
    for i, layer in enumerate(net.layers):
        if type(layer.activation) not in jm.ACTIVATIONS:
            return f"layer {i} activation {layer.activation.name!r} has no JAX form"
    if type(net.loss_fn) not in jm.LOSSES:
        return f"loss {net.loss_name!r} has no JAX form"
    return None


def make_spec(net: Network, optimizer: Optimizer | None, scale: float = 1.0, **extra) -> jm.Spec:
    """The static description of this network (and, given, its optimiser) for the compiled
    programs; a ValueError (``unsupported_reason``) when ``jax_math`` has no form for them."""
    reason = _missing_form(net) if optimizer is None else unsupported_reason(net, optimizer)
    if reason is not None:
        raise ValueError(reason)
    acts = tuple(
        jm.Act(jm.ACTIVATIONS[type(layer.activation)], tuple(layer.activation.params().items()))
        for layer in net.layers
    )
    dropout = DropoutPlan.of(net)
    return jm.Spec(
        acts=acts,
        loss=jm.LOSSES[type(net.loss_fn)],
        keeps=dropout.keeps,
        inv_keeps=dropout.scales(np.float32),
        update=None if optimizer is None else jm.UPDATES[type(optimizer)],
        rule=None if optimizer is None else optimizer.rule().fixed(),
        weighted=extra.get("weighted", False),
        shift=extra.get("shift", 0),
        side=extra.get("side", 0),
        scale=float(scale),
    )


# ---- the compiled programs -------------------------------------------------------------------
def _batch_inputs(spec: jm.Spec, X, shifts, idx, dtype):
    """The batch ``idx`` (bs,) of X as ``float(X) * scale`` (bs, d), shifted or deformed (the
    epoch's seed in ``shifts``) when asked.

    A shift (dy, dx) moves an image down/right with zeros moved in, as ``shift_images`` does:
    out[y, x] = padded[y + s - dy, x + s - dx] for the image padded by s zeros on each side.
    """
    rows = X[idx]
    if spec.deform is not None:  # shifts: the epoch's seed (1,) uint32
        rows = deform_batch(rows, shifts[0], idx, spec.shape, spec.deform)
    elif spec.shift:
        s, side = spec.shift, spec.side
        imgs = jnp.pad(rows.reshape(-1, side, side), ((0, 0), (s, s), (s, s)))
        moves = shifts[idx].astype(jnp.int32)

        def one(img, move):
            return lax.dynamic_slice(img, (s - move[0], s - move[1]), (side, side))

        rows = jax.vmap(one)(imgs, moves).reshape(len(idx), side * side)
    return rows.astype(dtype) * jnp.asarray(spec.scale, dtype)


@functools.lru_cache(maxsize=32)
def _chunk_program(spec: jm.Spec, donate: bool):
    """jit(scan of training steps) for ``spec``: (params, state, X, T, w, shifts, idx (m, bs),
    lr, steps (m,), seed) -> (params, state, losses (m,))."""

    def program(params, state, X, T, w, shifts, idx, lr, steps, seed):
        dtype = params[0].dtype
        sizes = tuple(params[2 * i].shape[1] for i in range(len(spec.acts)))
        key = jax.random.key(seed)

        def step(carry, xs):
            params, state = carry
            batch, step_size, k = xs
            Xb = _batch_inputs(spec, X, shifts, batch, dtype)
            Tb = T[batch]
            wb = w[batch] if spec.weighted else None
            masks = jm.dropout_masks(spec, jax.random.fold_in(key, k), len(batch), sizes, dtype)
            inputs, outputs, z = jm.forward(spec, params, Xb, masks)
            values = spec.loss.value(z, outputs[-1], Tb)
            loss = values.sum() if wb is None else jnp.dot(wb, values, precision=jm.HIGHEST)
            grads = jm.backward(spec, params, inputs, outputs, z, Tb, masks, wb)
            params, state = jm.update(spec, params, grads, state, lr, step_size)
            return (params, state), loss

        counter = jnp.arange(idx.shape[0], dtype=jnp.uint32)
        (params, state), losses = lax.scan(step, (params, state), (idx, steps, counter))
        return params, state, losses

    return jax.jit(program, donate_argnums=(0, 1) if donate else ())


@functools.lru_cache(maxsize=32)
def _forward_program(spec: jm.Spec):
    """jit(forward without dropout): (params, X (n, d)) -> outputs (n, k)."""

    def program(params, X):
        return jm.forward(spec, params, X)[1][-1]

    return jax.jit(program)


# ---- the stepper -----------------------------------------------------------------------------
class JaxStepper(Stepper):
    """Mini-batch training as compiled JAX programs on ``device`` (a ``jax.Device``).

    X: (n, n_inputs) uint8 or float; T: (n, n_outputs) float32 target rows; rng: gives each call
    its dropout seed; weights: (n,) sample weights or None.  Returns, like every stepper, the
    sum of the losses of the samples of a call (weighted when weights are given).
    """

    def __init__(self, job: Job, device):
        net, optimizer, X, T, weights = job.net, job.optimizer, job.X, job.T, job.weights
        self.net, self.optimizer, self.rng, self.device = net, optimizer, job.rng, device
        self.name = f"jax-{device.platform}"
        self.batch_size = int(job.batch_size)
        self.n_samples = len(X)
        self.dropout = job.dropout.active  # each call then draws a seed for its masks
        self.spec = make_spec(net, optimizer, job.scale, weighted=weights is not None)
        self.X = jax.device_put(np.ascontiguousarray(X), device)
        self.T = jax.device_put(np.ascontiguousarray(T, dtype=np.float32), device)
        w = np.zeros(1, np.float32) if weights is None else np.asarray(weights, np.float32)
        self.w = jax.device_put(w, device)
        self.shifts = jax.device_put(np.zeros((1, 2), np.int8), device)
        # on the device; None: read the host's at the next call
        self.params: list | None = None
        self.state: list | None = None

    def set_shifts(self, shifts: np.ndarray, max_shift: int, side: int) -> None:
        """Move each image by its (rows, columns) shift (n, 2), each within +-max_shift, from
        now on (augmentation: flattened square images of ``side`` x ``side`` pixels)."""
        if shifts.shape != (self.n_samples, 2) or side * side != self.X.shape[1]:
            raise ValueError(f"need ({self.n_samples}, 2) shifts of square images")
        self.spec = self.spec._replace(shift=int(max_shift), side=int(side))
        self.shifts = jax.device_put(np.ascontiguousarray(shifts, dtype=np.int8), self.device)

    def set_deform(self, deform: Deformation, seed: int, shape: tuple[int, int]) -> None:
        """Deform each image (``bpnn.deform``) with the epoch's ``seed`` from now on, per batch
        on the device (flattened images of ``shape`` (h, w))."""
        if shape[0] * shape[1] != self.X.shape[1]:
            raise ValueError(f"images of {shape} do not fit inputs of {self.X.shape[1]}")
        self.spec = self.spec._replace(deform=deform, shape=tuple(shape))
        self.shifts = jax.device_put(np.array([seed & 0xFFFFFFFF], np.uint32), self.device)

    # ---- host <-> device ---------------------------------------------------------------
    def _state_lists(self) -> list[list]:
        """The optimiser's per-parameter state lists (created as the reference would)."""
        return self.optimizer.state_for(self.net.params())

    def _load(self) -> None:
        """Send the network's parameters and the optimiser's state to the device."""
        self.params = _put(self.net.params(), self.device)
        self.state = _put([s for state in self._state_lists() for s in state], self.device)

    def sync(self) -> None:
        """Copy the device's parameters and optimiser state back into the network and the
        optimiser; the next call reads them again (so changes made in between count)."""
        if self.params is None:
            return
        host = jax.device_get((self.params, self.state))
        for dst, src in zip(self.net.params(), host[0]):
            np.copyto(dst, src)
        flat = [s for state in self._state_lists() for s in state]
        for dst, src in zip(flat, host[1]):
            np.copyto(dst, src.reshape(dst.shape))
        self.params = self.state = None

    # ---- one call ----------------------------------------------------------------------
    def __call__(self, idx: np.ndarray) -> float:
        """Train on samples ``idx`` in consecutive batches; returns the sum of their losses."""
        idx = _checked_indices(idx, self.n_samples)
        if idx.size == 0:
            return 0.0
        if self.params is None:
            self._load()
        bs = self.batch_size
        full = len(idx) // bs * bs
        losses = []
        if full:
            losses.append(self._run(idx[:full].reshape(-1, bs)))
        if full < len(idx):
            losses.append(self._run(idx[full:].reshape(1, -1)))
        total = float(sum(np.asarray(loss, np.float64).sum() for loss in losses))
        if self.sync_every_call:
            self.sync()
        return total

    def _run(self, batches: np.ndarray):
        """One compiled scan over batches (m, bs); returns the (m,) losses, still on device."""
        opt, m = self.optimizer, len(batches)
        # each step's bias-corrected Adam step size (0 for SGD), as the optimiser states it
        steps = np.array([opt.rule(t).step for t in range(opt.t + 1, opt.t + m + 1)], np.float32)
        opt.advance(m)
        seed = int(self.rng.integers(2**32)) if self.dropout else 0
        program = _chunk_program(self.spec, self.device.platform != "cpu")
        self.params, self.state, losses = program(
            self.params,
            self.state,
            self.X,
            self.T,
            self.w,
            self.shifts,
            jax.device_put(batches.astype(np.int32), self.device),
            np.float32(opt.lr),
            steps,
            np.uint32(seed),
        )
        return losses


def _put(arrays, device) -> list:
    """float32 copies of host arrays on the device."""
    return [jax.device_put(np.asarray(a, np.float32), device) for a in arrays]


def _checked_indices(idx, n_samples: int) -> np.ndarray:
    """Sample indices as (k,) int within 0..n_samples-1 (JAX would clamp bad ones silently)."""
    idx = np.asarray(idx)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"indices must be a 1-D integer array, got shape {idx.shape} {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= n_samples):
        raise ValueError(f"indices must lie in 0..{n_samples - 1}, got {idx.min()}..{idx.max()}")
    return idx


class DeviceForward:
    """The network's outputs computed on ``device``: ``forward(inputs (n, d)) -> (n, k)``.

    Reads the network's current parameters at every call (one transfer per call), so it sees
    what the trainer restored or synced.  For ``bpnn.evaluation.outputs(forward=...)``.
    """

    def __init__(self, net: Network, device):
        self.net, self.device = net, device
        self.program = _forward_program(make_spec(net, None))

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        params = _put(self.net.params(), self.device)
        out = self.program(params, _put([inputs], self.device)[0])
        return np.asarray(out).astype(self.net.dtype, copy=False)
