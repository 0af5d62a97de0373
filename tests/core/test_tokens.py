"""Tests of push tokens and the read-token comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cisizer.core import (
    ExpiredTokenError,
    InvalidSignatureError,
    JobKey,
    MalformedTokenError,
    PushTokenSigner,
    ValidationError,
    WrongAudienceError,
    read_token_matches,
)

KEY = "k" * 32
OLD_KEY = "o" * 40
NOW = datetime(2026, 2, 6, 14, 30, tzinfo=UTC)
JOB = JobKey("my-org", "my-org/my-repo", "ci.yml", "build")


def test_issue_and_verify() -> None:
    """A fresh token verifies to the job it was issued for."""
    signer = PushTokenSigner([KEY])

    token = signer.issue(JOB, now=NOW)

    assert token.expires_at == NOW + timedelta(hours=2)
    assert token.repository == "my-org/my-repo"
    assert signer.verify(token.token, now=NOW + timedelta(minutes=5)) == JOB


def test_claims() -> None:
    """The token carries the documented claims and audience."""
    token = PushTokenSigner([KEY], ttl=timedelta(minutes=10)).issue(JOB, now=NOW)

    claims = jwt.decode(
        token.token,
        KEY,
        algorithms=["HS256"],
        audience="cisizer-push",
        options={"verify_exp": False},
    )

    assert jwt.get_unverified_header(token.token)["alg"] == "HS256"
    assert claims["org"] == "my-org"
    assert claims["repo"] == "my-org/my-repo"
    assert claims["workflow"] == "ci.yml"
    assert claims["job"] == "build"
    assert claims["exp"] - claims["iat"] == 600
    assert len(claims["jti"]) == 32


def test_each_token_has_its_own_jti() -> None:
    """Two tokens issued at the same instant differ by their jti."""
    signer = PushTokenSigner([KEY])

    assert signer.issue(JOB, now=NOW).token != signer.issue(JOB, now=NOW).token


def test_expiry_with_leeway() -> None:
    """A token is accepted until exp plus the leeway, then refused as expired."""
    signer = PushTokenSigner([KEY], ttl=timedelta(hours=1))
    token = signer.issue(JOB, now=NOW).token
    expiry = NOW + timedelta(hours=1)

    assert signer.verify(token, now=expiry + timedelta(seconds=29)) == JOB
    with pytest.raises(ExpiredTokenError):
        signer.verify(token, now=expiry + timedelta(seconds=30))


def test_token_from_the_future_is_refused() -> None:
    """A token issued beyond the leeway ahead of now is refused."""
    signer = PushTokenSigner([KEY])
    token = signer.issue(JOB, now=NOW).token

    assert signer.verify(token, now=NOW - timedelta(seconds=30)) == JOB
    with pytest.raises(MalformedTokenError, match="future"):
        signer.verify(token, now=NOW - timedelta(seconds=31))


def test_key_rotation() -> None:
    """The first key signs; tokens of any listed key verify."""
    old = PushTokenSigner([OLD_KEY]).issue(JOB, now=NOW).token
    rotated = PushTokenSigner([KEY, OLD_KEY])

    new = rotated.issue(JOB, now=NOW).token

    assert rotated.verify(old, now=NOW) == JOB
    assert PushTokenSigner([KEY]).verify(new, now=NOW) == JOB
    with pytest.raises(InvalidSignatureError):
        PushTokenSigner([OLD_KEY]).verify(new, now=NOW)


def test_wrong_audience() -> None:
    """A token for another audience is refused as such."""
    claims = {
        "org": "my-org",
        "repo": "my-org/my-repo",
        "workflow": "ci.yml",
        "job": "build",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 60,
        "jti": "x",
        "aud": "somebody-else",
    }
    token = jwt.encode(claims, KEY, algorithm="HS256")

    with pytest.raises(WrongAudienceError):
        PushTokenSigner([KEY]).verify(token, now=NOW)


@pytest.mark.parametrize(
    ("drop", "change", "message"),
    [
        ("jti", {}, "lacks the 'jti' claim"),
        ("org", {}, "lacks the 'org' claim"),
        (None, {"job": ""}, "claim 'job' is not a valid name"),
        (None, {"job": "rspec 1/3"}, "claim 'job' is not a valid name"),
        (None, {"org": "grp/sub"}, "claim 'org' is not a valid name"),
        (None, {"repo": "my-repo"}, "claim 'repo' is not a valid name"),
        (None, {"repo": "grp/sub/proj"}, "claim 'repo' is not a valid name"),
        (None, {"workflow": "ci\u202e"}, "claim 'workflow' is not a valid name"),
        (None, {"exp": "soon"}, "claim 'exp' is not a number"),
    ],
)
def test_bad_claims(drop: str | None, change: dict[str, object], message: str) -> None:
    """Missing or mistyped claims make a malformed token."""
    claims: dict[str, object] = {
        "org": "my-org",
        "repo": "my-org/my-repo",
        "workflow": "ci.yml",
        "job": "build",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 60,
        "jti": "x",
        "aud": "cisizer-push",
        **change,
    }
    if drop:
        del claims[drop]
    token = jwt.encode(claims, KEY, algorithm="HS256")

    with pytest.raises(MalformedTokenError, match=message):
        PushTokenSigner([KEY]).verify(token, now=NOW)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "x" * 10])
def test_malformed(token: str) -> None:
    """Text that is not a JWT is refused as malformed."""
    with pytest.raises(MalformedTokenError):
        PushTokenSigner([KEY]).verify(token, now=NOW)


def test_other_algorithm_is_a_bad_signature() -> None:
    """An unsigned ('none') token is refused as not signed by our keys."""
    token = jwt.encode({"org": "my-org"}, None, algorithm="none")  # type: ignore[arg-type]

    with pytest.raises(InvalidSignatureError):
        PushTokenSigner([KEY]).verify(token, now=NOW)


@pytest.mark.parametrize(
    ("keys", "ttl"),
    [([], timedelta(hours=1)), (["short"], timedelta(hours=1)), ([KEY], timedelta(0))],
)
def test_signer_settings_are_checked(keys: list[str], ttl: timedelta) -> None:
    """No key, a key under 32 bytes or a non-positive TTL is refused."""
    with pytest.raises(ValidationError):
        PushTokenSigner(keys, ttl=ttl)


def test_repr_hides_keys() -> None:
    """The signer's repr never shows a key."""
    assert KEY not in repr(PushTokenSigner([KEY]))


names = st.text(
    st.characters(
        blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"), blacklist_characters="/"
    ),
    min_size=1,
    max_size=40,
).filter(lambda name: not name.isspace())


@given(names, names, names, names)
def test_round_trip(org: str, repo: str, workflow: str, job: str) -> None:
    """Any valid scope survives issue and verify unchanged."""
    signer = PushTokenSigner([KEY])
    scope = JobKey(org, f"{org}/{repo}", workflow, job)

    assert signer.verify(signer.issue(scope, now=NOW).token, now=NOW) == scope


def test_read_token_matches() -> None:
    """Only the exact configured read token matches; an empty one never does."""
    assert read_token_matches("s3cret-ü", "s3cret-ü")
    assert not read_token_matches("s3cret", "s3cret-ü")
    assert not read_token_matches("", "")
    assert not read_token_matches("anything", "")


def test_grace_accepts_a_run_started_before_expiry() -> None:
    """A token that expired during the run is accepted within the grace."""
    signer = PushTokenSigner([KEY], ttl=timedelta(hours=2))
    token = signer.issue(JOB, now=NOW).token
    expiry = NOW + timedelta(hours=2)
    grace = timedelta(hours=6)

    started = expiry - timedelta(minutes=1)
    late = expiry + timedelta(hours=5)

    assert signer.verify(token, now=late, valid_at=started, grace=grace) == JOB
    assert (
        signer.verify(
            token,
            now=expiry + grace + timedelta(seconds=29),
            valid_at=expiry + timedelta(seconds=29),
            grace=grace,
        )
        == JOB
    )


@pytest.mark.parametrize(
    ("started", "arrived"),
    [
        # The run started after the token had expired.
        (timedelta(hours=2, seconds=30), timedelta(hours=3)),
        # The push arrived after the grace.
        (timedelta(hours=1), timedelta(hours=8, seconds=30)),
        # Without valid_at the grace does not apply.
        (None, timedelta(hours=3)),
    ],
)
def test_grace_is_bounded(started: timedelta | None, arrived: timedelta) -> None:
    """A run started after expiry, or a push after the grace, is refused."""
    signer = PushTokenSigner([KEY], ttl=timedelta(hours=2))
    token = signer.issue(JOB, now=NOW).token
    valid_at = None if started is None else NOW + started

    with pytest.raises(ExpiredTokenError, match="push token has expired"):
        signer.verify(
            token, now=NOW + arrived, valid_at=valid_at, grace=timedelta(hours=6)
        )


def test_check_then_check_valid_at() -> None:
    """The two-step check returns the scope and expiry, then tests the start."""
    signer = PushTokenSigner([KEY], ttl=timedelta(hours=1))
    token = signer.issue(JOB, now=NOW).token

    checked = signer.check(token, NOW + timedelta(hours=3), grace=timedelta(hours=6))

    assert checked.expires_at == NOW + timedelta(hours=1)
    assert (checked.organization, checked.repository) == ("my-org", "my-org/my-repo")
    assert (checked.workflow, checked.job) == ("ci.yml", "build")
    signer.check_valid_at(checked, NOW + timedelta(minutes=59))
    with pytest.raises(ExpiredTokenError):
        signer.check_valid_at(checked, NOW + timedelta(hours=1, seconds=30))
    with pytest.raises(ValidationError):
        signer.check(token, NOW, grace=timedelta(seconds=-1))


def _signed(**change: object) -> str:
    claims: dict[str, object] = {
        "org": "my-org",
        "repo": "my-org/my-repo",
        "workflow": "ci.yml",
        "job": "build",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 3600,
        "jti": "x",
        "aud": "cisizer-push",
        **change,
    }
    return jwt.encode(claims, KEY, algorithm="HS256")


def test_not_before_is_checked() -> None:
    """A token whose nbf is ahead of now (beyond the leeway) is refused."""
    start = int(NOW.timestamp())
    signer = PushTokenSigner([KEY])

    assert signer.verify(_signed(nbf=start + 30), now=NOW) == JOB
    with pytest.raises(MalformedTokenError, match="not valid yet"):
        signer.verify(_signed(nbf=start + 31), now=NOW)
    with pytest.raises(MalformedTokenError, match="'nbf' is not a number"):
        signer.verify(_signed(nbf="later"), now=NOW)


@pytest.mark.parametrize("exp", [1e20, int(NOW.timestamp()) + 30 * 86400 + 31])
def test_expiry_beyond_the_ceiling_is_refused(exp: float) -> None:
    """A token whose exp lies more than 30 days and the leeway after iat is refused."""
    signer = PushTokenSigner([KEY], ttl=timedelta(hours=2))

    assert signer.verify(_signed(exp=int(NOW.timestamp()) + 7230), now=NOW) == JOB
    with pytest.raises(MalformedTokenError, match="longer than 30 days"):
        signer.verify(_signed(exp=exp), now=NOW)


def test_lowering_the_ttl_keeps_issued_tokens() -> None:
    """A token issued under a longer TTL verifies with a signer of a shorter one."""
    long_lived = PushTokenSigner([KEY], ttl=timedelta(days=30)).issue(JOB, now=NOW)
    short = PushTokenSigner([KEY], ttl=timedelta(seconds=2))

    later = NOW + timedelta(days=29)
    assert short.verify(long_lived.token, now=later) == JOB


def test_ttl_over_the_ceiling_is_refused() -> None:
    """A signer refuses a TTL over 30 days, naming the setting."""
    with pytest.raises(ValidationError, match="token_ttl: must be at most 30 days"):
        PushTokenSigner([KEY], ttl=timedelta(days=30, seconds=1))
