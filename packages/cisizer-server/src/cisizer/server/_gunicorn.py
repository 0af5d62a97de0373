"""Serve the receiver under gunicorn, started from Python rather than its CLI."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import falcon
from gunicorn.app.base import BaseApplication

__all__ = ["run_gunicorn"]

_StartResponse = Callable[..., Any]
_DRAIN_BYTES = 65536


class _CountedBody:
    """A request body that counts what the application read of it."""

    def __init__(self, stream: Any, length: int | None) -> None:
        self._stream = stream
        self._length = length
        self._read = 0
        self._ended = False

    @property
    def complete(self) -> bool:
        """Whether the whole body was read, so the connection can serve another."""
        if self._length is not None:
            return self._read >= self._length
        return self._ended

    def _count(self, data: bytes, size: int | None = None) -> bytes:
        self._read += len(data)
        if not data and size != 0:
            self._ended = True
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Read and count up to ``size`` bytes."""
        return self._count(self._stream.read(size), size)

    def readline(self, size: int | None = -1) -> bytes:
        """Read and count one line."""
        return self._count(self._stream.readline(size), size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        """Read and count the remaining lines."""
        lines: list[bytes] = self._stream.readlines(hint)
        self._count(b"".join(lines))
        return lines

    def __iter__(self) -> Iterator[bytes]:
        """Read and count line by line."""
        return iter(self.readline, b"")


def _declared_length(environ: dict[str, Any]) -> int | None:
    """The body length the request declares: 0 without a body, None if chunked."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        return max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _close_now(sock: socket.socket) -> None:
    """Close a connection after its answer without lingering for the client.

    gunicorn's own close waits up to two seconds for the client to stop
    sending, in the worker's main loop, so stalled clients would queue up.
    Here the answer is followed by FIN, only what already arrived is
    discarded (so the close sends no reset ahead of the answer), and the
    socket closes at once.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)
        drained = 0
        while drained < _DRAIN_BYTES:
            data = sock.recv(4096)
            if not data:
                break
            drained += len(data)
    except OSError:
        pass
    finally:
        sock.close()


class _ClosingAnswer:
    """The application's answer; closing it closes the connection if asked to."""

    def __init__(self, answer: Iterable[bytes], sock: socket.socket) -> None:
        self._answer = answer
        self._sock = sock

    def __iter__(self) -> Iterator[bytes]:
        """Yield the answer's parts."""
        return iter(self._answer)

    def close(self) -> None:
        """Close the answer, then the connection when its body was left unread."""
        try:
            close = getattr(self._answer, "close", None)
            if close is not None:
                close()
        finally:
            _close_now(self._sock)


class _CloseOnUnreadBody:
    """Close every connection whose request body was not read to its end.

    An answer sent before the body arrived (401, 403, 413, 415, 408, a 400
    about the query) leaves the rest of the body on the connection.  Keeping
    the connection alive would make gunicorn read that rest first, holding a
    thread for as long as a stalled client likes; so the answer says
    ``Connection: close`` and the connection closes right after it.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app

    def __call__(
        self, environ: dict[str, Any], start_response: _StartResponse
    ) -> Iterable[bytes]:
        """Serve one request, counting how much of its body the app read."""
        body = _CountedBody(environ["wsgi.input"], _declared_length(environ))
        environ["wsgi.input"] = body
        closing = False

        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal closing
            if not body.complete:
                # gunicorn's response object writes Connection: close and
                # ends the connection after the answer once told to.
                force_close = getattr(
                    getattr(start_response, "__self__", None), "force_close", None
                )
                if force_close is not None:
                    force_close()
                    closing = True
            return start_response(status, headers, exc_info)

        answer = self._app(environ, start)
        sock = environ.get("gunicorn.socket")
        if not closing or not isinstance(sock, socket.socket):
            return answer
        return _ClosingAnswer(answer, sock)


class _Receiver(BaseApplication):  # type: ignore[misc]
    def __init__(
        self, app: falcon.App[falcon.Request, falcon.Response], options: dict[str, Any]
    ) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            # Settings newer than the installed gunicorn are left out.
            if name in self.cfg.settings:
                self.cfg.set(name, value)

    def load(self) -> Callable[..., Iterable[bytes]]:
        return _CloseOnUnreadBody(self._app)


def run_gunicorn(
    app: falcon.App[falcon.Request, falcon.Response],
    *,
    bind: str,
    workers: int,
    threads: int = 4,
    timeout: int,
    log_level: str,
) -> None:
    """Serve ``app`` on ``bind`` with ``workers`` processes until stopped.

    Each worker runs ``threads`` threads (gunicorn's ``gthread`` worker), so
    one client that is slow to send its body holds one thread, not a whole
    worker and the requests queued behind it.

    Note:
        The app is built once in the master and inherited by the workers, so
        migrations run once before any worker starts.  Each worker's database
        pool is opened lazily after the fork.
    """
    _Receiver(
        app,
        {
            "bind": bind,
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": timeout,
            "loglevel": log_level,
            "accesslog": None,
            "preload_app": True,
            # One shared control socket path would clash between receivers.
            "control_socket_disable": True,
        },
    ).run()
