"""Containers measured through cgroup v1 and v2 files, and the host as fallback.

Only plain files are read, with one ``os.read`` each, so that a sample stays
cheap enough to take every second.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from cisizer.agent._errors import SourceError

__all__ = [
    "CgroupLayout",
    "CgroupV1Container",
    "CgroupV2Container",
    "Counters",
    "HostContainer",
    "Limits",
    "find_layout",
    "parse_proc_cgroup",
    "read_file",
]

# cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages).
UNLIMITED_BYTES = 1 << 62


@attrs.frozen
class Limits:
    """Limits a container runs with; ``None`` means unlimited or unknown."""

    cpu_cores: float | None = None
    memory_bytes: int | None = None


@attrs.frozen
class Counters:
    """Cumulative figures read at the start and end of a job, not every sample.

    ``memory_peak_raw`` is the kernel's peak usage (page cache included);
    ``memory_peak_bytes`` is that minus the inactive file cache at reading
    time.  Both are ``None`` where the kernel does not keep a peak.
    """

    memory_peak_bytes: int | None = None
    memory_peak_raw: int | None = None
    throttled_ns: int | None = None
    oom_kills: int | None = None


def read_file(path: str) -> bytes:
    """Return the first 64 KiB of a file with a single read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _read_int(path: str) -> int:
    try:
        return int(read_file(path))
    except (OSError, ValueError) as err:
        raise SourceError(f"cannot read {path}: {err}") from err


def _optional_read(path: str) -> bytes | None:
    try:
        return read_file(path)
    except OSError:
        return None


def _keyed(data: bytes, key: bytes) -> int | None:
    for line in data.split(b"\n"):
        name, _, value = line.partition(b" ")
        if name == key:
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _bounded(value: int | None) -> int | None:
    if value is None or value >= UNLIMITED_BYTES:
        return None
    return value


@attrs.frozen
class Mount:
    """Where one cgroup hierarchy is mounted, and which of its paths is the root."""

    root: str
    point: str

    def directory(self, path: str, *, strict: bool = False) -> str:
        """Return the directory of the cgroup at hierarchy ``path``.

        Unless ``strict``, a path that is not found under the mount gives
        the mount point itself: inside a cgroup namespace the own cgroup is
        the root of the mount.
        """
        root = self.root.rstrip("/")
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root) :]
        rest = path.strip("/")
        candidate = os.path.join(self.point, rest) if rest else self.point
        if path.startswith("/..") or not os.path.isdir(candidate):
            if strict:
                raise SourceError(f"no cgroup {path} under {self.point}")
            return self.point
        return candidate

    def hierarchy_path(self, directory: str) -> str | None:
        """Return the hierarchy path of a directory under this mount, if it is one."""
        point = self.point.rstrip("/")
        if directory != point and not directory.startswith(point + "/"):
            return None
        rest = directory[len(point) :].strip("/")
        return "/" + "/".join(p for p in (self.root.strip("/"), rest) if p)


@attrs.frozen
class CgroupLayout:
    """The cgroup version in use and where each hierarchy is mounted.

    For v1 the keys are controller names; for v2 the one key is ``""``.
    """

    version: int
    mounts: Mapping[str, Mount]

    @property
    def match_controller(self) -> str:
        """Return the controller whose path attributes processes to containers."""
        if self.version == 2:
            return ""
        return "memory" if "memory" in self.mounts else "cpuacct"

    def hierarchy_path(self, spec: str) -> str:
        """Return the hierarchy path named by a ``--cgroup`` value.

        A directory under a mount point (``/sys/fs/cgroup/memory/ci``) and a
        hierarchy path (``/ci``) name the same cgroup.
        """
        for mount in self.mounts.values():
            path = mount.hierarchy_path(spec.rstrip("/"))
            if path is not None:
                return path
        return "/" + spec.strip("/")

    def container(
        self, name: str, paths: str | Mapping[str, str]
    ) -> CgroupV1Container | CgroupV2Container:
        """Return the container at ``paths`` (one path, or one per controller).

        One path names a cgroup that must exist in every hierarchy; a
        mapping, as ``/proc/self/cgroup`` gives, falls back to the mount
        points inside a cgroup namespace.
        """
        strict = isinstance(paths, str)
        if isinstance(paths, str):
            paths = dict.fromkeys(self.mounts, paths)
        match_path = paths.get(self.match_controller, "/")
        if self.version == 2:
            directory_v2 = self.mounts[""].directory(paths.get("", "/"), strict=strict)
            return CgroupV2Container(name, directory_v2, match_path)

        def directory(controller: str) -> str | None:
            mount = self.mounts.get(controller)
            if mount is None:
                return None
            return mount.directory(paths.get(controller, "/"), strict=strict)

        cpuacct, memory = directory("cpuacct"), directory("memory")
        if cpuacct is None or memory is None:
            missing = "cpuacct" if cpuacct is None else "memory"
            raise SourceError(f"cgroup v1 controller {missing} is not mounted")
        return CgroupV1Container(name, cpuacct, memory, directory("cpu"), match_path)


def find_layout(proc: str = "/proc") -> CgroupLayout | None:
    """Return the cgroup layout from ``/proc/self/mountinfo``, or ``None``.

    Controllers mounted as v1 win over the unified hierarchy (hybrid hosts
    account CPU and memory in v1 then).
    """
    try:
        text = read_file(os.path.join(proc, "self/mountinfo")).decode()
    except OSError:
        return None

    v1: dict[str, Mount] = {}
    v2: Mount | None = None
    for line in text.splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount = Mount(root=fields[3], point=fields[4])
        if tail[0] == "cgroup2" and v2 is None:
            v2 = mount
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                if option in ("cpu", "cpuacct", "memory"):
                    v1.setdefault(option, mount)

    if "cpuacct" in v1 or "memory" in v1:
        return CgroupLayout(1, v1)
    if v2 is not None:
        return CgroupLayout(2, {"": v2})
    return None


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Return controller → hierarchy path from a ``/proc/<pid>/cgroup`` text."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def match_score(container_path: str, process_path: str | None) -> int:
    """Return how specifically a cgroup path contains a process (0: not at all)."""
    if process_path is None:
        return 0
    base = container_path.rstrip("/")
    if not base:
        return 1
    if process_path == base or process_path.startswith(base + "/"):
        return len(base) + 1
    return 0


class CgroupV1Container:
    """A container measured through the cgroup v1 cpuacct, cpu and memory files."""

    source = "cgroup v1"

    def __init__(
        self,
        name: str,
        cpuacct_dir: str,
        memory_dir: str,
        cpu_dir: str | None = None,
        match_path: str = "/",
    ) -> None:
        self.name = name
        self.match_path = match_path
        self.directories = {"cpuacct": cpuacct_dir, "memory": memory_dir}
        if cpu_dir is not None:
            self.directories["cpu"] = cpu_dir
        self._usage = os.path.join(cpuacct_dir, "cpuacct.usage")
        self._memory = os.path.join(memory_dir, "memory.usage_in_bytes")
        self._stat = os.path.join(memory_dir, "memory.stat")
        self._memory_dir = memory_dir
        self._cpu_dir = cpu_dir

    def check(self) -> None:
        """Raise :class:`SourceError` unless a sample can be read."""
        self.sample()

    def sample(self) -> tuple[int, int]:
        """Return cumulative CPU nanoseconds and the memory working set in bytes."""
        cpu_ns = _read_int(self._usage)
        usage = _read_int(self._memory)
        return cpu_ns, max(0, usage - self._inactive_file())

    def _inactive_file(self) -> int:
        stat = _optional_read(self._stat) or b""
        inactive = _keyed(stat, b"total_inactive_file")
        if inactive is None:
            inactive = _keyed(stat, b"inactive_file")
        return inactive or 0

    def counters(self) -> Counters:
        """Return the kernel's peak, throttled time and OOM kills so far."""
        peak = _optional_read(
            os.path.join(self._memory_dir, "memory.max_usage_in_bytes")
        )
        oom = _optional_read(os.path.join(self._memory_dir, "memory.oom_control"))
        throttled = None
        if self._cpu_dir is not None:
            stat = _optional_read(os.path.join(self._cpu_dir, "cpu.stat"))
            throttled = _keyed(stat, b"throttled_time") if stat else None
        raw = int(peak) if peak is not None and peak.strip().isdigit() else None
        peak_bytes = None if raw is None else max(0, raw - self._inactive_file())

        return Counters(
            memory_peak_bytes=peak_bytes,
            memory_peak_raw=raw,
            throttled_ns=throttled,
            oom_kills=_keyed(oom, b"oom_kill") if oom else None,
        )

    def limits(self) -> Limits:
        """Return the CFS quota in cores and the memory limit, ``None`` if unlimited."""
        cpu = None
        if self._cpu_dir is not None:
            quota = _optional_read(os.path.join(self._cpu_dir, "cpu.cfs_quota_us"))
            period = _optional_read(os.path.join(self._cpu_dir, "cpu.cfs_period_us"))
            try:
                if quota and period and int(quota) > 0 and int(period) > 0:
                    cpu = int(quota) / int(period)
            except ValueError:
                cpu = None

        memory = None
        raw = _optional_read(os.path.join(self._memory_dir, "memory.limit_in_bytes"))
        if raw is not None and raw.strip().isdigit():
            memory = _bounded(int(raw))
        # A parent's limit binds too; memory.stat shows the tightest one.
        hierarchical = _bounded(
            _keyed(_optional_read(self._stat) or b"", b"hierarchical_memory_limit")
        )
        if hierarchical is not None:
            memory = hierarchical if memory is None else min(memory, hierarchical)

        return Limits(cpu_cores=cpu, memory_bytes=memory)


class CgroupV2Container:
    """A container measured through one cgroup v2 directory."""

    source = "cgroup v2"

    def __init__(self, name: str, directory: str, match_path: str = "/") -> None:
        self.name = name
        self.match_path = match_path
        self.directories = {"": directory}
        self._dir = directory
        self._cpu_stat = os.path.join(directory, "cpu.stat")
        self._memory = os.path.join(directory, "memory.current")
        self._memory_stat = os.path.join(directory, "memory.stat")

    def check(self) -> None:
        """Raise :class:`SourceError` unless a sample can be read."""
        self.sample()

    def sample(self) -> tuple[int, int]:
        """Return cumulative CPU nanoseconds and the memory working set in bytes."""
        try:
            stat = read_file(self._cpu_stat)
        except OSError as err:
            raise SourceError(f"cannot read {self._cpu_stat}: {err}") from err
        usage_usec = _keyed(stat, b"usage_usec")
        if usage_usec is None:
            raise SourceError(f"{self._cpu_stat} has no usage_usec")
        current = _read_int(self._memory)
        return usage_usec * 1000, max(0, current - self._inactive_file())

    def _inactive_file(self) -> int:
        return _keyed(_optional_read(self._memory_stat) or b"", b"inactive_file") or 0

    def counters(self) -> Counters:
        """Return the kernel's peak, throttled time and OOM kills so far."""
        # TODO: memory.peak needs Linux 5.19; older kernels fall back to the
        # sampled maximum, which can miss short spikes.
        peak = _optional_read(os.path.join(self._dir, "memory.peak"))
        events = _optional_read(os.path.join(self._dir, "memory.events"))
        stat = _optional_read(self._cpu_stat)
        throttled = _keyed(stat, b"throttled_usec") if stat else None
        raw = int(peak) if peak is not None and peak.strip().isdigit() else None
        peak_bytes = None if raw is None else max(0, raw - self._inactive_file())

        return Counters(
            memory_peak_bytes=peak_bytes,
            memory_peak_raw=raw,
            throttled_ns=None if throttled is None else throttled * 1000,
            oom_kills=_keyed(events, b"oom_kill") if events else None,
        )

    def limits(self) -> Limits:
        """Return ``cpu.max`` in cores and ``memory.max``, ``None`` if unlimited."""
        cpu = None
        raw = _optional_read(os.path.join(self._dir, "cpu.max"))
        if raw is not None:
            quota, _, period = raw.decode().strip().partition(" ")
            if quota.isdigit() and period.isdigit() and int(period) > 0:
                cpu = int(quota) / int(period)

        memory = None
        raw = _optional_read(os.path.join(self._dir, "memory.max"))
        if raw is not None and raw.strip().isdigit():
            memory = _bounded(int(raw))

        return Limits(cpu_cores=cpu, memory_bytes=memory)


class HostContainer:
    """The whole machine from ``/proc/stat`` and ``/proc/meminfo``.

    Used when the own cgroup cannot be read, so that a job is still measured.
    """

    source = "host"
    match_path = "/"

    def __init__(self, name: str, proc: str = "/proc") -> None:
        self.name = name
        self.directories: dict[str, str] = {}
        self._stat = os.path.join(proc, "stat")
        self._meminfo = os.path.join(proc, "meminfo")
        self._tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")

    def check(self) -> None:
        """Raise :class:`SourceError` unless a sample can be read."""
        self.sample()

    def sample(self) -> tuple[int, int]:
        """Return busy CPU nanoseconds of the machine and its used memory."""
        try:
            stat = read_file(self._stat)
            meminfo = read_file(self._meminfo).decode()
        except OSError as err:
            raise SourceError(f"cannot read {self._stat}: {err}") from err
        jiffies = [int(v) for v in stat.split(b"\n", 1)[0].split()[1:]]
        busy = sum(jiffies[:8]) - jiffies[3] - (jiffies[4] if len(jiffies) > 4 else 0)
        fields = {}
        for line in meminfo.splitlines():
            key, _, value = line.partition(":")
            if key in ("MemTotal", "MemAvailable"):
                fields[key] = int(value.split()[0]) * 1024
        used = fields.get("MemTotal", 0) - fields.get("MemAvailable", 0)
        return busy * self._tick_ns, max(0, used)

    def counters(self) -> Counters:
        """Return no counters: the host has no peak or OOM count to read."""
        return Counters()

    def limits(self) -> Limits:
        """Return no limits: the machine's size is not a container limit."""
        return Limits()
