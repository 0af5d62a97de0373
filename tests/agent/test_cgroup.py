"""cgroup v1 and v2 readings from fake trees with known values."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cisizer.agent import SourceError
from cisizer.agent._cgroup import (
    CgroupV1Container,
    CgroupV2Container,
    Counters,
    HostContainer,
    Limits,
    find_layout,
    parse_proc_cgroup,
)

MiB = 1024 * 1024
V1_UNLIMITED = 9223372036854771712


def write(directory: Path, files: dict[str, str | int]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        (directory / name).write_text(f"{value}\n")
    return directory


def v1_tree(root: Path, *, quota: int = 150000, limit: int = 512 * MiB) -> Path:
    """Build a cgroup v1 hierarchy with one job cgroup at /ci/job."""
    write(root / "cpuacct/ci/job", {"cpuacct.usage": 5_000_000_000})
    write(
        root / "cpu/ci/job",
        {
            "cpu.cfs_quota_us": quota,
            "cpu.cfs_period_us": 100000,
            "cpu.stat": "nr_periods 10\nnr_throttled 3\nthrottled_time 250000000",
        },
    )
    write(
        root / "memory/ci/job",
        {
            "memory.usage_in_bytes": 300 * MiB,
            "memory.max_usage_in_bytes": 400 * MiB,
            "memory.limit_in_bytes": limit,
            "memory.stat": (
                f"cache 1\ninactive_file {10 * MiB}\n"
                f"hierarchical_memory_limit {V1_UNLIMITED}\n"
                f"total_inactive_file {50 * MiB}"
            ),
            "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2",
        },
    )
    return root


def v2_tree(directory: Path, **overrides: str | int) -> Path:
    """Build one cgroup v2 directory with known values."""
    files: dict[str, str | int] = {
        "cpu.stat": (
            "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n"
            "nr_periods 5\nnr_throttled 1\nthrottled_usec 1500000"
        ),
        "memory.current": 200 * MiB,
        "memory.stat": f"anon {100 * MiB}\nfile 1\ninactive_file {40 * MiB}",
        "memory.peak": 260 * MiB,
        "cpu.max": "200000 100000",
        "memory.max": 1024 * MiB,
        "memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0",
    }
    files.update(overrides)
    return write(directory, files)


def test_v1_sample_is_cpu_ns_and_working_set(tmp_path: Path) -> None:
    """v1 CPU is cpuacct.usage; memory is usage minus total_inactive_file."""
    root = v1_tree(tmp_path)
    container = CgroupV1Container(
        "runner", str(root / "cpuacct/ci/job"), str(root / "memory/ci/job")
    )

    assert container.sample() == (5_000_000_000, 250 * MiB)


def test_v1_counters_and_limits(tmp_path: Path) -> None:
    """v1 peak, throttled time, OOM kills, CFS quota and memory limit are read."""
    root = v1_tree(tmp_path)
    container = CgroupV1Container(
        "runner",
        str(root / "cpuacct/ci/job"),
        str(root / "memory/ci/job"),
        str(root / "cpu/ci/job"),
    )

    assert container.counters() == Counters(
        memory_peak_bytes=350 * MiB,
        memory_peak_raw=400 * MiB,
        throttled_ns=250_000_000,
        oom_kills=2,
    )
    assert container.limits() == Limits(cpu_cores=1.5, memory_bytes=512 * MiB)


def test_v1_unlimited_is_no_limit(tmp_path: Path) -> None:
    """A quota of -1 and the v1 huge memory value mean no limit."""
    root = v1_tree(tmp_path, quota=-1, limit=V1_UNLIMITED)
    container = CgroupV1Container(
        "runner",
        str(root / "cpuacct/ci/job"),
        str(root / "memory/ci/job"),
        str(root / "cpu/ci/job"),
    )

    assert container.limits() == Limits(cpu_cores=None, memory_bytes=None)


def test_v1_parent_memory_limit_binds(tmp_path: Path) -> None:
    """A tighter hierarchical_memory_limit in memory.stat is the limit."""
    root = v1_tree(tmp_path, limit=V1_UNLIMITED)
    stat = root / "memory/ci/job/memory.stat"
    stat.write_text(f"hierarchical_memory_limit {2048 * MiB}\ntotal_inactive_file 0\n")
    container = CgroupV1Container(
        "runner", str(root / "cpuacct/ci/job"), str(root / "memory/ci/job")
    )

    assert container.limits().memory_bytes == 2048 * MiB


def test_v2_sample_counters_and_limits(tmp_path: Path) -> None:
    """v2 reads usage_usec, memory.current minus inactive_file, peak, OOM, limits."""
    container = CgroupV2Container("runner", str(v2_tree(tmp_path / "job")))

    assert container.sample() == (3_000_000_000, 160 * MiB)
    assert container.counters() == Counters(
        memory_peak_bytes=220 * MiB,
        memory_peak_raw=260 * MiB,
        throttled_ns=1_500_000_000,
        oom_kills=1,
    )
    assert container.limits() == Limits(cpu_cores=2.0, memory_bytes=1024 * MiB)


def test_v2_max_means_no_limit(tmp_path: Path) -> None:
    """``max`` in cpu.max and memory.max is reported as no limit."""
    directory = v2_tree(
        tmp_path / "job", **{"cpu.max": "max 100000", "memory.max": "max"}
    )

    assert CgroupV2Container("runner", str(directory)).limits() == Limits()


def test_v2_without_memory_peak(tmp_path: Path) -> None:
    """Kernels before 5.19 have no memory.peak: the peak is unknown, not an error."""
    directory = v2_tree(tmp_path / "job")
    (directory / "memory.peak").unlink()
    container = CgroupV2Container("runner", str(directory))

    counters = container.counters()

    assert counters.memory_peak_bytes is None
    assert counters.oom_kills == 1


def test_missing_cpu_file_is_a_source_error(tmp_path: Path) -> None:
    """A cgroup without its CPU file cannot be sampled."""
    directory = v2_tree(tmp_path / "job")
    (directory / "cpu.stat").unlink()

    with pytest.raises(SourceError, match=r"cpu\.stat"):
        CgroupV2Container("runner", str(directory)).sample()


def fake_proc(root: Path, mountinfo: str, cgroup: str) -> Path:
    proc = root / "proc"
    write(proc / "self", {"mountinfo": mountinfo, "cgroup": cgroup})
    return proc


def test_layout_v1_resolves_each_controller(tmp_path: Path) -> None:
    """A v1 host: each controller's mount and the own cgroup's directories."""
    tree = v1_tree(tmp_path / "cg")
    mountinfo = "\n".join(
        [
            f"30 25 0:26 / {tree}/cpu rw - cgroup cgroup rw,cpu",
            f"31 25 0:27 / {tree}/cpuacct rw - cgroup cgroup rw,cpuacct",
            f"32 25 0:28 / {tree}/memory rw - cgroup cgroup rw,memory",
            f"33 25 0:29 / {tree}/unified rw - cgroup2 cgroup2 rw",
        ]
    )
    proc = fake_proc(
        tmp_path, mountinfo, "4:memory:/ci/job\n3:cpuacct:/ci/job\n1:cpu:/ci/job\n0::/"
    )

    layout = find_layout(str(proc))
    assert layout is not None
    container = layout.container(
        "runner", parse_proc_cgroup((proc / "self/cgroup").read_text())
    )

    assert layout.version == 1
    assert layout.match_controller == "memory"
    assert container.directories == {
        "cpuacct": f"{tree}/cpuacct/ci/job",
        "memory": f"{tree}/memory/ci/job",
        "cpu": f"{tree}/cpu/ci/job",
    }
    assert container.sample() == (5_000_000_000, 250 * MiB)


def test_layout_v2_inside_cgroup_namespace(tmp_path: Path) -> None:
    """In a cgroup namespace the own cgroup is the mount point itself."""
    mount = v2_tree(tmp_path / "cg")
    proc = fake_proc(
        tmp_path, f"40 30 0:30 / {mount} rw - cgroup2 cgroup2 rw", "0::/\n"
    )

    layout = find_layout(str(proc))
    assert layout is not None
    container = layout.container("runner", {"": "/"})

    assert layout.version == 2
    assert container.directories == {"": str(mount)}
    assert container.sample()[1] == 160 * MiB


def test_layout_maps_mount_root_and_explicit_directory(tmp_path: Path) -> None:
    """A mounted subtree maps paths through its root; --cgroup takes directories."""
    mount = tmp_path / "cg"
    v2_tree(mount / "job")
    proc = fake_proc(
        tmp_path, f"40 30 0:30 /kubepods/pod1 {mount} rw - cgroup2 cgroup2 rw", "0::/"
    )
    layout = find_layout(str(proc))
    assert layout is not None

    assert layout.container("x", {"": "/kubepods/pod1/job"}).directories == {
        "": str(mount / "job")
    }
    assert layout.hierarchy_path(str(mount / "job")) == "/kubepods/pod1/job"
    with pytest.raises(SourceError, match="no cgroup"):
        layout.container("y", "/kubepods/pod1/absent")


def test_no_cgroup_mount_gives_no_layout(tmp_path: Path) -> None:
    """Without any cgroup mount there is no layout."""
    proc = fake_proc(tmp_path, "22 1 0:5 / /proc rw - proc proc rw", "")

    assert find_layout(str(proc)) is None


def test_proc_cgroup_parsing() -> None:
    """Joined controllers each get the path; the v2 line has the empty key."""
    assert parse_proc_cgroup("5:cpu,cpuacct:/a\n4:memory:/b\n0::/c\n") == {
        "cpu": "/a",
        "cpuacct": "/a",
        "memory": "/b",
        "": "/c",
    }


def test_host_container_reads_proc(tmp_path: Path) -> None:
    """The host fallback turns /proc/stat jiffies into ns and meminfo into bytes."""
    proc = write(
        tmp_path / "proc",
        {
            "stat": "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3",
            "meminfo": "MemTotal:  1000 kB\nMemFree: 100 kB\nMemAvailable:  400 kB",
        },
    )
    import os

    tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")

    assert HostContainer("runner", str(proc)).sample() == (150 * tick_ns, 600 * 1024)


def test_named_cgroups_join_the_runner(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """--cgroup adds a container by path; one that is absent warns once."""
    from cisizer.agent import Settings, build_sampler

    tree = v1_tree(tmp_path / "cg")
    for controller in ("cpuacct", "memory", "cpu"):
        shutil.copytree(tree / controller / "ci/job", tree / controller / "ci/db")
    mountinfo = "\n".join(
        f"3{i} 25 0:2{i} / {tree}/{c} rw - cgroup cgroup rw,{c}"
        for i, c in enumerate(("cpu", "cpuacct", "memory"))
    )
    proc = fake_proc(tmp_path, mountinfo, "4:memory:/ci/job\n3:cpuacct,cpu:/ci/job\n")
    settings = Settings(
        cgroups=(("db", f"{tree}/memory/ci/db"), ("cache", "/ci/absent")),
        docker=False,
        top_processes=0,
        spool_dir=tmp_path / "spool",
        proc=str(proc),
    )

    sampler = build_sampler(settings)

    assert list(sampler.series) == ["runner", "db"]
    assert sampler.series["db"].container.match_path == "/ci/db"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "cgroup cache=/ci/absent is not sampled: "
        f"no cgroup /ci/absent under {tree}/cpuacct"
    ]
