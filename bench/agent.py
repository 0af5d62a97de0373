"""Measure the agent's cost beside prometheus-node-exporter over the same minute.

Starts ``cisizer-agent start`` at a 1 s interval with about 100 processes
on the machine, and, at the same time, Debian's ``prometheus-node-exporter``
scraped once a second.  After the run it prints, for each, the CPU time
used as a percentage of one core and the peak resident memory.

Usage: python bench/agent.py [--seconds 60] [--processes 100] [--exporter PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _results import Figure, publish

TICK = os.sysconf("SC_CLK_TCK")
TARGET_CPU_PERCENT = 0.5
TARGET_RSS_MIB = 30.0


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mib(pid: int) -> float:
    """Return the process's peak resident set (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_count() -> int:
    """Return how many processes the machine runs."""
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def top_up_processes(target: int) -> list[subprocess.Popen[bytes]]:
    """Start idle processes until the machine runs about ``target`` of them."""
    missing = max(0, target - process_count())
    return [
        subprocess.Popen(["sleep", "600"], stdout=subprocess.DEVNULL)
        for _ in range(missing)
    ]


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Watch:
    """Tracks one process's CPU time from a starting point, and its peak RSS."""

    def __init__(self, name: str, pid: int) -> None:
        self.name = name
        self.pid = pid
        self.start_cpu = cpu_seconds(pid)
        self.start = time.monotonic()
        self.cpu = 0.0
        self.elapsed = 0.0
        self.rss = 0.0

    def read(self) -> None:
        """Update the CPU used since the start and the peak RSS."""
        try:
            self.cpu = cpu_seconds(self.pid) - self.start_cpu
            self.elapsed = time.monotonic() - self.start
            self.rss = max(self.rss, peak_rss_mib(self.pid))
        except OSError:
            pass

    @property
    def percent(self) -> float:
        """Return the CPU used as a percentage of one core."""
        return 100 * self.cpu / self.elapsed if self.elapsed else 0.0


def start_agent(work: Path, interval: float) -> tuple[int, dict[str, str]]:
    """Start the background sampler; return its pid and the environment used."""
    env = dict(
        os.environ,
        CISIZER_ORGANIZATION="bench",
        CISIZER_REPOSITORY="bench/agent",
        CISIZER_WORKFLOW="bench.yml",
        CISIZER_JOB="sample",
        CISIZER_RUN_ID=str(int(time.time())),
        CISIZER_URL="http://127.0.0.1:9",
        CISIZER_PUSH_TOKEN="eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",  # never delivered
        CISIZER_PUSH_TIMEOUT="1",
        CISIZER_INTERVAL=str(interval),
        CISIZER_STATE_DIR=str(work / "state"),
        CISIZER_SPOOL_DIR=str(work / "spool"),
    )
    agent = shutil.which("cisizer-agent") or "cisizer-agent"
    subprocess.run([agent, "start"], env=env, check=True, stderr=subprocess.DEVNULL)
    pid = int((work / "state" / "sampler.pid").read_text())
    return pid, env


def start_exporter(exporter: str, port: int) -> subprocess.Popen[bytes]:
    """Start node-exporter on a loopback port and wait until it answers."""
    process = subprocess.Popen(
        [exporter, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("prometheus-node-exporter did not answer")


def scrape(port: int, stop: threading.Event, interval: float) -> int:
    """Scrape the exporter every interval until told to stop; count the scrapes."""
    count = 0
    next_at = time.monotonic()
    while not stop.is_set():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            r.read()
        count += 1
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))
    return count


def _figures(watches: list[Watch], finishing_rss: float) -> list[Figure]:
    """Return the agent's figures, each beside node-exporter's when it ran."""
    agent = watches[0]
    exporter = watches[1] if len(watches) > 1 else None
    return [
        Figure(
            "agent",
            "sampler CPU, % of one core",
            agent.percent,
            "%",
            target=f"< {TARGET_CPU_PERCENT} %",
            ratio=agent.percent / exporter.percent if exporter else None,
            met=agent.percent < TARGET_CPU_PERCENT,
            note="ratio: to prometheus-node-exporter scraped at the same interval",
        ),
        Figure(
            "agent",
            "sampler peak RSS",
            agent.rss,
            "MiB",
            target=f"< {TARGET_RSS_MIB:g} MiB",
            ratio=agent.rss / exporter.rss if exporter else None,
            met=agent.rss < TARGET_RSS_MIB,
            note="ratio: to prometheus-node-exporter",
        ),
        Figure(
            "agent", "sampler peak RSS while writing the summary", finishing_rss, "MiB"
        ),
        *(
            [
                Figure(
                    "agent", "node-exporter CPU, % of one core", exporter.percent, "%"
                ),
                Figure("agent", "node-exporter peak RSS", exporter.rss, "MiB"),
            ]
            if exporter
            else []
        ),
    ]


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--processes", type=int, default=100)
    parser.add_argument(
        "--exporter",
        default=shutil.which("prometheus-node-exporter")
        or "/usr/bin/prometheus-node-exporter",
    )
    args = parser.parse_args()

    sleepers = top_up_processes(args.processes)
    work = Path(tempfile.mkdtemp(prefix="cisizer-bench-"))
    exporter = None
    try:
        agent_pid, env = start_agent(work, args.interval)
        watches = [Watch("cisizer-agent sampler", agent_pid)]
        stop = threading.Event()
        scraper = None
        if os.path.exists(args.exporter):
            port = free_port()
            exporter = start_exporter(args.exporter, port)
            watches.append(Watch("prometheus-node-exporter", exporter.pid))
            scraper = threading.Thread(
                target=scrape, args=(port, stop, args.interval), daemon=True
            )
            scraper.start()
        else:
            print(f"note: {args.exporter} not found; measuring the agent only")
        processes = process_count()

        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            for watch in watches:
                watch.read()
        stop.set()
        if scraper is not None:
            scraper.join()

        # Follow the sampler through writing its summary, for its true peak.
        stopper = subprocess.Popen(
            [shutil.which("cisizer-agent") or "cisizer-agent", "stop"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        finishing_rss = watches[0].rss
        while stopper.poll() is None:
            with contextlib.suppress(OSError):
                finishing_rss = max(finishing_rss, peak_rss_mib(agent_pid))
            time.sleep(0.005)
    finally:
        if exporter is not None:
            exporter.terminate()
            exporter.wait()
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"{args.seconds:.0f} s at a {args.interval:g} s interval, "
        f"{processes} processes on the machine, {os.cpu_count()} cores"
    )
    print(f"{'':28} {'CPU (% of one core)':>20} {'peak RSS (MiB)':>16}")
    for watch in watches:
        print(f"{watch.name:28} {watch.percent:>19.3f}% {watch.rss:>16.1f}")
    print(f"{'(sampler, writing summary)':28} {'':>20} {finishing_rss:>16.1f}")
    agent = watches[0]
    ok = agent.percent < TARGET_CPU_PERCENT and agent.rss < TARGET_RSS_MIB
    print(
        f"targets: < {TARGET_CPU_PERCENT} % CPU and < {TARGET_RSS_MIB:g} MiB RSS "
        f"while sampling: {'met' if ok else 'NOT met'}"
    )
    publish(
        "agent",
        _figures(watches, finishing_rss),
        seconds=args.seconds,
        interval=args.interval,
        processes=processes,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
