"""Start the real receiver (``cisizer-server serve``) on loopback for a benchmark."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import httpx

READ_TOKEN = "bench-read-token-" + "r" * 16
HMAC_KEY = "bench-hmac-key-" + "k" * 32


def free_port() -> int:
    """A TCP port free on loopback just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(
    process: subprocess.Popen[bytes], url: str, seconds: float = 60
) -> None:
    """Wait until GET ``url`` answers 200; exit if the process dies or never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server gracefully, killing it if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def receiver(
    db_url: str,
    *,
    workers: int = 1,
    options: Sequence[str] = (),
    log: IO[bytes] | None = None,
) -> Iterator[str]:
    """Serve ``db_url`` with ``cisizer-server serve``; yield its base URL.

    The receiver runs as deployed: gunicorn's threaded workers, one log line
    per request (to ``log``, else nowhere).
    """
    port = free_port()
    command = shutil.which("cisizer-server") or str(
        Path(sys.executable).with_name("cisizer-server")
    )
    env = {
        **os.environ,
        "CISIZER_READ_TOKEN": READ_TOKEN,
        "CISIZER_HMAC_KEY": HMAC_KEY,
        "CISIZER_DB_URL": db_url,
    }
    process = subprocess.Popen(
        [
            command,
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *options,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{base}/health")
        yield base
    finally:
        stop(process)
