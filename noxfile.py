"""Every task of the CI Sizer monorepo: tests, lint, typecheck, openapi, demo, bench.

Run ``nox -l`` to list the sessions.  ``nox -s tests`` installs the four
distributions together and runs the whole suite; ``nox -s tests-core`` (and
``-client``, ``-agent``, ``-server``) installs one distribution with only its
declared siblings and runs that distribution's tests alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

ROOT = Path(__file__).parent

# Each distribution with the siblings it declares as dependencies.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "core": ("core",),
    "client": ("core", "client"),
    "agent": ("core", "client", "agent"),
    "server": ("core", "server"),
}

TEST_DEPS = (
    "pytest>=8",
    "pytest-asyncio>=0.24",
    "hypothesis>=6.100",
    "respx>=0.21",
    "schemathesis>=4.0",
    "pyyaml>=6",
)


def _install_packages(session: nox.Session, names: tuple[str, ...]) -> None:
    # One pip call, so that sibling requirements resolve to the local copies.
    args: list[str] = []
    for name in names:
        args += ["-e", str(ROOT / "packages" / f"cisizer-{name}")]
    session.install(*args)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite against all four distributions."""
    _install_packages(session, ("core", "client", "agent", "server"))
    session.install(*TEST_DEPS)
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session(name="tests-core")
def tests_core(session: nox.Session) -> None:
    """Run cisizer-core's tests with only cisizer-core installed."""
    _dist_tests(session, "core")


@nox.session(name="tests-client")
def tests_client(session: nox.Session) -> None:
    """Run cisizer-client's tests with only client and core installed."""
    _dist_tests(session, "client")


@nox.session(name="tests-agent")
def tests_agent(session: nox.Session) -> None:
    """Run cisizer-agent's tests with only agent, client and core installed."""
    _dist_tests(session, "agent")


@nox.session(name="tests-server")
def tests_server(session: nox.Session) -> None:
    """Run cisizer-server's tests with only server and core installed."""
    _dist_tests(session, "server")


def _dist_tests(session: nox.Session, dist: str) -> None:
    _install_packages(session, DISTRIBUTIONS[dist])
    session.install(*TEST_DEPS)
    session.run("pytest", f"tests/{dist}", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff (lint rules and formatting)."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the four distributions with mypy --strict."""
    _install_packages(session, ("core", "client", "agent", "server"))
    session.install("mypy>=1.11", "types-psutil", "pytest", "hypothesis", "nox")
    session.run(
        "mypy",
        "packages/cisizer-core/src/cisizer",
        "packages/cisizer-client/src/cisizer",
        "packages/cisizer-agent/src/cisizer",
        "packages/cisizer-server/src/cisizer",
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Run the main job: a receiver on SQLite, the agent on real work, a sizing."""
    _install_packages(session, ("core", "client", "agent", "server"))
    session.run("python", "scripts/demo.py")


@nox.session
def openapi(session: nox.Session) -> None:
    """Write docs/openapi.json from the receiver's route table."""
    _install_packages(session, DISTRIBUTIONS["server"])
    with (ROOT / "docs" / "openapi.json").open("w") as out:
        session.run("cisizer-server", "openapi", stdout=out)


def _apt_install(session: nox.Session, package: str) -> None:
    # A new machine's package lists may be empty or stale.
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", package, external=True)


BENCH_PARTS = ("backtest", "ingest", "aggregation", "agent")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks and print every figure with its target and ratio.

    ``nox -s bench`` runs every part; ``nox -s bench -- NAME [NAME ...]``
    runs some of them.  The parts:

    - ``backtest``: sizing quality, walk-forward over generated job
      histories and the demo's runs, against VPA-like and KRR-like
      recommenders; draws bench-results/backtest-pareto.png;
    - ``ingest``: pushes per second against a bare Falcon floor under the
      same gunicorn settings, and sizing latency at 100 and a million runs;
    - ``aggregation``: the aggregation endpoints at a million runs against
      hand-written SQL;
    - ``agent``: the agent's CPU and memory beside prometheus-node-exporter.

    Each part prints its table and records it in bench-results.json; the
    session ends with the table of every part on record.  Some parts
    install Debian packages with apt (node-exporter, the sqlite3 and psql
    command lines).
    """
    targets = session.posargs or list(BENCH_PARTS)
    unknown = sorted(set(targets) - set(BENCH_PARTS))
    if unknown:
        session.error(f"unknown bench part(s) {unknown}; choose from {BENCH_PARTS}")
    _install_packages(session, ("core", "client", "agent", "server"))
    session.install("httpx", "matplotlib>=3.8")
    if "backtest" in targets:
        # The backtest also replays the runs the demo recorded; a fresh
        # clone has none yet, so the demo runs first (about 20 s).
        if not (ROOT / ".cisizer-demo" / "cisizer.db").exists():
            session.run("python", "scripts/demo.py")
        session.run("python", "bench/backtest.py")
    if "ingest" in targets:
        # wrk drives the load from a process of its own; the 1M-run
        # databases are seeded once and kept (see bench/_seed.py).
        for command, package in (("wrk", "wrk"), ("psql", "postgresql-client")):
            if shutil.which(command) is None:
                _apt_install(session, package)
        session.run("python", "bench/ingest.py")
    if "aggregation" in targets:
        # The floors run through the psql and sqlite3 command lines.
        for command, package in (("sqlite3", "sqlite3"), ("psql", "postgresql-client")):
            if shutil.which(command) is None:
                _apt_install(session, package)
        session.run("python", "bench/aggregation.py")
    if "agent" in targets:
        if not Path("/usr/bin/prometheus-node-exporter").exists():
            _apt_install(session, "prometheus-node-exporter")
        session.run("python", "bench/agent.py")
    session.run("python", "bench/_results.py")
