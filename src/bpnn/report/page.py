"""The report's pages: the HTML page (``write_html``) and the Markdown page (``write_markdown``)
showing a run's figures and key numbers, and their parts (``key_numbers``, ``tables``,
``html_table``, ``md_table``, ``CSS``; the sweep report uses the last three too).

Both pages take the report's summary (``bpnn.report.build.summarise``), the names of the figures
written (captions from ``FIGURES``, which also sets their order) and the notices of what was
skipped.  Not here: the figures themselves (``bpnn.report.figures``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fileio import atomic_write
from .metric import Metric

__all__ = [
    "CSS",
    "FIGURES",
    "Table",
    "html_table",
    "key_numbers",
    "md_table",
    "tables",
    "write_html",
    "write_markdown",
]

# Figure file -> caption, in the order the pages show them.
FIGURES = {
    "learning_curves.png": "Learning curves",
    "confusion_matrix.png": "Confusion matrix on the test set",
    "misclassified.png": "Most confident mistakes on the test set",
    "predictions.png": "Predicted against true values on the test set",
    "residuals.png": "Residuals on the test set",
    "weights.png": "First-layer weights",
    "deformed.png": "Training images as the deformations (--augment) drew them",
}
MAX_TABLE = 30  # confusion matrices of more classes stay out of the tables (report.json has them)


def key_numbers(s: dict) -> list[tuple[str, str]]:
    """(label, value) rows shared by the HTML and Markdown pages."""
    metric = Metric(s["metric"])
    wrong = f" ({s['test_wrong']:,} of {s['test_samples']:,} wrong)" if "test_wrong" in s else ""
    rows = [
        (
            "architecture",
            f"{s['architecture']} ({s['activation']} hidden, {s['output']} output, "
            f"{s['loss']} loss, {s['dtype']})",
        ),
        ("parameters", f"{s['parameters']:,}"),
        ("task", s["targets"]),
        ("data", f"{s['data'] or 'n/a'}; preprocessing {s['preprocessing']}"),
        (
            "training",
            ", ".join(
                f"{k.replace('_', ' ')} {v}" for k, v in s["training"].items() if v is not None
            )
            or "n/a",
        ),
        (f"test {metric.word}", metric.format(s["test_error"]) + wrong),
    ]
    if s["task"] == "classify":
        rows.append(
            ("accuracy", "n/a" if s.get("accuracy") is None else f"{100 * s['accuracy']:.2f}%")
        )
    elif s.get("test_r2_mean") is not None:
        rows.append(("test R\u00b2 (mean over targets)", f"{s['test_r2_mean']:.4f}"))
    rows += [
        (f"validation {metric.word}", metric.format(s["val_error"])),
        (
            "epochs",
            f"{s['epochs']} (best: {s['best_epoch']})" if s["best_epoch"] else str(s["epochs"]),
        ),
        ("training time", f"{s['seconds']:.1f} s"),
    ]
    if s.get("stop_reason"):
        rows.append(("stopped because", s["stop_reason"]))
    return rows


@dataclass
class Table:
    """A titled table of text cells; the first column names the row."""

    title: str
    header: list
    rows: list


def tables(s: dict, names: list[str] | None = None) -> list[Table]:
    """The test-set tables of a summary: per-class errors and the confusion matrix (up to
    MAX_TABLE classes), or RMSE, MAE and R^2 per target."""
    if "per_class_error" in s:
        cm = np.asarray(s["confusion_matrix"])
        labels = [str(c) for c in s["classes"]]
        per_class = Table(
            "Per-class error on the test set",
            ["class", "test samples", "wrong", "error"],
            [
                [c, str(n), str(n - d), f"{100 * e:.2f}%"]
                for c, n, d, e in zip(labels, cm.sum(axis=1), np.diag(cm), s["per_class_error"])
            ],
        )
        if len(labels) > MAX_TABLE:
            return [per_class]
        return [
            per_class,
            Table(
                "Confusion matrix (rows: true class, columns: predicted)",
                ["true \\ predicted", *labels],
                [[c, *map(str, row)] for c, row in zip(labels, cm)],
            ),
        ]
    if "test_rmse" in s:
        names = names or [f"target {j}" for j in range(len(s["test_rmse"]))]
        return [
            Table(
                "Errors on the test set, per target",
                ["target", "RMSE", "MAE", "R\u00b2"],
                [
                    [n, f"{r:.5g}", f"{m:.5g}", "-" if q is None else f"{q:.4f}"]
                    for n, r, m, q in zip(names, s["test_rmse"], s["test_mae"], s["test_r2"])
                ],
            )
        ]
    return []


def md_table(header: list, rows: list, bold: bool = True) -> list[str]:
    """Markdown lines of a table (the first column bold unless ``bold`` is False)."""
    cell = lambda text: str(text).replace("|", "/")  # noqa: E731  (a | would split the cell)
    lines = ["| " + " | ".join(map(cell, header)) + " |", "|---" * len(header) + "|"]
    first = (lambda text: f"**{cell(text)}**") if bold else cell
    return lines + [f"| {first(row[0])} | " + " | ".join(map(cell, row[1:])) + " |" for row in rows]


def write_markdown(
    path: Path, s: dict, figures: list[str], notices: list[str], extra: list[Table]
) -> None:
    lines = [f"# Training report: {s['run']}", ""] + md_table(["", ""], key_numbers(s), bold=False)
    for table in extra:
        lines += ["", f"## {table.title}", ""] + md_table(table.header, table.rows)
    for name in figures:
        lines += ["", f"## {FIGURES[name]}", "", f"![{FIGURES[name]}]({name})"]
    if notices:
        lines += ["", "## Skipped", ""] + [f"- {n}" for n in notices]
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}img{max-width:100%;height:auto}
figcaption{font-weight:600;margin-bottom:.3em}.notice{color:#8a4b00}table.key td{text-align:left}"""


def html_table(header: list | None, rows: list, css: str = "") -> str:
    """An HTML table (no header row when ``header`` is None; each row's first cell a <th>);
    ``css``: attributes of the <table> tag, e.g. " class='key'"."""
    esc = html.escape
    head = (
        ""
        if header is None
        else "<tr>" + "".join(f"<th>{esc(str(h))}</th>" for h in header) + "</tr>"
    )
    body = "".join(
        f"<tr><th>{esc(str(row[0]))}</th>"
        + "".join(f"<td>{esc(str(c))}</td>" for c in row[1:])
        + "</tr>"
        for row in rows
    )
    return f"<table{css}>{head}{body}</table>"


def write_html(
    path: Path, s: dict, figures: list[str], notices: list[str], extra: list[Table]
) -> None:
    esc = html.escape
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>bpnn report: {esc(s['run'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Training report: {esc(s['run'])}</h1>",
        html_table(None, key_numbers(s), " class='key'"),
    ]
    parts += [f"<h2>{esc(t.title)}</h2>" + html_table(t.header, t.rows) for t in extra]
    for name in figures:
        parts.append(
            f"<figure><figcaption>{esc(FIGURES[name])}</figcaption>"
            f"<img src='{esc(name)}' alt='{esc(FIGURES[name])}'></figure>"
        )
    if notices:
        parts.append(
            "<h2>Skipped</h2><ul>"
            + "".join(f"<li class='notice'>{esc(n)}</li>" for n in notices)
            + "</ul>"
        )
    parts.append("</body></html>\n")
    text = "\n".join(parts)
    atomic_write(path, lambda f: f.write(text.encode()))
