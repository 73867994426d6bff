"""Mini-batches of a small network, a whole call in one compiled loop: ``SmallBatchStepper``.

The same steps as ``BatchStepper`` (and so as ``NumpyStepper``): forward, loss, backward, the
optimiser's update (SGD, momentum, Nesterov, Adam, AdamW, weight decay, gradient clipping),
dropout drawn from the generator in the reference's order, sample weights.  What differs is the
cost of a step: ``BatchStepper`` calls BLAS and a compiled kernel per layer from Python, about
0.15 ms a step whatever the size, most of a step of a network like a table's 9-200-1 in
batches of 32.  Here one compiled call (``train_small``) runs every batch of the call, with the
products written as loops: each row's non-zero inputs times the input-major first layer, dot
products above it.  Loops lose to BLAS as the network grows, so ``bpnn.fast`` chooses this
stepper only up to ``SMALL_WORK`` (``work``: multiply-adds a batch's forward pass costs, the
first layer's for its non-zero inputs; measured: ``benchmarks/small_nets.py``).  Inputs of a
piecewise-linear encoding (``Job.ple_bins``) go in through their runs' differences, two
non-zeros a feature instead of about half its bins (``runs``; ``_kernels.SmallRows`` says how).

Results equal the reference path up to rounding (sums run in another order and skip exact
zeros), as the other fast paths do.  Not here: choosing it (``bpnn.fast.fast_stepper``).
"""

from __future__ import annotations

import numpy as np

from ..dropout import check_generator, draws, halves, thresholds
from ..job import Job, Stepper
from ..optim import decays
from ._common import (
    checked_indices,
    constants,
    kernel_net,
    layer_codes,
    load_input_major,
    store_input_major,
)
from ._kernels import (
    N_COEFFS,
    SmallGrads,
    SmallRows,
    SmallScratch,
    SmallUpdate,
    coefficients,
    compress_rows,
    train_small,
)

# Multiply-adds of a batch's forward pass (``work``) up to which the loops of ``train_small``
# beat BLAS from Python, with one hidden layer and with more (whose products between hidden
# layers BLAS does better): README "Speed", ``benchmarks/small_nets.py``.  Larger: BLAS, whose
# threads the loops do not have.
SMALL_WORK = 1_000_000
DEEP_WORK = 200_000
# Layers (after the first) of at least this many units add rows of their transposed weights
# (vectorised) instead of taking dot products (``_kernels._small_layer``).
WIDE = 16
# Dropout's raw draws taken at once per part of a call (uint64: 8 MB), bounding the memory.
MAX_DRAWS = 1 << 20


def work(sizes, batch_size: int, density: float = 1.0) -> int:
    """Multiply-adds of a batch's forward pass through layer ``sizes``, the first layer's counted
    for the share ``density`` of its inputs that are non-zero (the loops skip the others)."""
    first = density * sizes[0] * sizes[1]
    return round(batch_size * (first + sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))))


def is_small(sizes, batch_size: int, density: float = 1.0) -> bool:
    """Whether a network of layer ``sizes`` trained in batches of ``batch_size`` on inputs of
    which the share ``density`` is non-zero is small enough for ``SmallBatchStepper``."""
    bound = SMALL_WORK if len(sizes) <= 3 else min(SMALL_WORK, DEEP_WORK)
    return work(sizes, batch_size, density) <= bound


def density(X: np.ndarray, rows: int = 4096, chained: np.ndarray | None = None) -> float:
    """The share of non-zero values in (the first ``rows`` rows of) inputs X (n, n_in), or of
    their run differences where ``chained`` (n_in,) is given (``differences``)."""
    head = X[:rows] if chained is None else differences(X[:rows], chained)
    return np.count_nonzero(head) / max(1, head.size)


def runs(job: Job) -> np.ndarray | None:
    """Which inputs continue the run of the one before (n_in,) bool: the bins of a
    piecewise-linear encoding (``Job.ple_bins``; ``SmallRows`` says why), or None: not such
    inputs, or layer 0's inputs dropped out (a mask per bin, which differences would not keep)."""
    bins, n_in = job.ple_bins, job.X.shape[1]
    if bins < 2 or n_in % bins or job.X.dtype.kind != "f" or job.scale != 1:
        return None
    if job.rng is not None and job.dropout.rates[0] > 0:
        return None
    return np.arange(n_in) % bins != 0


def differences(X: np.ndarray, chained: np.ndarray) -> np.ndarray:
    """Each run's differences z (n, n_in) of inputs X (n, n_in): z_i = x_i - x_{i+1} where input
    i + 1 continues i's run (``chained[i + 1]``), else x_i (a new array)."""
    z = np.array(X, copy=True)
    z[:, :-1] -= np.where(chained[1:], X[:, 1:], 0)
    return z


def nonzero_rows(
    X: np.ndarray,
    block: int | None = None,
    chained: np.ndarray | None = None,
    bounded: bool = True,
) -> SmallRows:
    """X's (n, n_in) non-zero values by row (``SmallRows``; counted, then listed, by a compiled
    loop), or those of its run ``differences`` where ``chained`` is given (found ``block`` rows
    at a time, default about 2^20 values, bounding the temporaries).  A list that would take
    more memory than X itself is not kept (unless not ``bounded``: the per-sample loop reads
    nothing else): with runs, X's own non-zeros instead (no runs); without, empty arrays (then
    the loop reads X's rows whole, as fast where few of its inputs are zero)."""
    block = block or max(1, (1 << 20) // max(1, X.shape[1]))
    cols_type = np.uint16 if X.shape[1] <= np.iinfo(np.uint16).max else np.int32
    chain = np.zeros(0, np.bool_) if chained is None else np.ascontiguousarray(chained, np.bool_)
    if chained is None:  # (NumPy's count_nonzero and nonzero on MNIST's 60,000 rows: 0.37 s)
        ptr = np.empty(len(X) + 1, np.int64)
        nnz = compress_rows(X, ptr, np.empty(0, cols_type), np.empty(0, X.dtype))
        listed = nnz * (np.dtype(cols_type).itemsize + X.itemsize) + 8 * (len(X) + 1)
        if bounded and listed > X.nbytes:
            none = np.zeros(0, np.int64), np.zeros(0, cols_type), np.zeros(0, X.dtype)
            return SmallRows(*none, chain)
        cols, vals = np.empty(nnz, cols_type), np.empty(nnz, X.dtype)
        compress_rows(X, ptr, cols, vals)
        return SmallRows(ptr, cols, vals, chain)

    starts = range(0, len(X), block)

    def part(s: int) -> np.ndarray:  # (read twice, as X's blocks are: no copy of them kept)
        return differences(X[s : s + block], chain)

    counts = np.concatenate(
        [np.count_nonzero(part(s), axis=1) for s in starts] or [np.zeros(0, np.int64)]
    ).astype(np.int64)
    nnz = int(counts.sum())
    listed = nnz * (np.dtype(cols_type).itemsize + X.itemsize) + 8 * (len(X) + 1)
    if listed > X.nbytes:  # (runs whose differences are no sparser: the inputs themselves)
        return nonzero_rows(X, block)
    ptr = np.zeros(len(X) + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    cols, vals = np.empty(nnz, cols_type), np.empty(nnz, X.dtype)
    for s in starts:
        rows = part(s)
        r, c = np.nonzero(rows)  # (row-major: each row's columns ascending)
        at = slice(ptr[s], ptr[s + len(rows)])
        cols[at], vals[at] = c, rows[r, c]
    return SmallRows(ptr, cols, vals, chain)


class SmallBatchStepper(Stepper):
    """Mini-batch training of a small network, one compiled call per call.

    X: (n, n_inputs) uint8 or float; T: (n, n_outputs) target rows of the network's dtype;
    rng: drives dropout only; weights: (n,) sample weights (each batch's weighted mean loss).
    """

    one_thread = True  # (no BLAS: the trainer keeps its small evaluations on one BLAS thread)

    name = "compiled-small-net"
    kernels = ("train_small",)  # (``_kernels.compiled_before``)

    def __init__(self, job: Job):
        net = self.net = job.net
        self.optimizer, self.X, self.T = job.optimizer, job.X, job.T
        self.nonzero = nonzero_rows(self.X, chained=runs(job))
        # (the loop reads X's rows whole where none are listed: never with runs, which X lacks)
        assert len(self.nonzero.ptr) or not len(self.nonzero.chained)
        self.batch_size, dt = int(job.batch_size), net.dtype
        self.w = np.ones(1, dt) if job.weights is None else np.ascontiguousarray(job.weights, dt)
        self.use_w = job.weights is not None
        self.c = constants(dt, job.scale)
        self.codes, self.alphas, self.loss = layer_codes(net)
        plan = job.dropout
        # which layers drop inputs: those with a rate, when there is a generator (without one,
        # as in the reference, nothing is dropped)
        self.rng = job.rng
        self.active = np.array([r > 0 and job.rng is not None for r in plan.rates], np.bool_)
        if self.active.any():
            check_generator(job.rng)
        self.bounds, self.scales = thresholds(plan.keeps), np.array(plan.scales(dt), dt)
        # the widths of the layers' inputs that are dropped (each batch draws a mask for each)
        self.dropped = [n for n, on in zip(net.sizes, self.active) if on]
        self.done = np.zeros(1, np.int64)  # steps begun by the last call to train_small
        layers = net.layers
        self.W0T = np.empty((layers[0].n_in, layers[0].n_out), dt)  # layer 0, input-major
        self.grads = SmallGrads(
            np.empty_like(self.W0T),
            (np.empty((0, 0), dt), *(np.empty_like(layer.W) for layer in layers[1:])),
            tuple(np.empty_like(layer.b) for layer in layers),
        )
        self.state0: list[np.ndarray] = []  # optimiser state of W0, transposed like W0T
        self.u = np.empty(N_COEFFS, dt)
        self.scratch: SmallScratch | None = None

    @property
    def rows(self) -> int:
        """The batch rows the work arrays hold (0 before the first call)."""
        return 0 if self.scratch is None else len(self.scratch.xn)

    def _reserve(self, rows: int) -> SmallScratch:
        """Work arrays for batches of ``rows`` rows (kept; larger only if a call needs it)."""
        if self.scratch is None or rows > self.rows:
            dt, sizes, n_layers = self.net.dtype, self.net.sizes, len(self.net.layers)
            width, inner = max(sizes[1:]), max(sizes[1:-1], default=0)
            self.scratch = SmallScratch(
                np.zeros((n_layers, rows, width), dt),
                np.zeros((n_layers, rows, width), dt),
                np.zeros((n_layers, rows, inner), dt),
                np.zeros((n_layers, rows, inner), dt),
                np.zeros((rows, sizes[0]), dt),
                np.zeros((rows, sizes[0]), np.intp),
                np.zeros(rows, np.intp),
                np.zeros((sizes[0], rows), dt),
                np.zeros((sizes[0], rows), np.intp),
                np.zeros(sizes[0], np.intp),
                tuple(
                    np.zeros(layer.W.T.shape if i and layer.n_out >= WIDE else (0, 0), dt)
                    for i, layer in enumerate(self.net.layers)
                ),
                np.zeros(self.W0T.shape if len(self.nonzero.chained) else (0, 0), dt),
            )
        return self.scratch

    def __call__(self, idx: np.ndarray) -> float:
        """Train on samples ``idx`` in consecutive batches; returns the sum of their losses."""
        idx = checked_indices(idx, len(self.X))
        # parts of whole batches, each part's dropout draws at most MAX_DRAWS
        per_part = max(1, MAX_DRAWS // max(1, self._draws(self.batch_size)))
        step = per_part * self.batch_size
        return sum((self._part(idx[s : s + step]) for s in range(0, idx.size, step)), 0.0)

    def _part(self, idx: np.ndarray) -> float:
        if idx.size == 0:
            return 0.0
        scratch = self._reserve(min(self.batch_size, idx.size))
        net, opt, dt = self.net, self.optimizer, self.net.dtype
        params = net.params()
        states = opt.state_for(params)
        self.state0 = load_input_major(self.W0T, self.state0, net, states)
        rule = opt.rule()  # once a call: within it only Adam's step size changes
        coefficients(rule, self.u)
        n_steps = -(-idx.size // self.batch_size)
        steps = np.array([opt.step_size(opt.t + 1 + q) for q in range(n_steps)], dt)
        self.done[0] = 0
        # the masks' draws, taken as the reference takes them batch by batch (one stream)
        full, last = divmod(idx.size, self.batch_size)
        count = full * self._draws(self.batch_size) + self._draws(last)
        raw = self.rng.bit_generator.random_raw(count) if count else np.empty(0, np.uint64)
        bits = halves(raw)
        try:
            total = train_small(
                self.X,
                self.nonzero,
                self.T,
                self.w,
                self.use_w,
                idx,
                self.batch_size,
                kernel_net(self.W0T, net, self.codes, self.alphas, self.loss),
                self.grads,
                self._update(params, states, np.array([rule.clip_norm, 0], dt)),
                (rule.kind, rule.nesterov),
                self.c,
                self.u,
                steps,
                (self.active, self.bounds, self.scales, bits),
                scratch,
                self.done,
            )
        finally:  # (also after an error part way: the steps taken count, as elsewhere)
            store_input_major(self.W0T, self.state0, net, states)
            opt.advance(int(self.done[0]))
        return float(total)

    def _draws(self, rows: int) -> int:
        """The raw draws the dropout masks of a batch of ``rows`` take (none for no rows)."""
        return sum(draws(rows * width) for width in self.dropped) if rows else 0

    def _update(self, params: list, states: list, clip) -> SmallUpdate:
        """The flat views the update loop takes, W0 (and its state) as the transposed copies."""
        G0T, dWs, dbs = self.grads
        grads = [G0T, dbs[0]] + [g for pair in zip(dWs[1:], dbs[1:]) for g in pair]
        flat = [self.W0T, *params[1:]]
        kinds = [[s0, *state[1:]] for s0, state in zip(self.state0, states)]
        none = [np.empty(0, self.net.dtype)] * len(flat)  # (no state of this kind)
        s1s, s2s = ([[a.reshape(-1) for a in k] for k in kinds] + [none, none])[:2]
        return SmallUpdate(
            tuple(p.reshape(-1) for p in flat),
            tuple(g.reshape(-1) for g in grads),
            tuple(s1s),
            tuple(s2s),
            np.array([decays(p) for p in params]),
            clip,
        )
