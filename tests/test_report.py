"""Training reports: figures are valid PNGs, the pages show them with the right numbers, the
confusion matrix matches one computed here independently, missing inputs fail or degrade clearly."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pytest
from PIL import Image

import bpnn
from bpnn.cli import main
from bpnn.report import write_report
from bpnn.report.figures import Predictions, _series, mistakes, plot_mistakes, plot_weights

# The figures of an MNIST classifier's report (regression figures are in test_report_any.py).
FIGURES = [
    "learning_curves.png",
    "confusion_matrix.png",
    "misclassified.png",
    "weights.png",
    "deformed.png",
]

HISTORY = {
    "epochs": [
        {
            "epoch": 1,
            "train_loss": 0.9,
            "val_error": None,
            "test_error": None,
            "lr": 0.5,
            "seconds": 0.1,
        },
        {
            "epoch": 2,
            "train_loss": 0.7,
            "val_error": 0.40,
            "test_error": 0.45,
            "lr": 0.5,
            "seconds": 0.1,
        },
        {
            "epoch": 3,
            "train_loss": 0.6,
            "val_error": None,
            "test_error": None,
            "lr": 0.5,
            "seconds": 0.1,
        },
        {
            "epoch": 4,
            "train_loss": 0.5,
            "val_error": 0.30,
            "test_error": None,
            "lr": 0.5,
            "seconds": 0.1,
        },
    ],
    "best_epoch": 4,
    "best_error": 0.30,
    "stopped_early": False,
    "stop_reason": "ran all 4 epochs",
}


def read_idx(path) -> np.ndarray:
    """An independent IDX reader: the header's dimension count, big-endian sizes, then bytes."""
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_test_set(folder):
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    return images.reshape(len(images), -1), read_idx(folder / "t10k-labels-idx1-ubyte.gz")


def independent_confusion(net, images, labels) -> np.ndarray:
    predicted = np.argmax(net.predict(images.astype(net.dtype) / 255), axis=1)
    cm = np.zeros((10, 10), dtype=int)
    for t, p in zip(labels, predicted):
        cm[t, p] += 1
    return cm


def save_run(folder, net, data=None, history=HISTORY, **settings):
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        **settings,
        "preset": "test",
        "layers": net.sizes,
        "optimizer": "sgd",
        "lr": 0.5,
        "batch_size": 32,
        "epochs": 4,
        "seed": 3,
        "data": data,
    }
    bpnn.modelfile.save_model(
        folder / "model.npz",
        net,
        meta={"config": config, "results": {"test_error": 0.5, "epochs": 4, "seconds": 0.4}},
    )
    (folder / "history.json").write_text(json.dumps(history))
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_mnist_dir):
    """A run folder with a 784-16-10 net trained a few steps (so it still makes mistakes)."""
    images = read_idx(tiny_mnist_dir / "train-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(tiny_mnist_dir / "train-labels-idx1-ubyte.gz").astype(np.intp)
    net = bpnn.Network(
        [784, 16, 10],
        activation="sigmoid",
        loss="cross_entropy",
        init="xavier",
        dtype=np.float32,
        seed=np.random.default_rng(3),
    )
    opt = bpnn.SGD(lr=0.5)
    for start in range(0, 96, 32):
        X = images[start : start + 32].astype(np.float32) / 255
        grads = net.gradient(X, bpnn.one_hot(labels[start : start + 32], 10, dtype=np.float32))
        opt.step(net.params(), grads)
    folder = save_run(
        tmp_path_factory.mktemp("run") / "run",
        net,
        data=str(tiny_mnist_dir),
        augment="elastic:alpha=34:sigma=4,affine",  # (so the report shows the deformed images)
    )
    cm = independent_confusion(net, *read_test_set(tiny_mnist_dir))
    assert 0 < cm.sum() - np.trace(cm) < cm.sum()  # some mistakes to show, some right
    return folder, net, cm


def check_png(path, min_size=(300, 200)):
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.verify()
    with Image.open(path) as im:
        assert im.width >= min_size[0] and im.height >= min_size[1], (path, im.size)
        assert im.width <= 4000 and im.height <= 4000, (path, im.size)
        extrema = im.convert("L").getextrema()
        assert extrema[0] < extrema[1], f"{path} is blank"


def markdown_confusion(text: str) -> np.ndarray:
    text = text.split("## Confusion matrix")[1].split("##")[0]
    rows = re.findall(r"^\| \*\*(\d)\*\* \|(.*)\|$", text, flags=re.M)
    return np.array([[int(v) for v in cells.split("|")] for _, cells in rows])


def test_report_figures_and_pages(run, tiny_mnist_dir, tmp_path):
    folder, net, cm = run
    index = write_report(folder, tiny_mnist_dir, out_dir=tmp_path / "out")
    assert index == tmp_path / "out" / "index.html"
    for name in FIGURES:
        check_png(tmp_path / "out" / name)
    page = index.read_text()
    for name in FIGURES:
        assert f"src='{name}'" in page
    error = (cm.sum() - np.trace(cm)) / cm.sum()
    assert f"{100 * error:.2f}%" in page
    assert f"{100 * (1 - error):.2f}%" in page
    assert f"{net.n_params():,}" in page and "784-16-10" in page
    markdown = (tmp_path / "out" / "README.md").read_text()
    np.testing.assert_array_equal(markdown_confusion(markdown), cm)
    per_digit = 1 - np.diag(cm) / cm.sum(axis=1)
    for digit, (n, e) in enumerate(zip(cm.sum(axis=1), per_digit)):  # class, samples, wrong, error
        assert f"| **{digit}** | {n} | {n - cm[digit, digit]} | {100 * e:.2f}% |" in markdown
    for name in FIGURES:
        assert f"]({name})" in markdown


def test_deformed_images_only_for_runs_trained_with_deformations(run, tiny_mnist_dir, tmp_path):
    folder, net, _ = run
    write_report(folder, tiny_mnist_dir, out_dir=tmp_path / "out")
    check_png(tmp_path / "out" / "deformed.png", min_size=(400, 400))
    assert "Training images as the deformations" in (tmp_path / "out" / "index.html").read_text()
    plain = save_run(tmp_path / "plain", net, data=str(tiny_mnist_dir), augment=2)
    write_report(plain, tiny_mnist_dir, out_dir=tmp_path / "plain-out")
    assert not (tmp_path / "plain-out" / "deformed.png").exists()
    assert (tmp_path / "plain-out" / "weights.png").exists()


def test_cli_json_matches_independent_confusion(run, tiny_mnist_dir, tmp_path, capsys):
    folder, net, cm = run
    out = tmp_path / "cli"
    status = main(
        ["report", str(folder), "--data", str(tiny_mnist_dir), "--out", str(out), "--json"]
    )
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    np.testing.assert_array_equal(result["confusion_matrix"], cm)
    assert result["test_error"] == pytest.approx((cm.sum() - np.trace(cm)) / cm.sum())
    assert result["parameters"] == net.n_params() and result["notices"] == []
    assert sorted(p.split("/")[-1] for p in result["files"]) == sorted(
        [*FIGURES, "index.html", "README.md", "report.json"]
    )
    for path in result["files"]:
        assert (out / path.split("/")[-1]).is_file() and path.startswith(str(out))


def test_default_output_folder_and_recorded_data(run, monkeypatch):
    """Without --data the run's recorded data folder is used; output goes to RUN_DIR/report."""
    folder, _, _ = run
    monkeypatch.delenv("BPNN_DATA", raising=False)
    assert main(["report", str(folder)]) == 0
    for name in FIGURES:
        assert (folder / "report" / name).is_file()


def test_missing_data_skips_data_figures(run, tmp_path):
    folder, _, _ = run
    notices = []
    out = tmp_path / "nodata"
    index = write_report(folder, tmp_path / "empty", out_dir=out, log=notices.append)
    check_png(out / "learning_curves.png")
    check_png(out / "weights.png")
    assert not (out / "confusion_matrix.png").exists() and not (out / "misclassified.png").exists()
    assert len(notices) == 1 and "skipping the confusion matrix" in notices[0]
    page = index.read_text()
    assert "confusion_matrix.png" not in page and "Skipped" in page
    assert "50.00%" in page  # the recorded test error stands in for the missing data


def test_missing_data_keeps_the_figures_it_cannot_redraw(run, tmp_path):
    """Issue 20 item 3: a report without the data keeps an earlier report's data figures."""
    folder, _, _ = run
    notices = []
    out = tmp_path / "nodata"
    out.mkdir()
    (out / "confusion_matrix.png").write_bytes(b"earlier")
    index = write_report(folder, tmp_path / "empty", out_dir=out, log=notices.append)
    assert (out / "confusion_matrix.png").read_bytes() == b"earlier"
    assert any("kept from an earlier report" in n for n in notices)
    assert "confusion_matrix.png" in index.read_text()


def test_network_without_image_inputs(tmp_path, tiny_mnist_dir):
    net = bpnn.Network([10, 4, 3], seed=np.random.default_rng(0))
    folder = save_run(tmp_path / "run", net)
    notices = []
    write_report(folder, tiny_mnist_dir, log=notices.append)
    check_png(folder / "report" / "learning_curves.png")
    assert not (folder / "report" / "weights.png").exists()
    assert any("weight images" in n for n in notices)
    assert any("10 inputs" in n and "784 features" in n for n in notices)


@pytest.mark.parametrize("remove", [None, "model.npz", "history.json"])
def test_missing_run_files_fail_clearly(run, tmp_path, capsys, remove):
    folder = tmp_path / "run"
    if remove is not None:
        save_run(folder, run[1])
        (folder / remove).unlink()
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(folder) in err
    assert (remove or "no such run folder") in err
    with pytest.raises(bpnn.BpnnError, match=remove or "no such run folder"):
        write_report(folder)


def test_corrupt_history_is_a_format_error(run, tmp_path):
    folder = save_run(tmp_path / "run", run[1])
    (folder / "history.json").write_text("{not json")
    with pytest.raises(bpnn.FormatError, match="history.json"):
        write_report(folder)


def test_series_skips_missing_points():
    assert _series(HISTORY["epochs"], "val_error") == ([2, 4], [0.40, 0.30])
    assert _series(HISTORY["epochs"], "test_error") == ([2], [0.45])


def test_mistakes_most_confident_first():
    outputs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.45, 0.55], [0.7, 0.3]])
    test = Predictions(np.zeros((5, 4), np.uint8), np.array([0, 0, 0, 0, 1]), outputs)
    # wrong: 1 (margin 0.2), 2 (0.6), 3 (0.1), 4 (0.4)
    np.testing.assert_array_equal(mistakes(test), [2, 4, 1, 3])
    np.testing.assert_array_equal(mistakes(test, limit=2), [2, 4])


def test_digits_and_weights_drawn_upright_and_symmetric(rng):
    images = rng.integers(0, 256, size=(3, 6 * 4), dtype=np.uint8)
    test = Predictions(images, np.array([0, 1, 1]), np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]))
    fig = plot_mistakes(test, np.array([1, 0]), (6, 4))
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[1].reshape(6, 4))
    W = rng.normal(size=(70, 24))
    fig = plot_weights(W, (6, 4))
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 64  # at most 64 units
    top = np.abs(W[5]).max()
    assert shown[5].images[0].get_clim() == pytest.approx((-top, top))
    np.testing.assert_array_equal(shown[5].images[0].get_array(), W[5].reshape(6, 4))


def test_network_with_fewer_outputs_than_digits(tmp_path, tiny_mnist_dir):
    net = bpnn.Network([784, 4, 3], seed=np.random.default_rng(0))
    notices = []
    write_report(save_run(tmp_path / "run", net), tiny_mnist_dir, log=notices.append)
    assert notices == [notices[0]] and "not one of the model's classes" in notices[0]
    check_png(tmp_path / "run" / "report" / "weights.png", min_size=(300, 100))
    assert not (tmp_path / "run" / "report" / "confusion_matrix.png").exists()


@pytest.mark.slow
def test_report_on_real_mnist(mnist_dir, tmp_path):
    """A 784-32-10 net after one pass over 10,000 real images: every figure, 10,000 test digits."""
    images = read_idx(mnist_dir / "train-images-idx3-ubyte.gz")[:10000].reshape(-1, 784)
    labels = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")[:10000].astype(np.intp)
    net = bpnn.Network(
        [784, 32, 10],
        loss="cross_entropy",
        init="xavier",
        dtype=np.float32,
        seed=np.random.default_rng(1),
    )
    opt = bpnn.SGD(lr=0.5)
    for start in range(0, len(labels), 64):
        X = images[start : start + 64].astype(np.float32) / 255
        grads = net.gradient(X, bpnn.one_hot(labels[start : start + 64], 10, dtype=np.float32))
        opt.step(net.params(), grads)
    notices = []
    write_report(save_run(tmp_path / "run", net), mnist_dir, log=notices.append)
    assert notices == []
    summary = json.loads((tmp_path / "run" / "report" / "report.json").read_text())
    cm = independent_confusion(net, *read_test_set(mnist_dir))
    assert cm.sum() == 10000 and summary["confusion_matrix"] == cm.tolist()
    assert summary["test_error"] < 0.2  # it did learn
    for name in FIGURES:
        if name != "deformed.png":  # (trained without deformations: no grid of them)
            check_png(tmp_path / "run" / "report" / name)
