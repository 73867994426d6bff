"""``--resume`` with options that repeat the run's own settings (``--device cpu`` on a CPU run,
as the README's devices example does) changes nothing and ends normally, not in a traceback."""

from __future__ import annotations

from conftest import run_cli
from test_any_data import blobs, write_csv


def test_resume_with_the_recorded_device_and_epochs(tmp_path, capsys):
    X, y = blobs(120, __import__("numpy").random.default_rng(1))
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[*row, t] for row, t in zip(X, y)])
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", run, "--epochs", "2",
                           "--no-report")  # fmt: skip
    assert code == 0, err
    for again in (["--device", "cpu"], ["--epochs", "2", "--device", "cpu"]):
        code, out, err = run_cli(capsys, "train", "--resume", run, *again)
        said = out + err
        assert code == 0, said
        assert "nothing to train" in said and "changed:" not in said
    code, out, err = run_cli(capsys, "train", "--resume", run, "--epochs", "3", "--device", "cpu")
    assert code == 0 and "(changed: {'from_epoch': 3, 'epochs': 3})" in out + err, out + err
