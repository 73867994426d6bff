"""Mini-batch training without waste: ``BatchStepper``.

The same steps as ``NumpyStepper`` -- forward, loss (squared error, softmax or binary
cross-entropy), backward, optimiser -- with three savings:

- The first layer's weights live input-major (W0T: (n_inputs, n_hidden)).  Each batch gathers the
  inputs that are non-zero in at least one of its rows (about two thirds of MNIST's 784 pixels for
  a batch of 128) and multiplies only those columns and weight rows; the others add exact zeros
  to the product and get a zero gradient.
  Where few of the inputs are non-zero (``listed_inputs``: MNIST's pixels, a fifth) and the
  later layers are small, their non-zero values are listed once (``small.nonzero_rows``) and
  layer 0 is computed from the lists instead: each row's product adds the weight rows of its
  own non-zero inputs, each weight row's gradient the deltas of the rows where its input is
  non-zero, the rows (then the inputs) in parallel on Numba's threads, each sum on one thread
  in a fixed order (the weights do not depend on the thread count); W0's row update and the
  backward products of narrow later layers (``dense_back``: up to ``DENSE_BACK_OUTPUTS``, a
  classifier's output layer) run on those threads too, BLAS the other products on one thread.
  A quarter of the multiply-adds of the product over the batch's non-zero columns, at a third
  of BLAS's speed a multiply-add: MNIST's epoch 10-15% shorter (README "Speed").
- Every buffer is allocated once, with min(batch_size, n_samples) rows; BLAS writes into it
  (``np.matmul(..., out=)``).
- The element-wise steps (input scaling, bias + activation, the loss and its delta, activation
  derivative, the optimiser's update) are compiled loops that round each operation as NumPy does.

Dropout follows the job's ``DropoutPlan`` and draws its masks as ``Network.forward`` does (the
same shapes in the same order from the same generator), so a seeded run makes the same masks.
The update reads the optimiser's ``UpdateRule`` (once a call, with ``step_size`` once a step) and
the weight-decay mask (``bpnn.optim.decays``) only.
Not here: per-sample SGD (``bpnn.fast.sample``).
"""

from __future__ import annotations

import numba
import numpy as np

from ..device import blas_threads
from ..job import Job, Stepper
from ..optim import decays
from ._common import (
    checked_indices,
    constants,
    layer_codes,
    load_input_major,
    store_input_major,
)
from ._kernels import (
    C_N,
    C_SCALE,
    N_COEFFS,
    PARALLEL_SIZE,
    U_STEP,
    SmallRows,
    act_back,
    bias_act,
    coefficients,
    dense_back,
    gather_columns,
    gather_rows,
    listed_gradient0,
    listed_product0,
    output_delta,
    update,
    update_parallel,
    update_rows,
    update_rows_parallel,
)
from .small import density, nonzero_rows

# The share of non-zero inputs up to which layer 0 runs from their lists (``listed_inputs``).
# An epoch of 784-300-10 in batches of 128 on two cores, listed / BLAS (README "Speed",
# ``benchmarks/listed_layer0.py``): MNIST (0.19 non-zero) 0.75-0.82; random pixels 0.42 at
# 0.1, 0.67 at 0.2, 1.04 at 0.3, 1.29 at 0.5.
LISTED_DENSITY = 0.25

# The widest later layer (outputs) whose backward products run on Numba's threads in the listed
# mode (``dense_back``); wider ones stay BLAS's on one thread.  Batch of 128, float32, the kernel
# against BLAS's two products on one thread, 2-core AMD EPYC: 10 outputs (300 or 1,000 inputs)
# 0.63-1.0x; 32, 64 and 100 outputs 1.1-1.7x.
DENSE_BACK_OUTPUTS = 16

# Numba threads from which the large updates run in parallel.  Measured on a shared 2-core
# machine, a second thread made the 784-1200-1200-10 epoch slower (9.8 s -> 15.5 s); results are
# the same either way (README "Devices and threads").
MIN_THREADS = 4


class BatchStepper(Stepper):
    """Mini-batch SGD / momentum / Nesterov / Adam with weight decay and dropout.

    X: (n, n_inputs) uint8 or float; T: (n, n_outputs) target rows of the network's dtype;
    rng: drives dropout only; weights: (n,) sample weights (each batch's weighted mean loss).
    """

    name = "compiled-mini-batch"
    # the kernels a step calls (``_kernels.compiled_before``: whether they are cached): layer 0's
    # (BLAS's gathers, or the listed inputs' products), then every step's
    STEP_KERNELS = ("bias_act", "output_delta", "act_back", "update")
    kernels: tuple[str, ...] = ("gather_columns", "gather_rows", *STEP_KERNELS)

    def __init__(self, job: Job):
        net, weights, self.batch_size = job.net, job.weights, int(job.batch_size)
        self.net, self.optimizer, self.inputs, self.T, self.rng = (
            net,
            job.optimizer,
            job.X,
            job.T,
            job.rng,
        )
        self.dropout = job.dropout
        # sample weights (n,) in the network's dtype, as the reference casts them; None: unweighted
        self.w = None if weights is None else np.ascontiguousarray(weights, dtype=net.dtype)
        self.no_w = np.ones(1, net.dtype)
        dt, n_in, n_0 = net.dtype, net.sizes[0], net.sizes[1]
        self.dtype = dt
        self.listed = listed_inputs(job.X, net.sizes)  # X's non-zeros by row, or None: BLAS
        if self.listed is not None:
            assert len(self.listed.ptr) == len(job.X) + 1  # (the kernels do not check bounds)
            self.kernels = ("listed_product0", "listed_gradient0", *self.STEP_KERNELS)
            if numba.get_num_threads() > 1:  # (W0's rows on Numba's threads, ``_plan``)
                self.kernels += ("update_rows_parallel",)
            # BLAS keeps the later layers' other products (on one thread, ``__call__``), and the
            # trainer its evaluations on one thread too
            self.one_thread = True
        # per layer: its backward products by ``dense_back`` (narrow later layers, listed mode)
        self.dense_back = [
            i > 0 and self.listed is not None and layer.n_out <= DENSE_BACK_OUTPUTS
            for i, layer in enumerate(net.layers)
        ]
        if any(self.dense_back):
            self.kernels += ("dense_back",)
        self.c = constants(dt, job.scale)
        self.codes, self.alphas, self.loss = layer_codes(net)
        self.W0T = np.empty((n_in, n_0), dt)  # master copy of layer 0 during a call
        # the rows of the batch's non-zero inputs (BLAS's product reads them gathered)
        self.Wc = np.empty((n_in if self.listed is None else 0, n_0), dt)
        self.Gc = np.empty((n_in, n_0), dt)  # their gradient
        self.cols = np.empty(n_in, np.intp)
        self.k = 0  # cols[:k]: the batch's inputs non-zero in some row
        self.slot = np.empty(n_in, np.intp)  # row -> its gradient row (parallel row updates)
        self.flags = np.empty(n_in, np.uint8)
        self.runs = np.empty(n_in + 1, np.intp)  # runs of consecutive non-zero columns
        self.no_mask = np.empty((1, 1), dt)
        # (layer 0's gradient is Gc: an empty placeholder keeps the layer numbers)
        self.dW = [np.empty((0, 0), dt)] + [np.empty_like(layer.W) for layer in net.layers[1:]]
        self.db = [np.empty_like(layer.b) for layer in net.layers]
        self.state0: list[np.ndarray] = []  # optimiser state of W0, transposed like W0T
        self.u = np.empty(N_COEFFS, dt)  # the update's coefficients, refilled every step
        self.rows = 0
        self._reserve(min(self.batch_size, len(job.X)))

    def _reserve(self, rows: int):
        """Batch buffers with at least ``rows`` rows (more only if a call repeats samples)."""
        if rows <= self.rows:
            return
        dt, sizes = self.dtype, self.net.sizes
        self.rows = rows
        if self.listed is None:
            self.X = np.empty((rows, sizes[0]), dt)  # the batch, compacted
        else:  # each row's non-zero values (XV), then by input: (yptr, yrow, yval)
            most = int(np.diff(self.listed.ptr).max())  # (X has rows: ``listed_inputs``)
            self.X = np.empty((rows, most), dt)
            self.by_column = (
                np.empty(sizes[0] + 1, np.intp),
                np.empty(rows * most, np.int32),  # (the batch's row numbers)
                np.empty(rows * most, dt),
            )
        self.Y = [np.empty((rows, m), dt) for m in sizes[1:]]  # each layer's output
        self.D = [np.empty((rows, m), dt) for m in sizes[1:]]  # each layer's dE/dz
        # dropped-out inputs of layers 1.. (layer 0's are X: an empty placeholder)
        self.inp = [np.empty((0, 0), dt)] + [np.empty((rows, m), dt) for m in sizes[1:-1]]
        self.ident = np.arange(max(rows, *sizes[1:]))  # (``dense_back``'s row listing)

    # ---- one call: copy in, batches, copy out --------------------------------------------
    def __call__(self, idx: np.ndarray) -> float:
        """Train on samples ``idx`` in consecutive batches; returns the sum of their losses."""
        idx = checked_indices(idx, len(self.inputs))
        if idx.size == 0:
            return 0.0
        self._reserve(min(self.batch_size, idx.size))
        self._load()
        total = 0.0
        try:
            with blas_threads(1 if self.listed is not None else None):
                for start in range(0, len(idx), self.batch_size):
                    total += self._batch(idx[start : start + self.batch_size])
        finally:
            self._store()
        return total

    def _load(self):
        """Copy layer 0 (and its optimiser state) in, transposed; plan this call's updates."""
        states = self.optimizer.state_for(self.net.params())
        self.state0 = load_input_major(self.W0T, self.state0, self.net, states)
        self._plan(states)

    def _plan(self, states):
        """Flat views of every parameter but W0, its gradient and its state, for this call.

        Each entry: (p, g, s1, s2, decay) with s1, s2 empty where the optimiser keeps no state.
        """
        layers, none = self.net.layers, np.empty(0, self.dtype)
        params, grads = [layers[0].b], [self.db[0]]
        for i in range(1, len(layers)):
            params += [layers[i].W, layers[i].b]
            grads += [self.dW[i], self.db[i]]
        rest = [state[1:] for state in states] + [[]] * (2 - len(states))
        self.flat = []
        for j, (p, g) in enumerate(zip(params, grads)):
            s1, s2 = (s[j].reshape(-1) if s else none for s in rest)
            self.flat.append((p.reshape(-1), g.reshape(-1), s1, s2, decays(p)))
        none2 = np.empty((0, 0), self.dtype)
        rows_state = (self.state0 + [none2, none2])[:2]
        decay0 = decays(self.net.layers[0].W)  # W0T is its transpose
        self.threaded = numba.get_num_threads() >= MIN_THREADS  # large arrays: parallel twins
        # listed inputs: the batch's rows in a part a thread, each part's count of every input
        self.counts = np.empty((numba.get_num_threads(), len(self.W0T)), np.intp)
        # The rule is taken once per call: within a call only Adam's step size changes (lr and
        # the other settings change between calls), refilled in u by ``_update``.  Each step's
        # kernel calls are laid out here, so a step costs the kernels and little else.
        self.rule = rule = self.optimizer.rule()
        coefficients(rule, self.u)
        head = (rule.kind, rule.nesterov, self.u, self.W0T, self.Gc, self.cols)
        tail = (*rows_state, decay0)
        # (listed inputs leave BLAS one thread, ``__call__``: Numba's threads then update W0's
        # rows without waiting for BLAS's, 4% of an MNIST epoch with momentum or Adam)
        rows_parallel = self._parallel(self.W0T) or (
            self.listed is not None and numba.get_num_threads() > 1
        )
        self.rows_call = (
            (update_rows_parallel, head, (*tail, self.slot))
            if rows_parallel
            else (update_rows, head, tail)
        )
        self.flat_calls = [
            (
                update_parallel if self._parallel(p) else update,
                (rule.kind, rule.nesterov, self.u, p, g, s1, s2, decay),
            )
            for p, g, s1, s2, decay in self.flat
        ]

    def _store(self):
        states = self.optimizer.state_for(self.net.params())
        store_input_major(self.W0T, self.state0, self.net, states)

    # ---- one batch ---------------------------------------------------------------------
    def _batch(self, batch: np.ndarray) -> float:
        layers, n, c = self.net.layers, len(batch), self.c
        last = len(layers) - 1
        # what each delta is divided by
        c[C_N] = n if self.w is None else self._weight_sum(self.w[batch])
        # layer 0 on the batch's non-zero inputs only
        mask = self.dropout.mask(0, self.rng, (n, layers[0].n_in), self.dtype)
        A = self.Y[0][:n]
        self._forward0(batch, mask, A)
        masks = [mask]
        for i in range(1, len(layers)):
            bias_act(A, layers[i - 1].b, self.codes[i - 1], self.alphas[i - 1], c)
            mask = self.dropout.mask(i, self.rng, A.shape, self.dtype)
            masks.append(mask)
            if mask is not None:
                A = np.multiply(A, mask, out=self.inp[i][:n])
            Z = self.Y[i][:n]
            np.matmul(A, layers[i].W.T, out=Z)
            A = Z
        w = self.no_w if self.w is None else self.w
        loss = output_delta(
            A,
            layers[last].b,
            self.T,
            batch,
            self.codes[last],
            self.alphas[last],
            self.loss,
            c,
            self.D[last][:n],
            self.db[last],
            w,
            self.w is not None,
        )
        # backward: gradients of layers last..1, then layer 0's rows
        for i in range(last, 0, -1):
            dZ, dA = self.D[i][:n], self.D[i - 1][:n]
            inp = self.Y[i - 1][:n] if masks[i] is None else self.inp[i][:n]
            if self.dense_back[i]:  # (listed inputs: BLAS has one thread, these on Numba's)
                dense_back(dZ, inp, layers[i].W, self.dW[i], dA, self.ident)
            else:
                np.matmul(dZ.T, inp, out=self.dW[i])
                np.matmul(dZ, layers[i].W, out=dA)
            if masks[i] is not None:
                dA *= masks[i]
            act_back(
                dA, self.Y[i - 1][:n], self.codes[i - 1], self.alphas[i - 1], c, self.db[i - 1]
            )
        self._update(self._gradient0(batch, self.D[0][:n]))
        return loss

    def _forward0(self, batch: np.ndarray, mask: np.ndarray | None, A: np.ndarray):
        """A (n, n_0) <- layer 0's products (before the bias) for the batch, its inputs
        dropped out by ``mask`` (n, n_in) where given."""
        use_mask, mask = mask is not None, self.no_mask if mask is None else mask
        if self.listed is not None:
            ptr, cols, vals, _ = self.listed
            X, counts = self.X, self.counts
            listed_product0(ptr, cols, vals, batch, self.c, mask, use_mask, self.W0T, X, counts, A)
            return
        self.k = gather_columns(
            self.inputs,
            batch,
            self.c[C_SCALE],
            mask,
            use_mask,
            self.flags,
            self.cols,
            self.X,
            self.runs,
        )
        gather_rows(self.W0T, self.cols, self.k, self.Wc)
        np.matmul(self.X[: len(batch), : self.k], self.Wc[: self.k], out=A)

    def _gradient0(self, batch: np.ndarray, dZ: np.ndarray) -> int:
        """Gc[:k] <- the gradient of W0T's rows cols[:k], from layer 0's dE/dz dZ (n, n_0);
        returns k: cols[:k] are the inputs non-zero in some row of the batch (the others add
        nothing to the products and get a zero gradient)."""
        if self.listed is None:
            np.matmul(self.X[: len(dZ), : self.k].T, dZ, out=self.Gc[: self.k])
            return self.k
        ptr, cols, _, _ = self.listed
        X, counts, c, by_column = self.X, self.counts, self.c, self.by_column
        return listed_gradient0(ptr, cols, batch, X, counts, dZ, c, self.cols, by_column, self.Gc)

    @staticmethod
    def _weight_sum(weights: np.ndarray):
        """The batch's sum of weights, or 1 when all are zero (a zero gradient, as in NumPy)."""
        total = weights.sum()
        return total if total > 0 else 1

    def _update(self, k: int):
        """One optimiser step on every parameter, the update ``optimizer.step`` would make.

        Layer 0's gradient is Gc[:k] in rows cols[:k] of W0T and zero in the others.  The rule
        is the call's (``_plan``) with this step's step size: ``next_rule`` without building it.
        """
        opt, rule = self.optimizer, self.rule
        opt.advance(1)
        if rule.step:  # Adam's bias-corrected step size, rounded to the dtype as coefficients does
            self.u[U_STEP] = opt.step_size(opt.t)
        if rule.clip_norm:  # every gradient of the step scaled by one factor, as step does
            grads = [self.Gc[:k], *(g for _, g, _, _, _ in self.flat)]
            scale = rule.clip_scale(grads)
            for g in grads:
                g *= scale
        rows, head, tail = self.rows_call
        rows(*head, k, *tail)
        for step, args in self.flat_calls:
            step(*args)

    def _parallel(self, p: np.ndarray) -> bool:
        """Whether p's update pays for Numba's threads (the results are the same either way)."""
        return self.threaded and p.size >= PARALLEL_SIZE


def listed_inputs(X: np.ndarray, sizes) -> SmallRows | None:
    """Inputs X's (n, n_in) non-zero values by row for a network of layer ``sizes``, where few
    are non-zero (``LISTED_DENSITY``), the other layers' products (BLAS's on one thread, or a
    narrow layer's backward on Numba's, ``dense_back``) are no larger than layer 0's on the
    listed inputs, and the list takes less memory than X
    (``small.nonzero_rows``); else None."""
    share = density(X) if len(X) else 1.0
    rest = sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    if share > LISTED_DENSITY or rest > share * sizes[0] * sizes[1]:
        return None
    listed = nonzero_rows(X)
    return listed if len(listed.ptr) else None
