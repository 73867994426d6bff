"""The draw-a-digit web page and its JSON API (Starlette; ``bpnn serve`` runs it with uvicorn).

Routes:

- ``GET /``: the page (``bpnn/web/index.html``, ``app.js``, ``style.css`` under ``/static``).
- ``POST /api/predict``: an image (raw body, or a multipart upload: the first file field), JSON
  ``{"grey": [W*H grey levels 0..255], "width": W, "height": H}`` (a picture as the page sends its
  canvas, prepared like an image) or JSON ``{"pixels": [784 grey levels 0..255]}`` (taken as an
  already-prepared MNIST image) -> ``{"digit", "probabilities", "input"}``.  Images go through
  ``bpnn.imaging.image_to_mnist``.  ``input`` is the 28x28 image the network saw, as 784 grey
  levels row by row.
- ``GET /health``: ``{"status": "ok", ...}`` with the model's description; its ``inputs``
  says what the model takes (``{"kind": "image", ...}``, or a table model's columns).
- A model trained on a raw table (``bpnn.tabserve``): ``POST /predict`` (and ``/api/predict``)
  with JSON ``{"rows": [{column: value, ...}, ...]}`` -> labels and probabilities, or values,
  per row (at most ``max_rows`` rows; a bad row or value 422, too many rows 413); ``GET
  /api/model``: its columns (name, type, levels) and an example request.  The page shows these
  instead of the canvas.

Bad input gets a 4xx JSON ``{"error": ...}``: a body over ``max_body`` bytes 413 (checked from
Content-Length and again while reading, so a long body is never read whole), an image over
``max_pixels`` 413, not an image 415, an unreadable or blank image 400/422, bad levels 422; a
Host header not in ``allowed_hosts`` 400 (against DNS rebinding).  Memory is bounded whatever
the number of clients: at most ``MAX_ACTIVE_UPLOADS`` bodies are held and ``max_decodes`` images
decoded at once; the others wait their turn.  Slow clients and connection floods are the
business of ``bpnn.httpd``.  Left out: authentication and rate limiting (it binds to loopback by
default).
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import imaging, tabserve
from .limits import (
    MAX_ACTIVE_UPLOADS,
    MAX_CONCURRENT_DECODES,
    MAX_IMAGE_PIXELS,
    MAX_TABLE_ROWS,
    MAX_UPLOAD_BYTES,
)
from .modelinfo import ModelInfo

__all__ = ["LOOPBACK_HOSTS", "MAX_BODY", "MAX_PIXELS", "create_app"]

MAX_BODY = MAX_UPLOAD_BYTES
MAX_PIXELS = MAX_IMAGE_PIXELS
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")  # Host headers a loopback server accepts
WEB = Path(__file__).resolve().parent / "web"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "frame-ancestors 'none'",
}


class BadInput(Exception):
    """A request the client got wrong: HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=HEADERS)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadInput(400, "bad Content-Length header")
        if int(declared) > limit:
            raise BadInput(
                413, f"request body of {int(declared):,} bytes is over the {limit:,}-byte limit"
            )
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadInput(413, f"request body is over the {limit:,}-byte limit")
            chunks.append(chunk)
    except ClientDisconnect:  # gone (or cut off by bpnn.httpd's deadline): no one to answer
        raise BadInput(400, "the client went away before sending the whole body") from None
    return b"".join(chunks)


async def uploaded_file(request: Request, body: bytes) -> bytes:
    """The bytes of the first file in a multipart body that has already been read (and limited)."""

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=1, max_fields=10) as form:
            for value in form.values():
                if isinstance(value, UploadFile):
                    return await value.read()
    except HTTPException as exc:  # malformed multipart, too many parts
        raise BadInput(400, f"bad multipart upload: {exc.detail}") from None
    raise BadInput(400, "the multipart upload holds no file")


def image_status(exc: imaging.ImageError) -> int:
    if isinstance(exc, imaging.ImageTooLarge):
        return 413
    if isinstance(exc, imaging.NotAnImage):
        return 415
    if isinstance(exc, imaging.BlankImage):
        return 422
    return 400


def create_app(
    net,
    meta: ModelInfo | dict,
    model_name: str = "model",
    max_body: int = MAX_BODY,
    max_pixels: int = MAX_PIXELS,
    allowed_hosts=None,
    max_decodes: int = MAX_CONCURRENT_DECODES,
    max_rows: int = MAX_TABLE_ROWS,
) -> Starlette:
    """The web application for one loaded model (``bpnn.modelfile.read_model``'s network and
    metadata).

    ``allowed_hosts``: the Host headers to answer (e.g. ``LOOPBACK_HOSTS``); None answers any.
    """
    info = ModelInfo.coerce(meta)
    table = tabserve.TableModel.of(net, info, max_rows)  # None: a model of images
    scale = 1.0 if table is not None else imaging.check_model(net, info)
    targets = imaging.model_targets(net, info)
    uploads = anyio.Semaphore(MAX_ACTIVE_UPLOADS)  # bodies in memory at once
    decodes = anyio.CapacityLimiter(max_decodes)  # threads preparing images at once

    def answer(levels: np.ndarray) -> dict:
        """levels: (28, 28) or (784,) grey levels 0..255, the image the network sees."""
        said = imaging.model_answer(net, targets, imaging.mnist_to_input(levels, scale))
        return {**said, "input": [int(v) for v in np.rint(levels).reshape(-1)]}

    def from_image(data: bytes) -> dict:
        img = imaging.load_image(data, max_pixels=max_pixels, name="uploaded image")
        return answer(imaging.image_to_mnist(img))

    def from_grey(doc: dict) -> dict:
        img = imaging.grey_image(doc["grey"], doc.get("width"), doc.get("height"))
        return answer(imaging.image_to_mnist(img))

    async def from_json(body: bytes) -> dict:
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as exc:  # bad syntax, encoding, nesting
            raise BadInput(400, f"body is not valid JSON ({exc})") from None
        if isinstance(doc, dict) and "grey" in doc:
            return await anyio.to_thread.run_sync(from_grey, doc, limiter=decodes)
        if isinstance(doc, dict) and "pixels" in doc:
            return answer(imaging.check_pixels(doc["pixels"]))
        raise BadInput(
            422,
            'JSON body must be {"pixels": [784 grey levels 0..255]} or '
            '{"grey": [grey levels 0..255], "width": W, "height": H}',
        )

    async def from_rows(body: bytes) -> dict:
        assert table is not None
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise BadInput(400, f"body is not valid JSON ({exc})") from None
        return await anyio.to_thread.run_sync(table.answer, doc, limiter=decodes)

    async def respond(request: Request) -> dict:
        body = await read_body(request, max_body)
        if table is not None:  # any content type: curl -d sends form-urlencoded
            return await from_rows(body)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            return await from_json(body)
        if kind == "multipart/form-data":
            body = await uploaded_file(request, body)
        if not body:
            raise BadInput(400, "empty body: send an image or JSON pixels")
        return await anyio.to_thread.run_sync(from_image, body, limiter=decodes)

    async def predict(request: Request):
        try:
            async with uploads:
                return JSONResponse(await respond(request), headers=HEADERS)
        except (BadInput, tabserve.RowsError) as exc:
            return error(exc.status, str(exc))
        except imaging.ImageError as exc:
            return error(image_status(exc), str(exc))
        except ValueError as exc:  # check_pixels, grey_image
            return error(422, str(exc))

    async def health(request: Request):
        return JSONResponse(
            {
                "status": "ok",
                "model": model_name,
                "network": net.config(),
                "parameters": net.n_params(),
                "results": info.results or None,
                "max_body_bytes": max_body,
                "max_pixels": max_pixels,
                "inputs": inputs,
            },
            headers=HEADERS,
        )

    inputs = table.describe() if table else {"kind": "image", "width": 28, "height": 28}

    async def model_inputs(request: Request):
        return JSONResponse(inputs, headers=HEADERS)

    async def index(request: Request):
        return FileResponse(WEB / "index.html", headers=HEADERS)

    async def http_error(request: Request, exc: Exception):
        assert isinstance(exc, HTTPException)  # the only class it is registered for
        return error(exc.status_code, str(exc.detail))

    routes = [
        Route("/", index),
        Route("/health", health),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/predict", predict, methods=["POST"]),
        Route("/api/model", model_inputs),
        Mount("/static", StaticFiles(directory=WEB), name="static"),
    ]
    middleware = (
        []
        if allowed_hosts is None
        else [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    )
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers={HTTPException: http_error}
    )
