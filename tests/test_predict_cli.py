"""``bpnn predict`` end to end: several files, an unreadable one, standard input, --json, --top,
and (with the real MNIST) photo-like images of handwritten digits read correctly."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import bpnn
from conftest import run_cli as cli
from helpers_model import WORDS, example_images, read_idx, save_mnist_model, tiny_model


def digit_file(path: Path, fmt: str | None = None) -> Path:
    img = Image.new("RGB", (120, 160), (250, 250, 245))
    ImageDraw.Draw(img).line([(40, 30), (80, 30), (55, 130)], fill=(10, 10, 60), width=10)
    img.save(path, fmt)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny.npz")


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("images")
    return [
        digit_file(folder / "a.png"),
        digit_file(folder / "b.jpg"),
        digit_file(folder / "c.gif"),
    ]


def run_cli(capsys, *argv):
    """``bpnn predict ARGV...``: (exit status, stdout, stderr)."""
    return cli(capsys, "predict", *argv)


def test_several_files(capsys, model, images):
    code, out, err = run_cli(capsys, model, *images)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    for line, path in zip(lines, images):
        assert line.startswith(f"{path}: ") and "%" in line


def test_unreadable_file_others_still_predicted(capsys, model, images, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    code, out, err = run_cli(capsys, model, images[0], text, tmp_path / "absent.png", images[1])
    assert code == 2
    assert [line.split(":")[0] for line in out.splitlines()] == [str(images[0]), str(images[1])]
    errors = err.strip().splitlines()
    assert len(errors) == 2 and "notes.txt" in errors[0] and "not a PNG" in errors[0]
    assert "absent.png" in errors[1] and "no such file" in errors[1]


def test_json_schema_and_top(capsys, model, images, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    code, out, _ = run_cli(capsys, model, images[0], blank, "--json", "--top", "4")
    assert code == 2
    doc = json.loads(out)
    assert doc["model"] == str(model) and doc["normalised"] is False
    good, bad = doc["results"]
    assert good["file"] == str(images[0]) and set(good) == {
        "file",
        "digit",
        "probability",
        "unsure",
        "top",
    }
    probs = [t["probability"] for t in good["top"]]
    assert len(good["top"]) == 4 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-9
    assert good["top"][0] == {"digit": good["digit"], "probability": good["probability"]}
    assert bad["file"] == str(blank) and "blank" in bad["error"]


def test_all_ten_probabilities_sum_to_one_and_match_the_network(capsys, model, images):
    _, out, _ = run_cli(capsys, model, images[0], "--json", "--top", "10")
    top = json.loads(out)["results"][0]["top"]
    assert sorted(t["digit"] for t in top) == list(range(10))
    assert abs(sum(t["probability"] for t in top) - 1) < 1e-6
    net = bpnn.load(model).net  # the network's outputs, for the preprocessed input x
    x = bpnn.imaging.mnist_to_input(bpnn.imaging.image_to_mnist(bpnn.imaging.load_image(images[0])))
    assert np.allclose(
        [t["probability"] for t in sorted(top, key=lambda t: t["digit"])], net.predict(x)
    )


def test_sigmoid_model_outputs_are_normalised(capsys, images, tmp_path):
    path = tmp_path / "sigmoid.npz"
    bpnn.modelfile.save_model(path, bpnn.Network([784, 12, 10], seed=1))
    code, out, _ = run_cli(capsys, path, images[0], "--json", "--top", "10")
    doc = json.loads(out)
    assert code == 0 and doc["normalised"] is True
    assert abs(sum(t["probability"] for t in doc["results"][0]["top"]) - 1) < 1e-6
    code, out, _ = run_cli(capsys, path, images[0])
    assert "normalised" in out


@pytest.mark.parametrize(
    "argv,message",
    [(["--top", "0"], "--top"), (["--top", "11"], "--top"), (["-", "-"], "only once")],
)
def test_bad_options(capsys, model, images, argv, message):
    code, out, err = run_cli(capsys, model, images[0], *argv)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_bad_model_is_one_line(capsys, images, tmp_path):
    for path, message in [
        (tmp_path / "absent.npz", "no such file"),
        (images[0], "not a bpnn file"),
    ]:
        code, out, err = run_cli(capsys, path, images[1])
        assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    wrong = tmp_path / "wrong.npz"
    bpnn.modelfile.save_model(wrong, bpnn.Network([100, 10], seed=0))
    code, _, err = run_cli(capsys, wrong, images[1])
    assert code == 2 and "784" in err


def test_standard_input(model, images):
    """A real process: ``-`` reads the image bytes from stdin."""
    data = images[1].read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "bpnn", "predict", str(model), "-", "--json"],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)["results"][0]
    assert result["file"] == "-" and 0 <= result["digit"] <= 9
    proc = subprocess.run(
        [sys.executable, "-m", "bpnn", "predict", str(model), "-"],
        input=b"hello",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2 and b"standard input" in proc.stderr and proc.stdout == b""


# ---- with a model that really reads digits ---------------------------------------------------
@pytest.fixture(scope="module")
def mnist_model(mnist_dir, tmp_path_factory) -> Path:
    return save_mnist_model(mnist_dir, tmp_path_factory.mktemp("mnist") / "model.npz")


@pytest.mark.slow  # the mnist_model fixture trains on the real MNIST (~12 s)
def test_example_images_are_read(capsys, mnist_model):
    files = example_images()
    assert len(files) >= 3
    code, out, _ = run_cli(capsys, mnist_model, *files, "--json")
    assert code == 0
    for path, result in zip(files, json.loads(out)["results"]):
        assert path.stat().st_size < 50_000
        assert result["digit"] == WORDS[path.stem], (path.name, result)


@pytest.mark.slow
def test_photo_like_mnist_digits(capsys, mnist_model, mnist_dir, tmp_path, rng):
    """MNIST test digits turned into photos (dark pen, off-white paper, shadow, noise, colour
    JPEG at 10x the size) are read about as well as the originals."""
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:40]
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:40]
    files = []
    for i, digit in enumerate(images):
        ink = (
            np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BICUBIC), float)
            / 255
        )
        yy, xx = np.mgrid[0:360, 0:320]
        light = (1.0 - 0.3 * (yy / 360) * (xx / 320))[..., None]
        paper = np.tile(np.array([232.0, 226, 210]), (360, 320, 1))
        paper[40:320, 20:300] = (
            paper[40:320, 20:300] * (1 - ink[..., None]) + np.array([30, 35, 90]) * ink[..., None]
        )
        photo = paper * light + rng.normal(0, 5, paper.shape)
        buf = io.BytesIO()
        Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=75)
        files.append(tmp_path / f"{i}.jpg")
        files[-1].write_bytes(buf.getvalue())
    code, out, _ = run_cli(capsys, mnist_model, *files, "--json")
    predicted = [r["digit"] for r in json.loads(out)["results"]]
    assert code == 0 and np.mean(np.array(predicted) == labels) >= 0.9


def test_broken_exif_is_one_line_and_the_rest_are_read(capsys, model, images, tmp_path):
    """A PNG whose eXIf chunk is damaged: one error line, the next file still predicted."""
    data = images[0].read_bytes()
    payload = b"garbage!"
    chunk = (
        len(payload).to_bytes(4, "big")
        + b"eXIf"
        + payload
        + zlib.crc32(b"eXIf" + payload).to_bytes(4, "big")
    )
    broken = tmp_path / "broken-exif.png"
    broken.write_bytes(data[:33] + chunk + data[33:])
    code, out, err = run_cli(capsys, model, broken, images[1])
    assert code == 2
    assert [line.split(":")[0] for line in out.splitlines()] == [str(images[1])]
    assert err.count("\n") == 1 and f"{broken}: cannot read the image" in err
