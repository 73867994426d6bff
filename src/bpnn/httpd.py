"""Running the web application with uvicorn so that slow or idle clients cannot starve it.

uvicorn closes idle connections between requests (``timeout_keep_alive``) but puts no limit on the
time a client takes to send a request: a connection that sends half a header line, or one byte a
second, stays open for ever, and enough of them use up the file descriptors so that no one else
gets in.  ``guarded_protocol`` is uvicorn's h11 protocol with

- a deadline for each request: from the connection's start (or the end of the previous response)
  to the last byte of the request, headers and body, ``request_timeout`` seconds; past it the
  connection is closed.  A request once received is never cut short, however long its answer.
- a cap on open connections: past ``max_connections``, the oldest connection still sending a
  request is closed to make room (or, when every connection is busy with a complete request,
  the new one), so a flood of slow clients cannot lock out a quick one.

``serve`` binds the listening socket first (a port in use is a ``BpnnError``) and runs uvicorn
on it with these protections, header size and keep-alive limits from ``bpnn.limits``.
Not here: what is served (``bpnn.server``).
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .errors import BpnnError
from .limits import KEEP_ALIVE_S, MAX_CONNECTIONS, MAX_HEADER_BYTES, REQUEST_TIMEOUT_S

__all__ = ["guarded_protocol", "listen", "serve", "server_config"]

# h11 states in which the other side has not yet sent a whole request
_RECEIVING = (h11.IDLE, h11.SEND_BODY)


def guarded_protocol(
    request_timeout: float = REQUEST_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS
) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a per-request deadline and a cap on open connections."""
    receiving: dict[GuardedProtocol, None] = {}  # connections sending a request, oldest first

    class GuardedProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                (next(iter(receiving)) if receiving else self)._close()
            if not transport.is_closing():
                self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state not in _RECEIVING:  # the whole request is in
                self._disarm()

        def on_response_complete(self) -> None:
            self._arm()  # the next request on this connection has its own deadline
            super().on_response_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(request_timeout, self._close)
            receiving[self] = None

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            receiving.pop(self, None)

        def _close(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedProtocol


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; BpnnError, one line, if that is not possible."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, address = infos[0]
        return socket.create_server(address, family=family)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        hint = (
            " (another server uses it: choose another --port)"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        raise BpnnError(f"cannot listen on {host} port {port}: {reason}{hint}") from None


def server_config(
    app, request_timeout: float = REQUEST_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS
) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` with every protection above."""
    return uvicorn.Config(
        app,
        http=guarded_protocol(request_timeout, max_connections),
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        lifespan="off",
        log_level="warning",
        server_header=False,
    )


def serve(app, sock: socket.socket) -> None:
    """Serve ``app`` on the listening socket ``sock`` until interrupted."""
    uvicorn.Server(server_config(app)).run(sockets=[sock])
