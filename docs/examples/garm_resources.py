"""Print the Kubernetes ``resources:`` of a runner pod for one CI job.

What a GARM-style runner provider does before it creates a runner pod: ask
CI Sizer for the job's sizing and turn it into the pod's container
resources.  While the job has no history yet, it falls back to defaults.

Usage::

    export CISIZER_URL=https://cisizer.example CISIZER_READ_TOKEN=...
    python garm_resources.py my-org my-repo ci.yml build

Prints YAML to paste under ``spec:`` of a pod, or to merge into one::

    containers:
      - name: runner
        resources:
          requests:
            cpu: 960m
            memory: 1Gi
          limits:
            memory: 1Gi
"""

from __future__ import annotations

import sys

from cisizer.client import (
    CISizerError,
    Client,
    InvalidArgumentError,
    NotFoundError,
)
from cisizer.core import Sizing

# Used while a job has no runs yet: a generous guess, replaced after the
# first run is measured.
FALLBACK = {
    "runner": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}
}


def container_resources(sizing: Sizing) -> dict[str, dict[str, dict[str, str]]]:
    """Return each container's requests and limits, keyed by container name.

    A CPU limit is set only when the sizing enforces it: in observe mode it
    is advice, since CPU throttling slows CI more than it protects.
    """
    resources = {}
    for container in sizing.containers:
        limits = {"memory": container.memory.limit}
        if container.cpu.enforced:
            limits["cpu"] = container.cpu.limit
        resources[container.name] = {
            "requests": {
                "cpu": container.cpu.request,
                "memory": container.memory.request,
            },
            "limits": limits,
        }
    return resources


def to_yaml(resources: dict[str, dict[str, dict[str, str]]], comment: str) -> str:
    """Render the containers' resources as a YAML ``containers:`` list."""
    lines = [f"# {comment}", "containers:"]
    for name, parts in resources.items():
        lines += [f"  - name: {name}", "    resources:"]
        for part in ("requests", "limits"):
            lines.append(f"      {part}:")
            lines += [
                f"        {key}: {value}" for key, value in sorted(parts[part].items())
            ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Print the resources for the job named on the command line."""
    if len(argv) != 4:
        print("usage: garm_resources.py ORG REPO WORKFLOW JOB", file=sys.stderr)
        return 2
    organization, repository, workflow, job = argv

    try:
        with Client(timeout=5.0, retries=2) as client:
            sizing = client.sizing(organization, repository, workflow, job)
    except NotFoundError:
        sys.stdout.write(to_yaml(FALLBACK, "no history yet: fallback resources"))
        return 0
    except InvalidArgumentError as error:
        # A name CI Sizer cannot hold (e.g. a job "rspec 1/3") never gets a sizing.
        print(f"CI Sizer cannot size this job: {error}", file=sys.stderr)
        sys.stdout.write(to_yaml(FALLBACK, "name not sizable: fallback resources"))
        return 0
    except CISizerError as error:
        # A provider should still create the runner: fall back, but say why.
        print(f"CI Sizer unavailable: {error}", file=sys.stderr)
        sys.stdout.write(to_yaml(FALLBACK, "CI Sizer unavailable: fallback resources"))
        return 0

    meta = sizing.meta
    comment = f"CI Sizer: {meta.runs_analyzed} run(s), confidence {meta.confidence}"
    sys.stdout.write(to_yaml(container_resources(sizing), comment))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
