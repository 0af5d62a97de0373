"""The background sampler behind ``cisizer-agent start`` and ``stop``.

``start`` writes the settings to the state directory and launches
``python -m cisizer.agent._daemon STATE_DIR``; the sampler writes its pid,
samples until it receives SIGTERM (or its maximum duration passes), spools
the summary and writes ``result.json``.  ``stop`` then delivers the spooled
summary, so the long-lived process never loads the HTTP stack.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import attrs

from cisizer.agent._identity import Identity
from cisizer.agent._job import Settings, build_sampler, spool_summary

__all__ = ["StateDir", "main"]

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


@attrs.frozen
class StateDir:
    """The files through which ``start``, the sampler and ``stop`` talk."""

    path: Path

    @property
    def config(self) -> Path:
        """Settings and identity written by ``start`` (mode 0600)."""
        return self.path / "config.json"

    @property
    def pid(self) -> Path:
        """The sampler's process id."""
        return self.path / "sampler.pid"

    @property
    def ready(self) -> Path:
        """Written once the first sample is taken."""
        return self.path / "ready"

    @property
    def stop(self) -> Path:
        """The job status ``stop`` hands to the sampler."""
        return self.path / "stop.json"

    @property
    def result(self) -> Path:
        """What the sampler did: the spooled file, or the error."""
        return self.path / "result.json"

    @property
    def log(self) -> Path:
        """The sampler's log."""
        return self.path / "sampler.log"

    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        """Write a small JSON file atomically, private to the user."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)

    def read_json(self, path: Path) -> dict[str, Any] | None:
        """Return a JSON file's content, or ``None`` if absent or unreadable."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def running_pid(self) -> int | None:
        """Return the pid of a live sampler of this directory, if any."""
        try:
            pid = int(self.pid.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        # A zombie left by a parent that never reaped it is no sampler.
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return pid
        return None if stat.rpartition(")")[2].split()[0] == "Z" else pid

    def clear(self) -> None:
        """Remove the files of a finished sampler."""
        for path in (self.config, self.pid, self.ready, self.stop, self.result):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _wait_for_stop(deadline: float | None) -> None:
    while True:
        timeout = 3600.0 if deadline is None else deadline - time.monotonic()
        if timeout <= 0:
            return
        if signal.sigtimedwait(_STOP_SIGNALS, min(timeout, 3600.0)) is not None:
            return


def run_sampler(state: StateDir) -> int:
    """Sample until told to stop, then spool the summary; return an exit code."""
    config = state.read_json(state.config)
    if config is None:
        return 2
    settings = Settings.from_json(config["settings"])
    identity = Identity(**config["identity"])
    max_duration = config.get("max_duration")

    # Signals are taken synchronously by the main thread; the sampling
    # thread never sees them.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    state.pid.write_text(f"{os.getpid()}\n")
    try:
        sampler = build_sampler(settings, since=config.get("since"))
        sampler.start()
    except Exception as err:
        logging.getLogger(__name__).exception("the sampler could not start")
        state.write_json(state.result, {"error": f"sampler failed to start: {err}"})
        return 1
    state.ready.write_text("ready\n")

    stop = threading.Event()
    worker = threading.Thread(target=sampler.run, args=(stop,), daemon=True)
    worker.start()
    deadline = None if not max_duration else time.monotonic() + float(max_duration)
    _wait_for_stop(deadline)
    stop.set()
    worker.join()

    request = state.read_json(state.stop) or {}
    status = str(request.get("status") or "unknown")
    try:
        path = spool_summary(settings, identity, status, sampler)
    except Exception as err:
        logging.getLogger(__name__).exception("the summary could not be written")
        state.write_json(state.result, {"error": f"summary not written: {err}"})
        return 1
    state.write_json(state.result, {"spool": str(path), "status": status})
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the background sampler for the state directory in ``argv[1]``."""
    args = sys.argv if argv is None else argv
    state = StateDir(Path(args[1]))
    logging.basicConfig(
        filename=state.log,
        level=os.environ.get("CISIZER_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run_sampler(state)


if __name__ == "__main__":
    sys.exit(main())
