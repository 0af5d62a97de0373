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
from datetime import UTC, datetime, timedelta
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
    "MAX_RUN_SECONDS",
    "check_name",
    "parse_override",
    "parse_push",
    "parse_push_token_request",
    "qualify_repository",
]

MAX_NAME_LENGTH = 255
# The longest run accepted: above the jobs CI Sizer sizes (GitHub stops a
# hosted job after 6 h and a self-hosted one after 5 days), yet it refuses a
# start read from a clock at 1970, which would skew every average duration.
MAX_RUN_SECONDS = 7 * 24 * 3600
_MAX_INT32 = 2**31 - 1
# Ceilings far above any real run keep sums of a run's figures inside the
# 64-bit integers and doubles a database stores.
_MAX_BYTES = 2**53
_MAX_NUMBER = 1e15
# How far a run may end ahead of the receiver's clock (clock skew), and how far
# its duration may stray from its end minus its start (rounding, leap smears).
_FUTURE_SLACK = timedelta(minutes=5)
_DURATION_SLACK_SECONDS = 1.0
_DURATION_SLACK_SHARE = 0.01

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


def _bound(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# Control characters, invisible format characters (U+200B, U+202E), lone
# surrogates and line or paragraph separators hide or reorder what a terminal
# or a log line shows of a name.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Format characters that real text needs and that reorder nothing: the zero
# width joiner and non-joiner shape emoji sequences and Persian or Indic
# words, and the soft hyphen only marks where a word may break.
_TEXT_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d", "\u00ad"})


def _name_problem(value: object, *, allow_slash: bool = False) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc":
            return "must not contain control characters"
        if category in _HIDDEN_CATEGORIES and char not in _TEXT_FORMAT_CHARACTERS:
            return f"must not contain invisible characters such as U+{ord(char):04X}"
    if value.isspace():
        return "must not be only whitespace"
    if all(char.isspace() or char in _TEXT_FORMAT_CHARACTERS for char in value):
        return "must not be only invisible characters"
    if not allow_slash and "/" in value:
        return "must not contain '/'"
    return None


def _repository_problem(value: object) -> str | None:
    """Check a repository given as ``repo`` or ``org/repo``."""
    problem = _name_problem(value, allow_slash=True)
    if problem is not None:
        return problem
    assert isinstance(value, str)
    parts = value.split("/")
    if len(parts) > 2 or any(_name_problem(part) is not None for part in parts):
        return "must be 'repo' or 'org/repo'"
    return None


def check_name(value: object, path: str, *, allow_slash: bool = False) -> str:
    """Return ``value`` if it is a valid name, else raise naming ``path``.

    A name is a non-empty string of at most 255 characters, not only
    whitespace, without control or invisible format characters (U+200B,
    U+202E, ...).  The zero width joiner and non-joiner (U+200D, U+200C) and
    the soft hyphen (U+00AD) are allowed, since emoji sequences and Persian
    words need them, but not a name made only of them.  Organizations,
    workflows, jobs and runners, and every URL path segment, must not contain
    ``/``; run ids, containers and processes may (``allow_slash=True``).  A
    repository is checked by :func:`qualify_repository`.

    Raises:
        ValidationError: with one problem at ``path``.
    """
    problem = _name_problem(value, allow_slash=allow_slash)
    if problem is not None:
        raise ValidationError.single(path, problem)
    assert isinstance(value, str)
    return value


def qualify_repository(
    organization: str, repository: str, path: str = "repository"
) -> str:
    """Return the full name ``org/repo``; a bare ``repo`` gets ``organization``.

    Raises:
        ValidationError: ``repository`` is not ``repo`` or ``org/repo`` with
            two valid names, the full name's owner is not ``organization``, or
            the full name is longer than 255 characters.
    """
    problem = _repository_problem(repository)
    if problem is not None:
        raise ValidationError.single(path, problem)

    owner, slash, _ = repository.partition("/")
    if not slash:
        return check_name(f"{organization}/{repository}", path, allow_slash=True)
    if owner != organization:
        raise ValidationError.single(
            path, f"owner {owner!r} does not match organization {organization!r}"
        )
    return repository


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
        """Check a name that must not contain ``/``."""
        return self._checked(raw, path, _name_problem(raw))

    def path_name(self, raw: object, path: str) -> str | None:
        """Check a name that may contain ``/`` (run id, container, process)."""
        return self._checked(raw, path, _name_problem(raw, allow_slash=True))

    def repository(self, raw: object, path: str) -> str | None:
        """Check a repository, ``repo`` or ``org/repo``."""
        return self._checked(raw, path, _repository_problem(raw))

    def _checked(self, raw: object, path: str, problem: str | None) -> str | None:
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
        positive: bool = False,
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
        if positive and raw <= 0:
            self.fail(path, "must be > 0")
            return None
        if maximum is not None and raw > maximum:
            self.fail(path, f"must be <= {_bound(maximum)}")
            return None
        return raw

    def float_(self, raw: object, path: str, *, positive: bool = False) -> float | None:
        number = self.number(raw, path, maximum=_MAX_NUMBER, positive=positive)
        return None if number is None else float(number)

    def count(self, raw: object, path: str) -> int | None:
        number = self.number(raw, path, integer=True, maximum=_MAX_INT32)
        return None if number is None else int(number)

    def bytes_(self, raw: object, path: str) -> int | None:
        number = self.number(raw, path, integer=True, maximum=_MAX_BYTES)
        return None if number is None else int(number)

    def limit_cores(self, raw: object, path: str) -> float | None:
        number = self.number(raw, path, maximum=_MAX_NUMBER, positive=True)
        return None if number is None else float(number)

    def limit_bytes(self, raw: object, path: str) -> int | None:
        number = self.number(raw, path, integer=True, maximum=_MAX_BYTES, positive=True)
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
    # Statistics of one series: none above its peak, percentiles in order.
    below: tuple[str, float] | None = None
    for key in _STATS_FIELDS:
        value = rest[key]
        if value is None:
            continue
        if value > peak:
            check.fail(f"{path}.{key}", f"must be <= peak ({peak:g}), got {value:g}")
        elif key != "avg" and below is not None and value < below[1]:
            check.fail(
                f"{path}.{key}", f"must be >= {below[0]} ({below[1]:g}), got {value:g}"
            )
        if key != "avg":
            below = (key, value)
    if len(check.problems) > before:
        return None
    return Stats(peak=peak, **rest)


def _limits(check: _Checker, data: object, path: str) -> Limits | None:
    fields = check.obj(data, path, (), ("cpu_cores", "memory_bytes"))
    if fields is None:
        return None
    # A limit of zero would be no room at all; null is the way to say "none".
    return Limits(
        cpu_cores=check.value(
            fields, "cpu_cores", path, check.limit_cores, required=False
        ),
        memory_bytes=check.value(
            fields, "memory_bytes", path, check.limit_bytes, required=False
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
    name = check.value(fields, "name", path, check.path_name, required=True)
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
    name = check.value(fields, "name", path, check.path_name, required=True)
    container = check.value(fields, "container", path, check.path_name, required=False)
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


def _check_times(
    check: _Checker,
    path: str,
    times: tuple[datetime | None, datetime | None, float | None],
    now: datetime | None,
) -> None:
    """Check the order of the times, the run's length, duration and ``now``."""
    start, end, duration = times
    too_long = duration is not None and duration > MAX_RUN_SECONDS
    if too_long:
        check.fail(
            _join(path, "duration_seconds"),
            f"must be at most {MAX_RUN_SECONDS} s (7 days), the longest run accepted",
        )
    if start is not None and end is not None:
        window = (end - start).total_seconds()
        if end < start:
            check.fail(_join(path, "end_time"), "must not be before start_time")
        elif window > MAX_RUN_SECONDS:
            check.fail(
                _join(path, "start_time"),
                f"must be at most 7 days ({MAX_RUN_SECONDS} s) before end_time, "
                f"the longest run accepted (got {window:g} s)",
            )
        elif (
            not too_long
            and duration is not None
            and abs(duration - window)
            > max(_DURATION_SLACK_SECONDS, _DURATION_SLACK_SHARE * window)
        ):
            check.fail(
                _join(path, "duration_seconds"),
                f"must match end_time - start_time ({window:g} s) within 1 s or 1 %",
            )
    if end is not None and now is not None:
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        if end > now + _FUTURE_SLACK:
            check.fail(
                _join(path, "end_time"),
                "is in the future (more than 5 minutes after the receiver's clock)",
            )


def _summary(
    check: _Checker, data: object, path: str, now: datetime | None
) -> Summary | None:
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
        fields,
        "interval_seconds",
        path,
        lambda raw, at: check.float_(raw, at, positive=True),
        required=False,
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
    _check_times(check, path, (start, end, duration), now)
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


def _key_names(check: _Checker, fields: Mapping[str, object]) -> dict[str, str | None]:
    """Read the job key's names; only the repository may hold one ``/``."""
    return {
        key: check.value(
            fields,
            key,
            "",
            check.repository if key == "repository" else check.name,
            required=True,
        )
        for key in _KEY_FIELDS
    }


def parse_push(data: object, *, now: datetime | None = None) -> Push:
    """Validate a decoded push body and build the :class:`Push`.

    A bare repository name is qualified with the organization.  Optional
    fields may be absent or null: ``run_attempt`` then is 1, ``status``
    ``unknown``.  ``duration_seconds`` must agree with ``end_time -
    start_time`` within 1 s or 1 %, whichever is larger, and neither may
    exceed 7 days (:data:`MAX_RUN_SECONDS`).  Given ``now`` (the
    receiver's clock), an ``end_time`` more than 5 minutes later is refused,
    so a wrong clock cannot make a run the newest one forever.

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

    names = _key_names(check, fields)
    names["run_id"] = check.value(fields, "run_id", "", check.path_name, required=True)
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
        fields,
        "payload",
        "",
        lambda raw, at: _summary(check, raw, at, now),
        required=True,
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

    names = _key_names(check, fields)
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
    absent or null (inherit).  ``min_cpu``/``max_cpu`` are CPU quantities
    (no binary suffix, at most 1,000,000 cores), ``min_memory``/``max_memory``
    memory quantities (whole bytes, at most 8Pi); a JSON number is read as
    cores or bytes.  A maximum must be above zero; a minimum of zero is
    allowed and clamps nothing.  Each minimum must not exceed its maximum.

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
        if high_value == 0:
            check.fail(high, "must be > 0")
            continue
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
