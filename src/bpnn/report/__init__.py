"""Training reports: PNG figures of a run folder plus an HTML and a Markdown page showing them.

``write_report(run_dir)`` reads ``model.npz`` and ``history.json`` from a run folder written by
``bpnn train`` (or ``bpnn.fit``), for any model, and writes into ``run_dir/report/``:

- ``learning_curves.png``: training loss, and the validation and test metric (error % for
  classifiers, RMSE for regressors) against epoch;
- classifiers: ``confusion_matrix.png`` on the test set with the class labels and per-class
  errors; ``misclassified.png``, the most confident mistakes (only when the inputs are images);
- regressors: ``predictions.png`` (predicted against true) and ``residuals.png`` (residual against
  predicted), one panel per target for the first few targets;
- ``weights.png``: the first layer's weights of up to 64 hidden units as images (image inputs only);
- ``deformed.png``: runs trained with deformations (``--augment elastic,...``): the first
  training images of the source, each beside a few draws of its deformations;
- ``index.html``, ``README.md``: the figures with the key numbers; ``report.json``: the numbers.

The test data comes from ``bpnn.runs.find_split``: the source the model records
(or the one given), the same test split the run used.  A report never downloads: a registered
data set that is not on disk, or any source that cannot be read, skips the data figures with a
notice.  Figures use matplotlib's ``Figure`` with the Agg canvas directly, never pyplot, so no
global backend or figure state changes.

The package, by job: ``rundata`` (the run folder read, the test set found), ``figures`` (drawing),
``page`` (the HTML and Markdown pages), ``metric`` (error % or RMSE), ``build`` (the whole
report).  ``CSS``, ``DPI``, ``html_table``, ``md_table`` and ``save_figure`` serve the sweep
report too.  Not here: computing anything the trainer already recorded (the curves come from
history.json).
"""

from __future__ import annotations

from .build import Report, build_report, write_report
from .figures import DPI, save_figure
from .page import CSS, FIGURES, html_table, md_table

__all__ = [
    "CSS",
    "DPI",
    "FIGURES",
    "Report",
    "build_report",
    "html_table",
    "md_table",
    "save_figure",
    "write_report",
]
