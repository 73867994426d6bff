"""Per-sample SGD (the tutorial's algorithm) as one compiled loop: ``SampleStepper``.

The first layer's weights live input-major here (W0T: (n_inputs, n_hidden)), so that a pixel's
weights are one contiguous row: the forward product adds x_i * W0T[i] for the non-zero pixels
only, and the update touches only those rows (a zero pixel has a zero gradient).  About 80% of
MNIST's pixels are zero.  The other layers are updated in place in the network's own arrays.

Not here: mini-batches, momentum, Adam, dropout (``bpnn.fast.batch``).
"""
from __future__ import annotations

import numpy as np

from ..network import Network
from ..optim import SGD
from ._common import checked_indices, checked_labels, constants, layer_codes
from ._kernels import C_LR, compress_rows, sgd_samples


class SampleStepper:
    """Batch size 1, plain SGD: w <- w - lr dE/dw after every sample (tutorial formula 5).

    images: (n, n_inputs) uint8, read once (its non-zero pixels are kept); labels: (n,) ints;
    targets ``on``/``off`` for squared error.
    """

    name = "numba-per-sample"

    def __init__(self, net: Network, optimizer: SGD, images: np.ndarray, labels: np.ndarray,
                 on: float = 0.9, off: float = 0.1, scale: float = 1 / 255):
        self.net, self.optimizer, self.images = net, optimizer, images
        self.labels = checked_labels(labels, len(images), net.n_outputs)
        dt = net.dtype
        self.c = constants(dt, scale, on, off)
        self.codes, self.alphas = layer_codes(net)
        self.ce = net.loss == "cross_entropy"
        first = net.layers[0]
        self.W0T = np.empty((first.n_in, first.n_out), dt)
        width = max(net.sizes[1:])
        self.A = np.zeros((len(net.layers), width), dt)  # each layer's output
        self.D = np.zeros((len(net.layers), width), dt)  # each layer's dE/dz
        self.xs = np.zeros(first.n_in, dt)
        self.indptr, self.cols, self.vals = sparse_rows(images)

    def __call__(self, idx: np.ndarray) -> float:
        """Train on samples ``idx`` in order; returns the sum of their losses."""
        idx = checked_indices(idx, len(self.images))
        layers = self.net.layers
        np.copyto(self.W0T, layers[0].W.T)  # the network may have been changed between calls
        self.c[C_LR] = self.optimizer.lr
        total = sgd_samples(self.indptr, self.cols, self.vals, self.labels, idx, self.W0T,
                            tuple(layer.W for layer in layers), tuple(layer.b for layer in layers),
                            self.codes, self.alphas, self.ce, self.c, self.A, self.D,
                            self.xs)
        np.copyto(layers[0].W, self.W0T.T)
        self.optimizer.t += len(idx)
        return float(total)


def sparse_rows(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero pixels of each image, CSR: (indptr (n+1,), columns, uint8 values).

    Built once per stepper (MNIST: about 9.4 million entries, 28 MB); reading a sample's
    ~150 pixels from here is cheaper than scanning its 784 every epoch.
    """
    indptr = np.empty(len(images) + 1, np.int64)
    empty = np.empty(0, np.uint16)
    nnz = compress_rows(images, indptr, empty, np.empty(0, np.uint8))
    cols = np.empty(nnz, np.uint16 if images.shape[1] <= 65536 else np.int32)
    vals = np.empty(nnz, np.uint8)
    compress_rows(images, indptr, cols, vals)
    return indptr, cols, vals
