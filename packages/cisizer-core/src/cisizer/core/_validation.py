"""Validation of untrusted input: push bodies, token requests and overrides.

Each parser walks the decoded JSON once, notes every problem with the path of
the field (``payload.containers[0].cpu_cores.peak: must be >= 0``), and raises
one :class:`~cisizer.core.ValidationError` holding all of them, so a caller
can fix a body in one go.  Nothing is built unless everything is valid.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from cisizer.core._convert import parse_datetime
from cisizer.core._errors import Problem, ValidationError
from cisizer.core._models import (
    ContainerSummary,
    CpuPercentile,
    CpuSizingMode,
    Limits,
    MemoryQoS,
    Override,
    ProcessSummary,
    Push,
    PushTokenRequest,
    RunStatus,
    Stats,
    Summary,
)
from cisizer.core._quantity import format_cpu, format_memory, parse_cpu, parse_memory

__all__ = [
    "MAX_NAME_LENGTH",
    "check_name",
    "parse_override",
    "parse_push",
    "parse_push_token_request",
    "qualify_repository",
]

MAX_NAME_LENGTH = 255
_MAX_INT32 = 2**31 - 1
# Ceilings far above any real run keep sums of a run's figures inside the
# 64-bit integers and doubles a database stores.
_MAX_BYTES = 2**53
_MAX_NUMBER = 1e15

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


def _bound(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _name_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    if any(unicodedata.category(char) == "Cc" for char in value):
        return "must not contain control characters"
    return None


def check_name(value: object, path: str) -> str:
    """Return ``value`` if it is a valid name: non-empty, <= 255 chars, no controls.

    Names are organizations, repositories, workflows, jobs, run ids, runners
    and containers, and the URL path segments that carry them.

    Raises:
        ValidationError: with one problem at ``path``.
    """
    problem = _name_problem(value)
    if problem is not None:
        raise ValidationError.single(path, problem)
    assert isinstance(value, str)
    return value


def qualify_repository(
    organization: str, repository: str, path: str = "repository"
) -> str:
    """Return the full name ``org/repo``; a bare ``repo`` gets ``organization``.

    Raises:
        ValidationError: the full name's owner is not ``organization``, it has
            more than one ``/`` or an empty part, or the result is no valid name.
    """
    owner, slash, name = repository.partition("/")
    if not slash:
        return check_name(f"{organization}/{repository}", path)
    if not owner or not name or "/" in name:
        raise ValidationError.single(path, "must be 'repo' or 'org/repo'")
    if owner != organization:
        raise ValidationError.single(
            path, f"owner {owner!r} does not match organization {organization!r}"
        )
    return check_name(repository, path)


class _Checker:
    """Collects problems while reading one JSON document."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def raise_if_failed(self) -> None:
        if self.problems:
            raise ValidationError(self.problems)

    def obj(
        self,
        data: object,
        path: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> Mapping[str, object] | None:
        """Check ``data`` is an object with the required and no unknown keys."""
        if not isinstance(data, Mapping):
            self.fail(path, "must be a JSON object")
            return None
        known = set(required) | set(optional)
        for key in data:
            if key not in known:
                self.fail(_join(path, str(key)), "is not a known field")
        for key in required:
            if key not in data:
                self.fail(_join(path, key), "is required")
        return data

    def value(
        self,
        data: Mapping[str, object],
        key: str,
        path: str,
        check: Callable[[object, str], _T | None],
        *,
        required: bool,
    ) -> _T | None:
        """Read ``data[key]`` with ``check``; null is fine unless required."""
        if key not in data:
            return None
        field_path = _join(path, key)
        raw = data[key]
        if raw is None:
            if required:
                self.fail(field_path, "must not be null")
            return None
        return check(raw, field_path)

    def name(self, raw: object, path: str) -> str | None:
        problem = _name_problem(raw)
        if problem is not None:
            self.fail(path, problem)
            return None
        assert isinstance(raw, str)
        return raw

    def number(
        self,
        raw: object,
        path: str,
        *,
        integer: bool = False,
        minimum: float = 0,
        maximum: float | None = None,
    ) -> float | None:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            self.fail(path, "must be an integer" if integer else "must be a number")
            return None
        if isinstance(raw, float) and not math.isfinite(raw):
            self.fail(path, "must be a finite number")
            return None
        if integer and not isinstance(raw, int):
            self.fail(path, "must be an integer")
            return None
        if raw < minimum:
            self.fail(path, f"must be >= {_bound(minimum)}")
            return None
        if maximum is not None and raw > maximum:
            self.fail(path, f"must be <= {_bound(maximum)}")
            return None
        return raw

    def float_(self, raw: object, path: str) -> float | None:
        number = self.number(raw, path, maximum=_MAX_NUMBER)
        return None if number is None else float(number)

    def count(self, raw: object, path: str) -> int | None:
        number = self.number(raw, path, integer=True, maximum=_MAX_INT32)
        return None if number is None else int(number)

    def bytes_(self, raw: object, path: str) -> int | None:
        number = self.number(raw, path, integer=True, maximum=_MAX_BYTES)
        return None if number is None else int(number)

    def time(self, raw: object, path: str) -> datetime | None:
        try:
            return parse_datetime(raw, path)
        except ValidationError as error:
            self.problems.extend(error.problems)
            return None

    def enum(self, raw: object, path: str, enum: type[_E]) -> _E | None:
        choices = [member.value for member in enum]
        if isinstance(raw, str) and raw in choices:
            return enum(raw)
        self.fail(path, "must be one of " + ", ".join(choices))
        return None

    def array(self, raw: object, path: str) -> list[object] | None:
        if not isinstance(raw, list | tuple):
            self.fail(path, "must be a JSON array")
            return None
        return list(raw)


_STATS_FIELDS = ("avg", "p50", "p75", "p95", "p99")


def _stats(check: _Checker, data: object, path: str) -> Stats | None:
    fields = check.obj(data, path, ("peak",), _STATS_FIELDS)
    if fields is None:
        return None
    before = len(check.problems)
    peak = check.value(fields, "peak", path, check.float_, required=True)
    rest = {
        key: check.value(fields, key, path, check.float_, required=False)
        for key in _STATS_FIELDS
    }
    if peak is None or len(check.problems) > before:
        return None
    return Stats(peak=peak, **rest)


def _limits(check: _Checker, data: object, path: str) -> Limits | None:
    fields = check.obj(data, path, (), ("cpu_cores", "memory_bytes"))
    if fields is None:
        return None
    return Limits(
        cpu_cores=check.value(fields, "cpu_cores", path, check.float_, required=False),
        memory_bytes=check.value(
            fields, "memory_bytes", path, check.bytes_, required=False
        ),
    )


def _container(check: _Checker, data: object, path: str) -> ContainerSummary | None:
    fields = check.obj(
        data,
        path,
        ("name", "cpu_cores", "memory_bytes"),
        ("limits", "oom_kills", "cpu_throttled_seconds"),
    )
    if fields is None:
        return None
    before = len(check.problems)
    name = check.value(fields, "name", path, check.name, required=True)
    cpu = check.value(
        fields,
        "cpu_cores",
        path,
        lambda raw, at: _stats(check, raw, at),
        required=True,
    )
    memory = check.value(
        fields,
        "memory_bytes",
        path,
        lambda raw, at: _stats(check, raw, at),
        required=True,
    )
    limits = check.value(
        fields, "limits", path, lambda raw, at: _limits(check, raw, at), required=False
    )
    oom_kills = check.value(fields, "oom_kills", path, check.count, required=False)
    throttled = check.value(
        fields, "cpu_throttled_seconds", path, check.float_, required=False
    )
    if name is None or cpu is None or memory is None or len(check.problems) > before:
        return None
    return ContainerSummary(
        name=name,
        cpu_cores=cpu,
        memory_bytes=memory,
        limits=limits,
        oom_kills=oom_kills,
        cpu_throttled_seconds=throttled,
    )


def _process(check: _Checker, data: object, path: str) -> ProcessSummary | None:
    fields = check.obj(
        data,
        path,
        ("name", "peak_cpu_percent", "avg_cpu_percent", "peak_memory_bytes"),
        ("container",),
    )
    if fields is None:
        return None
    before = len(check.problems)
    name = check.value(fields, "name", path, check.name, required=True)
    container = check.value(fields, "container", path, check.name, required=False)
    peak = check.value(fields, "peak_cpu_percent", path, check.float_, required=True)
    avg = check.value(fields, "avg_cpu_percent", path, check.float_, required=True)
    memory = check.value(fields, "peak_memory_bytes", path, check.bytes_, required=True)
    if (
        name is None
        or peak is None
        or avg is None
        or memory is None
        or len(check.problems) > before
    ):
        return None
    return ProcessSummary(
        name=name,
        container=container,
        peak_cpu_percent=peak,
        avg_cpu_percent=avg,
        peak_memory_bytes=memory,
    )


def _each(
    check: _Checker,
    raw: object,
    path: str,
    parse: Callable[[_Checker, object, str], _T | None],
) -> tuple[_T, ...] | None:
    items = check.array(raw, path)
    if items is None:
        return None
    before = len(check.problems)
    parsed = [parse(check, item, f"{path}[{i}]") for i, item in enumerate(items)]
    if len(check.problems) > before:
        return None
    return tuple(item for item in parsed if item is not None)


def _containers(
    check: _Checker, raw: object, path: str
) -> tuple[ContainerSummary, ...] | None:
    containers = _each(check, raw, path, _container)
    if containers is None:
        return None
    if not containers:
        check.fail(path, "must list at least one container")
        return None
    seen: set[str] = set()
    for index, container in enumerate(containers):
        if container.name in seen:
            check.fail(f"{path}[{index}].name", "repeats an earlier container name")
            return None
        seen.add(container.name)
    return containers


def _summary(check: _Checker, data: object, path: str) -> Summary | None:
    fields = check.obj(
        data,
        path,
        ("start_time", "end_time", "duration_seconds", "sample_count", "containers"),
        ("interval_seconds", "cpu_total_percent", "processes"),
    )
    if fields is None:
        return None
    before = len(check.problems)
    start = check.value(fields, "start_time", path, check.time, required=True)
    end = check.value(fields, "end_time", path, check.time, required=True)
    duration = check.value(
        fields, "duration_seconds", path, check.float_, required=True
    )
    samples = check.value(
        fields,
        "sample_count",
        path,
        lambda raw, at: check.number(
            raw, at, integer=True, minimum=1, maximum=_MAX_INT32
        ),
        required=True,
    )
    containers = check.value(
        fields,
        "containers",
        path,
        lambda raw, at: _containers(check, raw, at),
        required=True,
    )
    interval = check.value(
        fields, "interval_seconds", path, check.float_, required=False
    )
    cpu_total = check.value(
        fields,
        "cpu_total_percent",
        path,
        lambda raw, at: _stats(check, raw, at),
        required=False,
    )
    processes = check.value(
        fields,
        "processes",
        path,
        lambda raw, at: _each(check, raw, at, _process),
        required=False,
    )
    if start is not None and end is not None and end < start:
        check.fail(_join(path, "end_time"), "must not be before start_time")
    if (
        start is None
        or end is None
        or duration is None
        or samples is None
        or containers is None
        or len(check.problems) > before
    ):
        return None
    return Summary(
        start_time=start,
        end_time=end,
        duration_seconds=duration,
        sample_count=int(samples),
        containers=containers,
        interval_seconds=interval,
        cpu_total_percent=cpu_total,
        processes=processes,
    )


def _qualified(
    check: _Checker, organization: str | None, repository: str | None
) -> str | None:
    if organization is None or repository is None:
        return None
    try:
        return qualify_repository(organization, repository)
    except ValidationError as error:
        check.problems.extend(error.problems)
        return None


_KEY_FIELDS = ("organization", "repository", "workflow", "job")


def parse_push(data: object) -> Push:
    """Validate a decoded push body and build the :class:`Push`.

    A bare repository name is qualified with the organization.  Optional
    fields may be absent or null: ``run_attempt`` then is 1, ``status``
    ``unknown``.

    Raises:
        ValidationError: listing every problem found, each with its path.
    """
    check = _Checker()
    fields = check.obj(
        data,
        "",
        (*_KEY_FIELDS, "run_id", "payload"),
        ("run_attempt", "runner", "status"),
    )
    if fields is None:
        raise ValidationError(check.problems)

    names = {
        key: check.value(fields, key, "", check.name, required=True)
        for key in (*_KEY_FIELDS, "run_id")
    }
    repository = _qualified(check, names["organization"], names["repository"])
    run_attempt = check.value(
        fields,
        "run_attempt",
        "",
        lambda raw, at: check.number(
            raw, at, integer=True, minimum=1, maximum=_MAX_INT32
        ),
        required=False,
    )
    runner = check.value(fields, "runner", "", check.name, required=False)
    status = check.value(
        fields,
        "status",
        "",
        lambda raw, at: check.enum(raw, at, RunStatus),
        required=False,
    )
    payload = check.value(
        fields, "payload", "", lambda raw, at: _summary(check, raw, at), required=True
    )
    check.raise_if_failed()

    assert payload is not None
    assert repository is not None
    return Push(
        organization=str(names["organization"]),
        repository=repository,
        workflow=str(names["workflow"]),
        job=str(names["job"]),
        run_id=str(names["run_id"]),
        payload=payload,
        run_attempt=1 if run_attempt is None else int(run_attempt),
        runner=runner,
        status=RunStatus.UNKNOWN if status is None else status,
    )


def parse_push_token_request(data: object) -> PushTokenRequest:
    """Validate the body of ``POST /api/v1/token``, qualifying the repository.

    Raises:
        ValidationError: listing every problem found, each with its path.
    """
    check = _Checker()
    fields = check.obj(data, "", _KEY_FIELDS)
    if fields is None:
        raise ValidationError(check.problems)

    names = {
        key: check.value(fields, key, "", check.name, required=True)
        for key in _KEY_FIELDS
    }
    repository = _qualified(check, names["organization"], names["repository"])
    check.raise_if_failed()

    assert repository is not None
    return PushTokenRequest(
        organization=str(names["organization"]),
        repository=repository,
        workflow=str(names["workflow"]),
        job=str(names["job"]),
    )


_OVERRIDE_FIELDS = (
    "runs",
    "buffer_percent",
    "cpu_percentile",
    "cpu_sizing_mode",
    "memory_qos",
    "min_cpu",
    "max_cpu",
    "min_memory",
    "max_memory",
)


def _quantity(
    check: _Checker, raw: object, path: str, parse: Callable[[str, str], int]
) -> int | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if not math.isfinite(raw):
            check.fail(path, "must be a finite number")
            return None
        raw = str(raw)
    if not isinstance(raw, str):
        check.fail(path, "must be a Kubernetes quantity string such as 500m or 2Gi")
        return None
    try:
        return parse(raw, path)
    except ValidationError as error:
        check.problems.extend(error.problems)
        return None


def parse_override(data: object) -> Override:
    """Validate an override body; quantities come back in canonical form.

    ``runs`` must be 1-100 and ``buffer_percent`` 0-1000; every field may be
    absent or null (inherit).  ``min_cpu``/``max_cpu`` are CPU quantities,
    ``min_memory``/``max_memory`` memory quantities (a JSON number is read as
    cores or bytes), and each minimum must not exceed its maximum.

    Raises:
        ValidationError: listing every problem found, each with its path.
    """
    check = _Checker()
    fields = check.obj(data, "", (), _OVERRIDE_FIELDS)
    if fields is None:
        raise ValidationError(check.problems)

    runs = check.value(
        fields,
        "runs",
        "",
        lambda raw, at: check.number(raw, at, integer=True, minimum=1, maximum=100),
        required=False,
    )
    buffer = check.value(
        fields,
        "buffer_percent",
        "",
        lambda raw, at: check.number(raw, at, integer=True, minimum=0, maximum=1000),
        required=False,
    )
    percentile = check.value(
        fields,
        "cpu_percentile",
        "",
        lambda raw, at: check.enum(raw, at, CpuPercentile),
        required=False,
    )
    mode = check.value(
        fields,
        "cpu_sizing_mode",
        "",
        lambda raw, at: check.enum(raw, at, CpuSizingMode),
        required=False,
    )
    qos = check.value(
        fields,
        "memory_qos",
        "",
        lambda raw, at: check.enum(raw, at, MemoryQoS),
        required=False,
    )

    def cpu_quantity(raw: object, at: str) -> int | None:
        return _quantity(check, raw, at, parse_cpu)

    def memory_quantity(raw: object, at: str) -> int | None:
        return _quantity(check, raw, at, parse_memory)

    clamps = {
        "min_cpu": check.value(fields, "min_cpu", "", cpu_quantity, required=False),
        "max_cpu": check.value(fields, "max_cpu", "", cpu_quantity, required=False),
        "min_memory": check.value(
            fields, "min_memory", "", memory_quantity, required=False
        ),
        "max_memory": check.value(
            fields, "max_memory", "", memory_quantity, required=False
        ),
    }
    for low, high in (("min_cpu", "max_cpu"), ("min_memory", "max_memory")):
        low_value, high_value = clamps[low], clamps[high]
        if low_value is not None and high_value is not None and low_value > high_value:
            check.fail(low, f"must not be greater than {high}")
    check.raise_if_failed()

    def cpu(key: str) -> str | None:
        value = clamps[key]
        return None if value is None else format_cpu(value)

    def memory(key: str) -> str | None:
        value = clamps[key]
        return None if value is None else format_memory(value)

    return Override(
        runs=None if runs is None else int(runs),
        buffer_percent=None if buffer is None else int(buffer),
        cpu_percentile=percentile,
        cpu_sizing_mode=mode,
        memory_qos=qos,
        min_cpu=cpu("min_cpu"),
        max_cpu=cpu("max_cpu"),
        min_memory=memory("min_memory"),
        max_memory=memory("max_memory"),
    )
