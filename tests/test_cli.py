"""The ``bpnn`` command line as a whole: output into a pipe that closes early."""

from __future__ import annotations

import subprocess
import sys

from helpers_model import tiny_model
from test_predict_cli import digit_file


def test_closed_pipe_ends_quietly(tmp_path):
    """``bpnn predict ... | head -1``: no "Broken pipe" message, no traceback, status 1."""
    model = tiny_model(tmp_path / "tiny.npz")
    image = digit_file(tmp_path / "seven.png")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpnn", "predict", str(model)] + [str(image)] * 3000,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline().startswith(str(image).encode())
    proc.stdout.close()  # as head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1 and err == ""


def test_a_shortened_option_is_refused_not_guessed(capsys):
    """``--epoch 3`` is not taken for ``--epochs 3``: a mistyped option is an error (exit 2)."""
    import pytest

    from bpnn.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["train", "--data", "examples/iris.csv", "--epoch", "3"])
    assert stopped.value.code == 2
    assert "unrecognized arguments: --epoch 3" in capsys.readouterr().err


def test_a_value_that_does_not_parse_is_said_plainly(capsys):
    """``--lr abc`` and ``--epochs 2.5``: the option, the value and what it must be, in words
    (not Python's "could not convert string to float")."""
    from bpnn.cli import main

    for args, line in (
        (["--lr", "abc"], "bpnn train: error: --lr abc: not a number"),
        (["--epochs", "2.5"], "bpnn train: error: --epochs 2.5: not a whole number"),
    ):
        assert main(["train", "--data", "examples/iris.csv", *args]) == 2
        assert capsys.readouterr().err.strip() == line
