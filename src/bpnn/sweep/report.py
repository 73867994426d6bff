"""The report of a sweep folder (``bpnn report DIR``): validation error against each searched
setting, with the results table, in DIR/report/ (sweep.png, index.html, README.md).

Numeric settings are drawn on their own scale (log for a log range); lists of other values
(hidden layer sizes, names) as categories.  The best trial is marked; failed trials are listed,
not drawn.  Not here: running the sweep (``bpnn.commands.sweep``).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from matplotlib.figure import Figure

from ..fileio import atomic_write
from ..report import CSS, DPI
from ..report import html_table as _html_table
from ..report import md_table as _md_table
from ..report import save_figure as _save
from .results import FORMAT, cells, failures, header

__all__ = ["FIGURE", "is_sweep", "write_sweep_report"]

FIGURE = "sweep.png"


def is_sweep(folder) -> bool:
    """Whether ``folder`` holds a sweep's results (rather than a single run)."""
    try:
        return (
            json.loads((Path(folder) / "results.json").read_text()).get("format")
            == FORMAT + "-results"
        )
    except (OSError, ValueError, AttributeError):
        return False


def _numeric(values: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_sweep(rows: list[dict], scales: dict, best: str | None) -> Figure:
    """One panel per searched setting: each finished trial's validation error against its value."""
    done = [r for r in rows if r["status"] == "done" and r["val_error"] is not None]
    metric = done[0]["metric"] if done else None
    factor, unit = (100, "validation error (%)") if metric != "rmse" else (1, "validation RMSE")
    fig = Figure(figsize=(4.2 * len(scales), 3.6), dpi=DPI, layout="constrained")
    for ax, (name, scale) in zip(fig.subplots(1, len(scales), squeeze=False)[0], scales.items()):
        values = [r.get(name) for r in done]
        if _numeric(values):
            xs = values
            ax.set_xscale("log" if scale == "log" else "linear")
        else:
            labels = sorted({json.dumps(v) for v in values})
            xs = [labels.index(json.dumps(v)) for v in values]
            ax.set_xticks(
                range(len(labels)), [label.replace('"', "") for label in labels], rotation=30
            )
        ys = [factor * r["val_error"] for r in done]
        ax.scatter(xs, ys, color="tab:blue", alpha=0.7)
        marked = [(x, y) for x, y, r in zip(xs, ys, done) if r["trial"] == best]
        if marked:
            ax.scatter(*zip(*marked), s=160, facecolors="none", edgecolors="tab:red")
        ax.set_xlabel(name)
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    return fig


def write_sweep_report(folder, out_dir=None) -> tuple[Path, list[str]]:
    """Write the figure and pages of the sweep in ``folder``; returns (out_dir, files)."""
    folder = Path(folder)
    results = json.loads((folder / "results.json").read_text())
    out = Path(out_dir) if out_dir is not None else folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    rows, searched = results["trials"], list(results["scales"])
    _save(plot_sweep(rows, results["scales"], results["best"]), out / FIGURE)
    head, body = header(searched), [cells(r, searched) for r in rows]
    title = f"Sweep report: {folder.name} ({results['method']} search, {len(rows)} trials)"
    markdown = "\n".join(
        [f"# {title}", "", f"![validation error against each setting]({FIGURE})", ""]
        + _md_table(head, body)
        + [""]
        + [f"- {line}" for line in failures(rows)]
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<img src='{FIGURE}' alt='validation error against each setting'>"
        f"{_html_table(head, body)}"
        + "".join(f"<p class='notice'>{html.escape(line)}</p>" for line in failures(rows))
        + "</body></html>\n"
    )
    atomic_write(out / "README.md", lambda f: f.write((markdown + "\n").encode()))
    atomic_write(out / "index.html", lambda f: f.write(page.encode()))
    return out, [str(out / name) for name in (FIGURE, "index.html", "README.md")]
