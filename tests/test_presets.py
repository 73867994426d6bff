"""The presets (``bpnn.presets``): each resolves to a valid TrainConfig on image and tabular data,
an unknown name is one clear error, and the README's preset table says what the code holds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bpnn.cli import main
from bpnn.prepare import resolve_settings
from bpnn.preprocessing import input_width
from bpnn.presets import PRESETS, preset
from bpnn.settings import TrainConfig

README = Path(__file__).resolve().parents[1] / "README.md"


def digits(n: int = 50):
    gen = np.random.default_rng(0)
    return gen.integers(0, 256, (n, 784)).astype(np.uint8), np.arange(n) % 10


def config_for(name: str, X, y) -> TrainConfig:
    return TrainConfig.from_dict(resolve_settings(X, y, preset=name))


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_resolves_to_a_valid_config_on_mnist(name):
    config = config_for(name, *digits())
    settings = PRESETS[name]
    assert config.layers == [784, *settings["hidden"], 10]
    assert config.preset == name and config.task == "classify"
    for key, value in settings.items():
        if key != "hidden":
            assert getattr(config, key) == value, key


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_fits_tabular_data(name):
    gen = np.random.default_rng(1)
    X, y = gen.random((40, 4)), np.arange(40) % 3
    config = config_for(name, X, y)
    # the tabular defaults' preprocessing (ple: bins inputs per feature) sets the input width
    assert config.layers[0] == input_width(config.preprocessing, 4, config.bins)
    assert config.layers[-1] == 3


def test_preset_is_a_copy_all_the_way_down():
    settings = preset("best")
    settings["lr"] = 99.0
    settings["hidden"].append(7)
    settings["dropout"][0] = 0.9
    assert PRESETS["best"]["lr"] == 0.1
    assert PRESETS["best"]["hidden"] == [1200, 1200]
    assert PRESETS["best"]["dropout"] == [0.2, 0.4, 0.4]


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(
        ValueError, match="unknown preset 'quick'; choose one of tutorial, fast, best"
    ):
        preset("quick")


def test_unknown_preset_on_the_command_line_is_one_line(tiny_mnist_dir, tmp_path, capsys):
    argv = ["train", "--preset", "quick", "--data", str(tiny_mnist_dir), "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "quick" in capsys.readouterr().err


def readme_row(name: str) -> str:
    """The "what" column of preset ``name`` in the README's "Presets and measured results"."""
    section = README.read_text().split("## Presets and measured results", 1)[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"one row for preset {name} in the README's preset table"
    return rows[0].split("|")[2]


def says(text: str, phrase: str) -> bool:
    """``phrase`` stands in ``text`` as a whole: "rate 0.2" is not found in "rate 0.25"."""
    return re.search(rf"(?<![\w.]){re.escape(phrase)}(?!\w|\.\d)", text) is not None


def test_readme_table_matches_the_code():
    """Each preset's row states its network, rate, batches and epochs as the code sets them."""
    for name, s in PRESETS.items():
        what = readme_row(name)
        net = "-".join(map(str, [784, *s["hidden"], 10]))
        assert says(what, net), (name, net)
        assert says(what, f"rate {s['lr']:g}"), (name, s["lr"])
        if s["batch_size"] == 1:
            assert says(what, "per-sample"), name
        if "momentum" in s:
            assert says(what, f"momentum {s['momentum']:g}"), name
        if name != "tutorial":  # the tutorial stops early; its row says how
            assert says(what, f"{s['epochs']} epochs"), (name, s["epochs"])
    tutorial, best = PRESETS["tutorial"], PRESETS["best"]
    row = readme_row("tutorial")
    assert says(row, f"{tutorial['target_on']:g}/{tutorial['target_off']:g} targets")
    assert says(row, f"every {tutorial['eval_every']} epochs")
    assert says(row, f"patience {tutorial['patience']}")
    assert says(row, f"save every {tutorial['checkpoint_every']} epochs")
    assert says(readme_row("fast"), f"batches of {PRESETS['fast']['batch_size']}")
    row = readme_row("best")
    assert says(row, f"dropout {best['dropout'][0]:g} on the pixels and {best['dropout'][1]:g}")
    assert says(row, f"up to {best['augment']} pixels")


def test_tutorial_rate_decay_is_the_documented_seven_percent():
    decay = round(100 * (1 - PRESETS["tutorial"]["lr_gamma"]))
    assert f"decays by {decay}% an epoch" in README.read_text().replace("\n", " ")
