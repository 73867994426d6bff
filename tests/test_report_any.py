"""Reports of any model: a classifier of string labels from a CSV file, a regressor, a tiny image
model; figures present or absent as the model calls for, numbers matching ``bpnn evaluate``, and
no download when the data is not on disk.

Also the helpers the other tests of any-data commands share (``write_csv``, ``train``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bpnn
from bpnn import report
from bpnn.cli import main
from bpnn.data import mnist
from bpnn.report import figures, page
from conftest import write_idx_gz

ANIMALS = np.array(["cat", "dog", "eel"])


def blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (n, 3), string labels (n,) of three learnable classes, and a real target (n,)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    labels = ANIMALS[np.argmax(X @ np.array([[2.0, -1, 0], [0, 1.5, -1], [-1, 0, 2]]), axis=1)]
    return X, labels, X @ np.array([1.0, -2.0, 0.5]) + 3


def write_csv(path: Path, header: list[str], columns: list) -> Path:
    """A CSV file with ``header`` and the given columns (each (n,)), numbers to 6 digits."""
    cell = lambda v: v if isinstance(v, str) else f"{v:.6g}"  # noqa: E731
    rows = [
        ",".join(cell(v) for v in row) for row in zip(*[np.asarray(c).tolist() for c in columns])
    ]
    path.write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")
    return path


def train(data: Path, out: Path, *extra) -> Path:
    """A run folder trained by ``bpnn train`` in this process (small and quick, no report)."""
    code = main(
        [
            "train",
            "--data",
            str(data),
            "--out",
            str(out),
            "--hidden",
            "8",
            "--epochs",
            "20",
            "--lr",
            "0.02",
            "--no-report",
            "--json",
            *map(str, extra),
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def csv_runs(tmp_path_factory) -> dict:
    """Run folders: "classify" (string labels, target column 'animal'), "regress" (column
    'price'), trained on CSV files whose columns are a, b, c then the target."""
    folder = tmp_path_factory.mktemp("csv_runs")
    X, labels, values = blobs(150)
    features = [X[:, 0], X[:, 1], X[:, 2]]
    cls = write_csv(folder / "animals.csv", ["a", "b", "c", "animal"], [*features, labels])
    reg = write_csv(folder / "prices.csv", ["a", "b", "c", "price"], [*features, values])
    return {
        "classify": train(cls, folder / "classify"),
        "regress": train(reg, folder / "regress"),
        "classify_csv": cls,
        "regress_csv": reg,
    }


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.convert("L").getextrema()[0] < im.convert("L").getextrema()[1], f"{path} is blank"
        return im.size


def evaluate(capsys, run: Path, *extra) -> dict:
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_classifier_of_string_labels(csv_runs, tmp_path, capsys):
    notices = []
    index = report.write_report(csv_runs["classify"], out_dir=tmp_path, log=notices.append)
    summary = json.loads((tmp_path / "report.json").read_text())
    assert summary["figures"] == ["learning_curves.png", "confusion_matrix.png"]
    for name in summary["figures"]:
        png_size(tmp_path / name)
    assert not (tmp_path / "weights.png").exists() and not (tmp_path / "misclassified.png").exists()
    assert any("not an image" in n and "weight images" in n for n in notices)
    assert any("mistakes grid" in n for n in notices) or summary["test_wrong"] == 0
    expected = evaluate(capsys, csv_runs["classify"])  # the same test split as bpnn evaluate
    assert summary["classes"] == ["cat", "dog", "eel"] == expected["classes"]
    assert summary["confusion_matrix"] == expected["confusion_matrix"]
    assert summary["test_error"] == pytest.approx(expected["error_rate"])
    markdown = (tmp_path / "README.md").read_text()
    assert "| true \\ predicted | cat | dog | eel |" in markdown
    for label, row in zip(expected["classes"], expected["confusion_matrix"]):
        assert f"| **{label}** | " + " | ".join(map(str, row)) + " |" in markdown
    page = index.read_text()
    assert "<th>cat</th>" in page and "src='confusion_matrix.png'" in page and "test error" in page


def test_regressor_scatter_and_residuals(csv_runs, tmp_path, capsys):
    report.write_report(csv_runs["regress"], out_dir=tmp_path)
    summary = json.loads((tmp_path / "report.json").read_text())
    assert summary["figures"] == ["learning_curves.png", "predictions.png", "residuals.png"]
    for name in summary["figures"]:
        png_size(tmp_path / name)
    assert "confusion_matrix" not in summary and summary["metric"] == "rmse"
    expected = evaluate(capsys, csv_runs["regress"])
    assert summary["test_rmse"] == pytest.approx(expected["rmse"])
    assert summary["test_error"] == pytest.approx(expected["rmse_mean"])
    markdown = (tmp_path / "README.md").read_text()
    assert (
        "| test RMSE |" in markdown and "| **price** |" in markdown and "accuracy" not in markdown
    )


def test_regression_figures_one_panel_per_target():
    """Two targets -> two panels, points at (true, predicted) and (predicted, residual)."""
    true = np.array([[1.0, 10], [2, 20], [3, 30]])
    predicted = np.array([[1.5, 9], [2, 22], [2.5, 31]])
    fig = figures.plot_predictions(true, predicted, ["x", "y"])
    panels = [ax for ax in fig.axes if ax.collections]
    assert [ax.get_title() for ax in panels] == ["x", "y"]
    np.testing.assert_allclose(
        panels[1].collections[0].get_offsets(), np.c_[true[:, 1], predicted[:, 1]]
    )
    fig = figures.plot_residuals(true, predicted, ["x", "y"])
    np.testing.assert_allclose(
        next(ax for ax in fig.axes if ax.collections).collections[0].get_offsets(),
        np.c_[predicted[:, 0], predicted[:, 0] - true[:, 0]],
    )


def test_fit_run_without_source_then_with_data(tmp_path):
    """``bpnn.fit`` records no file to test on: a notice; ``data_dir`` names the CSV again."""
    X, labels, _ = blobs(150)
    bpnn.fit(X, labels, out=tmp_path / "run", hidden=[8], epochs=3)
    csv = write_csv(
        tmp_path / "same.csv", ["a", "b", "c", "animal"], [X[:, 0], X[:, 1], X[:, 2], labels]
    )
    notices = []
    report.write_report(tmp_path / "run", log=notices.append)
    assert not (tmp_path / "run" / "report" / "confusion_matrix.png").exists()
    assert any(n.startswith("test data not available") and "--data" in n for n in notices)
    report.write_report(tmp_path / "run", csv)
    summary = json.loads((tmp_path / "run" / "report" / "report.json").read_text())
    assert "confusion_matrix.png" in summary["figures"] and summary["test_samples"] == 30


def test_registered_source_not_on_disk_is_never_downloaded(csv_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BPNN_DATA", raising=False)

    def no_download(*args, **kwargs):
        raise AssertionError("a report must not download")

    monkeypatch.setattr(mnist, "download_dataset", no_download)
    notices = []
    report.write_report(
        csv_runs["regress"], "fashion-mnist", out_dir=tmp_path / "r", log=notices.append
    )
    assert any("test data not available" in n and "downloading is off" in n for n in notices)
    assert not (tmp_path / "r" / "predictions.png").exists()


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    """A run on an IDX folder of 8x8 uint8 images (scikit-learn's digits, grey levels x15)."""
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    images, labels = (digits.images * 15).astype(np.uint8), digits.target.astype(np.uint8)
    folder = tmp_path_factory.mktemp("digits8")
    for prefix, part in (("train", slice(0, 1400)), ("t10k", slice(1400, None))):
        write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", images[part])
        write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", labels[part])
    return train(folder, tmp_path_factory.mktemp("image_run") / "run", "--epochs", 3)


def test_image_run_has_weights_and_mistakes(image_run, tmp_path):
    notices = []
    report.write_report(image_run, out_dir=tmp_path, log=notices.append)
    summary = json.loads((tmp_path / "report.json").read_text())
    assert summary["figures"] == [
        "learning_curves.png",
        "confusion_matrix.png",
        "misclassified.png",
        "weights.png",
    ], notices
    assert notices == [] and summary["test_samples"] == 397
    for name in summary["figures"]:
        png_size(tmp_path / name)
    fig = figures.plot_weights(bpnn.load(image_run).net.layers[0].W, (8, 8))
    assert fig.axes[0].images[0].get_array().shape == (8, 8)


def test_cli_report_any_model_json(csv_runs, tmp_path, capsys):
    capsys.readouterr()
    assert main(["report", str(csv_runs["classify"]), "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "classify" and result["classes"] == ["cat", "dog", "eel"]
    assert sorted(Path(p).name for p in result["files"]) == sorted(
        ["learning_curves.png", "confusion_matrix.png", "index.html", "README.md", "report.json"]
    )


def test_many_string_classes_stay_readable():
    """40 classes: the figure stays within bounds without per-cell counts; the pages keep the
    per-class table but leave the 40x40 matrix to report.json."""
    rng = np.random.default_rng(0)
    classes = [f"class-{k:02d}-with-a-long-name" for k in range(40)]
    cm = rng.integers(0, 5, size=(40, 40)) + np.diag(np.full(40, 50))
    fig = figures.plot_confusion(cm, classes)
    width, height = fig.get_size_inches() * report.DPI
    assert width < 4000 and height < 4000 and not fig.axes[0].texts
    assert (
        fig.axes[0].get_xticklabels()[0].get_text() == "class-00-wi\u2026"
    )  # cut to 12 characters
    s = {
        "classes": classes,
        "confusion_matrix": cm.tolist(),
        "per_class_error": (1 - np.diag(cm) / cm.sum(axis=1)).tolist(),
    }
    tables = page.tables(s)
    assert [t.title for t in tables] == ["Per-class error on the test set"] and len(
        tables[0].rows
    ) == 40
