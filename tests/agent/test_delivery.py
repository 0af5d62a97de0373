"""Spool files and their delivery: retries, rejections, locks, flush."""

from __future__ import annotations

import logging
import stat
import time
from pathlib import Path

import pytest

from cisizer.agent import Outcome, Spool, deliver, flush_spool

from .conftest import FakeReceiver, make_push


def no_sleep(seconds: float) -> None:
    pass


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


def test_spool_write_is_private_and_complete(tmp_path: Path) -> None:
    """A spooled summary is one private file holding URL, token and push."""
    spool = Spool(tmp_path / "spool")
    push = make_push()

    path = spool.write(push, url="http://r", token="t0ken")
    entry = spool.read(path)

    assert spool.paths() == [path]
    assert (entry.push, entry.url, entry.token) == (push, "http://r", "t0ken")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
    assert [p.name for p in spool.directory.iterdir()] == [path.name]


def test_delivered_summary_is_removed(tmp_path: Path, receiver: FakeReceiver) -> None:
    """A 201 removes the file; the push went with its token to /api/v1/metrics."""
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="push-1")

    delivery = deliver(spool, path, url=None, token=None, deadline=soon())

    assert delivery.outcome is Outcome.DELIVERED
    assert delivery.run == 1
    assert not path.exists()
    (request,) = receiver.requests
    assert request["path"] == "/api/v1/metrics"
    assert request["authorization"] == "Bearer push-1"
    assert request["body"]["run_id"] == "42"


@pytest.mark.parametrize("failures", [[500, 503], [429], [408], [502, 429, 500]])
def test_server_errors_and_429_are_retried(
    tmp_path: Path, receiver: FakeReceiver, failures: list[int]
) -> None:
    """5xx, 408 and 429 are retried until the receiver stores the summary once."""
    receiver.script = list(failures)
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="t")

    delivery = deliver(
        spool, path, url=None, token=None, deadline=soon(), sleep=no_sleep
    )

    assert delivery.outcome is Outcome.DELIVERED
    assert receiver.statuses == [*failures, 201]
    assert len(receiver.stored) == 1
    assert not path.exists()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_4xx_is_final_and_moves_the_file_aside(
    tmp_path: Path,
    receiver: FakeReceiver,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 4xx other than 408/429 is not retried; the file moves to rejected/."""
    receiver.script = [status]
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="t")

    with caplog.at_level(logging.ERROR):
        delivery = deliver(
            spool, path, url=None, token=None, deadline=soon(), sleep=no_sleep
        )

    kept = tmp_path / "rejected" / path.name
    assert delivery.outcome is Outcome.REJECTED
    assert delivery.status == status
    assert delivery.path == kept
    assert len(receiver.requests) == 1
    assert spool.paths() == []
    assert Spool.read(kept).push == make_push()
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert f"scripted answer {status}" in caplog.text
    assert str(kept) in caplog.text


def test_rejected_summaries_are_not_flushed_again(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A flush after a rejection sends nothing; moved back, the summary is sent."""
    receiver.script = [422]
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="t")
    (rejected,) = flush_spool(spool, url=None, token=None, deadline=soon())

    again = flush_spool(spool, url=None, token=None, deadline=soon())
    rejected.path.rename(path)
    (delivered,) = flush_spool(spool, url=None, token=None, deadline=soon())

    assert rejected.outcome is Outcome.REJECTED
    assert again == []
    assert delivered.outcome is Outcome.DELIVERED
    assert receiver.statuses == [422, 201]


def test_unreachable_receiver_postpones_within_deadline(tmp_path: Path) -> None:
    """Connection errors are retried until the push timeout, then the file stays."""
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url="http://127.0.0.1:9", token="t")
    started = time.monotonic()

    delivery = deliver(spool, path, url=None, token=None, deadline=soon(1.0))

    assert delivery.outcome is Outcome.POSTPONED
    assert "Connection refused" in delivery.detail or "connect" in delivery.detail
    assert 0.9 <= time.monotonic() - started <= 2.5
    assert path.exists()


def test_push_timeout_zero_still_makes_one_attempt(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A deadline already past sends the summary once; it only forgoes retries."""
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="t")

    delivery = deliver(spool, path, url=None, token=None, deadline=time.monotonic())

    assert delivery.outcome is Outcome.DELIVERED
    assert receiver.statuses == [201]
    assert not path.exists()


def test_push_timeout_zero_does_not_retry(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """With the deadline past, a 503 leaves the summary spooled after one attempt."""
    receiver.script = [503, 503]
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="t")

    delivery = deliver(
        spool, path, url=None, token=None, deadline=time.monotonic(), sleep=no_sleep
    )

    assert delivery.outcome is Outcome.POSTPONED
    assert "503" in delivery.detail
    assert receiver.statuses == [503]
    assert path.exists()


def test_flush_past_its_deadline_tries_every_summary(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """Each spooled summary gets its attempt even when the deadline has passed."""
    spool = Spool(tmp_path)
    for run_id in ("run-1", "run-2"):
        spool.write(make_push(run_id=run_id), url=receiver.url, token="t")

    deliveries = flush_spool(spool, url=None, token=None, deadline=time.monotonic())

    assert [d.outcome for d in deliveries] == [Outcome.DELIVERED] * 2
    assert receiver.statuses == [201, 201]


def test_current_token_stands_in_when_spooled_one_is_refused(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A 403 with the spooled token is tried once more with the current token."""
    receiver.script = [403]
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="old")

    delivery = deliver(spool, path, url=None, token="new", deadline=soon())

    assert delivery.outcome is Outcome.DELIVERED
    assert [r["authorization"] for r in receiver.requests] == [
        "Bearer old",
        "Bearer new",
    ]


def test_file_sent_by_another_agent_is_left_alone(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A spooled file locked by another agent is not sent a second time."""
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="t")

    with spool.claim(path) as claimed:
        delivery = deliver(spool, path, url=None, token=None, deadline=soon())

    assert claimed is True
    assert delivery.outcome is Outcome.BUSY
    assert receiver.requests == []


def test_flush_sends_every_file_oldest_first(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """flush sends all spooled summaries in the order they were written."""
    spool = Spool(tmp_path)
    for run in ("1", "2", "3"):
        spool.write(make_push(run), url=None, token="t")

    deliveries = flush_spool(spool, url=receiver.url, token=None, deadline=soon())

    assert [d.outcome for d in deliveries] == [Outcome.DELIVERED] * 3
    assert [r["body"]["run_id"] for r in receiver.requests] == ["1", "2", "3"]
    assert spool.paths() == []


def test_flush_without_url_postpones(tmp_path: Path) -> None:
    """A summary with no receiver URL anywhere stays for later."""
    spool = Spool(tmp_path)
    spool.write(make_push(), url=None, token="t")

    (delivery,) = flush_spool(spool, url=None, token=None, deadline=soon())

    assert delivery.outcome is Outcome.POSTPONED
    assert delivery.detail == "no receiver URL is set"


def test_same_summary_sent_again_is_delivered(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A summary resent after a crash is answered with itself: delivered."""
    spool = Spool(tmp_path)
    first = spool.write(make_push(), url=receiver.url, token="t")
    deliver(spool, first, url=None, token=None, deadline=soon())
    again = spool.write(make_push(), url=receiver.url, token="t")

    delivery = deliver(spool, again, url=None, token=None, deadline=soon())

    assert delivery.outcome is Outcome.DELIVERED
    assert delivery.describe() == "summary delivered (stored with id 1)"
    assert receiver.statuses == [201, 200]
    assert spool.paths() == []


def test_another_run_with_the_same_key_is_not_delivered(
    tmp_path: Path, receiver: FakeReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A matrix leg sharing the run id is said NOT stored, with the way out."""
    spool = Spool(tmp_path)
    linux = spool.write(make_push(runner="linux"), url=receiver.url, token="t")
    deliver(spool, linux, url=None, token=None, deadline=soon())
    mac = spool.write(make_push(runner="mac", second=5), url=receiver.url, token="t")

    with caplog.at_level(logging.WARNING):
        delivery = deliver(spool, mac, url=None, token=None, deadline=soon())

    kept = tmp_path / "rejected" / mac.name
    assert delivery.outcome is Outcome.DUPLICATE
    assert delivery.run == 1
    assert delivery.path == kept
    assert delivery.describe() == (
        "summary NOT stored: another run with the same key is stored with id 1; "
        f"kept at {kept}"
    )
    assert Spool.read(kept).push["runner"] == "mac"
    assert spool.paths() == []
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "NOT stored" in message
    assert "runner linux" in message
    assert "${{ github.run_id }}-${{ strategy.job-index }}" in message


def test_retries_warn_once_then_say_when_giving_up(
    tmp_path: Path, receiver: FakeReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """The first failed push is a WARNING, the next ones DEBUG, giving up a WARNING."""
    receiver.script = [503] * 50
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=receiver.url, token="t")

    with caplog.at_level(logging.DEBUG, logger="cisizer.agent"):
        delivery = deliver(
            spool,
            path,
            url=None,
            token=None,
            deadline=soon(0.5),
            sleep=lambda s: time.sleep(0.05),
        )

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert delivery.outcome is Outcome.POSTPONED
    assert len(receiver.requests) >= 3
    assert len(retries) == len(receiver.requests)
    assert [r.levelno for r in retries[1:]] == [logging.DEBUG] * (len(retries) - 1)
    assert len(warnings) == 2
    assert "503" in warnings[0]
    assert warnings[1].startswith(f"giving up on {path.name} after ")
    assert path.exists()


@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://host/x", "http://", "http://host:port"]
)
def test_bad_receiver_url_keeps_the_summary_without_error(
    tmp_path: Path, url: str
) -> None:
    """A summary spooled for a malformed URL stays, with the reason, no traceback."""
    spool = Spool(tmp_path)
    path = spool.write(make_push(), url=url, token="t")

    (delivery,) = flush_spool(spool, url=None, token=None, deadline=soon())

    assert delivery.outcome is Outcome.POSTPONED
    assert delivery.detail.startswith(f"receiver URL {url!r} is not")
    assert spool.paths() == [path]


def test_summary_in_another_directory_is_removed_there(
    tmp_path: Path, receiver: FakeReceiver
) -> None:
    """A summary written to a fallback spool is removed from where it lies."""
    fallback = Spool(tmp_path / "fallback")
    path = fallback.write(make_push(), url=receiver.url, token="t")

    delivery = deliver(
        Spool(tmp_path / "missing"), path, url=None, token=None, deadline=soon()
    )

    assert delivery.outcome is Outcome.DELIVERED
    assert fallback.paths() == []
    assert not (tmp_path / "missing").exists()
