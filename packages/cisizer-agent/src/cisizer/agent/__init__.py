"""CI Sizer agent: samples a CI job's containers and pushes one summary.

The ``cisizer-agent`` command line is the usual entry point; the names
below let a program embed the same sampling and delivery.
"""

from cisizer.agent._delivery import Delivery, Outcome, deliver, flush_spool
from cisizer.agent._errors import (
    AgentError,
    ConfigurationError,
    IdentityError,
    SourceError,
)
from cisizer.agent._identity import Identity, detect_ci, resolve_identity
from cisizer.agent._job import Settings, build_push, build_sampler
from cisizer.agent._sampler import Sampler
from cisizer.agent._spool import Spool, default_spool_dir

__version__ = "0.1.0"

__all__ = [
    "AgentError",
    "ConfigurationError",
    "Delivery",
    "Identity",
    "IdentityError",
    "Outcome",
    "Sampler",
    "Settings",
    "SourceError",
    "Spool",
    "build_push",
    "build_sampler",
    "default_spool_dir",
    "deliver",
    "detect_ci",
    "flush_spool",
    "resolve_identity",
]
