"""Docker containers from recorded Engine API answers served on a unix socket."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from cisizer.agent import Sampler, Settings
from cisizer.agent._docker import DockerEngine, DockerSource
from cisizer.agent._job import build_sampler
from cisizer.core import Limits

from .test_sampler import Clock, Flaky

DATA = Path(__file__).parent / "data" / "docker"
DB_ID = "3f1c9a0b7d2e4c5f8a6b1d0e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"
MiB = 1024 * 1024
# Between the registry's creation and the database's.
JOB_START = 1764778000.0


class Engine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class RecordedEngine:
    """Serves the recorded answers; stats answers advance one file per request."""

    def __init__(self, socket_path: Path) -> None:
        self.paths: list[str] = []
        self.stats = [DATA / "stats-1.json", DATA / "stats-2.json"]
        self.inspect = DATA / "inspect.json"
        recorded = self

        class Handler(BaseHTTPRequestHandler):
            def address_string(self) -> str:
                return "docker-client"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                recorded.paths.append(self.path)
                path = self.path.partition("?")[0]
                body: bytes | None = None
                if path == "/containers/json":
                    body = (DATA / "containers.json").read_bytes()
                elif path == f"/containers/{DB_ID}/json":
                    body = recorded.inspect.read_bytes()
                elif path == f"/containers/{DB_ID}/stats":
                    source = recorded.stats[0]
                    if len(recorded.stats) > 1:
                        recorded.stats.pop(0)
                    body = source.read_bytes()
                status = 200 if body is not None else 404
                if body is None:
                    body = json.dumps(
                        {"message": f"No such container: {path}"}
                    ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = Engine(str(socket_path), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[RecordedEngine, str]]:
    """Serve the recorded Docker Engine on a unix socket."""
    socket_path = tmp_path / "docker.sock"
    recorded = RecordedEngine(socket_path)
    recorded.thread.start()
    yield recorded, f"unix://{socket_path}"
    recorded.server.shutdown()
    recorded.server.server_close()


def test_only_containers_started_during_the_job(
    engine: tuple[RecordedEngine, str],
) -> None:
    """A container created before the job is left out unless named."""
    _, host = engine
    source = DockerSource(DockerEngine(host), JOB_START)

    assert [c.name for c in source.discover()] == ["build-db"]
    assert source.discover() == []
    named = DockerSource(DockerEngine(host), JOB_START, ["registry-cache"])
    assert sorted(c.name for c in named.discover()) == ["build-db", "registry-cache"]


def test_docker_container_summary(engine: tuple[RecordedEngine, str]) -> None:
    """Stats give CPU cores, working set and throttling; inspect gives the limits."""
    recorded, host = engine
    clock = Clock()
    source = DockerSource(DockerEngine(host), JOB_START)
    sampler = Sampler([Flaky()], docker=source, system_cpu=None, clock=clock)

    sampler.start()
    clock.now += 1
    sampler.finish()
    db = {c.name: c for c in sampler.summary().containers}["build-db"]

    assert db.cpu_cores.peak == 0.75
    assert db.memory_bytes.peak == 200 * MiB
    assert db.memory_bytes.p50 == 140 * MiB
    assert db.cpu_throttled_seconds == 0.2
    assert db.oom_kills == 0
    assert db.limits == Limits(cpu_cores=1.5, memory_bytes=512 * MiB)
    assert any("one-shot=true" in path for path in recorded.paths)


def test_unreachable_engine_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A DOCKER_HOST that does not answer is skipped with one warning."""
    settings = Settings(
        docker_host=f"unix://{tmp_path}/absent.sock",
        top_processes=0,
        spool_dir=tmp_path,
    )

    sampler = build_sampler(settings)
    sampler.start()
    sampler.tick()

    assert sampler.docker is None
    warnings = [r for r in caplog.records if "Docker" in r.getMessage()]
    assert len(warnings) == 1
    assert "absent.sock" in warnings[0].getMessage()


def test_container_stopped_by_oom_keeps_its_figures(
    engine: tuple[RecordedEngine, str],
) -> None:
    """A container that stops mid-job is asked no more; its OOM kill is reported."""
    recorded, host = engine
    recorded.stats.append(DATA / "stats-stopped.json")
    clock = Clock()
    sampler = Sampler(
        [Flaky()],
        docker=DockerSource(DockerEngine(host), JOB_START),
        system_cpu=None,
        clock=clock,
    )

    sampler.start()
    for _ in range(3):
        clock.now += 1
        sampler.tick()
    recorded.inspect = DATA / "inspect-oom.json"
    sampler.finish()
    db = {c.name: c for c in sampler.summary().containers}["build-db"]

    assert len([p for p in recorded.paths if "/stats" in p]) == 3
    assert db.cpu_cores.peak == 0.75
    assert db.memory_bytes.peak == 200 * MiB
    assert db.oom_kills == 1


def test_docker_all_takes_containers_older_than_the_job(
    engine: tuple[RecordedEngine, str], tmp_path: Path
) -> None:
    """--docker-all samples every running container, the job's or not."""
    _, host = engine
    settings = Settings(
        docker_host=host, docker_all=True, top_processes=0, spool_dir=tmp_path
    )

    sampler = build_sampler(settings, since=JOB_START)
    sampler.start()

    assert sorted(sampler.series) == ["build-db", "registry-cache", "runner"]
