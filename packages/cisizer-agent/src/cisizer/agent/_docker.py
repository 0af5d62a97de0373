"""Job and service containers read from the Docker Engine API over ``DOCKER_HOST``."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any

import httpx

from cisizer.agent._cgroup import UNLIMITED_BYTES, Counters, Limits
from cisizer.agent._errors import SourceError

__all__ = ["DockerContainer", "DockerEngine", "DockerSource", "docker_host"]

_log = logging.getLogger(__name__)

DEFAULT_HOST = "unix:///var/run/docker.sock"


def docker_host(env: dict[str, str] | None = None) -> str:
    """Return the engine address from ``DOCKER_HOST``, else the default socket."""
    import os

    return (env if env is not None else os.environ).get("DOCKER_HOST") or DEFAULT_HOST


class DockerEngine:
    """A minimal Docker Engine API client: list, inspect and one-shot stats.

    Note:
        ``tcp://`` hosts are spoken to in plain HTTP; TLS client certificates
        (``DOCKER_TLS_VERIFY``) are not supported.
    """

    def __init__(self, host: str, *, timeout: float = 2.0) -> None:
        self.host = host
        if host.startswith("unix://"):
            transport = httpx.HTTPTransport(uds=host[len("unix://") :])
            base_url = "http://docker"
        elif host.startswith(("tcp://", "http://")):
            transport = httpx.HTTPTransport()
            base_url = "http://" + host.split("://", 1)[1]
        else:
            raise SourceError(f"unsupported DOCKER_HOST {host!r}")
        # No TLS is spoken, so skip loading the CA bundle.
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            verify=False,  # noqa: S501 - plain HTTP or a unix socket, no TLS
        )

    def _get(self, path: str, **params: str) -> Any:
        try:
            answer = self._http.get(path, params=params)
        except httpx.HTTPError as err:
            raise SourceError(f"Docker Engine at {self.host}: {err}") from err
        if answer.status_code != 200:
            raise SourceError(
                f"Docker Engine answered {answer.status_code} for {path}: "
                f"{answer.text[:200]}",
                status=answer.status_code,
            )
        try:
            return answer.json()
        except ValueError as err:
            raise SourceError(f"Docker Engine sent bad JSON for {path}") from err

    def containers(self) -> list[dict[str, Any]]:
        """Return the running containers as ``GET /containers/json`` lists them."""
        found = self._get("/containers/json")
        return found if isinstance(found, list) else []

    def inspect(self, container_id: str) -> dict[str, Any]:
        """Return ``GET /containers/{id}/json``."""
        found = self._get(f"/containers/{container_id}/json")
        return found if isinstance(found, dict) else {}

    def stats(self, container_id: str) -> dict[str, Any]:
        """Return one stats reading without waiting for a second one."""
        found = self._get(
            f"/containers/{container_id}/stats", stream="false", **{"one-shot": "true"}
        )
        return found if isinstance(found, dict) else {}

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def _number(data: Any, *keys: str) -> int | None:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    if isinstance(data, int | float) and not isinstance(data, bool):
        return int(data)
    return None


class DockerContainer:
    """One container of the Docker engine, measured from its stats."""

    source = "docker"

    def __init__(self, engine: DockerEngine, container_id: str, name: str) -> None:
        self.name = name
        self.id = container_id
        self.match_path = container_id
        self.directories: dict[str, str] = {}
        self._engine = engine
        self._last: dict[str, Any] = {}
        self.gone = False

    def check(self) -> None:
        """Raise :class:`SourceError` unless a sample can be read."""
        self.sample()

    def sample(self) -> tuple[int, int]:
        """Return cumulative CPU nanoseconds and the memory working set in bytes."""
        try:
            stats = self._engine.stats(self.id)
        except SourceError as err:
            if err.status == 404:
                self.gone = True
            raise
        cpu_ns = _number(stats, "cpu_stats", "cpu_usage", "total_usage")
        usage = _number(stats, "memory_stats", "usage")
        if cpu_ns is None or usage is None:
            # A stopped container answers with empty figures; it will not
            # come back under the same id, so stop asking.
            self.gone = True
            raise SourceError(f"container {self.name} has stopped")
        self._last = stats

        return cpu_ns, max(0, usage - self._inactive(stats))

    @staticmethod
    def _inactive(stats: dict[str, Any]) -> int:
        # cgroup v2 engines say inactive_file, cgroup v1 ones total_inactive_file.
        inactive = _number(stats, "memory_stats", "stats", "inactive_file")
        if inactive is None:
            inactive = _number(stats, "memory_stats", "stats", "total_inactive_file")
        return inactive or 0

    def counters(self) -> Counters:
        """Return the peak, throttled time and OOM kill seen in the last stats."""
        if not self._last:
            self.sample()
        stats = self._last
        peak = _number(stats, "memory_stats", "max_usage")
        oom = None
        try:
            state = self._engine.inspect(self.id).get("State", {})
            oom = 1 if state.get("OOMKilled") else 0
        except SourceError:
            _log.debug("container %s is gone; its OOM state is unknown", self.name)

        return Counters(
            memory_peak_bytes=None
            if peak is None
            else max(0, peak - self._inactive(stats)),
            memory_peak_raw=peak,
            throttled_ns=_number(
                stats, "cpu_stats", "throttling_data", "throttled_time"
            ),
            oom_kills=oom,
        )

    def limits(self) -> Limits:
        """Return the container's CPU and memory limits from its host config."""
        try:
            config = self._engine.inspect(self.id).get("HostConfig", {})
        except SourceError:
            return Limits()
        cpu = None
        nano = _number(config, "NanoCpus")
        quota, period = _number(config, "CpuQuota"), _number(config, "CpuPeriod")
        if nano:
            cpu = nano / 1e9
        elif quota and quota > 0:
            cpu = quota / (period or 100_000)
        memory = _number(config, "Memory")
        if not memory or memory >= UNLIMITED_BYTES:
            memory = None

        return Limits(cpu_cores=cpu, memory_bytes=memory)


def _created(entry: dict[str, Any]) -> float:
    created = entry.get("Created")
    if isinstance(created, int | float):
        return float(created)
    if isinstance(created, str):
        try:
            return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0
    return 0.0


class DockerSource:
    """Finds the containers started during the job, plus any named explicitly."""

    def __init__(
        self, engine: DockerEngine, since: float, names: Collection[str] = ()
    ) -> None:
        self.engine = engine
        self.since = since
        self.names = set(names)
        self._known: set[str] = set()

    def discover(self) -> list[DockerContainer]:
        """Return the containers not seen before that belong to the job."""
        found = []
        for entry in self.engine.containers():
            container_id = entry.get("Id")
            if not isinstance(container_id, str) or container_id in self._known:
                continue
            names = entry.get("Names") or []
            name = str(names[0]).lstrip("/") if names else container_id[:12]
            # Created is whole seconds, so allow for the rounding.
            if _created(entry) >= self.since - 1 or name in self.names:
                self._known.add(container_id)
                found.append(DockerContainer(self.engine, container_id, name))
        return found
