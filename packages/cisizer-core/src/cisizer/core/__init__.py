"""CI Sizer core: the pure logic shared by the agent, receiver and client.

Wire models, validation of pushes, statistics over samples, Kubernetes
quantities, sizing, push tokens and energy estimates.  No I/O, no framework.

Besides classes and functions it exports these values:

- ``converter``: the one cattrs converter between models and JSON-ready data.
- ``ENERGY_PROFILES``: the named energy coefficient profiles, by name.
- ``MAX_NAME_LENGTH``: the longest name accepted (255 characters).
- ``PUSH_TOKEN_AUDIENCE``: the ``aud`` claim of every push token.
"""

from cisizer.core._convert import (
    CisizerConverter,
    converter,
    format_datetime,
    parse_datetime,
)
from cisizer.core._energy import (
    ENERGY_PROFILES,
    EnergyProfile,
    estimate_energy,
)
from cisizer.core._errors import (
    CoreError,
    ExpiredTokenError,
    InvalidSignatureError,
    MalformedTokenError,
    NoHistoryError,
    Problem,
    QuantityError,
    TokenError,
    ValidationError,
    WrongAudienceError,
)
from cisizer.core._figures import (
    RunFigures,
    run_figures,
)
from cisizer.core._models import (
    Confidence,
    ContainerSizing,
    ContainerSummary,
    CpuPercentile,
    CpuSizing,
    CpuSizingMode,
    CpuTotal,
    EnergyEstimate,
    Health,
    Info,
    JobKey,
    Limits,
    MemoryQoS,
    MemorySizing,
    MemoryTotal,
    Override,
    OverrideScope,
    ProcessSummary,
    Push,
    PushToken,
    PushTokenRequest,
    Run,
    RunStatus,
    Sizing,
    SizingMeta,
    SizingParams,
    SizingTotal,
    Stats,
    StatusCount,
    StatusStats,
    StoredOverride,
    Summary,
)
from cisizer.core._quantity import (
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    parse_quantity,
)
from cisizer.core._sizing import (
    compute_sizing,
    memory_target,
    resolve_sizing_params,
)
from cisizer.core._statistics import (
    percentile,
    summarize,
    time_weighted_average,
)
from cisizer.core._tokens import (
    PUSH_TOKEN_AUDIENCE,
    PushTokenSigner,
    read_token_matches,
)
from cisizer.core._validation import (
    MAX_NAME_LENGTH,
    check_name,
    parse_override,
    parse_push,
    parse_push_token_request,
    qualify_repository,
)

__version__ = "0.1.0"

__all__ = [
    "ENERGY_PROFILES",
    "MAX_NAME_LENGTH",
    "PUSH_TOKEN_AUDIENCE",
    "CisizerConverter",
    "Confidence",
    "ContainerSizing",
    "ContainerSummary",
    "CoreError",
    "CpuPercentile",
    "CpuSizing",
    "CpuSizingMode",
    "CpuTotal",
    "EnergyEstimate",
    "EnergyProfile",
    "ExpiredTokenError",
    "Health",
    "Info",
    "InvalidSignatureError",
    "JobKey",
    "Limits",
    "MalformedTokenError",
    "MemoryQoS",
    "MemorySizing",
    "MemoryTotal",
    "NoHistoryError",
    "Override",
    "OverrideScope",
    "Problem",
    "ProcessSummary",
    "Push",
    "PushToken",
    "PushTokenRequest",
    "PushTokenSigner",
    "QuantityError",
    "Run",
    "RunFigures",
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
    "TokenError",
    "ValidationError",
    "WrongAudienceError",
    "check_name",
    "compute_sizing",
    "converter",
    "estimate_energy",
    "format_cpu",
    "format_datetime",
    "format_memory",
    "memory_target",
    "parse_cpu",
    "parse_datetime",
    "parse_memory",
    "parse_override",
    "parse_push",
    "parse_push_token_request",
    "parse_quantity",
    "percentile",
    "qualify_repository",
    "read_token_matches",
    "resolve_sizing_params",
    "run_figures",
    "summarize",
    "time_weighted_average",
]
