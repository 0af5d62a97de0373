"""Error answers, failed transports and malformed bodies, in sync and async mode."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from cisizer.client import (
    APIError,
    AuthenticationError,
    CISizerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from cisizer.core import converter

SIZING_PATH = "/api/v1/sizing/repo/my-org/my-repo/ci.yml/build"
JOB = ("my-org", "my-repo", "ci.yml", "build")


def _problem(status: int, title: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
        },
        headers={"Content-Type": "application/problem+json"},
    )


@pytest.mark.parametrize(
    ("status", "error", "builtin"),
    [
        (400, InvalidRequestError, ValueError),
        (401, AuthenticationError, PermissionError),
        (403, PermissionDeniedError, PermissionError),
        (404, NotFoundError, LookupError),
        (409, APIError, Exception),
        (413, InvalidRequestError, ValueError),
        (422, InvalidRequestError, ValueError),
        (500, ServerError, Exception),
        (502, ServerError, Exception),
        (503, ServerError, Exception),
        (504, ServerError, Exception),
    ],
)
def test_each_error_status_raises_its_class(
    make_client: Callable[..., Any],
    api: respx.MockRouter,
    status: int,
    error: type[APIError],
    builtin: type[Exception],
) -> None:
    """Each status maps to its class, with title and detail from problem+json."""
    api.get(SIZING_PATH).mock(
        return_value=_problem(status, "Some title", "runs: too big")
    )

    with pytest.raises(error) as caught:
        make_client(retries=0).sizing(*JOB)

    assert type(caught.value) is error
    assert isinstance(caught.value, builtin)
    assert isinstance(caught.value, CISizerError)
    assert caught.value.status == status
    assert caught.value.title == "Some title"
    assert caught.value.detail == "runs: too big"
    assert str(caught.value).startswith(f"{status} Some title: runs: too big (GET ")


def test_no_history_is_a_not_found_error(client: Any, api: respx.MockRouter) -> None:
    """A sizing of a job without runs raises NotFoundError naming the reason."""
    api.get(SIZING_PATH).mock(
        return_value=_problem(404, "Not found", "no runs of this job yet")
    )

    with pytest.raises(NotFoundError, match="no runs of this job yet"):
        client.sizing(*JOB)


def test_an_error_page_that_is_not_json_keeps_the_reason_phrase(
    make_client: Callable[..., Any], api: respx.MockRouter
) -> None:
    """A proxy's HTML error page gives the reason phrase and the start of the body."""
    api.get(SIZING_PATH).respond(502, text="<html><body>Bad gateway\n</body></html>")

    with pytest.raises(ServerError) as caught:
        make_client(retries=0).sizing(*JOB)

    assert caught.value.title == "Bad Gateway"
    assert caught.value.detail == "<html><body>Bad gateway </body></html>"


def test_a_problem_without_title_uses_the_reason_phrase(
    client: Any, api: respx.MockRouter
) -> None:
    """A JSON error body without a title still gives a readable error."""
    api.get(SIZING_PATH).respond(403, json={"detail": 7})

    with pytest.raises(PermissionDeniedError) as caught:
        client.sizing(*JOB)

    assert caught.value.title == "Forbidden"
    assert caught.value.detail is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>ok</html>", "body is not JSON: '<html>ok</html>'"),
        (b"", "body is not JSON"),
        (
            b'{"containers": []}',
            "body is not a Sizing: body.total: required field missing",
        ),
        (b"[1, 2]", "body is not a Sizing"),
        (b"null", "body is not a Sizing"),
    ],
)
def test_a_body_of_the_wrong_shape_is_an_unexpected_response(
    client: Any, api: respx.MockRouter, body: bytes, message: str
) -> None:
    """A 200 whose body is not a sizing raises UnexpectedResponseError at once."""
    api.get(SIZING_PATH).respond(200, content=body)

    with pytest.raises(UnexpectedResponseError) as caught:
        client.sizing(*JOB)

    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == 200


def test_a_wrong_nested_value_names_its_path(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """A field of the wrong type deep in the body is named by its path."""
    data = converter.unstructure(samples.sizing)
    data["meta"]["confidence"] = "sure"
    api.get(SIZING_PATH).respond(200, json=data)

    with pytest.raises(UnexpectedResponseError, match=r"body\.meta\.confidence"):
        client.sizing(*JOB)


def test_a_list_endpoint_answering_an_object_is_an_unexpected_response(
    client: Any, api: respx.MockRouter
) -> None:
    """A list endpoint answering an object says it expected a JSON array."""
    api.get("/api/v1/debug/metrics").respond(200, json={"items": []})

    with pytest.raises(UnexpectedResponseError, match="expected a JSON array of Run"):
        client.debug_metrics()


def test_a_list_with_a_bad_item_names_the_item(
    client: Any, api: respx.MockRouter, samples: Any
) -> None:
    """A bad run inside a list is named by its index."""
    good = converter.unstructure(samples.run)
    bad = {**good, "id": "seven"}
    api.get("/api/v1/debug/metrics").respond(200, json=[good, bad])

    with pytest.raises(UnexpectedResponseError, match=r"body\[1\]\.id"):
        client.debug_metrics()


def test_a_refused_connection_is_a_transport_error(
    make_client: Callable[..., Any], api: respx.MockRouter
) -> None:
    """A connection error surfaces as TransportError, an OSError."""
    api.get("/health").mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(TransportError) as caught:
        make_client(retries=0).health()

    assert isinstance(caught.value, OSError)
    assert "ConnectError: connection refused" in str(caught.value)


def test_a_mocked_read_timeout_is_a_timeout_error(
    make_client: Callable[..., Any], api: respx.MockRouter
) -> None:
    """A read timeout surfaces as RequestTimeoutError, also a TimeoutError."""
    api.get("/health").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(RequestTimeoutError) as caught:
        make_client(retries=0).health()

    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, TransportError)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_receiver_that_never_answers_times_out(
    make_client: Callable[..., Any], silent_server: str
) -> None:
    """The timeout really bounds a request to a receiver that hangs."""
    client = make_client(base_url=silent_server, timeout=0.2, retries=0)

    with pytest.raises(RequestTimeoutError, match="no answer within the timeout"):
        client.health()
