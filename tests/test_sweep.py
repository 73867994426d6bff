"""bpnn sweep without a cluster: the spec file, its errors, the results table and the sweep report.
(The sweeps on real Dask clusters are in test_sweep_cluster.py.)"""

from __future__ import annotations

import json
import socket
import sys

import pytest

from bpnn.cli import main
from bpnn.errors import BpnnError
from bpnn.sweep.spec import Range, parse_spec
from bpnn.sweep.trial import train_argv


def test_grid_is_every_combination_in_order():
    spec = parse_spec(
        {"base": {"epochs": 3}, "search": {"lr": [0.1, 0.01], "hidden": [[8], [16, 8]]}}
    )
    trials = spec.make_trials()
    assert spec.method == "grid"
    assert [t.params for t in trials] == [
        {"lr": 0.1, "hidden": [8]},
        {"lr": 0.1, "hidden": [16, 8]},
        {"lr": 0.01, "hidden": [8]},
        {"lr": 0.01, "hidden": [16, 8]},
    ]
    assert trials[0].name == "trial-000" and trials[0].settings == {
        "seed": 0,
        "epochs": 3,
        "lr": 0.1,
        "hidden": [8],
    }


def test_random_draws_stay_in_range_are_rounded_and_repeat_with_the_seed():
    raw = {
        "trials": 20,
        "seed": 3,
        "search": {
            "lr": {"low": 1e-4, "high": 1e-1, "scale": "log"},
            "batch_size": {"low": 8, "high": 256, "scale": "log"},
            "activation": ["relu", "tanh"],
        },
    }
    spec = parse_spec(raw)
    trials = spec.make_trials()
    assert spec.method == "random" and len(trials) == 20
    assert spec.space["batch_size"] == Range(8.0, 256.0, "log", True)
    for t in trials:
        assert 1e-4 <= t.params["lr"] <= 1e-1 and t.params["lr"] == float(f"{t.params['lr']:.4g}")
        assert isinstance(t.params["batch_size"], int) and 8 <= t.params["batch_size"] <= 256
    assert [t.params for t in parse_spec(raw).make_trials()] == [t.params for t in trials]
    assert spec.scales() == {"lr": "log", "batch_size": "log", "activation": "list"}


def test_trial_options_are_bpnn_train_options():
    argv = train_argv(
        {"seed": 1, "hidden": [16, 8], "lr": 0.01},
        {"source": "/d/iris.csv", "target": "species", "test": None},
        "/s/trials/trial-000",
    )
    assert argv == [
        "train",
        "--data",
        "/d/iris.csv",
        "--out",
        "/s/trials/trial-000",
        "--no-report",
        "--target",
        "species",
        "--seed",
        "1",
        "--hidden",
        "16,8",
        "--lr",
        "0.01",
    ]


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"search": {"learning_rate": [0.1]}}, "unknown setting in [search] 'learning_rate'"),
        ({"search": {}}, "names no setting"),
        (
            {"search": {"lr": {"low": 0.1, "high": 0.5}}, "method": "grid"},
            "a grid takes lists only",
        ),
        ({"search": {"lr": {"low": 0.1, "high": 0.5}}}, "random search needs trials"),
        (
            {"search": {"lr": {"low": 0, "high": 0.5, "scale": "log"}}, "trials": 2},
            "log scale needs low > 0",
        ),
        ({"search": {"activation": ["relu", "swish"]}}, "activation must be one of"),
        ({"search": {"lr": [0.1]}, "budget": 3}, "unknown key 'budget'"),
    ],
)
def test_bad_specs_are_refused(raw, message):
    with pytest.raises(BpnnError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(raw)


def _one_line_error(capsys, argv: list[str], text: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and text in err


def test_cli_user_errors_are_one_line_exit_2(tmp_path, capsys):
    iris = str(tmp_path / "none.csv")
    bad = tmp_path / "bad.toml"
    bad.write_text("[search\nlr = [0.1]\n")
    _one_line_error(
        capsys,
        ["sweep", str(bad), "--data", iris, "--out", str(tmp_path / "a")],
        "not a valid TOML",
    )
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"search": {"lr": [0.1], "speed": [1]}}))
    _one_line_error(
        capsys,
        ["sweep", str(unknown), "--out", str(tmp_path / "b")],
        "unknown setting in [search] 'speed'",
    )
    _one_line_error(
        capsys,
        ["sweep", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "c")],
        "cannot read the spec file",
    )
    _one_line_error(
        capsys,
        [
            "sweep",
            str(unknown),
            "--out",
            str(tmp_path / "d"),
            "--workers",
            "2",
            "--scheduler",
            "tcp://127.0.0.1:8786",
        ],
        "--workers sizes a local cluster",
    )


def test_an_unreachable_scheduler_is_one_line_exit_2(tmp_path, capsys):
    pytest.importorskip("distributed")
    spec = tmp_path / "s.toml"
    spec.write_text("[search]\nlr = [0.1]\n")
    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _one_line_error(
        capsys,
        [
            "sweep",
            str(spec),
            "--data",
            "examples/iris.csv",
            "--out",
            str(tmp_path / "o"),
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
        ],
        "cannot reach the Dask scheduler",
    )


def test_without_dask_the_message_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    spec = tmp_path / "s.toml"
    spec.write_text("[search]\nlr = [0.1]\n")
    _one_line_error(
        capsys,
        ["sweep", str(spec), "--data", "examples/iris.csv", "--out", str(tmp_path / "o")],
        "pip install 'bpnn[sweep]'",
    )


def test_a_different_spec_into_the_same_folder_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # refused before any cluster is needed
    spec = tmp_path / "s.toml"
    spec.write_text("[search]\nlr = [0.1]\n")
    out = str(tmp_path / "o")
    main(["sweep", str(spec), "--data", "examples/iris.csv", "--out", out])
    capsys.readouterr()
    spec.write_text("[search]\nlr = [0.2]\n")
    _one_line_error(
        capsys,
        ["sweep", str(spec), "--data", "examples/iris.csv", "--out", out],
        "holds another sweep",
    )


def test_report_of_a_sweep_folder(tmp_path, capsys):
    rows = [
        {
            "trial": f"trial-00{i}",
            "status": "done",
            "val_error": e,
            "test_error": e,
            "epochs": 5,
            "best_epoch": 5,
            "seconds": 1.0,
            "seed": 0,
            "lr": lr,
            "hidden": h,
            "metric": "error_rate",
            "error": None,
        }
        for i, (e, lr, h) in enumerate([(0.1, 0.01, [8]), (0.2, 0.1, [16, 8])])
    ]
    rows.append(
        {
            **rows[0],
            "trial": "trial-002",
            "status": "failed",
            "val_error": None,
            "test_error": None,
            "epochs": None,
            "seconds": None,
            "error": "training diverged in epoch 1",
        }
    )
    results = {
        "format": "bpnn-sweep-results",
        "method": "grid",
        "scales": {"lr": "log", "hidden": "list"},
        "best": "trial-000",
        "trials": rows,
    }
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert main(["report", str(tmp_path), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [p.rsplit("/", 1)[1] for p in files] == ["sweep.png", "index.html", "README.md"]
    assert (tmp_path / "report" / "sweep.png").stat().st_size > 5000
    page = (tmp_path / "report" / "README.md").read_text()
    assert (
        "| **trial-000** | done | 10.00% |" in page
        and "trial-002 failed: training diverged" in page
    )
