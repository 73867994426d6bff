"""When the model is unsure: an answer whose probability is below ``UNSURE_BELOW`` (or
``--unsure P``) is flagged on ``bpnn predict``'s line, in its JSON and in the server's answer
(which the page shows)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

import bpnn
from bpnn.evaluation import UNSURE_BELOW
from bpnn.server import create_app
from conftest import REPO, run_cli
from helpers_model import tiny_model
from test_predict_cli import digit_file


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """ "unsure": untrained (about 10% each digit); "sure": class 3 at nearly 100%."""
    folder = tmp_path_factory.mktemp("unsure")
    sure = bpnn.Network([784, 16, 10], activation="relu", loss="cross_entropy", seed=0)
    sure.layers[-1].b[3] = 50.0
    bpnn.modelfile.save_model(folder / "sure.npz", sure, {})
    return {"unsure": tiny_model(folder / "unsure.npz"), "sure": folder / "sure.npz"}


def test_the_threshold_is_documented():
    assert 0.5 <= UNSURE_BELOW < 1
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`--unsure P`, default {UNSURE_BELOW}" in readme


def test_predict_line_says_unsure(capsys, models, tmp_path):
    image = digit_file(tmp_path / "a.png")
    code, out, err = run_cli(capsys, "predict", models["unsure"], image)
    assert code == 0 and f"unsure: below {100 * UNSURE_BELOW:g}%" in out, err
    code, out, err = run_cli(capsys, "predict", models["sure"], image)
    assert code == 0 and "unsure: below" not in out and ": 3 (100.0%)" in out, err
    code, out, err = run_cli(capsys, "predict", models["unsure"], image, "--unsure", "0.05")
    assert code == 0 and "unsure: below" not in out, err


def test_predict_json_says_unsure(capsys, models, tmp_path):
    image = digit_file(tmp_path / "a.png")
    code, out, _ = run_cli(capsys, "predict", models["unsure"], image, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["unsure_below"] == UNSURE_BELOW and doc["results"][0]["unsure"]
    code, out, _ = run_cli(capsys, "predict", models["sure"], image, "--json", "--unsure", "0.99")
    doc = json.loads(out)
    assert doc["unsure_below"] == 0.99 and doc["results"][0]["unsure"] is False


@pytest.mark.parametrize("bad", ["1.5", "-0.1", "nan", "x"])
def test_bad_threshold_is_refused(capsys, models, tmp_path, bad):
    image = digit_file(tmp_path / "a.png")
    with pytest.raises(SystemExit) as stop:
        run_cli(capsys, "predict", models["sure"], image, "--unsure", bad)
    assert stop.value.code == 2 and "--unsure" in capsys.readouterr().err


def test_the_server_answer_says_unsure(models):
    pixels = np.zeros(784, dtype=int)
    pixels[300:310] = 255
    for name, unsure in (("unsure", True), ("sure", False)):
        net, meta = bpnn.modelfile.load_model(models[name])
        client = TestClient(create_app(net, meta, model_name=name))
        doc = client.post("/api/predict", json={"pixels": pixels.tolist()}).json()
        assert doc["unsure"] is unsure and doc["unsure_below"] == UNSURE_BELOW
