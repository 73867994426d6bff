"""Issue 20, items 14-17: sweeps bounded in size, a scheduler that never answers, damaged sweep
folders and specs, hand-edited model metadata and history.json: one line each, never a traceback
nor a hang."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import bpnn
from bpnn.cli import main
from bpnn.errors import BpnnError
from bpnn.sweep.spec import parse_spec

SRC = str(Path(bpnn.__file__).resolve().parents[1])
IRIS = "examples/iris.csv"
NINE = ("lr", "momentum", "weight_decay", "batch_size", "epochs", "patience", "seed", "lr_step")
NINE += ("eval_every",)


def one_line_error(capsys, argv: list, message: str) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1, err
    return err


def spec_file(tmp_path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# ---- item 14: sweep size, --workers -----------------------------------------------------------


def _bounded(code: str, seconds: int = 60, memory: int = 1 << 30) -> subprocess.CompletedProcess:
    """``code`` in a Python of its own with ``memory`` bytes of address space at most."""
    limit = (
        "import resource; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({memory + (1 << 30)}, {memory + (1 << 30)}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", limit + code],
        capture_output=True,
        text=True,
        timeout=seconds,
        env={**os.environ, "PYTHONPATH": SRC},
    )


@pytest.mark.parametrize(
    "raw",
    [
        {"search": {name: list(range(1, 11)) for name in NINE}},  # 10^9 combinations
        {"trials": 10**9, "search": {"lr": {"low": 0.01, "high": 0.1}}},
    ],
    ids=["grid", "random"],
)
def test_a_huge_sweep_is_refused_before_any_trial_is_made(raw, tmp_path):
    code = (
        "import json, sys\n"
        "from bpnn.sweep.spec import parse_spec\n"
        "from bpnn.errors import BpnnError\n"
        f"try:\n    parse_spec(json.loads({json.dumps(json.dumps(raw))}))\n"
        "except BpnnError as e:\n    print(e); sys.exit(3)\n"
    )
    result = _bounded(code)
    assert result.returncode == 3, result.stderr[-1000:]
    assert "MAX_SWEEP_TRIALS" in result.stdout


def test_the_largest_allowed_sweep_is_made():
    from bpnn.limits import MAX_SWEEP_TRIALS

    spec = parse_spec({"trials": MAX_SWEEP_TRIALS, "search": {"lr": {"low": 0.01, "high": 0.1}}})
    assert len(spec.make_trials()) == MAX_SWEEP_TRIALS


def test_workers_beyond_the_machine_are_refused(tmp_path, capsys):
    spec = spec_file(tmp_path, "[search]\nlr = [0.1]\n")
    cores = len(os.sched_getaffinity(0))
    argv = ["sweep", spec, "--data", IRIS, "--out", tmp_path / "o", "--workers", 10**6]
    one_line_error(capsys, argv, f"more than this machine's {cores} cores")


# ---- item 15: a scheduler that accepts and never answers --------------------------------------


def test_a_scheduler_that_never_answers_is_one_line_not_a_hang(tmp_path):
    pytest.importorskip("distributed")
    spec = spec_file(tmp_path, "[search]\nlr = [0.1]\n")
    with socket.socket() as listener:  # accepts connections (the backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        argv = ["sweep", str(spec), "--data", IRIS, "--out", str(tmp_path / "o")]
        argv += ["--scheduler", f"tcp://127.0.0.1:{port}"]
        try:
            result = subprocess.run(
                [sys.executable, "-m", "bpnn", *argv],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, "PYTHONPATH": SRC},
            )
        except subprocess.TimeoutExpired:
            pytest.fail("bpnn sweep hung on a scheduler that never answers")
    assert result.returncode == 2, result.stderr[-1000:]
    assert "cannot reach the Dask scheduler" in result.stderr and "no answer" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ---- item 16: specs, damaged sweep folders -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("[search]\nlr = " + "[" * 3000 + "0.1" + "]" * 3000 + "\n", "s.toml", "nested too deep"),
        ('{"search": {"lr": ' + "[" * 3000 + "0.1" + "]" * 3000 + "}}", "s.json", "nested"),
        ("[search]\nlr = [[[[[[[[[[0.1]]]]]]]]]]\n", "s.toml", "nested too deeply"),
        ("[search]\nlr = {low = -inf, high = inf}\n", "s.toml", "must be finite"),
        ("[search]\nlr = {low = 1e-300, high = 1e308, scale = 'log'}\n", "s.toml", ""),
        ("seed = inf\n[search]\nlr = [0.1]\n", "s.toml", "seed must be a whole number"),
        ("seed = -1\n[search]\nlr = [0.1]\n", "s.toml", "seed must be a whole number"),
        ("[search]\nbatch_size = {low = 1, high = 1e400}\n", "s.toml", ""),
        ("[search]\nbatch_size = {low = 1, high = 10000000000000000000000}\n", "s.toml", ""),
        ("[1, 2]", "s.json", "a spec is a table of settings, not a list"),
    ],
)
def test_a_bad_spec_is_one_line(tmp_path, capsys, text, name, message):
    spec = spec_file(tmp_path, text, name)
    one_line_error(capsys, ["sweep", spec, "--data", IRIS, "--out", tmp_path / "o"], message)


@pytest.fixture
def sweep_folder(tmp_path, monkeypatch, capsys):
    """A sweep folder as a first run leaves it when Dask is missing: sweep.json, no trials."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    spec = spec_file(tmp_path, "[base]\nepochs = 1\nhidden = 4\n[search]\nlr = [0.1, 0.2]\n")
    out = tmp_path / "o"
    main(["sweep", str(spec), "--data", IRIS, "--out", str(out)])
    capsys.readouterr()
    assert (out / "sweep.json").is_file()
    return spec, out


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda out: (out / "sweep.json").write_text("[1, 2]"), "not a bpnn sweep file"),
        (lambda out: _edit(out / "sweep.json", lambda s: s.pop("scales")), "scales"),
        (lambda out: _edit(out / "sweep.json", lambda s: s.update(trials=["x"])), "trials"),
        (lambda out: (out / "trials").write_text("not a folder"), "is not a folder"),
    ],
)
def test_a_damaged_sweep_folder_is_one_line(sweep_folder, capsys, damage, message):
    spec, out = sweep_folder
    damage(out)
    one_line_error(capsys, ["sweep", spec, "--data", IRIS, "--out", out], message)


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "record",
    [
        {"status": "done", "name": "trial-000"},  # no results
        "done",  # a bare string
        {"status": "done", "name": "trial-000", "results": {"val_error": "low"}},
        {"status": "done", "name": "trial-000", "results": {"val_error": 0.1, "seconds": [1]}},
        {"status": "failed"},  # no message
        {"status": 3},
        ["done"],
    ],
)
def test_a_damaged_trial_record_is_run_again(tmp_path, record):
    from bpnn.sweep.results import Tally, collect, open_sweep, trial_folder, write_results
    from bpnn.sweep.trial import read_record

    spec = parse_spec({"base": {"epochs": 1}, "search": {"lr": [0.1, 0.2]}})
    sweep = open_sweep(tmp_path, spec, {"source": IRIS, "target": None, "test": None})
    folder = trial_folder(tmp_path, "trial-000")
    folder.mkdir(parents=True)
    (folder / "trial.json").write_text(json.dumps(record))
    assert read_record(folder) is None  # not finished: it runs again (from its checkpoint)
    rows = collect(tmp_path, sweep)
    assert [r["status"] for r in rows] == ["not run", "not run"]
    write_results(tmp_path, sweep, rows, 0.0)
    Tally(2).line(0)


def test_a_trial_whose_folder_is_a_file_fails_alone(tmp_path):
    from bpnn.sweep.trial import run_trial

    (tmp_path / "trial-000").write_text("a file")
    trial = {"name": "trial-000", "settings": {"epochs": 1}, "params": {}}
    record = run_trial(trial, {"source": IRIS}, tmp_path / "trial-000")
    assert record["status"] == "failed" and "trial-000" in record["error"]


# ---- item 16: model metadata, history.json -----------------------------------------------------


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    from helpers_model import tiny_model

    return tiny_model(tmp_path_factory.mktemp("m") / "m.npz")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("image_shape", 5, "image_shape must be [height, width]"), ("scale", [1], "scale")],
)
@pytest.mark.parametrize("command", ["predict", "info", "export"])
def test_bad_preprocessing_metadata_is_one_line(
    model_file, tmp_path, capsys, key, value, message, command
):
    from bpnn.modelfile import load_arrays, save_arrays

    if command == "export":
        pytest.importorskip("onnx")
    arrays, meta = load_arrays(model_file)
    meta["preprocessing"][key] = value
    save_arrays(tmp_path / "bad.npz", arrays, meta)
    argv = {
        "predict": ["predict", tmp_path / "bad.npz", "examples/two.png"],
        "info": ["info", tmp_path / "bad.npz"],
        "export": ["export", tmp_path / "bad.npz", "--out", tmp_path / "x.onnx"],
    }[command]
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    "history",
    [
        {"epochs": [{"epoch": "one", "train_loss": 1.0}]},
        {"epochs": [{"epoch": 1, "train_loss": "high"}]},
        {"epochs": ["epoch 1"]},
        {"epochs": [], "best_epoch": "1"},
    ],
)
def test_a_damaged_history_is_one_line_in_the_report(model_file, tmp_path, capsys, history):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.npz").write_bytes(model_file.read_bytes())
    (run / "history.json").write_text(json.dumps(history))
    one_line_error(capsys, ["report", run], "history.json")


# ---- item 17: spec values the train command would refuse --------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"search": {"lr": [True]}}, "lr must be a positive number"),
        ({"search": {"epochs": [True]}}, "epochs must be a whole number"),
        ({"search": {"activation": ["--relu"]}}, "activation must be one of"),
        ({"search": {"hidden": ["--5"]}}, "comma-separated numbers"),
        ({"base": {"limit": True}, "search": {"lr": [0.1]}}, "limit must be a whole number"),
        ({"base": {"limit": "--5"}, "search": {"lr": [0.1]}}, "limit must be a whole number"),
        ({"base": {"target": 5}, "search": {"lr": [0.1]}}, "target must be a column name"),
    ],
)
def test_spec_values_train_would_refuse_are_refused_by_the_spec_check(raw, message):
    with pytest.raises(BpnnError, match=message):
        parse_spec(raw)


def test_a_value_that_looks_like_an_option_stays_a_value(tmp_path):
    from bpnn.cli import build_parser
    from bpnn.sweep.trial import train_argv

    argv = train_argv({"seed": 0, "lr": 0.1}, {"source": "d.csv", "target": "--y"}, tmp_path)
    assert "--target=--y" in argv
    args = build_parser().parse_args(argv)
    assert args.target == "--y"


def test_base_data_options_pick_the_trials_data(tmp_path):
    from bpnn.sweep.trial import run_trial

    settings = {"seed": 0, "epochs": 1, "hidden": [4], "limit": 60}
    trial = {"name": "trial-000", "settings": settings, "params": {}}
    record = run_trial(trial, {"source": str(Path(IRIS).resolve())}, tmp_path / "t")
    assert record["status"] == "done", record.get("error")
    config = json.loads((tmp_path / "t" / "config.json").read_text())
    assert config["data"]["limit"] == 60


def test_numbers_stay_numbers():
    assert np.isfinite(parse_spec({"search": {"lr": [0.1]}}).make_trials()[0].settings["lr"])
