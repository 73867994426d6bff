"""bpnn.server: the page, the JSON API and every kind of bad input (Starlette's TestClient)."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

import bpnn
from bpnn import imaging
from bpnn.evaluation import UNSURE_BELOW
from bpnn.server import MAX_BODY, create_app
from helpers_model import WORDS, example_images, save_mnist_model, tiny_model

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 but works with httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def seven(size=(200, 200)) -> Image.Image:
    img = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(img).line(
        [(0.3 * w, 0.2 * h), (0.7 * w, 0.2 * h), (0.45 * w, 0.85 * h)],
        fill="black",
        width=max(2, w // 15),
    )
    return img


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return bpnn.modelfile.load_model(tiny_model(tmp_path_factory.mktemp("m") / "tiny.npz"))


@pytest.fixture(scope="module")
def client(model):
    net, meta = model
    return TestClient(create_app(net, meta, model_name="tiny.npz", max_pixels=1_000_000))


def check_answer(doc, net, grid):
    keys = {"digit", "probability", "unsure", "unsure_below", "index", "classes", "probabilities"}
    assert set(doc) == {*keys, "input"}
    assert doc["unsure"] == (doc["probability"] < doc["unsure_below"] == UNSURE_BELOW)
    assert doc["classes"] == list(range(10)) and doc["index"] == doc["digit"]
    assert len(doc["probabilities"]) == 10 and abs(sum(doc["probabilities"]) - 1) < 1e-6
    assert doc["input"] == np.asarray(grid).reshape(-1).tolist()
    expected = net.predict(imaging.mnist_to_input(grid))
    assert np.allclose(doc["probabilities"], expected, atol=1e-6)
    assert doc["digit"] == int(np.argmax(expected))


def predict_scope(headers: list) -> dict:
    """The ASGI scope of a POST /api/predict with ``headers`` [(name, value)], as bytes."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/predict",
        "raw_path": b"/api/predict",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'name="viewport"' in html and '<canvas id="pad"' in html and 'id="clear"' in html
    assert page.headers["x-content-type-options"] == "nosniff"
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "/api/predict" in js.text and "pointermove" in js.text
    css = client.get("/static/style.css")
    assert css.status_code == 200 and "touch-action: none" in css.text


def test_health(client, model):
    doc = client.get("/health").json()
    assert doc["status"] == "ok" and doc["model"] == "tiny.npz"
    assert doc["network"]["sizes"] == [784, 16, 10] and doc["parameters"] == model[0].n_params()
    assert doc["max_body_bytes"] == MAX_BODY


def test_raw_image_body(client, model):
    data = png(seven())
    r = client.post("/api/predict", content=data, headers={"content-type": "image/png"})
    assert r.status_code == 200
    check_answer(r.json(), model[0], imaging.image_to_mnist(imaging.load_image(data)))


def test_multipart_upload(client, model):
    buf = io.BytesIO()
    seven((300, 220)).save(buf, "JPEG")
    r = client.post(
        "/api/predict",
        files={"image": ("digit.jpg", buf.getvalue(), "image/jpeg")},
        data={"note": "a form field before the file is fine"},
    )
    assert r.status_code == 200
    check_answer(r.json(), model[0], imaging.image_to_mnist(imaging.load_image(buf.getvalue())))


def test_json_pixels(client, model, rng):
    grid = rng.integers(0, 256, size=(28, 28))
    r = client.post("/api/predict", json={"pixels": grid.reshape(-1).tolist()})
    assert r.status_code == 200
    check_answer(r.json(), model[0], grid)


def bad_requests():
    """(description, request keyword arguments, expected status, text in the error)."""
    bomb = Image.new("1", (1200, 1000))  # 1.2 million pixels, a few kB as PNG
    pixels = [0] * 784
    return [
        ("not an image", {"content": b"hello, world"}, 415, "not a PNG"),
        ("a TIFF", {"content": _encoded(seven(), "TIFF")}, 415, "not a PNG"),
        ("truncated png", {"content": png(seven())[:300]}, 400, "cannot read"),
        ("empty body", {"content": b""}, 400, "empty"),
        ("blank image", {"content": png(Image.new("L", (64, 64), 255))}, 422, "blank"),
        ("too many pixels", {"content": png(bomb)}, 413, "pixels"),
        ("body over 2 MB", {"content": b"\0" * (MAX_BODY + 1)}, 413, "limit"),
        (
            "bad JSON",
            {"content": b"{pixels: [", "headers": {"content-type": "application/json"}},
            400,
            "JSON",
        ),
        ("no pixels key", {"json": {"image": pixels}}, 422, "pixels"),
        ("783 pixels", {"json": {"pixels": pixels[:783]}}, 422, "784"),
        ("785 pixels", {"json": {"pixels": pixels + [0]}}, 422, "784"),
        (
            "NaN",
            {
                "content": json.dumps({"pixels": [float("nan")] + pixels[1:]}).encode(),
                "headers": {"content-type": "application/json"},
            },
            422,
            "finite",
        ),
        (
            "Infinity",
            {
                "content": ('{"pixels": [Infinity' + ",0" * 783 + "]}").encode(),
                "headers": {"content-type": "application/json"},
            },
            422,
            "finite",
        ),
        ("negative", {"json": {"pixels": [-1] + pixels[1:]}}, 422, "0..255"),
        ("over 255", {"json": {"pixels": [256] + pixels[1:]}}, 422, "0..255"),
        ("strings", {"json": {"pixels": ["0"] * 784}}, 422, "numbers"),
        ("not a list", {"json": {"pixels": 5}}, 422, "list"),
        (
            "huge integer",
            {
                "content": ('{"pixels": [' + "9" * 400 + ",0" * 783 + "]}").encode(),
                "headers": {"content-type": "application/json"},
            },
            422,
            "0..255",
        ),
        (
            "deeply nested JSON",
            {
                "content": b"[" * 200_000 + b"]" * 200_000,
                "headers": {"content-type": "application/json"},
            },
            400,
            "JSON",
        ),
        (
            "multipart without a file",
            {
                "content": b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--xx--\r\n',
                "headers": {"content-type": "multipart/form-data; boundary=xx"},
            },
            400,
            "no file",
        ),
        (
            "broken multipart",
            {
                "content": b"--xx\r\ngarbage",
                "headers": {"content-type": "multipart/form-data; boundary=xx"},
            },
            400,
            "multipart",
        ),
    ]


def _encoded(img, fmt) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


BAD = bad_requests()


@pytest.mark.parametrize("name,kwargs,status,text", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_json_4xx(client, name, kwargs, status, text):
    r = client.post("/api/predict", **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json" and text in r.json()["error"]


def test_keeps_serving_after_errors(client, model):
    for _, kwargs, _, _ in BAD:
        assert 400 <= client.post("/api/predict", **kwargs).status_code < 500
    assert client.get("/health").json()["status"] == "ok"
    r = client.post("/api/predict", content=png(seven()))
    assert r.status_code == 200 and len(r.json()["input"]) == 784


def test_unknown_routes_and_methods_are_json(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "error" in r.json()
    r = client.get("/api/predict")
    assert r.status_code == 405 and "error" in r.json()


def test_body_limit_enforced_while_reading(model):
    """No Content-Length: the server stops reading once it has seen more than the limit."""
    app = create_app(*model, max_body=100_000)
    chunk, sent, messages = b"\0" * 10_000, [], []

    async def receive():
        sent.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": len(sent) < 1000}

    async def send(message):
        messages.append(message)

    scope = predict_scope([(b"content-type", b"image/png")])
    asyncio.run(app(scope, receive, send))
    assert messages[0]["status"] == 413
    assert len(sent) <= 11  # 10 chunks fill the limit, the 11th crosses it; 1000 were on offer
    assert b"limit" in messages[1]["body"]


def test_declared_content_length_over_limit_is_refused_before_reading(model):
    app = create_app(*model)
    received, messages = [], []

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    scope = predict_scope([(b"content-length", str(10**9).encode())])
    asyncio.run(app(scope, receive, send))
    assert messages[0]["status"] == 413 and received == []


def test_serve_command_errors_are_one_line(capsys, tmp_path, rng):
    from bpnn.cli import main

    wrong = tmp_path / "wrong.npz"
    bpnn.modelfile.save_model(wrong, bpnn.Network([100, 10], seed=rng))
    for argv, message in [
        ([str(tmp_path / "absent.npz")], "no such file"),
        ([str(wrong)], "784"),
        ([str(wrong), "--port", "70000"], "--port"),
    ]:
        assert main(["serve", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_model_that_does_not_read_images_is_refused(rng):
    with pytest.raises(bpnn.BpnnError, match="784"):
        create_app(bpnn.Network([100, 10], seed=rng), {})


@pytest.mark.slow  # trains on the real MNIST (~12 s)
def test_trained_model_reads_the_examples(mnist_dir, tmp_path):
    net, meta = bpnn.modelfile.load_model(save_mnist_model(mnist_dir, tmp_path / "m.npz"))
    client = TestClient(create_app(net, meta))
    for path in example_images():
        r = client.post("/api/predict", content=path.read_bytes())
        assert r.status_code == 200 and r.json()["digit"] == WORDS[path.stem]


def canvas_grey(side=112) -> dict:
    """The page's request: its canvas (black ink on white) as grey levels."""
    img = Image.new("L", (side, side), 255)
    ImageDraw.Draw(img).line([(50, 15), (55, 95)], fill=0, width=10)
    return {"grey": np.asarray(img).reshape(-1).tolist(), "width": side, "height": side}


def test_grey_levels_are_prepared_like_an_image(client, model):
    doc = canvas_grey()
    r = client.post("/api/predict", json=doc)
    assert r.status_code == 200
    img = imaging.grey_image(doc["grey"], doc["width"], doc["height"])
    check_answer(r.json(), model[0], imaging.image_to_mnist(img))


@pytest.mark.parametrize(
    "change,text",
    [
        ({"width": 111}, "12432"),
        ({"width": 0}, "width"),
        ({"height": 5000}, "height"),
        ({"width": "112"}, "width"),
        ({"grey": [0] * 12544}, "blank"),
        ({"grey": [300] * 12544}, "0..255"),
    ],
)
def test_bad_grey_levels_are_a_422(client, change, text):
    r = client.post("/api/predict", json={**canvas_grey(), **change})
    assert r.status_code == 422 and text in r.json()["error"]


def test_broken_exif_is_a_400(client):
    data = png(seven())
    payload = b"garbage!"
    chunk = (
        len(payload).to_bytes(4, "big")
        + b"eXIf"
        + payload
        + zlib.crc32(b"eXIf" + payload).to_bytes(4, "big")
    )
    r = client.post("/api/predict", content=data[:33] + chunk + data[33:])
    assert r.status_code == 400 and "cannot read the image" in r.json()["error"]


def test_concurrent_decodes_are_limited(model, monkeypatch):
    """However many images arrive at once, at most max_decodes are prepared at a time."""
    import httpx

    running, peak, lock = [0], [0], threading.Lock()
    real = imaging.image_to_mnist

    def slow(img):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return real(img)

    monkeypatch.setattr(imaging, "image_to_mnist", slow)
    app = create_app(*model, max_decodes=2)
    data = png(seven())

    async def flood():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await asyncio.gather(*(c.post("/api/predict", content=data) for _ in range(12)))

    assert all(r.status_code == 200 for r in asyncio.run(flood()))
    assert peak[0] == 2
