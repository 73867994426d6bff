"""The draw-a-digit web page and its JSON API (Starlette; ``bpnn serve`` runs it with uvicorn).

Routes:

- ``GET /``: the page (``bpnn/web/index.html``, ``app.js``, ``style.css`` under ``/static``).
- ``POST /api/predict``: an image (raw body, or a multipart upload: the first file field) or JSON
  ``{"pixels": [784 grey levels 0..255]}`` -> ``{"digit", "probabilities", "input"}``.  Images go
  through ``bpnn.imaging.image_to_mnist``; a pixel list is taken as an already-prepared MNIST image.
  ``input`` is the 28x28 image the network saw, as 784 grey levels row by row.
- ``GET /health``: ``{"status": "ok", ...}`` with the model's description.

Bad input gets a 4xx JSON ``{"error": ...}``: a body over ``max_body`` bytes 413 (checked from
Content-Length and again while reading, so a long body is never read whole), an image over
``max_pixels`` 413, not an image 415, an unreadable or blank image 400/422, a bad pixel list 422.
Left out: authentication and rate limiting (it binds to loopback by default).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import imaging

__all__ = ["create_app", "MAX_BODY", "MAX_PIXELS"]

MAX_BODY = 2_000_000  # bytes
MAX_PIXELS = 16_000_000  # a 2 MB PNG can claim far more; decoding stops here
WEB = Path(__file__).resolve().parent / "web"
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                                      "frame-ancestors 'none'"}


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
            raise BadInput(413, f"request body of {int(declared):,} bytes is over the "
                           f"{limit:,}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadInput(413, f"request body is over the {limit:,}-byte limit")
        chunks.append(chunk)
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


def create_app(net, meta: dict, model_name: str = "model", max_body: int = MAX_BODY,
               max_pixels: int = MAX_PIXELS) -> Starlette:
    """The web application for one loaded model (``bpnn.load_model``'s network and metadata)."""
    scale = imaging.check_model(net, meta)

    def answer(levels: np.ndarray) -> dict:
        """levels: (28, 28) or (784,) grey levels 0..255, the image the network sees."""
        probs = imaging.digit_probabilities(net, imaging.mnist_to_input(levels, scale))
        return {"digit": int(np.argmax(probs)), "probabilities": [float(p) for p in probs],
                "input": [int(v) for v in np.rint(levels).reshape(-1)]}

    def from_image(data: bytes) -> dict:
        img = imaging.load_image(data, max_pixels=max_pixels, name="uploaded image")
        return answer(imaging.image_to_mnist(img))

    async def predict(request: Request):
        try:
            body = await read_body(request, max_body)
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind == "application/json":
                try:
                    doc = json.loads(body)
                except (ValueError, RecursionError) as exc:  # bad syntax, encoding, nesting
                    raise BadInput(400, f"body is not valid JSON ({exc})") from None
                if not isinstance(doc, dict) or "pixels" not in doc:
                    raise BadInput(422, 'JSON body must be {"pixels": [784 grey levels 0..255]}')
                return JSONResponse(answer(imaging.check_pixels(doc["pixels"])), headers=HEADERS)
            if kind == "multipart/form-data":
                body = await uploaded_file(request, body)
            if not body:
                raise BadInput(400, "empty body: send an image or JSON pixels")
            return JSONResponse(await run_in_threadpool(from_image, body), headers=HEADERS)
        except BadInput as exc:
            return error(exc.status, str(exc))
        except imaging.ImageError as exc:
            return error(image_status(exc), str(exc))
        except ValueError as exc:  # check_pixels
            return error(422, str(exc))

    async def health(request: Request):
        return JSONResponse({"status": "ok", "model": model_name, "network": net.config(),
                             "parameters": net.n_params(), "results": meta.get("results"),
                             "max_body_bytes": max_body, "max_pixels": max_pixels},
                            headers=HEADERS)

    async def index(request: Request):
        return FileResponse(WEB / "index.html", headers=HEADERS)

    async def http_error(request: Request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail))

    routes = [Route("/", index), Route("/health", health),
              Route("/api/predict", predict, methods=["POST"]),
              Mount("/static", StaticFiles(directory=WEB), name="static")]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
