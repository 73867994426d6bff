"""Property tests (Hypothesis): broken IDX files, broken images and hostile API requests end in a
result, one clear error line (exit status 2 for the CLI) or a 4xx answer, and quickly.

Each example must finish within DEADLINE; the examples are few, so the whole file takes seconds.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

import bpnn
from bpnn import imaging
from bpnn.cli import main
from bpnn.data import read_idx
from bpnn.errors import FormatError
from bpnn.server import create_app
from conftest import MNIST_FILES
from helpers_model import tiny_model

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 but works with httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DEADLINE = 3000  # ms per example
FAST = settings(
    max_examples=40,
    deadline=DEADLINE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def one_line(message: str) -> bool:
    return bool(message.strip()) and "\n" not in message.strip() and "Traceback" not in message


# ---- IDX files ------------------------------------------------------------------------------
def idx_bytes(shape, data: bytes, type_byte: int = 0x08, zero: int = 0) -> bytes:
    return (
        struct.pack(">HBB", zero, type_byte, len(shape))
        + struct.pack(f">{len(shape)}I", *shape)
        + data
    )


@st.composite
def broken_idx(draw) -> bytes:
    """An IDX file, plain or gzip, then damaged in one of the ways files get damaged."""
    shape = draw(st.lists(st.integers(0, 6), min_size=1, max_size=3))
    good = idx_bytes(
        shape, bytes(draw(st.binary(min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
    )
    damage = draw(st.sampled_from(["truncate", "lie", "magic", "type", "extra", "none"]))
    if damage == "truncate":
        good = good[: draw(st.integers(0, max(0, len(good) - 1)))]
    elif damage == "lie":  # a header promising other (possibly huge) dimensions
        lie = draw(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4))
        good = idx_bytes(lie, good[4 + 4 * len(shape) :])
    elif damage == "magic":
        good = struct.pack(">H", draw(st.integers(1, 0xFFFF))) + good[2:]
    elif damage == "type":
        good = good[:2] + bytes([draw(st.integers(0, 255))]) + good[3:]
    elif damage == "extra":
        good += draw(st.binary(min_size=1, max_size=50))
    if not draw(st.booleans()):
        return good
    compressed = gzip.compress(good)
    gz_damage = draw(st.sampled_from(["trailing", "cut", "flip", "second member", "none"]))
    if gz_damage == "trailing":
        return compressed + draw(st.binary(min_size=1, max_size=50))
    if gz_damage == "cut":
        return compressed[: draw(st.integers(2, len(compressed) - 1))]
    if gz_damage == "flip":
        i = draw(st.integers(2, len(compressed) - 1))
        return (
            compressed[:i]
            + bytes([compressed[i] ^ draw(st.integers(1, 255))])
            + compressed[i + 1 :]
        )
    if gz_damage == "second member":
        return compressed + gzip.compress(draw(st.binary(max_size=20)))
    return compressed


@FAST
@given(data=broken_idx())
def test_broken_idx_is_read_or_one_format_error(tmp_path, data):
    path = tmp_path / "file.idx"
    path.write_bytes(data)
    try:
        array = read_idx(path)
    except FormatError as exc:
        assert one_line(str(exc)) and str(exc).startswith(str(path))
    else:
        assert isinstance(array, np.ndarray)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny.npz")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=broken_idx(), which=st.sampled_from(MNIST_FILES[2:]))
def test_cli_with_a_broken_data_file_exits_2_with_one_line(
    tmp_path_factory, tiny_mnist_dir, model, capsys, data, which
):
    folder = tmp_path_factory.mktemp("data")
    for name in MNIST_FILES:
        shutil.copy(tiny_mnist_dir / name, folder / name)
    (folder / which).write_bytes(data)
    code = main(["evaluate", str(model), "--data", str(folder), "--json"])
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        assert one_line(err) and err.startswith("bpnn evaluate: error:")


# ---- images ---------------------------------------------------------------------------------
def digit_bytes(fmt: str) -> bytes:
    img = Image.new("L" if fmt != "JPEG" else "RGB", (60, 60), 255)
    ImageDraw.Draw(img).line([(20, 10), (40, 10), (28, 50)], fill=0, width=5)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


GOOD_IMAGES = {fmt: digit_bytes(fmt) for fmt in imaging.FORMATS}


@st.composite
def broken_image(draw) -> bytes:
    """A small digit image in one of the four formats with bytes cut, changed or inserted."""
    data = bytearray(GOOD_IMAGES[draw(st.sampled_from(imaging.FORMATS))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "flip", "insert"]))
        i = draw(st.integers(0, len(data) - 1))
        if kind == "cut":
            del data[i : i + draw(st.integers(1, 200))]
        elif kind == "flip":
            data[i] ^= draw(st.integers(1, 255))
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=40))
        if not data:
            break
    return bytes(data)


@FAST
@given(data=broken_image())
def test_broken_image_is_read_or_one_image_error(data):
    try:
        grid = imaging.image_to_mnist(imaging.load_image(data, name="x"))
    except imaging.ImageError as exc:
        assert one_line(str(exc))
    else:
        assert grid.shape == (28, 28)


# ---- the web API ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(model):
    return TestClient(create_app(*bpnn.modelfile.load_model(model)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def hostile_request(draw) -> dict:
    """Keyword arguments of a POST to /api/predict that a client got wrong, or meant badly."""
    kind = draw(st.sampled_from(["json", "grey", "pixels", "image", "bytes", "multipart"]))
    if kind == "json":
        doc = draw(json_values)
        return {
            "content": json.dumps(doc).encode(),
            "headers": {"content-type": "application/json"},
        }
    if kind in ("grey", "pixels"):
        n = draw(st.sampled_from([0, 1, 783, 784, 785, 100, 12544]))
        values = draw(
            st.lists(
                st.one_of(
                    st.integers(-5, 300), st.floats(allow_nan=True), st.text(max_size=2), st.none()
                ),
                min_size=n,
                max_size=n,
            )
            if n < 1000
            else st.just([draw(st.integers(-1, 256))] * n)
        )
        doc = {kind: values}
        if kind == "grey":
            doc |= {
                "width": draw(st.one_of(st.integers(-1, 2000), st.text(max_size=3))),
                "height": draw(st.integers(-1, 2000)),
            }
        return {
            "content": json.dumps(doc).encode(),
            "headers": {"content-type": "application/json"},
        }
    if kind == "image":
        return {"content": draw(broken_image()), "headers": {"content-type": "image/png"}}
    if kind == "multipart":
        return {
            "content": draw(st.binary(max_size=300)),
            "headers": {
                "content-type": "multipart/form-data; boundary="
                + draw(st.text("abc-", min_size=0, max_size=5))
            },
        }
    return {
        "content": draw(st.binary(max_size=300)),
        "headers": {"content-type": draw(st.sampled_from(["", "text/plain", "image/png"]))},
    }


@FAST
@given(request=hostile_request())
def test_hostile_requests_get_a_json_answer_never_a_5xx(client, request):
    r = client.post("/api/predict", **request)
    assert r.status_code == 200 or 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == "application/json"
    if r.status_code != 200:
        assert one_line(r.json()["error"])
