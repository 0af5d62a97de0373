"""Serve the receiver under gunicorn, started from Python rather than its CLI."""

from __future__ import annotations

from typing import Any

import falcon
from gunicorn.app.base import BaseApplication

__all__ = ["run_gunicorn"]


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

    def load(self) -> falcon.App[falcon.Request, falcon.Response]:
        return self._app


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
