"""Per-sample SGD (the tutorial's algorithm) as one compiled loop: ``SampleStepper``.

The first layer's weights live input-major here (W0T: (n_inputs, n_hidden)), so that an input's
weights are one contiguous row: the forward product adds x_i * W0T[i] for the non-zero inputs
only, and the update touches only those rows (a zero input has a zero gradient).  About 80% of
MNIST's pixels are zero; dense float inputs simply visit every column.  The other layers are
updated in place in the network's own arrays.

With ``Job.parallel_samples`` P > 1 the samples of a call are split into P consecutive parts
trained at the same time on P threads (``sgd_samples_part``, the GIL released), all updating
the same weights without locks (Hogwild, Recht et al. 2011): the sparse updates rarely collide,
so it converges like the serial loop, but which update wins a collision depends on timing, so
runs are not reproducible.

Not here: mini-batches, momentum, Adam, dropout (``bpnn.fast.batch``).
"""

from __future__ import annotations

import threading

import numpy as np

from ..job import Job, Stepper
from ._common import checked_indices, constants, kernel_net, layer_codes
from ._kernels import (
    C_LR,
    SampleData,
    SampleNet,
    SampleScratch,
    sgd_samples,
    sgd_samples_part,
)
from .small import nonzero_rows


class SampleStepper(Stepper):
    """Batch size 1, plain SGD: w <- w - lr dE/dw after every sample (tutorial formula 5).

    X: (n, n_inputs) uint8 or float, read once (its non-zero values are kept); T: (n, n_outputs)
    target rows of the network's dtype; optimizer: one whose rule is plain SGD (``fast_stepper``
    checks).
    """

    name = "numba-per-sample"
    kernels = ("sgd_samples",)  # (``_kernels.compiled_before``; Hogwild: sgd_samples_part)

    def __init__(self, job: Job):
        self.parts = int(job.parallel_samples)  # > 1: Hogwild on that many threads
        if self.parts > 1:
            self.name = f"numba-per-sample-hogwild-{self.parts}"
            self.kernels = ("sgd_samples_part",)
        net, X, T = job.net, job.X, job.T
        self.net, self.optimizer, self.T = net, job.optimizer, T
        self.n_samples = len(X)
        dt = net.dtype
        self.c = constants(dt, job.scale)
        self.codes, self.alphas, self.loss = layer_codes(net)
        first = net.layers[0]
        self.W0T = np.empty((first.n_in, first.n_out), dt)
        width = max(net.sizes[1:])
        lead = (self.parts,) if self.parts > 1 else ()  # Hogwild: one set per thread
        self.scratch = SampleScratch(
            np.zeros((*lead, len(net.layers), width), dt),  # each layer's output
            np.zeros((*lead, len(net.layers), width), dt),  # each layer's dE/dz
            np.zeros((*lead, first.n_in), dt),
        )
        self.data = SampleData(*nonzero_rows(X, bounded=False)[:3], T)  # (MNIST: 28 MB)

    def __call__(self, idx: np.ndarray) -> float:
        """Train on samples ``idx`` (k,) in order; returns the sum of their losses."""
        idx = checked_indices(idx, self.n_samples)
        layers, opt = self.net.layers, self.optimizer
        np.copyto(self.W0T, layers[0].W.T)  # the network may have been changed between calls
        self.c[C_LR] = opt.rule().lr  # plain SGD: the same rate for every step of the call
        net = kernel_net(self.W0T, self.net, self.codes, self.alphas, self.loss)
        if self.parts > 1:
            total = self._hogwild(idx, net)
        else:
            total = sgd_samples(self.data, idx, net, self.c, self.scratch)
        np.copyto(layers[0].W, self.W0T.T)
        opt.advance(len(idx))
        return float(total)

    def _hogwild(self, idx: np.ndarray, net: SampleNet) -> float:
        """Parts of idx trained at once on self.parts threads, all joined before returning
        (threads started per call, about 13 calls an MNIST epoch: nothing outlives the call)."""
        bounds = np.linspace(0, len(idx), self.parts + 1).astype(int)
        A, D, xs = self.scratch
        totals = [0.0] * self.parts

        def part(p: int) -> None:
            lo, hi = bounds[p], bounds[p + 1]
            totals[p] = sgd_samples_part(self.data, idx[lo:hi], net, self.c, A[p], D[p], xs[p])

        threads = [threading.Thread(target=part, args=(p,)) for p in range(1, self.parts)]
        for thread in threads:
            thread.start()
        part(0)  # this thread trains the first part
        for thread in threads:
            thread.join()
        return sum(totals)
