"""Summaries kept on disk until the receiver confirms them."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

__all__ = ["REJECTED", "Spool", "SpoolEntry", "default_spool_dir"]

_SUFFIX = ".json"

#: Subdirectory of the spool where refused summaries are kept.
REJECTED = "rejected"


def default_spool_dir() -> Path:
    """Return ``$XDG_CACHE_HOME/cisizer-agent/spool`` (``~/.cache`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(cache) / "cisizer-agent" / "spool"


@attrs.frozen
class SpoolEntry:
    """One spooled summary: where it lies and what to send, to whom."""

    path: Path
    push: dict[str, Any]
    url: str | None
    token: str | None


class Spool:
    """A directory of summaries, each written atomically and synced to disk.

    Files are private to the user (mode 0600) since they hold the push
    token that goes with them.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(
        self, push: dict[str, Any], *, url: str | None, token: str | None
    ) -> Path:
        """Write one summary and return its path once it is on disk."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = (
            "/".join(
                str(push.get(k))
                for k in ("organization", "repository", "workflow", "job", "run_id")
            )
            + f"#{push.get('run_attempt', 1)}"
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = self.directory / f"{time.time_ns()}-{digest}{_SUFFIX}"
        body = json.dumps({"url": url, "token": token, "push": push}).encode()

        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _sync_directory(self.directory)

        return path

    def paths(self) -> list[Path]:
        """Return the spooled files, oldest first; none if there is no spool.

        Raises:
            OSError: the directory exists but cannot be read.
        """
        try:
            names = sorted(
                name
                for name in os.listdir(self.directory)
                if name.endswith(_SUFFIX) and not name.startswith(".")
            )
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [self.directory / name for name in names]

    @staticmethod
    def read(path: Path) -> SpoolEntry:
        """Return the entry stored at ``path``; raises ``ValueError`` if unreadable."""
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or not isinstance(data.get("push"), dict):
            raise ValueError(f"{path} is not a spooled summary")
        return SpoolEntry(path, data["push"], data.get("url"), data.get("token"))

    @contextlib.contextmanager
    def claim(self, path: Path) -> Iterator[bool]:
        """Hold an exclusive lock on a spooled file; yield whether it was free.

        Two agents flushing at once never send the same file twice in parallel.
        """
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            yield False
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield path.exists()
        finally:
            os.close(fd)

    def remove(self, path: Path) -> None:
        """Delete a delivered summary and sync the directory that held it."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        _sync_directory(path.parent)

    def reject(self, path: Path) -> Path:
        """Move a summary the receiver refused to ``rejected/`` beside it.

        It is kept there for a person to read and never sent again by
        itself; moved back into the spool, the next ``flush`` sends it.
        """
        rejected = path.parent / REJECTED
        rejected.mkdir(mode=0o700, exist_ok=True)
        target = rejected / path.name
        os.replace(path, target)
        _sync_directory(rejected)
        _sync_directory(path.parent)
        return target


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
