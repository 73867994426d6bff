"""Numba kernels behind the fast steppers (imported only when numba is importable).

(Past 400 lines on purpose: the kernels share their branch tables and constants and are compiled
and cached as one module; split, a branch number could drift between files.)

Every kernel is generic in the float type: constants come in a small array ``c`` of the network's
dtype, so float32 arithmetic stays float32 exactly as in NumPy (a Python literal would promote
to float64 inside Numba).  ``fastmath`` is off: no reassociation and no fused multiply-add, so each
element-wise step rounds like the NumPy expression it mirrors (except the sigmoid, see ``_act``;
sums differ in order anyway, so the paths agree to rounding, not bit for bit).  Numba's NumPy
error model: a division by zero gives inf or NaN as NumPy's does (the trainer's divergence
check then sees it), not an exception, and a loop that divides can be vectorised (Adam's
update 4x faster than with the checks of the Python model).  Compiled code is
cached on disk (next to this file, in ``NUMBA_CACHE_DIR`` or the user's cache folder), so only the
first run compiles; where none of those can be written (a read-only install and no writable
HOME) the cache goes to a private folder in the temporary directory, and where even that fails
the kernels compile without a cache (``CACHE_NOTE`` says why).  Inputs may be uint8 or float:
each kernel specialises on their type.

The classes these kernels have branches for are listed here (``ACTIVATIONS``, ``LOSSES``,
``OPTIMIZERS``: exactly those classes, not their subclasses, which may compute something else);
``bpnn.fast`` sends any other setup to the NumPy path with the reason, so no branch is ever
reached by a class it was not written for.  The branch numbers are those classes' own ``code``
(``bpnn.activations``, ``bpnn.losses``, ``bpnn.optim``), read into module constants here; each
branch mirrors its class term by term and takes the derivative from the output, as there.  The
targets are always rows, so softmax cross-entropy takes one-hot rows for class labels (same value
and delta).  The optimiser's step arrives as its ``UpdateRule`` and nothing else
(``coefficients``); a field of the rule these kernels do not read (``RULE_FIELDS``) that is set
sends the run to NumPy.
Threads: the optimiser's updates of large weight arrays have parallel twins (``*_parallel``,
elements or rows in parallel with ``prange``, used when Numba has several threads: see
``bpnn.fast.batch.MIN_THREADS`` and ``bpnn.device.limit_threads``).  Each element is computed by
the same operations either way and nothing is summed across threads, so results do not depend on
the number of threads.  So do layer 0's products and gradient from listed inputs
(``listed_product0``, ``listed_gradient0``: rows or inputs in parallel, each sum on one thread
in a fixed order) and a narrow later layer's backward products beside them (``dense_back``).
The per-batch element-wise kernels stay serial: on two shared cores, starting threads for a
128 x 300 batch cost more than it saved (README "Devices and threads").
Not here: deciding which kernel applies (``bpnn.fast``), BLAS products (NumPy).
"""

from __future__ import annotations

import os
from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..activations import Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from ..losses import BinaryCrossEntropy, SoftmaxCrossEntropy, SquaredError
from ..optim import SGD, Adam, AdamW, UpdateRule
from ._cache import cache_folder

# Whether the kernels are cached on disk (and where, when not as usual): a read-only install.
CACHE, CACHE_NOTE = cache_folder(__file__)

# The classes with a branch here, and their branch numbers (Numba compiles module-level ints in
# as constants).  A softmax output has no branch: the cross-entropy branch computes it.
ACTIVATIONS = (Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softplus)
SIGMOID, TANH, RELU, LEAKY_RELU, IDENTITY, SOFTPLUS = (c.code for c in ACTIVATIONS)
# Losses: squared error (with the output layer's own activation), softmax cross-entropy,
# sigmoid binary cross-entropy.  Targets always arrive as rows T (n, n_outputs).
LOSSES = (SquaredError, SoftmaxCrossEntropy, BinaryCrossEntropy)
SQUARED, CROSS_ENTROPY, BINARY_CROSS_ENTROPY = (c.code for c in LOSSES)

# Layout of the constants array ``c`` (the network's dtype) shared by the kernels.
C_LR, C_SCALE, C_HALF, C_ONE, C_ZERO, C_N = range(6)
N_CONSTS = 6


@njit(cache=CACHE, error_model="numpy", inline="always")
def _act(code, z, alpha, half, one, zero):
    """f(z) as ``Activation.forward`` computes it."""
    if code == SIGMOID:  # NumPy's path writes it 0.5 (1 + tanh(z/2)): equal up to rounding,
        return one / (one + np.exp(-z))  # and scalar exp is 3x faster than tanh here
    if code == TANH:
        return np.tanh(z)
    if code == RELU:
        return zero if z <= zero else z  # NaN passes through, as np.maximum does
    if code == LEAKY_RELU:
        return z if z > zero else alpha * z
    if code == SOFTPLUS:
        return (z if z > zero else zero) + np.log1p(np.exp(-abs(z)))
    return z  # IDENTITY


@njit(cache=CACHE, error_model="numpy", inline="always")
def _back(code, y, g, alpha, one, zero):
    """dE/dz from dE/dy = g and the output y, as ``Activation.backward`` computes it."""
    if code == SIGMOID:
        return g * (y * (one - y))
    if code == TANH:
        return g * (one - y * y)
    if code == RELU:  # (g * one == g: written so, the compiler stores whole vectors -- as
        # ``g`` it stored only the zeros, with masked stores, 3x slower on AMD's cores)
        return g * one if y > zero else zero
    if code == LEAKY_RELU:
        return g * (one if y > zero else alpha)
    if code == SOFTPLUS:
        return g * -np.expm1(-y)
    return g  # IDENTITY


# ---- per-sample SGD (batch size 1, plain SGD): the tutorial's algorithm ------------------------
@njit(cache=CACHE, error_model="numpy")
def compress_rows(images, indptr, cols, vals):
    """images (n, n_in) -> CSR: row s's non-zero inputs are cols/vals[indptr[s]:indptr[s+1]].

    images may be uint8 pixels or floats; vals has their dtype.

    With empty (0,) cols and vals it only counts: fills indptr and returns nnz.
    """
    n, n_in = images.shape
    nnz = 0
    for s in range(n):
        indptr[s] = nnz
        for i in range(n_in):
            p = images[s, i]
            if p != 0:
                if cols.shape[0]:
                    cols[nnz] = i
                    vals[nnz] = p
                nnz += 1
    indptr[n] = nnz
    return nnz


# The per-sample kernel's arguments, grouped (Numba passes named tuples through as they are).
SampleData = namedtuple("SampleData", "indptr cols vals T")
SampleData.__doc__ = """The samples: each row's non-zero inputs (``compress_rows``: indptr (n+1,),
columns, values) and the target rows T (n, n_outputs)."""
SampleNet = namedtuple("SampleNet", "W0T Ws bs acts alphas loss")
SampleNet.__doc__ = """The network as the kernel sees it: W0T (n_in, n_0), the first layer's
weights input-major; Ws, bs: every layer's W (n_out, n_in) and b (Ws[0] is not used); acts,
alphas: each layer's activation code and kernel parameter (n_layers,); loss: the loss's code."""
SampleScratch = namedtuple("SampleScratch", "A D xs")
SampleScratch.__doc__ = """Work arrays: A, D (n_layers, max_width) for each layer's outputs and
dE/dz; xs (n_in,) for a sample's scaled non-zero inputs."""


@njit(cache=CACHE, error_model="numpy")
def sgd_samples(data, idx, net, c, scratch):
    """Train on samples ``idx`` one at a time with plain SGD at rate c[C_LR]; returns the sum of
    their losses (float64).

    data: a ``SampleData``; idx: (k,) sample indices; net: a ``SampleNet`` (changed in place);
    c: the constants array; scratch: a ``SampleScratch``.  Zero pixels contribute nothing to the
    first layer's product and get a zero gradient, so both loops visit only the non-zero ones.
    """
    A, D, xs = scratch
    return _train_samples(data, idx, net, c, A, D, xs)


@njit(cache=True, error_model="numpy", nogil=True)
def sgd_samples_part(data, idx, net, c, A, D, xs):
    """``sgd_samples`` without the GIL, for one of several threads training the same network at
    once without locks (Hogwild, Recht et al. 2011: ``bpnn.fast.sample``).  Updates of different
    threads may interleave or overwrite each other, so results vary from run to run.

    A, D: (n_layers, max_width) and xs: (n_in,): this thread's own ``SampleScratch`` arrays.
    (A ``prange`` over the parts cannot take the network's tuples of layers, so the threads are
    Python's, each running this compiled loop with the GIL released.)
    """
    return _train_samples(data, idx, net, c, A, D, xs)


@njit(cache=True, error_model="numpy")
def _train_samples(data, idx, net, c, A, D, xs):
    """The loop of ``sgd_samples``; scratch A, D (n_layers, max_width), xs (n_in,)."""
    indptr, cols, vals, T = data
    W0T, Ws, bs, acts, alphas, loss = net
    n_layers = len(bs)
    lr, scale = c[C_LR], c[C_SCALE]
    half, one, zero = c[C_HALF], c[C_ONE], c[C_ZERO]
    n_0 = W0T.shape[1]
    total = 0.0
    for k in range(idx.shape[0]):
        s = idx[k]
        start, nnz = indptr[s], indptr[s + 1] - indptr[s]
        for t in range(nnz):
            xs[t] = vals[start + t]
            xs[t] = xs[t] * scale  # float(x) * scale, rounded as NumPy does
        # forward, layer 0: z = sum over non-zero pixels of x_i * W0T[i, :], then + b
        a = A[0]
        for j in range(n_0):
            a[j] = zero
        _sparse_product(a, W0T, cols, xs, start, nnz)
        _bias_act(a, bs[0], n_0, n_layers == 1, acts[0], alphas[0], half, one, zero)
        # forward, layers 1..: z_j = W[j] . a
        for li in range(1, n_layers):
            W, prev, a = Ws[li], A[li - 1], A[li]
            n_out, n_prev = W.shape
            for j in range(n_out):
                a[j] = _dot(W[j], prev, n_prev, zero)
            _bias_act(a, bs[li], n_out, li == n_layers - 1, acts[li], alphas[li], half, one, zero)
        total += _output_delta(
            A[n_layers - 1],
            D[n_layers - 1],
            T[s],
            Ws[n_layers - 1].shape[0],
            acts[n_layers - 1],
            alphas[n_layers - 1],
            loss,
            half,
            one,
            zero,
        )
        # backward: dE/da of the layer below uses the weights before this step's update
        for li in range(n_layers - 1, 0, -1):
            W, b, prev, dz, da = Ws[li], bs[li], A[li - 1], D[li], D[li - 1]
            n_out, n_prev = W.shape
            for i in range(n_prev):
                da[i] = zero
            for j in range(n_out):
                d = dz[j]
                for i in range(n_prev):
                    da[i] += d * W[j, i]
                    W[j, i] -= lr * (d * prev[i])
                b[j] -= lr * d
            for i in range(n_prev):
                da[i] = _back(acts[li - 1], prev[i], da[i], alphas[li - 1], one, zero)
        dz, b = D[0], bs[0]
        for t in range(nnz):  # zero pixels have a zero gradient: their rows stay as they are
            x, row = xs[t], W0T[cols[start + t]]
            for j in range(n_0):
                row[j] -= lr * (dz[j] * x)
        for j in range(n_0):
            b[j] -= lr * dz[j]
    return total


@njit(cache=CACHE, error_model="numpy", inline="always")
def _dot(w, v, n, zero):
    """w[:n] . v[:n] with eight running sums (independent, so the loop runs at full speed)."""
    m = n - n % 8
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
    for i in range(0, m, 8):
        s0 += w[i] * v[i]
        s1 += w[i + 1] * v[i + 1]
        s2 += w[i + 2] * v[i + 2]
        s3 += w[i + 3] * v[i + 3]
        s4 += w[i + 4] * v[i + 4]
        s5 += w[i + 5] * v[i + 5]
        s6 += w[i + 6] * v[i + 6]
        s7 += w[i + 7] * v[i + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for i in range(m, n):
        s += w[i] * v[i]
    return s


@njit(cache=CACHE, error_model="numpy", inline="always")
def _sparse_product(a, W0T, cols, xs, start, nnz, width=-1):
    """a += sum over t of xs[t] * W0T[cols[start + t]], rows in order, four per pass (the first
    ``width`` columns; -1: all).

    Adding four rows per pass rounds exactly as adding them one at a time (the same sums in the
    same order) but loads and stores ``a`` a quarter as often.
    """
    n_0 = W0T.shape[1] if width < 0 else width
    t = 0
    while t + 4 <= nnz:
        x0, x1, x2, x3 = xs[t], xs[t + 1], xs[t + 2], xs[t + 3]
        r0, r1 = W0T[cols[start + t]], W0T[cols[start + t + 1]]
        r2, r3 = W0T[cols[start + t + 2]], W0T[cols[start + t + 3]]
        for j in range(n_0):
            a[j] = (((a[j] + x0 * r0[j]) + x1 * r1[j]) + x2 * r2[j]) + x3 * r3[j]
        t += 4
    while t < nnz:
        x, row = xs[t], W0T[cols[start + t]]
        for j in range(n_0):
            a[j] += x * row[j]
        t += 1


@njit(cache=CACHE, error_model="numpy", inline="always")
def _bias_act(a, b, n, last, code, alpha, half, one, zero):
    """a[:n] <- f(a + b); the output layer gets only the bias (its activation is the loss's)."""
    if last:
        for j in range(n):
            a[j] = a[j] + b[j]
    else:
        for j in range(n):
            a[j] = _act(code, a[j] + b[j], alpha, half, one, zero)


@njit(cache=CACHE, error_model="numpy", inline="always")
def _output_delta(z, d, t, n_out, code, alpha, loss, half, one, zero):
    """Turn logits z into the output delta d (in place in z: the outputs); returns the loss.

    t: this sample's target row (n_out,), or d itself holding it (each t[j] is read before
    d[j] is written); each loss mirrors ``bpnn.losses`` term by term.
    """
    if loss == CROSS_ENTROPY:
        return _softmax_ce(z, d, t, n_out, zero)
    if loss == BINARY_CROSS_ENTROPY:
        return _sigmoid_bce(z, d, t, n_out, half, one, zero)
    value = zero  # SQUARED: 1/2 sum (t - y)^2, d = f'(y) (y - t)
    for j in range(n_out):
        y = _act(code, z[j], alpha, half, one, zero)
        z[j] = y
        value += (t[j] - y) * (t[j] - y)
        d[j] = _back(code, y, y - t[j], alpha, one, zero)
    return half * value


@njit(cache=CACHE, error_model="numpy", inline="always")
def _softmax_ce(z, d, t, n_out, zero):
    """Softmax cross-entropy: loss = logsumexp(z) sum(t) - t.z, d = softmax(z) sum(t) - t.

    For a one-hot t this is exactly the reference's index form (y * 1 = y, y - 0 = y).
    t may be d itself (``output_delta``): each t[j] is read before d[j] is written.
    """
    m = z[0]
    for j in range(1, n_out):
        m = max(m, z[j])
    st = tz = zero
    for j in range(n_out):
        st += t[j]
        tz += t[j] * z[j]
    s = zero
    for j in range(n_out):
        z[j] = np.exp(z[j] - m)
        s += z[j]
    value = (m + np.log(s)) * st - tz
    for j in range(n_out):
        z[j] = z[j] / s
        d[j] = z[j] * st - t[j]
    return value


@njit(cache=CACHE, error_model="numpy", inline="always")
def _sigmoid_bce(z, d, t, n_out, half, one, zero):
    """Binary cross-entropy from the logits: sum max(z, 0) - z t + log1p(exp(-|z|)); d = y - t."""
    value = zero
    for j in range(n_out):
        zj = z[j]
        value += ((zj if zj > zero else zero) - zj * t[j]) + np.log1p(np.exp(-abs(zj)))
        z[j] = _act(SIGMOID, zj, zero, half, one, zero)
        d[j] = z[j] - t[j]
    return value


# ---- mini-batch helpers ------------------------------------------------------------------------
@njit(cache=CACHE, error_model="numpy")
def gather_columns(images, batch, scale, mask, use_mask, flags, cols, X, runs):
    """Scaled rows ``images[batch]`` (uint8 or float), restricted to columns non-zero in some row.

    Fills cols[:k] with those column indices (ascending) and X[:n, :k] with
    ``float(x) * scale`` (times ``mask[r, col]`` when ``use_mask``: input dropout); returns k.
    Columns that are zero in every row of the batch add nothing to X @ W.T and get a zero
    gradient, so the products can skip them.  flags: (n_in,) uint8 scratch; runs: (n_in + 1,)
    intp scratch for the runs of consecutive columns (an image's non-zero columns come in a few
    long runs, 28 for a batch of MNIST, copied as slices: 0.08 -> 0.045 ms, a batch of 128).
    """
    n, n_in = batch.shape[0], images.shape[1]
    for i in range(n_in):
        flags[i] = 0
    for r in range(n):
        s = batch[r]
        for i in range(n_in):
            flags[i] |= images[s, i] != 0
    k = 0
    for i in range(n_in):
        cols[k] = i
        k += flags[i] != 0
    n_runs = 0  # run t: X columns runs[t]..runs[t + 1] - 1, from columns cols[runs[t]]...
    for q in range(k):
        if q == 0 or cols[q] != cols[q - 1] + 1:
            runs[n_runs] = q
            n_runs += 1
    runs[n_runs] = k
    for r in range(n):
        s = batch[r]
        for t in range(n_runs):
            a, b = runs[t], runs[t + 1]
            c0, c1 = cols[a], cols[a] + b - a
            if use_mask:
                _scaled(images[s, c0:c1], scale, mask[r, c0:c1], True, X[r, a:b])
            else:
                _scaled(images[s, c0:c1], scale, mask[0, :0], False, X[r, a:b])
    return k


@njit(cache=CACHE, error_model="numpy", inline="always")
def _scaled(x, scale, m, use_mask, out):
    """out <- float(x) * scale (* m when ``use_mask``, a constant), rounded as NumPy does."""
    for i in range(x.shape[0]):
        out[i] = x[i]
        out[i] = out[i] * scale
        if use_mask:
            out[i] = out[i] * m[i]


@njit(cache=CACHE, error_model="numpy")
def bias_act(Z, b, code, alpha, c):
    """Z <- f(Z + b) in place, row by row (Z: (n, m), b: (m,))."""
    half, one, zero = c[C_HALF], c[C_ONE], c[C_ZERO]
    n, m = Z.shape
    for r in range(n):
        for j in range(m):
            Z[r, j] = _act(code, Z[r, j] + b[j], alpha, half, one, zero)


@njit(cache=CACHE, error_model="numpy")
def act_back(dA, Y, code, alpha, c, db):
    """dA <- dE/dz from dE/dy = dA and outputs Y, in place (both (n, m)); db <- its column sums.

    The sums run row after row, as NumPy's ``dZ.sum(axis=0)`` does.  The code is a constant in
    each loop (the compiler drops the other branches and vectorises ReLU's: 128 x 300 float32
    0.28 -> 0.04 ms; with ``code`` read in the loop, softplus's branch kept it scalar).
    """
    one, zero = c[C_ONE], c[C_ZERO]
    for j in range(dA.shape[1]):
        db[j] = zero
    if code == RELU:
        _act_back_rows(dA, Y, RELU, alpha, one, zero, db)
    elif code == SIGMOID:
        _act_back_rows(dA, Y, SIGMOID, alpha, one, zero, db)
    elif code == TANH:
        _act_back_rows(dA, Y, TANH, alpha, one, zero, db)
    elif code == LEAKY_RELU:
        _act_back_rows(dA, Y, LEAKY_RELU, alpha, one, zero, db)
    elif code == SOFTPLUS:
        _act_back_rows(dA, Y, SOFTPLUS, alpha, one, zero, db)
    else:
        _act_back_rows(dA, Y, IDENTITY, alpha, one, zero, db)


@njit(cache=CACHE, error_model="numpy", inline="always")
def _act_back_rows(dA, Y, code, alpha, one, zero, db):
    """``act_back``'s loop for one activation code (a constant where it is inlined)."""
    n, m = dA.shape
    for r in range(n):
        for j in range(m):
            dA[r, j] = _back(code, Y[r, j], dA[r, j], alpha, one, zero)
            db[j] += dA[r, j]


@njit(cache=CACHE, error_model="numpy")
def output_delta(Z, b, T, batch, code, alpha, loss, c, D, db, w, use_w):
    """Logits Z (+ b, in place, becoming the outputs) -> D = dE/dz / n; returns the loss sum.

    T: (n_samples, n_outputs) target rows, row batch[r] for Z[r]; db <- the column sums of D.
    c[C_N] holds n in the network's dtype: the reference divides by it (not times 1/n).
    With ``use_w``, sample weights w (n_samples,): D = dE/dz w / sum(w) (c[C_N] holds the
    batch's sum of weights) and the loss sum is sum w E, as the reference weights them.
    """
    half, one, zero = c[C_HALF], c[C_ONE], c[C_ZERO]
    fn = c[C_N]
    n, m = Z.shape
    total = 0.0
    for j in range(m):
        db[j] = zero
    # D <- the batch's target rows first: loads that wait for nothing (T's rows are scattered
    # over memory; fetched row by row between the exponentials, 13 us of a batch of 128 waited)
    for r in range(n):
        t, d = T[batch[r]], D[r]
        for j in range(m):
            d[j] = t[j]
    for r in range(n):
        z, d = Z[r], D[r]
        for j in range(m):
            z[j] = z[j] + b[j]
        value = _output_delta(z, d, d, m, code, alpha, loss, half, one, zero)
        if use_w:
            wr = w[batch[r]]
            total += wr * value
            for j in range(m):
                d[j] = d[j] * wr
        else:
            total += value
        for j in range(m):
            d[j] = d[j] / fn
            db[j] += d[j]
    return total


# ---- optimiser updates: an UpdateRule (bpnn.optim), operation by operation as ``step`` does ----
OPTIMIZERS = (SGD, Adam, AdamW)  # the optimisers whose rules these kernels run
SGD_KIND, ADAM_KIND = SGD.code, Adam.code  # (AdamW is Adam's kind with decoupled decay)
# The UpdateRule fields the compiled mini-batch path reads: kind and nesterov as arguments, the
# numbers in the coefficients array ``u`` (the network's dtype) that ``coefficients`` fills, laid
# out below; clip_norm scales the gradients before the kernels run (``BatchStepper._update``,
# ``_small_update``);
# decoupled moves the decay from U_WD (added to the gradient) to U_DWD (taken off the weights).
RULE_FIELDS = (
    "clip_norm",
    "decoupled",
    "kind",
    "nesterov",
    "lr",
    "momentum",
    "weight_decay",
    "step",
    "beta1",
    "beta2",
    "eps",
)
U_LR, U_MU, U_WD, U_STEP, U_B1, U_B2, U_C1, U_C2, U_EPS, U_ZERO, U_DWD = range(11)
N_COEFFS = 11


def coefficients(rule: UpdateRule, out: np.ndarray) -> np.ndarray:
    """``out`` (N_COEFFS,) of the network's dtype filled from ``rule`` for the update kernels.

    Each scalar is rounded once to the dtype, as the NumPy path's float32 arithmetic rounds it;
    1 - beta1 and 1 - beta2 are formed in float64 first, as ``Adam.step`` forms them, and so is
    AdamW's lr weight_decay (``UpdateRule.shrunk``).  Decoupled decay: U_WD 0, U_DWD lr wd;
    else U_WD wd, U_DWD 0.
    """
    wd = rule.weight_decay
    out[U_LR], out[U_MU] = rule.lr, rule.momentum
    out[U_WD], out[U_DWD] = (0.0, rule.lr * wd) if rule.decoupled else (wd, 0.0)
    out[U_STEP], out[U_B1], out[U_B2] = rule.step, rule.beta1, rule.beta2
    out[U_C1], out[U_C2], out[U_EPS], out[U_ZERO] = 1 - rule.beta1, 1 - rule.beta2, rule.eps, 0
    return out


@njit(cache=CACHE, error_model="numpy", inline="always")
def _scalars(u):
    """The coefficients u (N_COEFFS,) as a tuple of scalars: read once per kernel call, so the
    inner loops keep them in registers (loads from an array that might alias P are not hoisted)."""
    return (u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10])


@njit(cache=CACHE, error_model="numpy", inline="always")
def _update_one(kind, nesterov, k, p, g, s1, s2, use_s, wd, dwd, dec=True):
    """One element: returns (p, s1, s2) after the step.  k: ``_scalars(u)``; s1: SGD's velocity
    or Adam's m (used when ``use_s``), s2: Adam's v; wd, dwd: this parameter's weight decay and
    decoupled decay lr wd (0 for biases).

    AdamW first: p <- p - dwd p.  SGD: g' = g + wd p; v <- mu v + g'; p <- p - lr (v, or
    g' + mu v with Nesterov).  Adam: m <- b1 m + (1 - b1) g'; v <- b2 v + (1 - b2) g'^2;
    p <- p - step m / (sqrt(v) + eps).  ``dec`` False (a constant): wd and dwd are 0, so both
    decay branches go at compile time (the same result: they would be skipped).
    """
    if dec and dwd != 0:
        p = p - dwd * p
    if dec and wd != 0:
        g = g + wd * p
    if kind == ADAM_KIND:
        m = s1 * k[U_B1]
        m = m + k[U_C1] * g
        v = s2 * k[U_B2]
        v = v + k[U_C2] * (g * g)
        return p - (k[U_STEP] * m) / (np.sqrt(v) + k[U_EPS]), m, v
    if use_s:
        mu = k[U_MU]
        s1 = s1 * mu
        s1 = s1 + g
        g = g + mu * s1 if nesterov else s1
    return p - k[U_LR] * g, s1, s2


@njit(cache=CACHE, error_model="numpy", inline="always")
def _update_at(i, kind, nesterov, k, p, g, s1, s2, use_s, use_s2, wd, dwd, dec=True):
    """One step of element i of flat p, g, s1, s2 (a state unused: ``use_s``/``use_s2`` False);
    ``dec``: as in ``_update_one``."""
    zero = k[U_ZERO]
    a = s1[i] if use_s else zero
    b = s2[i] if use_s2 else zero
    p[i], a, b = _update_one(kind, nesterov, k, p[i], g[i], a, b, use_s, wd, dwd, dec)
    if use_s:
        s1[i] = a
    if use_s2:
        s2[i] = b


@njit(cache=CACHE, error_model="numpy")
def update(kind, nesterov, u, p, g, s1, s2, decay):
    """One optimiser step on flat arrays p, g (n,) with state s1, s2 (n,), or (0,) when the
    optimiser has none; ``decay``: weight decay applies (weight matrices, not biases)."""
    k = _scalars(u)
    wd = k[U_WD] if decay else k[U_ZERO]
    dwd = k[U_DWD] if decay else k[U_ZERO]
    use_s = s1.shape[0] > 0
    # the kind as a constant in each loop: the compiler drops the other kind's branch; without
    # decay, loops without its branches too (vectorised: Adam on 12,000 float32 weights 71 ->
    # 16 us, ``benchmarks/small_nets.py``'s machine)
    if wd == 0 and dwd == 0:
        if kind == ADAM_KIND:
            for i in range(p.shape[0]):
                _update_at(i, ADAM_KIND, nesterov, k, p, g, s1, s2, True, True, wd, dwd, False)
        else:
            for i in range(p.shape[0]):
                _update_at(i, SGD_KIND, nesterov, k, p, g, s1, s2, use_s, False, wd, dwd, False)
    elif kind == ADAM_KIND:
        for i in range(p.shape[0]):
            _update_at(i, ADAM_KIND, nesterov, k, p, g, s1, s2, True, True, wd, dwd)
    else:
        for i in range(p.shape[0]):
            _update_at(i, SGD_KIND, nesterov, k, p, g, s1, s2, use_s, False, wd, dwd)


@njit(cache=CACHE, error_model="numpy", inline="always")
def _update_row(r, q, kind, nesterov, k, P, Gc, S1, S2, wd, dwd, dec=True):
    """One step of row r of P, whose gradient is Gc[q] (q < 0: a zero gradient); S1, S2 like P
    or (0, 0); wd, dwd: P's weight decay and decoupled decay.  SGD leaves a row with a zero
    gradient as it is unless momentum or decay moves it."""
    zero = k[U_ZERO]
    # Adam always keeps both states, SGD at most a velocity: constants once ``kind`` is one
    use_s, use_s2 = kind == ADAM_KIND or S1.shape[0] > 0, kind == ADAM_KIND
    if kind == SGD_KIND and not (q >= 0 or use_s or wd != 0):
        return
    Pr = P[r]
    for j in range(P.shape[1]):
        g = Gc[q, j] if q >= 0 else zero
        a = S1[r, j] if use_s else zero
        b = S2[r, j] if use_s2 else zero
        Pr[j], a, b = _update_one(kind, nesterov, k, Pr[j], g, a, b, use_s, wd, dwd, dec)
        if use_s:
            S1[r, j] = a
        if use_s2:
            S2[r, j] = b


@njit(cache=CACHE, error_model="numpy")
def _rows_undecayed(kind, nesterov, c, P, Gc, cols, k, S1, S2):
    """``update_rows`` of Adam or stateless SGD without weight decay: the same operations in a
    function of its own, whose loops the compiler vectorises (Adam's W0 step 1.45 -> 0.88 ms)."""
    zero = c[U_ZERO]
    q = 0
    for r in range(P.shape[0]):
        hit = q < k and cols[q] == r
        if kind == ADAM_KIND:
            _update_row(
                r, q if hit else -1, ADAM_KIND, nesterov, c, P, Gc, S1, S2, zero, zero, False
            )
        else:
            _update_row(
                r, q if hit else -1, SGD_KIND, nesterov, c, P, Gc, S1, S2, zero, zero, False
            )
        q += hit


@njit(cache=CACHE, error_model="numpy", inline="always")
def _rows_momentum(nesterov, c, P, Gc, cols, k, V):
    """``update_rows`` of SGD with momentum V (like P) and no weight decay, row by row on row
    views, each element as ``_update_one`` computes it.  ``nesterov`` is a constant."""
    lr, mu, zero = c[U_LR], c[U_MU], c[U_ZERO]
    q = 0
    for r in range(P.shape[0]):
        if q < k and cols[q] == r:
            _momentum_row(nesterov, True, lr, mu, P[r], V[r], Gc[q], zero)
            q += 1
        else:  # (Gc[0] is not read: the gradient is zero)
            _momentum_row(nesterov, False, lr, mu, P[r], V[r], Gc[0], zero)


@njit(cache=CACHE, error_model="numpy", inline="always")
def _momentum_row(nesterov, hit, lr, mu, p, v, g, zero):
    """p, v (m,) one step: v <- mu v + g; p <- p - lr (v, or g + mu v with Nesterov).  g: the
    gradient row (m,) when ``hit``, else zero (added all the same: it turns a velocity of -0
    into +0, as ``_update_one`` does).  Both flags are constants, so each loop is vectorised."""
    for j in range(p.shape[0]):
        gj = g[j] if hit else zero
        s = v[j] * mu
        s = s + gj
        v[j] = s
        p[j] = p[j] - lr * (gj + mu * s if nesterov else s)


@njit(cache=CACHE, error_model="numpy")
def update_rows(kind, nesterov, u, P, Gc, cols, k, S1, S2, decay):
    """One step on a weight matrix P (n_in, m) whose gradient is Gc[q] in row cols[q] (q < k)
    and zero elsewhere; state S1, S2 like P, or (0, 0) when the optimiser has none; ``decay``:
    weight decay applies to P."""
    c = _scalars(u)
    wd = c[U_WD] if decay else c[U_ZERO]
    dwd = c[U_DWD] if decay else c[U_ZERO]
    # Without decay, Adam's and plain SGD's rows run in a loop of their own (measured faster);
    # momentum's in one written on row views (in _rows_undecayed it got slower: 0.13 -> 0.26 ms;
    # on row views 0.13 -> 0.074 ms, Nesterov 0.14 -> 0.081 ms; 784 x 300 float32).
    if wd == 0 and dwd == 0:
        if kind == ADAM_KIND or S1.shape[0] == 0:
            _rows_undecayed(kind, nesterov, c, P, Gc, cols, k, S1, S2)
        elif nesterov:
            _rows_momentum(True, c, P, Gc, cols, k, S1)
        else:
            _rows_momentum(False, c, P, Gc, cols, k, S1)
        return
    q = 0
    for r in range(P.shape[0]):
        hit = q < k and cols[q] == r
        if kind == ADAM_KIND:  # the kind as a constant: the compiler drops the other branch
            _update_row(r, q if hit else -1, ADAM_KIND, nesterov, c, P, Gc, S1, S2, wd, dwd)
        else:
            _update_row(r, q if hit else -1, SGD_KIND, nesterov, c, P, Gc, S1, S2, wd, dwd)
        q += hit


@njit(cache=CACHE, error_model="numpy")
def gather_rows(W, cols, k, out):
    """out[:k] <- W[cols[:k]] (rows; an explicit loop copies 3x faster than a slice here)."""
    for q in range(k):
        src, dst = W[cols[q]], out[q]
        for j in range(W.shape[1]):
            dst[j] = src[j]


# ---- layer 0 from the inputs' listed non-zeros (``SmallRows``), in parallel --------------------
# The batch's rows are split into parts (counts.shape[0], one a thread), consecutive and in
# order, so each input's entries are listed in row order whatever the number of parts, and each
# sum runs on one thread in a fixed order: the results do not depend on the threads.
@njit(cache=CACHE, error_model="numpy", parallel=True)
def listed_product0(ptr, cols, vals, batch, c, mask, use_mask, W0T, XV, counts, A):
    """A[r] <- sum over row batch[r]'s listed inputs of v * W0T[col], v = ``float(x) * scale``
    (times ``mask[r, col]`` when ``use_mask``: input dropout), rows in parallel.

    ptr, cols, vals: X's non-zero values by row (``SmallRows``); c: the constants (C_SCALE,
    C_ZERO); W0T (n_in, n_0); A (n, n_0).  XV (n, m) <- each row's values v in column order;
    counts (parts, n_in) <- how many of each part's rows list each input (``listed_gradient0``
    reads both).  Each row's sum runs over its inputs in column order, four per pass
    (``_sparse_product``).
    """
    n, parts = batch.shape[0], counts.shape[0]
    n_0, scale, zero = W0T.shape[1], c[C_SCALE], c[C_ZERO]
    for part in prange(parts):
        count = counts[part]
        count[:] = 0
        for r in range(part * n // parts, (part + 1) * n // parts):
            s, xs, a = batch[r], XV[r], A[r]
            p0 = ptr[s]
            m = ptr[s + 1] - p0
            for t in range(m):  # (x rounded to the network's dtype, as the reference's float(x))
                i = cols[p0 + t]
                xs[t] = vals[p0 + t]
                xs[t] = xs[t] * scale
                if use_mask:
                    xs[t] = xs[t] * mask[r, i]
                count[i] += 1
            for j in range(n_0):
                a[j] = zero
            _sparse_product(a, W0T, cols, xs, p0, m)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def listed_gradient0(ptr, cols, batch, XV, counts, D, c, out_cols, by_column, G):
    """Layer 0's gradient from the rows of ``listed_product0`` (XV, counts): returns k, the
    inputs listed in some row, with out_cols[:k] those inputs (ascending) and
    G[q] <- sum over the rows r listing input out_cols[q] of v * D[r], in row order, the inputs
    in parallel.  D (n, n_0): layer 0's dE/dz; by_column: (yptr (n_in + 1,), yrow, yval (n * m,))
    scratch <- input q's rows and values at yptr[q]:yptr[q + 1]; counts become write positions.
    """
    yptr, yrow, yval = by_column
    n, parts, n_in = batch.shape[0], counts.shape[0], counts.shape[1]
    k = total = 0
    for i in range(n_in):  # (serial: 784 inputs)
        first = total
        for part in range(parts):
            count = counts[part, i]
            counts[part, i] = total
            total += count
        if total > first:
            out_cols[k], yptr[k] = i, first
            k += 1
    yptr[k] = total
    for part in prange(parts):
        at = counts[part]
        for r in range(part * n // parts, (part + 1) * n // parts):
            s = batch[r]
            p0 = ptr[s]
            for t in range(ptr[s + 1] - p0):
                i = cols[p0 + t]
                e = at[i]
                yrow[e], yval[e] = r, XV[r, t]
                at[i] = e + 1
    zero = c[C_ZERO]
    for q in prange(k):
        g, p0 = G[q], yptr[q]
        for j in range(D.shape[1]):
            g[j] = zero
        _sparse_product(g, D, yrow, yval[p0:], p0, yptr[q + 1] - p0)
    return k


@njit(cache=CACHE, error_model="numpy", parallel=True)
def dense_back(dZ, inp, W, dW, dA, ident):
    """A later layer's two backward products on Numba's threads, for the listed inputs' steps
    (``bpnn.fast.batch``), where BLAS has one thread: dW <- dZ^T inp, dA <- dZ W.

    dZ (n, n_out): the layer's dE/dz; inp (n, n_prev): its inputs; W, dW (n_out, n_prev);
    dA (n, n_prev); ident: 0, 1, ... (at least max(n, n_out)).  Each dW row sums over the rows
    in order, each dA row over the outputs in order (``_sparse_product``, rows listed by ident),
    one thread a sum: the results do not depend on the threads.  2 n_out tasks of n n_prev
    multiply-adds each: dW's rows, then dA's rows in n_out parts (a 300-10 layer, batch of 128,
    float32: 24 us on two threads, BLAS's two products 38-53 us on one).
    """
    n, n_out = dZ.shape
    m = W.shape[1]
    zero = dZ.dtype.type(0)
    for task in prange(2 * n_out):
        if task < n_out:
            g = dW[task]
            for j in range(m):
                g[j] = zero
            _sparse_product(g, inp, ident, dZ[:, task], 0, n)
        else:
            part = task - n_out
            for r in range(part * n // n_out, (part + 1) * n // n_out):
                a = dA[r]
                for j in range(m):
                    a[j] = zero
                _sparse_product(a, W, ident, dZ[r], 0, n_out)


# ---- parallel twins of the updates (the same element-wise operations) ------------------------
PARALLEL_SIZE = 1 << 20  # elements from which an update may pay for starting the threads


@njit(cache=CACHE, error_model="numpy", parallel=True)
def update_parallel(kind, nesterov, u, p, g, s1, s2, decay):
    """``update`` with the elements in parallel."""
    k = _scalars(u)
    wd = k[U_WD] if decay else k[U_ZERO]
    dwd = k[U_DWD] if decay else k[U_ZERO]
    use_s = s1.shape[0] > 0
    if kind == ADAM_KIND:  # the kind as a constant in each loop, as in ``update``
        for i in prange(p.shape[0]):
            _update_at(i, ADAM_KIND, nesterov, k, p, g, s1, s2, True, True, wd, dwd)
    else:
        for i in prange(p.shape[0]):
            _update_at(i, SGD_KIND, nesterov, k, p, g, s1, s2, use_s, False, wd, dwd)


@njit(cache=CACHE, error_model="numpy")
def _row_slots(cols, k, n_rows, slot):
    """slot[r] = q where cols[q] == r (q < k), else -1: the gradient row of each row."""
    for r in range(n_rows):
        slot[r] = -1
    for q in range(k):
        slot[cols[q]] = q


@njit(cache=CACHE, error_model="numpy", parallel=True)
def update_rows_parallel(kind, nesterov, u, P, Gc, cols, k, S1, S2, decay, slot):
    """``update_rows`` with the rows in parallel, each row's loop as there (the kind, the
    flags and the decay constants in each); slot: (n_in,) intp scratch."""
    c = _scalars(u)
    wd = c[U_WD] if decay else c[U_ZERO]
    dwd = c[U_DWD] if decay else c[U_ZERO]
    lr, mu, zero = c[U_LR], c[U_MU], c[U_ZERO]
    _row_slots(cols, k, P.shape[0], slot)
    if wd == 0 and dwd == 0 and kind != ADAM_KIND and S1.shape[0] > 0:  # momentum: row views
        for r in prange(P.shape[0]):
            q = slot[r]
            if nesterov and q >= 0:
                _momentum_row(True, True, lr, mu, P[r], S1[r], Gc[q], zero)
            elif nesterov:
                _momentum_row(True, False, lr, mu, P[r], S1[r], Gc[0], zero)
            elif q >= 0:
                _momentum_row(False, True, lr, mu, P[r], S1[r], Gc[q], zero)
            else:
                _momentum_row(False, False, lr, mu, P[r], S1[r], Gc[0], zero)
    elif wd == 0 and dwd == 0:
        for r in prange(P.shape[0]):
            if kind == ADAM_KIND:
                _update_row(r, slot[r], ADAM_KIND, nesterov, c, P, Gc, S1, S2, zero, zero, False)
            else:
                _update_row(r, slot[r], SGD_KIND, nesterov, c, P, Gc, S1, S2, zero, zero, False)
    else:
        for r in prange(P.shape[0]):
            if kind == ADAM_KIND:
                _update_row(r, slot[r], ADAM_KIND, nesterov, c, P, Gc, S1, S2, wd, dwd)
            else:
                _update_row(r, slot[r], SGD_KIND, nesterov, c, P, Gc, S1, S2, wd, dwd)


def compiled_before(names) -> bool:
    """Whether Numba's disk cache already holds each kernel named (False: this run compiles
    them, a pause before the first epoch worth a line in the log).  True where nothing is cached
    at all (``CACHE_NOTE`` says that) or Numba's internals are not those this reads.  A kernel
    cached for one input type and compiled anew for another is not seen."""
    if not CACHE:
        return True
    try:
        return all(os.path.exists(globals()[name]._cache._cache_file._index_path) for name in names)
    except AttributeError:  # (a misnamed kernel is a KeyError: a stepper's mistake, shown)
        return True


# ---- mini-batches of a small network: a whole call in one compiled loop -----------------------
# For a small network a step's arithmetic costs less than calling BLAS and the kernels above
# once per layer from Python (0.15 ms a step), so ``train_small``
# runs every batch of a call -- dropout draws, forward, loss, backward, update -- in one loop.
SmallGrads = namedtuple("SmallGrads", "G0T dWs dbs")
SmallGrads.__doc__ = """Gradients: G0T like ``SampleNet.W0T``; dWs, dbs like its Ws, bs (dWs[0]
is not used)."""
SmallUpdate = namedtuple("SmallUpdate", "ps gs s1s s2s decay clip")
SmallUpdate.__doc__ = """The optimiser's step, one entry per parameter (W0T, b0, W1, b1, ...):
ps, gs: flat views of each parameter and its gradient; s1s, s2s: flat views of its state, or
(0,) arrays where the optimiser keeps none; decay: (n_params,) bool, weight decay applies;
clip: (2,) of the network's dtype, the rule's clip_norm (0: none) and room for the norm."""
SmallScratch = namedtuple("SmallScratch", "A D inp mask xv xc xn yv yr yn WTs V0")
SmallScratch.__doc__ = """Work arrays for batches of up to B rows: A, D (n_layers, B, width):
each layer's outputs and dE/dz; inp, mask (n_layers, B, in_width): layer i's dropped-out inputs
and mask (i >= 1); xv, xc (B, n_in) and xn (B,): each row's non-zero inputs, scaled (and
dropped out: values, columns, how many); yv,
yr (n_in, B) and yn (n_in,): each column's (values, rows, how many); WTs: per layer, W
transposed (n_in, n_out) where the layer is wide (``_small_layer``), else (0, 0); V0 (n_in,
n_0): layer 0's run sums (``SmallRows``' chained), else (0, 0)."""


SmallRows = namedtuple("SmallRows", "ptr cols vals chained")
SmallRows.__doc__ = """Inputs X (n, n_in) by their non-zero values, row after row: row s's are
vals[ptr[s]:ptr[s + 1]] (of X's dtype) in the columns cols[...] (uint16 or int32, ascending);
ptr (n + 1,) int64.  Empty arrays: none found (the kernel reads X's rows whole).

chained (n_in,) bool, or empty: the inputs come in runs (input i continues input i - 1's run
where chained[i]; a piecewise-linear encoding's bins: ones, a fraction, zeros), and the rows
hold each run's differences z_i = x_i - x_{i+1} (the run's last: x_i), two non-zeros a run
instead of half of it.  Layer 0 then multiplies z by its weights' run sums V[i] = sum of W0T[j]
over j <= i in i's run (sum_i z_i V[i] = sum_j x_j W0T[j]), and the gradient with respect to
W0T[j] is the sum of V's gradients over i >= j in the run (``_run_sums``, ``_small_backward``).
Runs need the rows listed: empty arrays come with an empty chained only."""


@njit(cache=CACHE, error_model="numpy")
def train_small(
    X, rows, T, w, use_w, idx, batch_size, net, grads, upd, rule, c, u, steps, drop, sc, done
):
    """Train on samples ``idx`` in consecutive batches of ``batch_size``; returns the sum of
    their losses (float64), as ``BatchStepper`` calls would.

    X (n, n_in) uint8 or float, rows: its non-zero values by row (``SmallRows``, or empty),
    T (n, n_out) target rows; w (n,) sample weights (``use_w``);
    net: a ``SampleNet`` (changed in place); grads: ``SmallGrads``; upd: ``SmallUpdate``;
    rule: (kind, nesterov); c: the constants (c[C_N] set per batch); u: the coefficients, with
    u[U_STEP] <- steps[b] for batch b (Adam's step sizes); drop: (active (n_layers,) bool,
    bounds (n_layers,) int64, scales (n_layers,) of the dtype, bits (k,) uint32): which
    layers drop inputs and how, their masks read from 32-bit halves of the generator's raw
    draws (``bpnn.dropout.halves``; a unit is kept where its half is below its layer's bound,
    ``bpnn.dropout.thresholds``) in the order the reference draws them (batch after batch,
    layer by layer, each mask row-major from an even position: a draw of its own), so the
    stepper draws them all at once, as fast as NumPy draws;
    sc: ``SmallScratch``; done (1,) int64 <- the steps begun (also when stopped by an error
    part way).
    """
    W0T, Ws, bs, acts, alphas, loss = net
    n_layers, chained = len(bs), rows.chained
    runs = chained.shape[0] > 0
    F0 = sc.V0 if runs else W0T  # what layer 0 multiplies the listed inputs by
    _small_transposed(Ws, sc.WTs)  # (the network may have changed between calls)
    if runs:
        _run_sums(W0T, chained, F0)
    total = 0.0
    b = at = 0  # batch number, halves used
    for start in range(0, idx.shape[0], batch_size):
        batch = idx[start : min(start + batch_size, idx.shape[0])]
        n = batch.shape[0]
        c[C_N] = n
        if use_w:  # the batch's sum of weights, or 1 when all are zero (a zero gradient)
            ws = c[C_ZERO]
            for r in range(n):
                ws += w[batch[r]]
            c[C_N] = ws if ws > c[C_ZERO] else c[C_ONE]
        at = _small_inputs(X, rows, batch, c[C_SCALE], drop, at, sc)
        _small_product0(F0, n, c[C_ZERO], sc)
        for li in range(n_layers):
            if li > 0:
                at = _small_layer(Ws[li], sc.WTs[li], li, n, drop, at, c[C_ZERO], sc)
            if li < n_layers - 1:
                _act_rows(sc.A[li], bs[li], n, acts[li], alphas[li], c)
        last, m = n_layers - 1, bs[n_layers - 1].shape[0]
        total += output_delta(
            sc.A[last, :n, :m], bs[last], T, batch, acts[last], alphas[last], loss, c,
            sc.D[last, :n, :m], grads.dbs[last], w, use_w,
        )  # fmt: skip
        _small_backward(net, grads, n, drop, chained, c, sc)
        u[U_STEP] = steps[b]
        b += 1
        done[0] = b  # (counted as it starts, as ``Optimizer.next_rule`` counts a step)
        _small_update(upd, rule, u)
        _small_transposed(Ws, sc.WTs)
        if runs:
            _run_sums(W0T, chained, F0)
    return total


@njit(cache=CACHE, error_model="numpy")
def _run_sums(W0T, chained, V):
    """V[i] <- W0T[i] + V[i - 1] where input i continues a run (chained[i], i > 0), else W0T[i].
    (Summed in a row of its own: reading V's row before, the loop ran 4x slower.)"""
    m = W0T.shape[1]
    acc = np.zeros(m, W0T.dtype)
    for i in range(W0T.shape[0]):
        w, v = W0T[i], V[i]
        if chained[i] and i > 0:
            for j in range(m):
                acc[j] += w[j]
        else:
            for j in range(m):
                acc[j] = w[j]
        for j in range(m):
            v[j] = acc[j]


@njit(cache=CACHE, error_model="numpy")
def _small_inputs(X, rows, batch, scale, drop, at, sc):
    """The batch's non-zero inputs ``float(x) * scale`` (times layer 0's mask) by row (xv, xc,
    xn) and by column (yv, yr, yn), each in column and row order.  rows: X's non-zero values
    by row (``SmallRows``), or empty arrays: then each row of X is read whole.  The mask reads
    the uniform of every non-zero input (row-major, as the reference draws one for every
    input) from drop's bits[at:]; returns the next unread (even) position.  (The rows found
    once: finding them batch by batch, a compare and store per input, was most of a step
    with a few hundred inputs.)"""
    ptr, cols, vals, _ = rows
    active, bounds, scales, bits = drop
    mask = (active[0], bounds[0], scales[0], scales[0] * 0, bits)
    xv, xc, xn, yv, yr, yn = sc.xv, sc.xc, sc.xn, sc.yv, sc.yr, sc.yn
    n, n_in = batch.shape[0], X.shape[1]
    for r in range(n):
        s, v_r, c_r, first = batch[r], xv[r], xc[r], at + r * n_in
        k = 0
        if ptr.shape[0] > 0:
            for p in range(ptr[s], ptr[s + 1]):
                k = _small_input(vals[p], cols[p], v_r, c_r, k, scale, mask, first)
        else:
            for i in range(n_in):
                if X[s, i] != 0:
                    k = _small_input(X[s, i], i, v_r, c_r, k, scale, mask, first)
        xn[r] = k
    if active[0]:
        at += n * n_in + (n * n_in) % 2
    for i in range(n_in):
        yn[i] = 0
    for r in range(n):  # (rows in order: each column's entries in row order)
        for t in range(xn[r]):
            i = xc[r, t]
            q = yn[i]
            yv[i, q], yr[i, q] = xv[r, t], r
            yn[i] = q + 1
    return at


@njit(cache=CACHE, error_model="numpy", inline="always")
def _small_input(x, i, v_r, c_r, k, scale, mask, first):
    """Input i of a row, x, as ``float(x) * scale`` (times its mask, the uniform of
    bits[first + i]) into v_r[k], c_r[k]; returns k + 1 if that is non-zero (else the slot is
    written again)."""
    on, bound, kept, dropped, bits = mask
    v_r[k] = x  # (rounded to the network's dtype, as the reference's float(x))
    v = v_r[k] * scale
    if on:
        v = v * (kept if np.int64(bits[first + i]) < bound else dropped)
    v_r[k], c_r[k] = v, i
    return k + (v != 0)


@njit(cache=CACHE, error_model="numpy")
def _small_product0(W0T, n, zero, sc):
    """Layer 0's products: A[0, r] = sum over row r's kept inputs of x * W0T[col]."""
    A, xv, xc, xn = sc.A[0], sc.xv, sc.xc, sc.xn
    for r in range(n):
        a = A[r]
        for j in range(W0T.shape[1]):
            a[j] = zero
        _sparse_product(a, W0T, xc[r], xv[r], 0, xn[r])


@njit(cache=CACHE, error_model="numpy")
def _small_layer(W, WT, li, n, drop, at, zero, sc):
    """Layer li's products A[li, r, j] = W[j] . input_r; with dropout, the input is A[li - 1]
    times a mask read from drop's bits[at:] (row-major); returns the next unread (even)
    position.
    WT: W transposed (m_in, m), or (0, 0): a wide layer adds input_r[k] WT[k] over the non-zero
    inputs (vectorised, and a ReLU's zeros skipped), a narrow one takes dot products."""
    active, bounds, scales, bits = drop
    m, m_in = W.shape
    prev, out = sc.A[li - 1], sc.A[li]
    if active[li]:
        bound, kept, inp, mask = bounds[li], scales[li], sc.inp[li], sc.mask[li]
        dropped = kept * 0
        for r in range(n):
            u, mr, a, out_r = bits[at + r * m_in :], mask[r], prev[r], inp[r]
            for i in range(m_in):
                mr[i] = kept if np.int64(u[i]) < bound else dropped
                out_r[i] = a[i] * mr[i]
        at += n * m_in + (n * m_in) % 2
        prev = inp
    if WT.shape[0] == 0:
        for r in range(n):
            for j in range(m):
                out[r, j] = _dot(W[j], prev[r], m_in, zero)
        return at
    for r in range(n):
        o, a = out[r], prev[r]
        for j in range(m):
            o[j] = zero
        for k in range(m_in):
            if a[k] != zero:
                x, wk = a[k], WT[k]
                for j in range(m):
                    o[j] += x * wk[j]
    return at


@njit(cache=CACHE, error_model="numpy")
def _small_transposed(Ws, WTs):
    """WTs[li] <- Ws[li].T where WTs[li] is in use (not (0, 0))."""
    for li in range(len(Ws)):
        WT, W = WTs[li], Ws[li]
        if WT.shape[0] > 0:
            for j in range(W.shape[0]):
                row = W[j]
                for k in range(W.shape[1]):
                    WT[k, j] = row[k]


@njit(cache=CACHE, error_model="numpy")
def _small_backward(net, grads, n, drop, chained, c, sc):
    """Gradients of every layer from the output deltas sc.D[last] (and its db, already set);
    with runs (``chained``, ``SmallRows``), layer 0's are those of the weights the run sums
    add up: G0T[i] adds G0T[i + 1] where input i + 1 continues i's run."""
    _, Ws, bs, acts, alphas, _ = net
    G0T, dWs, dbs = grads
    active = drop[0]
    one, zero = c[C_ONE], c[C_ZERO]
    for li in range(len(bs) - 1, 0, -1):
        W, dW, dz, da = Ws[li], dWs[li], sc.D[li], sc.D[li - 1]
        m, m_in = W.shape
        inp = sc.inp[li] if active[li] else sc.A[li - 1]
        dW[:, :] = zero
        for r in range(n):
            for j in range(m):
                d = dz[r, j]
                if d != zero:
                    row = dW[j]
                    for i in range(m_in):
                        row[i] += d * inp[r, i]
        db, y, code, alpha = dbs[li - 1], sc.A[li - 1], acts[li - 1], alphas[li - 1]
        for r in range(n):
            g = da[r]
            for i in range(m_in):
                g[i] = zero
            for j in range(m):
                d, wj = dz[r, j], W[j]
                for i in range(m_in):
                    g[i] += d * wj[i]
            if active[li]:
                for i in range(m_in):
                    g[i] = g[i] * sc.mask[li, r, i]
        _back_rows(da, y, n, m_in, code, alpha, one, zero, db)
    # layer 0: G0T[i] = sum over the rows r where input i is non-zero of x[r, i] D[0, r]
    # (+ G0T[i + 1] in a run: from the last input back)
    n_in, n_0 = G0T.shape
    for i in range(n_in - 1, -1, -1):
        g = G0T[i]
        if chained.shape[0] > 0 and i + 1 < n_in and chained[i + 1]:
            g[:] = G0T[i + 1]
        else:
            for j in range(n_0):
                g[j] = zero
        _sparse_product(g, sc.D[0], sc.yr[i], sc.yv[i], 0, sc.yn[i], n_0)


@njit(cache=CACHE, error_model="numpy")
def _act_rows(A, b, n, code, alpha, c):
    """A[r, :m] <- f(A[r, :m] + b) for rows r < n (b: (m,)); the code a constant in each loop
    (the compiler vectorises it: in the loop, a branch on it per element kept it scalar)."""
    half, one, zero = c[C_HALF], c[C_ONE], c[C_ZERO]
    m = b.shape[0]
    for r in range(n):
        if code == RELU:
            _bias_act(A[r], b, m, False, RELU, alpha, half, one, zero)
        elif code == SIGMOID:
            _bias_act(A[r], b, m, False, SIGMOID, alpha, half, one, zero)
        elif code == TANH:
            _bias_act(A[r], b, m, False, TANH, alpha, half, one, zero)
        elif code == LEAKY_RELU:
            _bias_act(A[r], b, m, False, LEAKY_RELU, alpha, half, one, zero)
        elif code == SOFTPLUS:
            _bias_act(A[r], b, m, False, SOFTPLUS, alpha, half, one, zero)
        else:
            _bias_act(A[r], b, m, False, IDENTITY, alpha, half, one, zero)


@njit(cache=CACHE, error_model="numpy")
def _back_rows(G, Y, n, m, code, alpha, one, zero, db):
    """G[r, :m] <- dE/dz from dE/dy = G and outputs Y, rows r < n; db (m,) <- their column
    sums, row after row.  The code a constant in each loop, as in ``_act_rows``."""
    for j in range(m):
        db[j] = zero
    for r in range(n):
        if code == RELU:
            _back_row(G[r], Y[r], m, RELU, alpha, one, zero, db)
        elif code == SIGMOID:
            _back_row(G[r], Y[r], m, SIGMOID, alpha, one, zero, db)
        elif code == TANH:
            _back_row(G[r], Y[r], m, TANH, alpha, one, zero, db)
        elif code == LEAKY_RELU:
            _back_row(G[r], Y[r], m, LEAKY_RELU, alpha, one, zero, db)
        elif code == SOFTPLUS:
            _back_row(G[r], Y[r], m, SOFTPLUS, alpha, one, zero, db)
        else:
            _back_row(G[r], Y[r], m, IDENTITY, alpha, one, zero, db)


@njit(cache=CACHE, error_model="numpy", inline="always")
def _back_row(g, y, m, code, alpha, one, zero, db):
    """g[:m] <- dE/dz from dE/dy = g and outputs y; db += g."""
    for i in range(m):
        g[i] = _back(code, y[i], g[i], alpha, one, zero)
        db[i] += g[i]


@njit(cache=CACHE, error_model="numpy")
def _small_update(upd, rule, u):
    """One optimiser step on every parameter (after clipping the gradients by their norm)."""
    kind, nesterov = rule
    clip = upd.clip
    if clip[0] > 0:  # (the squares summed in float64: NumPy's pairwise sums err less)
        ss = 0.0
        for q in range(len(upd.gs)):
            g = upd.gs[q]
            for i in range(g.shape[0]):
                ss += float(g[i]) * float(g[i])
        clip[1] = np.sqrt(ss)  # the norm, rounded to the dtype as the reference's is
        # clip / max(norm, clip), a NaN norm giving NaN as np.maximum does
        scale = clip[0] / (clip[0] if clip[1] <= clip[0] else clip[1])
        for q in range(len(upd.gs)):
            g = upd.gs[q]
            for i in range(g.shape[0]):
                g[i] = g[i] * scale
    for q in range(len(upd.ps)):
        update(kind, nesterov, u, upd.ps[q], upd.gs[q], upd.s1s[q], upd.s2s[q], upd.decay[q])
