"""Wire models: the shapes that cross process boundaries.

Every model is a frozen attrs class.  JSON goes in and out through the one
converter in :mod:`cisizer.core._convert`; untrusted push bodies go through
:func:`cisizer.core.parse_push`, which checks every field first.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = [
    "Confidence",
    "ContainerSizing",
    "ContainerSummary",
    "CpuPercentile",
    "CpuSizing",
    "CpuSizingMode",
    "CpuTotal",
    "EnergyEstimate",
    "Health",
    "Info",
    "JobKey",
    "Limits",
    "MemoryQoS",
    "MemorySizing",
    "MemoryTotal",
    "Override",
    "OverrideScope",
    "ProcessSummary",
    "Push",
    "PushToken",
    "PushTokenRequest",
    "Run",
    "RunStatus",
    "Sizing",
    "SizingMeta",
    "SizingParams",
    "SizingTotal",
    "Stats",
    "StatusCount",
    "StatusStats",
    "StoredOverride",
    "Summary",
]


class RunStatus(enum.StrEnum):
    """How a CI job ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class CpuPercentile(enum.StrEnum):
    """Which CPU statistic a CPU request is sized from."""

    PEAK = "peak"
    P99 = "p99"
    P95 = "p95"
    P75 = "p75"
    P50 = "p50"
    AVG = "avg"


class CpuSizingMode(enum.StrEnum):
    """Whether the recommended CPU limit is meant to be applied."""

    OBSERVE = "observe"
    ENFORCE = "enforce"


class MemoryQoS(enum.StrEnum):
    """Kubernetes QoS class the memory recommendation aims for."""

    GUARANTEED = "guaranteed"
    BURSTABLE = "burstable"


class Confidence(enum.StrEnum):
    """How much history a sizing rests on: low < 3 runs <= medium < 10 <= high."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@attrs.frozen
class Stats:
    """Summary statistics of one series of samples.

    Only ``peak`` is required; an agent reports the statistics it computed.
    """

    peak: float
    avg: float | None = None
    p50: float | None = None
    p75: float | None = None
    p95: float | None = None
    p99: float | None = None


@attrs.frozen
class Limits:
    """Resource limits a container ran with; ``None`` means unlimited or unknown."""

    cpu_cores: float | None = None
    memory_bytes: int | None = None


@attrs.frozen
class ContainerSummary:
    """What one container of a job used: CPU in cores, memory working set in bytes."""

    name: str
    cpu_cores: Stats
    memory_bytes: Stats
    limits: Limits | None = None
    oom_kills: int | None = None
    cpu_throttled_seconds: float | None = None


@attrs.frozen
class ProcessSummary:
    """One of the busiest processes of a job (100 % CPU is one core)."""

    name: str
    container: str | None
    peak_cpu_percent: float
    avg_cpu_percent: float
    peak_memory_bytes: int


@attrs.frozen
class Summary:
    """The measurements of one job run: the ``payload`` of a push."""

    start_time: datetime
    end_time: datetime
    duration_seconds: float
    sample_count: int
    containers: tuple[ContainerSummary, ...]
    interval_seconds: float | None = None
    cpu_total_percent: Stats | None = None
    processes: tuple[ProcessSummary, ...] | None = None


@attrs.frozen
class Push:
    """One job summary as the agent sends it to ``POST /api/v1/metrics``.

    ``repository`` is always the full name ``org/repo`` once parsed.
    """

    organization: str
    repository: str
    workflow: str
    job: str
    run_id: str
    payload: Summary
    run_attempt: int = 1
    runner: str | None = None
    status: RunStatus = RunStatus.UNKNOWN

    @property
    def job_key(self) -> JobKey:
        """The job this run belongs to."""
        return JobKey(self.organization, self.repository, self.workflow, self.job)


@attrs.frozen
class Run:
    """A stored run: the push plus the receiver's ``id`` and ``received_at``."""

    id: int
    received_at: datetime
    organization: str
    repository: str
    workflow: str
    job: str
    run_id: str
    payload: Summary
    run_attempt: int = 1
    runner: str | None = None
    status: RunStatus = RunStatus.UNKNOWN


@attrs.frozen
class JobKey:
    """Identifies a CI job; ``repository`` is the full name ``org/repo``."""

    organization: str
    repository: str
    workflow: str
    job: str

    @property
    def repo_name(self) -> str:
        """The repository name without its owner, as URL paths take it."""
        return self.repository.rpartition("/")[2]


@attrs.frozen
class PushTokenRequest:
    """The body of ``POST /api/v1/token``: the job a push token is for."""

    organization: str
    repository: str
    workflow: str
    job: str


@attrs.frozen
class PushToken:
    """A push token and when it stops being accepted."""

    token: str
    expires_at: datetime
    organization: str
    repository: str
    workflow: str
    job: str


@attrs.frozen
class Health:
    """The answer of ``GET /health``."""

    status: str


@attrs.frozen
class Info:
    """The answer of ``GET /api/v1/info``."""

    version: str
    auth_mode: str
    ci_provider: str | None
    forgejo_base_url: str | None
    logout_url: str | None


@attrs.frozen
class CpuSizing:
    """CPU request and limit of one container, as quantities and millicores."""

    request: str
    limit: str
    request_millicores: int
    limit_millicores: int
    enforced: bool


@attrs.frozen
class MemorySizing:
    """Memory request and limit of one container, as quantities and bytes."""

    request: str
    limit: str
    request_bytes: int
    limit_bytes: int
    enforced: bool


@attrs.frozen
class ContainerSizing:
    """The recommended resources of one container."""

    name: str
    cpu: CpuSizing
    memory: MemorySizing


@attrs.frozen
class CpuTotal:
    """Sum of the containers' CPU requests and limits."""

    request: str
    limit: str
    request_millicores: int
    limit_millicores: int


@attrs.frozen
class MemoryTotal:
    """Sum of the containers' memory requests and limits."""

    request: str
    limit: str
    request_bytes: int
    limit_bytes: int


@attrs.frozen
class SizingTotal:
    """Totals over all containers of a sizing."""

    cpu: CpuTotal
    memory: MemoryTotal


@attrs.frozen
class SizingMeta:
    """How a sizing was computed: the parameters used and the history seen."""

    runs_analyzed: int
    buffer_percent: int
    cpu_percentile: CpuPercentile
    cpu_sizing_mode: CpuSizingMode
    memory_qos: MemoryQoS
    confidence: Confidence
    oom_runs: int
    overrides: tuple[str, ...] = ()


@attrs.frozen
class Sizing:
    """Kubernetes requests and limits for the next run of a job."""

    containers: tuple[ContainerSizing, ...]
    total: SizingTotal
    meta: SizingMeta


@attrs.frozen
class Override:
    """Sizing settings fixed by an operator at one scope; ``None`` inherits.

    ``min_cpu``/``max_cpu``/``min_memory``/``max_memory`` are Kubernetes
    quantities that clamp each container's request and limit.
    """

    runs: int | None = None
    buffer_percent: int | None = None
    cpu_percentile: CpuPercentile | None = None
    cpu_sizing_mode: CpuSizingMode | None = None
    memory_qos: MemoryQoS | None = None
    min_cpu: str | None = None
    max_cpu: str | None = None
    min_memory: str | None = None
    max_memory: str | None = None


@attrs.frozen
class OverrideScope:
    """Where an override applies: an org, or narrower down to one job.

    ``repository`` is the full name ``org/repo``.  A narrower field may only be
    set when every wider one is.
    """

    organization: str
    repository: str | None = None
    workflow: str | None = None
    job: str | None = None

    @property
    def level(self) -> str:
        """The scope's name: ``org``, ``repo``, ``workflow`` or ``job``."""
        if self.job is not None:
            return "job"
        if self.workflow is not None:
            return "workflow"
        if self.repository is not None:
            return "repo"
        return "org"


@attrs.frozen
class StoredOverride:
    """An override as the receiver stores and lists it."""

    scope: OverrideScope
    override: Override
    updated_at: datetime


@attrs.frozen
class SizingParams:
    """The sizing parameters after query parameters and overrides are resolved.

    Clamps are in millicores and bytes; ``None`` means no clamp.
    """

    runs: int = 5
    buffer_percent: int = 20
    cpu_percentile: CpuPercentile = CpuPercentile.P95
    cpu_sizing_mode: CpuSizingMode = CpuSizingMode.OBSERVE
    memory_qos: MemoryQoS = MemoryQoS.GUARANTEED
    min_cpu_millicores: int | None = None
    max_cpu_millicores: int | None = None
    min_memory_bytes: int | None = None
    max_memory_bytes: int | None = None
    overrides: tuple[str, ...] = ()


@attrs.frozen
class EnergyEstimate:
    """Energy and carbon of a set of runs (docs/energy.md)."""

    runs: int
    cpu_core_hours: float
    allocated_core_hours: float
    memory_gib_hours: float
    energy_wh: float
    carbon_g: float
    profile: str


@attrs.frozen
class StatusCount:
    """How many runs ended with one status, and their share of all runs."""

    status: RunStatus
    count: int
    rate: float


@attrs.frozen
class StatusStats:
    """Pass/fail statistics of a job over the selected runs."""

    total: int
    success_rate: float | None
    statuses: tuple[StatusCount, ...]
