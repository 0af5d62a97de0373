"""Every fenced block of README.md and docs/*.md is run or checked, one test each.

The test id is ``file:line`` of the opening fence (``docs/server.md:35``).
``CI=1 .venv/bin/pytest tests/docs -q`` runs them all; ``-k server.md`` one
page.

Directives
    ``<!-- docs-test: skip: REASON -->`` on the line right before a fence:
    the block is not run. Use it for what cannot run on a development machine
    (a Kubernetes cluster, Keycloak's ``kcadm.sh``, a provider on the
    internet) and say so in REASON; a skip without a reason fails, as does
    any other ``docs-test`` comment. A skipped YAML or JSON block is still
    parsed.

Shell blocks (``console``, ``sh``, ``bash``, ``shell``)
    Run by bash with ``set -euo pipefail`` in a scratch directory standing
    for the repository root (its entries link to the checkout, so
    ``./packages/...`` and ``docs/examples/...`` work and files a block
    writes stay out of the checkout). The environment holds a live receiver
    (``cisizer-server serve`` on SQLite, auth mode ``none``):

    - ``CISIZER_URL``: its URL; ``localhost:8080`` and ``127.0.0.1:8080``
      in a block, and the placeholder host ``https://cisizer.example``, are
      replaced by its address (``https://cisizer.example.com`` and other
      hosts are left alone). The replacement is a shell variable, so it
      works unquoted or in double quotes, not in single quotes; in a
      transcript only the commands are rewritten, not the output;
    - ``CISIZER_READ_TOKEN`` and ``READ_TOKEN``: its read token;
    - ``CISIZER_HMAC_KEY`` and ``HMAC_KEY``: its key;
    - ``CISIZER_PUSH_TOKEN`` and ``PUSH_TOKEN``: a push token for the job
      ``my-org/my-repo/ci.yml/build``;
    - ``CISIZER_DB_URL``: an SQLite file in the block's own directory, for
      blocks that start or migrate a receiver of their own.

    Before every block the receiver is emptied and holds again the five runs
    of the sizing worked example for ``my-org/my-repo/ci.yml/build``
    (``runner``: CPU p95 0.8 cores, peak 0.83, memory peak 700 MiB;
    limits 2 cores and 2 GiB; run ids ``run-1`` to ``run-5``, runner
    ``runner-7``, ended 2026-02-02 to 2026-02-06 at 14:30:22 UTC), so a
    sizing of that job gives CPU ``960m`` and ``1``, memory ``800Mi`` (five
    steady runs) with confidence ``medium``. Blocks do not see each other's
    data.

    ``curl`` runs with ``--fail-with-body``: a request the receiver refuses
    fails the block. ``pip install`` runs into a throwaway virtualenv
    (created with ``--system-site-packages`` and seeing the development
    venv's packages, so only the CI Sizer wheels are built); it is first on
    ``PATH``.

    ``cisizer-server serve`` does not block: it is started in the background
    on a free loopback port with one worker (the block's ``--bind`` and
    ``--workers`` are overridden), the block
    goes on once its ``/health`` answers, and requests to
    ``localhost:8080`` later in the same block reach that server. It is
    stopped when the block ends. A server that exits or does not come up
    within 30 s fails the block.

Transcripts
    A shell block whose lines start with ``$ `` is a transcript: only those
    lines are commands (a line ending in ``\\`` continues on the next), and
    the lines after a command, up to the next ``$ ``, are the output it must
    print (standard output and error together). Trailing spaces and
    trailing blank lines are ignored; ``...`` inside a line matches any
    text; a line holding only ``...`` matches any number of lines; an RFC
    3339 timestamp in the expected output matches any timestamp. Output
    shown as a JSON object or list is compared as parsed JSON (layout and key
    order aside), where the string ``"..."`` matches any value. Commands
    run in one shell, so ``export`` carries over; a command may exit
    non-zero only when it shows expected output and that output matches
    (the documented error *is* the check).

Python blocks (``python``, ``py``)
    Run by the test's interpreter in a subprocess, in the same directory
    and environment as shell blocks. ``https://cisizer.example`` and
    ``localhost:8080`` point at the docs receiver and the string
    ``"READ-TOKEN"`` becomes its read token. A snippet with top-level
    ``await``, ``async with`` or ``async for`` runs as the body of a
    coroutine under ``asyncio.run``.

YAML blocks (``yaml``, ``yml``)
    Parsed with PyYAML (every document), then checked by what they are:

    - a GitHub/Forgejo workflow (``jobs:``) or a bare step list: each job
      calls ``cisizer-agent run``, or ``cisizer-agent start`` and later
      ``cisizer-agent stop`` in a step with ``if: always()``;
    - a GitLab CI file (``script``, ``before_script``, ``after_script``):
      each job has ``cisizer-agent start`` in ``before_script`` and
      ``cisizer-agent stop`` in ``after_script``, or ``cisizer-agent run`` in
      ``script``;
    - a Kubernetes manifest (``apiVersion``/``kind``): every document has
      ``apiVersion``, ``kind`` and ``metadata.name``, and the containers of a
      Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob
      carry ``resources`` with requests or limits;
    - a Dex config (``issuer`` with ``staticClients`` or ``connectors``):
      parsed only.

    Any other YAML fails until it is classified here or marked skip.

Other blocks
    ``json`` and ``toml`` are parsed. Blocks without a language, ``text``,
    ``nginx``, ``dockerfile`` and the rest are not collected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_block(doc_block: Any, check_doc_block: Callable[[Any], None]) -> None:
    """The block runs as shown, or parses and carries what its kind needs."""
    check_doc_block(doc_block)
