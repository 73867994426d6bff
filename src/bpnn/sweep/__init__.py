"""Hyperparameter sweeps: many ``bpnn train`` runs on Dask (``bpnn sweep``).

- ``spec``: the SPEC file (TOML or JSON): base settings, the search space, grid or random;
- ``trial``: one trial, run on a worker exactly as ``bpnn train`` runs (resumable, recorded);
- ``engine``: the Dask side: a local cluster or an existing scheduler, tasks, progress;
- ``results``: the sweep folder, the sorted results table, the best model;
- ``report``: the figure of validation error against each searched setting.

Dask is optional (``pip install 'bpnn[sweep]'``): only ``engine`` imports it, when a sweep runs.
"""
