"""Deformations (``--augment elastic,affine,shift``): the setting's text, determinism by seed,
identity at zero strength, shapes and values kept, the compiled path and the JAX program against
the NumPy reference, resume exact mid-epoch, refused for tabular data."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bpnn.train as train_mod
from bpnn import TrainConfig
from bpnn.augment import deform_epoch, deformation, parse_augment, valid_augment
from bpnn.data.split import Split
from bpnn.deform import Deformation, deform_reference, noise, source_coords
from bpnn.errors import BpnnError
from bpnn.train import Trainer
from conftest import interrupt_after, synthetic_digits
from test_train import final_arrays, small_config, trainer

ALL = Deformation(alpha=34, sigma=4, rotate=15, scale=0.15, shear=15, pixels=2)
ZERO = Deformation(alpha=0, sigma=4, rotate=0, scale=0, shear=0, pixels=0)


def digits(n=64, shape=(28, 28), seed=0) -> np.ndarray:
    gen = np.random.default_rng(seed)
    images = np.zeros((n, *shape), np.uint8)
    h, w = shape
    images[:, h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = gen.integers(1, 256, (n, 1, 1))
    return images.reshape(n, h * w)


def test_augment_text_parses_and_numbers_keep_their_meaning():
    assert parse_augment("2") == 2 and parse_augment("shift") == 2
    assert parse_augment("shift:pixels=3") == 3  # shift alone: today's shifts
    text = parse_augment("elastic:alpha=30,sigma=5,affine:rotate=12,shift:pixels=1")
    assert deformation(text) == Deformation(30, 5, 12, 0.1, 10, 1)
    assert deformation("affine") == Deformation(rotate=10, scale=0.1, shear=10)
    assert deformation(2) is None
    for bad in (
        "elastik",
        "elastic:alpha=-1",
        "elastic:beta=3",
        "shift:pixels=9",
        "elastic,elastic",
    ):
        assert not valid_augment(bad)
        with pytest.raises(ValueError, match="augment"):
            parse_augment(bad)
    TrainConfig(augment="elastic,affine")
    with pytest.raises(ValueError, match="augment must be"):
        TrainConfig(augment="sideways")
    with pytest.raises(ValueError, match="augment must be"):
        TrainConfig(augment=5)


@pytest.mark.parametrize("shape", [(28, 28), (20, 33)])
def test_deterministic_given_the_seed_shapes_and_values_kept(shape):
    X = digits(50, shape)
    a = deform_epoch(X, shape, ALL, 7)
    assert a.shape == X.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, deform_epoch(X, shape, ALL, 7))
    assert not np.array_equal(a, deform_epoch(X, shape, ALL, 8))
    assert not np.array_equal(a, X)
    # each image's numbers depend on its index, not on the images around it
    np.testing.assert_array_equal(
        deform_reference(X[10:20], shape, ALL, 7, np.arange(10, 20)),
        deform_reference(X, shape, ALL, 7)[10:20],
    )
    # bilinear reads of a constant image stay inside its values
    flat = np.full_like(X, 200)
    assert deform_epoch(flat, shape, ALL, 3).max() <= 200


@pytest.mark.parametrize("shape", [(28, 28), (17, 24)])
def test_zero_strength_is_the_identity(shape):
    X = digits(40, shape)
    np.testing.assert_array_equal(deform_epoch(X, shape, ZERO, 11), X)
    np.testing.assert_array_equal(deform_reference(X, shape, ZERO, 11), X)


def test_the_noise_is_uniform_and_the_field_smooth():
    u = noise(5, np.arange(200), (28, 28))
    assert u.shape == (200, 2, 28, 28) and u.min() >= -1 and u.max() < 1
    assert abs(u.mean()) < 0.01 and abs(u.var() - 1 / 3) < 0.01
    disp = source_coords(5, np.arange(200), (28, 28), Deformation(alpha=34, sigma=4))
    grid = np.indices((28, 28)).astype(np.float32)
    move = disp - grid
    assert 0.3 < np.abs(move).mean() < 5  # pixels, Simard's strength
    assert np.abs(np.diff(move, axis=3)).mean() < 0.2 * np.abs(move).mean()  # smooth


def test_a_whole_shift_moves_pixels_exactly():
    """Shift only (with elastic of strength 0): each image moved by whole pixels, zeros in."""
    X = digits(30)
    d = Deformation(pixels=2, rotate=0)
    out = deform_epoch(X, (28, 28), d, 4).reshape(-1, 28, 28)
    src = X.reshape(-1, 28, 28)
    for a, b in zip(out, src):
        assert a.sum() == b.sum()  # the square stays inside the field


def test_compiled_path_agrees_with_the_reference():
    pytest.importorskip("numba")
    from bpnn.fast.deform import deform_images

    X = digits(300)
    a = deform_reference(X, (28, 28), ALL, 99)
    b = deform_images(X, (28, 28), ALL, 99)
    assert np.abs(a.astype(int) - b).max() <= 1 and (a != b).mean() < 1e-3


def test_jax_program_gives_the_same_field_within_float32_rounding():
    pytest.importorskip("jax")
    from bpnn.accel import jax_deform

    idx = np.arange(1000, 1200)
    for shape in [(28, 28), (19, 26)]:
        host = source_coords(123, idx, shape, ALL)
        dev = np.asarray(jax_deform.source_coords(np.uint32(123), idx.astype(np.int32), shape, ALL))
        np.testing.assert_allclose(dev, host, rtol=0, atol=1e-4)  # coordinates up to ~30
        X = digits(len(idx), shape)
        ref = deform_reference(X, shape, ALL, 123, idx)
        out = np.asarray(jax_deform.deform_batch(X, np.uint32(123), idx, shape, ALL))
        assert np.abs(out - ref).max() <= 1 and (out != ref).mean() < 1e-3


@pytest.fixture(scope="module")
def splits():
    gen = np.random.default_rng(3)
    parts = []
    for n in (300, 60, 60):
        images, labels = synthetic_digits(n, gen)
        parts.append(Split(images.reshape(n, 784), labels))
    return parts


@pytest.mark.parametrize("device", ["cpu", "jax-cpu"])
def test_deformed_runs_resume_bit_identically_mid_epoch(monkeypatch, splits, tmp_path, device):
    if device != "cpu":
        pytest.importorskip("jax")
    monkeypatch.setattr(train_mod, "CHUNK", 64)
    cfg = small_config(epochs=3, augment="elastic,affine,shift", device=device)
    whole = trainer(cfg, splits, tmp_path / "whole")
    whole.run()
    shifted = trainer(
        small_config(epochs=3, augment=2, device=device), splits, tmp_path / "shifted"
    )
    shifted.run()
    assert not np.array_equal(whole.net.params()[0], shifted.net.params()[0])
    interrupt_after(monkeypatch, 8)
    assert trainer(cfg, splits, tmp_path / "cut").run()["interrupted"]
    arrays, meta = final_arrays(tmp_path / "cut")
    assert "position.shifts" not in arrays and isinstance(meta["position"]["deform_seed"], int)
    interrupt_after(monkeypatch, 10**9)
    train, val, test = splits
    Trainer.resume(tmp_path / "cut", train, val, test, progress=False).run()
    a, _ = final_arrays(tmp_path / "whole")
    b, _ = final_arrays(tmp_path / "cut")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_the_jax_program_trains_on_deformed_images(splits, tmp_path):
    """On JAX's CPU backend, without dropout: the same images (within a pixel level's
    rounding), so nearly the same weights as the compiled path's."""
    pytest.importorskip("jax")
    cfg = small_config(epochs=2, augment="elastic,affine")
    cpu = trainer(cfg, splits, None)
    cpu.run()
    dev = trainer(small_config(epochs=2, augment="elastic,affine", device="jax-cpu"), splits, None)
    dev.run()
    plain = trainer(small_config(epochs=2, device="jax-cpu"), splits, None)
    plain.run()
    w_cpu, w_dev, w_plain = (t.net.params()[0] for t in (cpu, dev, plain))
    assert np.abs(w_dev - w_cpu).max() < 0.1 * np.abs(w_plain - w_cpu).max()


def test_tabular_data_is_refused_in_one_line(tmp_path):
    gen = np.random.default_rng(0)
    X = gen.normal(size=(100, 784)).astype(np.float32)
    y = gen.integers(0, 10, 100)
    data = (Split(X, y), Split(X[:20], y[:20]), None)
    with pytest.raises(BpnnError, match="augment deforms images") as err:
        trainer(small_config(augment="elastic"), data, tmp_path).run()
    assert "\n" not in str(err.value)


def test_the_cli_refuses_tabular_data_and_bad_text_in_one_line(tmp_path, capsys):
    from conftest import run_cli
    from test_any_data import write_csv

    rows = [[i % 3, (i * 7) % 5, i % 2] for i in range(40)]
    csv = write_csv(tmp_path / "t.csv", ["a", "b", "y"], rows)
    code, _, err = run_cli(
        capsys, "train", "--data", csv, "--out", tmp_path / "r", "--augment", "elastic"
    )
    assert code == 2 and "augment deforms images" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(
        capsys, "train", "--data", csv, "--out", tmp_path / "r2", "--augment", "elastic:beta=3"
    )
    assert code == 2 and "augment" in err and "Traceback" not in err


def test_the_cli_trains_on_deformed_idx_images(tiny_mnist_dir, tmp_path, capsys):
    from conftest import run_cli

    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys,
        "train",
        "--data",
        tiny_mnist_dir,
        "--out",
        out,
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--no-report",
        "--augment",
        "elastic,affine:rotate=12,shift:pixels=1",
    )
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert (
        config["augment"]
        == "elastic:alpha=34:sigma=4,affine:rotate=12:scale=0.1:shear=10,shift:pixels=1"
    )


def test_images_of_any_size_from_an_idx_folder(tmp_path, capsys):
    """12x20 images: the shape comes from the IDX files, the run trains on deformed ones."""
    from conftest import run_cli, write_idx_gz

    gen = np.random.default_rng(1)
    for prefix, n in (("train", 120), ("t10k", 30)):
        labels = gen.integers(0, 3, n).astype(np.uint8)
        images = np.zeros((n, 12, 20), np.uint8)
        for i, k in enumerate(labels):
            images[i, 2 + 3 * k : 4 + 3 * k, 3:17] = 200
        write_idx_gz(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx_gz(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        tmp_path,
        "--out",
        out,
        "--epochs",
        "2",
        "--hidden",
        "8",
        "--no-report",
        "--augment",
        "elastic:alpha=8:sigma=3,affine",
    )
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["layers"][0] == 240  # (not square: the shape came from the files)


def test_settings_hold_the_full_text_and_shift_alone_is_a_number():
    """However the setting is given (CLI, Python, a sweep, a saved config), the run is the same:
    shift alone is today's integer shifts, bit for bit."""
    assert TrainConfig(augment="shift").augment == 2
    assert TrainConfig(augment="shift:pixels=1").augment == 1
    assert TrainConfig(augment="elastic").augment == "elastic:alpha=34:sigma=4"
    assert TrainConfig(augment=2).augment == 2


def test_the_records_preset_deforms_and_leaves_best_and_fast_alone():
    from bpnn.presets import PRESETS, preset

    records = preset("records")
    hidden = records.pop("hidden")
    cfg = TrainConfig(**records, layers=[784, *hidden, 10], preset="records")
    d = deformation(cfg.augment)
    assert d is not None and d.elastic and d.affine
    assert cfg.average == 0.9  # (the averaged weights: 0.61% -> 0.49%, README "Presets")
    assert PRESETS["best"]["augment"] == 2 and "augment" not in PRESETS["fast"]
    assert "average" not in PRESETS["best"] and "average" not in PRESETS["fast"]


def test_augment_2_draws_the_shifts_as_before(splits):
    """--augment 2: the epoch's order, then its shifts, from the run's training generator, as
    before deformations existed (benchmarks/fingerprint.py checks the weights end to end)."""
    from bpnn.augment import random_shifts

    t = trainer(small_config(epochs=1, augment=2), splits, None)
    pos = t._position()
    gen = np.random.default_rng(np.random.SeedSequence(t.config.seed).spawn(2)[1])
    np.testing.assert_array_equal(pos.order, gen.permutation(300))
    np.testing.assert_array_equal(pos.shifts, random_shifts(300, 2, gen))
    assert pos.seed is None
