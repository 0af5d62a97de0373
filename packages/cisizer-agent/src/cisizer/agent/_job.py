"""One measured job: its settings, its sources, and its summary on the way out."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

from cisizer.agent._cgroup import (
    CgroupLayout,
    HostContainer,
    find_layout,
    parse_proc_cgroup,
    read_file,
)
from cisizer.agent._errors import SourceError
from cisizer.agent._identity import Identity
from cisizer.agent._names import clean_name
from cisizer.agent._processes import ProcessTracker
from cisizer.agent._sampler import Container, Sampler
from cisizer.agent._spool import Spool

__all__ = [
    "Settings",
    "build_push",
    "build_sampler",
    "clean_summary",
    "spool_summary",
]

_log = logging.getLogger(__name__)


@attrs.frozen
class Settings:
    """Everything that shapes sampling and delivery, as the CLI resolved it."""

    url: str | None = None
    push_token: str | None = None
    interval: float = 1.0
    container_name: str = "runner"
    cgroups: tuple[tuple[str, str], ...] = ()
    docker: bool = True
    docker_host: str | None = None
    docker_containers: tuple[str, ...] = ()
    docker_all: bool = False
    top_processes: int = 20
    spool_dir: Path = attrs.field(factory=lambda: Path("spool"))
    push_timeout: float = 60.0
    proc: str = "/proc"

    def to_json(self) -> dict[str, Any]:
        """Return the settings as JSON-ready data."""
        data = attrs.asdict(self)
        data["spool_dir"] = str(self.spool_dir)
        data["cgroups"] = [list(pair) for pair in self.cgroups]
        data["docker_containers"] = list(self.docker_containers)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        """Return settings written by :meth:`to_json`."""
        values = dict(data)
        values["spool_dir"] = Path(values["spool_dir"])
        values["cgroups"] = tuple(tuple(pair) for pair in values.get("cgroups", ()))
        values["docker_containers"] = tuple(values.get("docker_containers", ()))
        return cls(**values)


def _own_container(settings: Settings, layout: CgroupLayout | None) -> Container:
    name = settings.container_name
    if layout is None:
        _log.warning(
            "no cgroup filesystem is mounted; measuring the whole machine as %s", name
        )
        return HostContainer(name, settings.proc)
    try:
        text = read_file(os.path.join(settings.proc, "self/cgroup")).decode()
        container = layout.container(name, parse_proc_cgroup(text))
        container.check()
    except (SourceError, OSError) as err:
        _log.warning(
            "cannot read the own cgroup (%s); measuring the whole machine as %s",
            err,
            name,
        )
        return HostContainer(name, settings.proc)
    return container


def build_sampler(settings: Settings, *, since: float | None = None) -> Sampler:
    """Return a sampler over every source that can be read; warn once for others.

    ``since`` is the wall-clock start of the job: Docker containers created
    before it are not the job's.
    """
    layout = find_layout(settings.proc)
    containers: list[Container] = [_own_container(settings, layout)]
    for name, path in settings.cgroups:
        if layout is None:
            _log.warning(
                "cgroup %s=%s is not sampled: no cgroup filesystem", name, path
            )
            continue
        try:
            container = layout.container(name, layout.hierarchy_path(path))
            container.check()
        except SourceError as err:
            _log.warning("cgroup %s=%s is not sampled: %s", name, path, err)
            continue
        containers.append(container)

    docker = None
    if settings.docker:
        docker = _docker_source(settings, time.time() if since is None else since)
    processes = None
    if settings.top_processes > 0:
        controller = layout.match_controller if layout is not None else ""
        processes = ProcessTracker(settings.top_processes, controller, settings.proc)

    return Sampler(
        containers, interval=settings.interval, docker=docker, processes=processes
    )


def _docker_source(settings: Settings, since: float) -> Any:
    host = settings.docker_host or os.environ.get("DOCKER_HOST")
    socket = "/var/run/docker.sock"
    if not host and not os.path.exists(socket):
        _log.warning(
            "no Docker Engine (DOCKER_HOST unset, no %s); "
            "Docker containers are not sampled",
            socket,
        )
        return None

    from cisizer.agent._docker import DockerEngine, DockerSource

    address = host or f"unix://{socket}"
    try:
        engine = DockerEngine(address)
        engine.containers()
    except SourceError as err:
        _log.warning("Docker containers are not sampled: %s", err)
        return None
    # With --docker-all every container counts, even one older than the job.
    return DockerSource(
        engine, 0.0 if settings.docker_all else since, settings.docker_containers
    )


def clean_summary(summary: Any) -> Any:
    """Return the summary with container and process names the receiver takes.

    A process may rename itself to anything (``prctl(PR_SET_NAME)``), and one
    odd name must not cost the job's measurement.
    """
    containers = tuple(
        attrs.evolve(container, name=clean_name(container.name))
        for container in summary.containers
    )
    processes = summary.processes
    if processes is not None:
        processes = tuple(
            attrs.evolve(
                process,
                name=clean_name(process.name),
                container=None
                if process.container is None
                else clean_name(process.container),
            )
            for process in processes
        )
    return attrs.evolve(summary, containers=containers, processes=processes)


def build_push(identity: Identity, status: str, summary: Any) -> dict[str, Any]:
    """Return the JSON body of the push for one finished job."""
    from cisizer.core import Push, RunStatus, converter

    summary = clean_summary(summary)

    push = Push(
        organization=identity.organization,
        repository=identity.repository,
        workflow=identity.workflow,
        job=identity.job,
        run_id=identity.run_id,
        run_attempt=identity.run_attempt,
        runner=identity.runner,
        status=RunStatus(status),
        payload=summary,
    )
    data = converter.unstructure(push)
    assert isinstance(data, dict)
    return data


def spool_summary(
    settings: Settings, identity: Identity, status: str, sampler: Sampler
) -> Path:
    """Finish the sampler and write the job's summary to the spool."""
    sampler.finish()
    body = build_push(identity, status, sampler.summary())
    try:
        return Spool(settings.spool_dir).write(
            body, url=settings.url, token=settings.push_token
        )
    except OSError as err:
        # A full or read-only spool must not cost the summary: the temp dir
        # still lets it be pushed now.
        fallback = Path(tempfile.gettempdir()) / "cisizer-agent-spool"
        _log.warning(
            "cannot write to the spool %s (%s); using %s",
            settings.spool_dir,
            err,
            fallback,
        )
        return Spool(fallback).write(body, url=settings.url, token=settings.push_token)
