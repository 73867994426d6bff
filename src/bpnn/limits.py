"""Every limit bpnn puts on what it reads, in one place: files, uploads, images, connections.

Inputs come from files a user names, downloads, and clients of ``bpnn serve``; each limit bounds
the time or memory one bad input can cost, and each breach ends in one clear error (the CLI) or a
4xx answer (the server).  The values are generous for real use: MNIST, digit photos, a drawing page.
"""

from __future__ import annotations

import os

# ---- files ----------------------------------------------------------------------------------
MAX_IDX_BYTES = 1 << 30  # data in one IDX file: 1 GiB, 20 times the MNIST training images
MAX_IMAGE_FILE_BYTES = 64 << 20  # one image read by `bpnn predict` (standard input included)
MAX_CSV_BYTES = 2 << 30  # one CSV file (data set or rows): 2 GiB, 18 times MNIST as a CSV
MAX_CSV_LINE_BYTES = 8 << 20  # one line of a CSV file (MNIST's are 2 KB)
MAX_CSV_FIELD_CHARS = 128 * 1024  # one CSV field (Python csv's own default limit)
MAX_NPZ_BYTES = 4 << 30  # one .npz data set file (its members are checked for inflation too)

# ---- data -----------------------------------------------------------------------------------
# Classes a classifier may have: its output layer and every (classes, classes) confusion matrix
# grow with it (8 MB at the limit, and report.json lists it).  ImageNet has 1,000.
MAX_CLASSES = 1_000
# The compiled and device paths take targets as dense (n, classes) rows; past this many bytes the
# NumPy path (which keeps class indices and builds rows a batch at a time) trains instead.
MAX_TARGET_ROWS_BYTES = 512 << 20
# Activations of one batch (its size times the units of every layer): a network to train must fit
# its training batch in this, and evaluation passes at most this many cells at once.  400 MB of
# float32: a batch of 10,000 through layers of 10,000 units.
MAX_BATCH_ACTIVATIONS = 100_000_000

# ---- images ---------------------------------------------------------------------------------
# Pixels an image may decode to, checked from its header before decoding.  A digit needs 20x20;
# this admits a 2000x2000 scan or screenshot, and a phone photo's JPEG (decoded at a reduced
# scale).  A 16-bit image this size costs about 100 MB to prepare.
MAX_IMAGE_PIXELS = 4_000_000
MAX_GREY_SIDE = 1024  # a grey-level array posted by the page: at most this many pixels a side

# ---- the server (`bpnn serve`) --------------------------------------------------------------
MAX_UPLOAD_BYTES = 2_000_000  # one request body
MAX_TABLE_ROWS = 10_000  # rows in one POST /predict to a table model (a body holds ~20,000 short)
MAX_HEADER_BYTES = 16 * 1024  # a request line and headers still incomplete (h11's buffer)
# Images decoded at once (each may cost ~100 MB; others wait): one core is left to the event loop
# so /health stays quick, and at most 4 keep memory bounded on large machines.
MAX_CONCURRENT_DECODES = max(1, min(4, (os.cpu_count() or 2) - 1))
MAX_ACTIVE_UPLOADS = 32  # request bodies held in memory at once; other requests wait
REQUEST_TIMEOUT_S = 10.0  # to receive a whole request (headers and body) once it has begun
KEEP_ALIVE_S = 5  # an idle connection between requests is closed after this
# Open connections; past it the oldest connection still sending its request is closed, so a
# flood of slow clients cannot take every slot (nor every file descriptor).
MAX_CONNECTIONS = 512

# ---- model files (used by bpnn.modelfile) --------------------------------------------------
MAX_JSON_DEPTH = 16  # nesting of a model file's JSON metadata
MAX_LAYER_SIZE = 1 << 20  # units a model file may declare in one layer
# Parameters a model file may declare per byte of file: float64 weights take 8 bytes each, and
# compression of (say) all-zero weights gains at most ~1000x; beyond that the header lies.
MAX_PARAMS_PER_FILE_BYTE = 1024

# ---- sweeps (bpnn sweep) --------------------------------------------------------------------
# Trials one sweep may have (a grid's combinations, or a random search's `trials`): each trial is
# a run folder and a line of results; checked before any is made, so a 10^9 grid costs nothing.
MAX_SWEEP_TRIALS = 10_000
MAX_SPEC_DEPTH = 8  # nesting of a sweep spec (TOML or JSON): a table in a table in a list...
# Local worker processes (--workers) per core of this machine: each is a Python process of its
# own (~100 MB before it trains), and more of them than cores only wait on one another.
MAX_WORKERS_PER_CORE = 1
