"""Committees (``--ensemble K``): K members on one split, their mean everywhere a model is used."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from sklearn.datasets import load_iris

import bpnn
import bpnn.callbacks
import bpnn.train as train_mod
from bpnn.committee import Committee
from bpnn.modelfile import load_arrays
from bpnn.network import Network
from conftest import interrupt_after, run_cli

X, Y = load_iris(return_X_y=True)
SMALL = dict(epochs=4, hidden=[8], batch_size=32)


@pytest.fixture(scope="module")
def committee(tmp_path_factory):
    out = tmp_path_factory.mktemp("committee") / "run"
    return bpnn.fit(X, Y, out=out, ensemble=3, **SMALL), out


def test_the_committee_predicts_the_mean_of_its_members(committee):
    model, out = committee
    assert isinstance(model.net, Committee) and len(model.members()) == 3
    by_hand = [bpnn.load(out / "members" / str(k)) for k in range(3)]
    outputs = [m.outputs(X) for m in by_hand]
    mean = (outputs[0] + outputs[1] + outputs[2]) / 3
    np.testing.assert_allclose(model.outputs(X), mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict_proba(X), mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(model.predict(X), model.classes[mean.argmax(axis=1)])
    assert not np.allclose(outputs[0], outputs[1])  # the members differ (seeds 0, 1, 2)
    loaded = bpnn.load(out)  # one file holds every member
    assert isinstance(loaded.net, Committee)
    np.testing.assert_array_equal(loaded.outputs(X), model.outputs(X))
    arrays, meta = load_arrays(out / "model.npz")
    assert meta["members"] == 3 and {"W0", "m1.W0", "m2.b1"} <= set(arrays)
    results = loaded.results
    assert len(results["members"]) == 3 and results["ensemble"] == 3
    assert "test_error" in results and all("test_error" in r for r in results["members"])


def test_member_0_is_the_single_run_of_the_same_seed(committee, tmp_path):
    model, out = committee
    single = bpnn.fit(X, Y, out=tmp_path / "one", **SMALL)
    assert not isinstance(single.net, Committee)
    for a, b in zip(single.net.params(), model.net.members[0].params()):
        np.testing.assert_array_equal(a, b)
    _, meta = load_arrays(tmp_path / "one" / "model.npz")
    assert "members" not in meta  # K = 1: the file as before committees
    assert "ensemble" not in meta["config"]  # (a bpnn from before refuses unknown settings)
    _, checkpoint = load_arrays(tmp_path / "one" / "checkpoint.npz")
    assert "ensemble" not in checkpoint["config"]
    _, meta = load_arrays(committee[1] / "model.npz")
    assert meta["config"]["ensemble"] == 3
    assert not (tmp_path / "one" / "members").exists()


def test_onnx_export_averages_inside_the_graph(committee, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from bpnn.export import to_onnx

    model, _ = committee
    session = ort.InferenceSession(to_onnx(model).SerializeToString())
    probs, labels = session.run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(probs, model.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(labels, model.predict(X))


def test_resume_mid_member_is_bit_identical(monkeypatch, committee, tmp_path):
    _, whole = committee
    monkeypatch.setattr(train_mod, "CHUNK", 64)  # two stepper calls an epoch: stop inside one
    interrupt_after(monkeypatch, 11)  # member 0 makes 8 calls: this is member 1's epoch 2
    cut = tmp_path / "cut"
    bpnn.fit(X, Y, out=cut, ensemble=3, **SMALL)
    assert (cut / "members" / "1" / "checkpoint.npz").exists()
    assert not (cut / "members" / "2").exists() and not (cut / "model.npz").exists()
    _, meta = load_arrays(cut / "members" / "1" / "checkpoint.npz")
    assert meta["epoch"] == 1 and meta["position"] is not None  # inside epoch 2
    interrupt_after(monkeypatch, 10**9)
    bpnn.fit(X, Y, out=cut, resume=True)
    a, meta_a = load_arrays(whole / "model.npz")
    b, meta_b = load_arrays(cut / "model.npz")
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert meta_a["results"]["test_error"] == meta_b["results"]["test_error"]


def test_cli_trains_evaluate_lists_members_and_estimators_refuse_a_warm_start(tmp_path, capsys):
    csv = os.path.join(os.path.dirname(__file__), "..", "examples", "iris.csv")
    out = tmp_path / "run"
    assert run_cli(
        capsys, "train", "--data", csv, "--target", "species", "--ensemble", "3",
        "--epochs", "3", "--out", str(out),
    )[0] == 0  # fmt: skip
    assert (out / "members" / "2" / "model.npz").exists()
    assert (out / "report" / "index.html").exists()  # member 0's curves, the committee's scores
    assert len(bpnn.load(out).members()) == 3
    # evaluate: each member's score, then the committee's
    code, text, _ = run_cli(capsys, "evaluate", str(out))
    assert code == 0
    lines = text.splitlines()
    assert [line.split(":")[0] for line in lines[1:5]] == [
        "member 0",
        "member 1",
        "member 2",
        "committee of 3 (their mean)",
    ]
    result = json.loads(run_cli(capsys, "evaluate", str(out), "--json")[1])
    assert len(result["members"]) == 3 and "error_rate" in result["members"][0]
    from bpnn.sklearn import BPNNClassifier

    est = BPNNClassifier(n_ensemble=2, max_iter=3, random_state=0, warm_start=True).fit(X, Y)
    assert isinstance(est.model_.net, Committee)
    with pytest.raises(ValueError, match="committee"):
        est.fit(X, Y)


class Recorder(bpnn.callbacks.Callback):
    def __init__(self):
        self.calls = []

    def on_run_start(self, run):
        self.calls.append(("start", run.config.ensemble))

    def on_epoch_end(self, epoch, metrics):
        self.calls.append(("epoch", epoch))

    def on_run_end(self, results):
        self.calls.append(("end", results.get("ensemble")))


def test_callbacks_see_one_run_with_the_members_epochs_numbered_on(tmp_path):
    seen = Recorder()
    bpnn.fit(X, Y, out=tmp_path / "run", ensemble=3, callbacks=[seen], **SMALL)
    assert seen.calls[0] == ("start", 3) and seen.calls[-1] == ("end", 3)
    assert [e for kind, e in seen.calls[1:-1]] == list(range(1, 13))  # 3 members x 4 epochs


def test_a_failure_before_the_first_checkpoint_leaves_no_folder(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("no stepper")

    monkeypatch.setattr(train_mod, "make_stepper", broken)
    with pytest.raises(RuntimeError, match="no stepper"):
        bpnn.fit(X, Y, out=tmp_path / "run", ensemble=2, **SMALL)
    assert not (tmp_path / "run").exists()


def test_force_over_the_other_kind_of_run_leaves_nothing_of_it(tmp_path):
    out = tmp_path / "run"
    bpnn.fit(X, Y, out=out, ensemble=2, **SMALL)
    bpnn.fit(X, Y, out=out, force=True, **SMALL)  # one network over a committee
    assert not (out / "members").exists() and (out / "checkpoint.npz").exists()
    assert not isinstance(bpnn.fit(X, Y, out=out, resume=True).net, Committee)
    bpnn.fit(X, Y, out=out, force=True, ensemble=2, **SMALL)  # a committee over one network
    assert not (out / "checkpoint.npz").exists()
    assert isinstance(bpnn.fit(X, Y, out=out, resume=True).net, Committee)


def test_ensemble_is_a_setting_like_any_other(capsys):
    from bpnn.sweep.spec import parse_spec

    spec = {"base": {"epochs": 3}, "search": {"ensemble": [1, 3]}, "trials": 2}
    assert parse_spec(spec).space["ensemble"] == [1, 3]
    for bad in (0, 2.5, 101):
        with pytest.raises(ValueError, match="ensemble must be a whole number 1..100"):
            bpnn.TrainConfig(ensemble=bad)
    csv = os.path.join(os.path.dirname(__file__), "..", "examples", "iris.csv")
    code, _, err = run_cli(capsys, "train", "--data", csv, "--ensemble", "0")
    assert code == 2 and "ensemble" in err and "Traceback" not in err


def test_a_committee_is_one_architecture_and_not_trained_as_one():
    a, b = Network([4, 3, 2], seed=0), Network([4, 5, 2], seed=1)
    with pytest.raises(ValueError, match="another architecture"):
        Committee([a, b])
    with pytest.raises(ValueError, match="at least 2"):
        Committee([a])
    c = Committee([a, Network([4, 3, 2], seed=1)])
    assert c.n_params() == 2 * a.n_params() and c.sizes == [4, 3, 2]
    with pytest.raises(TypeError, match="committee"):
        c.gradient(np.zeros((1, 4)), np.zeros((1, 2)))


def test_serve_and_the_model_file_use_the_mean(tmp_path, rng):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from bpnn import imaging
    from bpnn.modelfile import read_model, save_model
    from bpnn.server import create_app

    members = [Network([784, 16, 10], loss="cross_entropy", seed=k) for k in range(3)]
    save_model(tmp_path / "c.npz", Committee(members))
    net, info = read_model(tmp_path / "c.npz")
    assert isinstance(net, Committee) and info.members == 3
    grid = rng.integers(0, 256, size=(28, 28))
    x = imaging.mnist_to_input(grid)
    mean = sum(m.predict(x) for m in members) / 3
    client = TestClient(create_app(net, info.to_meta(), model_name="c.npz"))
    r = client.post("/api/predict", json={"pixels": grid.reshape(-1).tolist()})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["probabilities"], mean, atol=1e-6)
    assert r.json()["digit"] == int(np.argmax(mean))
    one, info_one = read_model(save_one(tmp_path / "one.npz", members[0]))
    assert not isinstance(one, Committee) and info_one.members == 1


def test_a_damaged_committee_file_is_one_line(tmp_path):
    from bpnn.errors import FormatError
    from bpnn.modelfile import load_arrays, read_model, save_arrays, save_model

    members = [Network([4, 3, 2], seed=k) for k in range(2)]
    save_model(tmp_path / "c.npz", Committee(members))
    arrays, meta = load_arrays(tmp_path / "c.npz")
    for members_value, what in ((3, "member 2"), ("two", "members"), (0, "members")):
        save_arrays(tmp_path / "bad.npz", arrays, {**meta, "members": members_value})
        with pytest.raises(FormatError, match=what) as info:
            read_model(tmp_path / "bad.npz")
        assert "\n" not in str(info.value)


def save_one(path, net):
    from bpnn.modelfile import save_model

    save_model(path, net)
    return path
