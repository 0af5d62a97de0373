"""Read request input: JSON bodies within the size limit, query values, path names."""

from __future__ import annotations

import enum
import json
import re
import time
from collections.abc import Collection
from datetime import datetime
from typing import NoReturn, Protocol, TypeVar
from urllib.parse import parse_qsl

import falcon

from cisizer.core import ValidationError, check_name, parse_datetime
from cisizer.server._errors import (
    InvalidRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

__all__ = [
    "check_query_names",
    "check_raw_path",
    "path_name",
    "query_enum",
    "query_int",
    "query_time",
    "read_json",
]

_E = TypeVar("_E", bound=enum.Enum)

DEFAULT_BODY_TIMEOUT = 10.0


# Only \uD800-\uDFFF escapes can put a lone surrogate into decoded text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)


def _reject_constant(name: str) -> NoReturn:
    raise InvalidRequestError.field("body", f"{name} is not a JSON number")


def read_json(
    req: falcon.Request, max_bytes: int, timeout: float = DEFAULT_BODY_TIMEOUT
) -> object:
    """Read and decode the JSON body, reading at most ``max_bytes`` of it.

    Under gunicorn a body that stops arriving for ``timeout`` seconds, or
    takes longer than that in all, is answered 408.

    Note:
        A declared ``Content-Length`` over the limit is refused before a byte
        is read; a chunked body is read only up to one byte past the limit.
    """
    media_type = (req.content_type or "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError(
            "Content-Type: must be application/json"
            + (f", not {media_type}" if media_type else "")
        )
    encoding = (req.get_header("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise UnsupportedMediaTypeError(
            f"Content-Encoding: {encoding[:40]!r} is not supported; send the body "
            "uncompressed"
        )
    length = req.content_length
    if length is not None and length > max_bytes:
        raise PayloadTooLargeError(f"body: larger than the limit of {max_bytes} bytes")

    chunked = "chunked" in (req.get_header("Transfer-Encoding") or "").lower()
    # The server decodes chunks itself; read them only up to the limit.
    stream = req.stream if length is None and chunked else req.bounded_stream
    data = _read_body(req, stream, max_bytes + 1, timeout)
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"body: larger than the limit of {max_bytes} bytes")
    if not data.strip():
        raise InvalidRequestError.field("body", "a JSON object is required")
    try:
        text = data.decode("utf-8")
        document = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise InvalidRequestError.field("body", "is not UTF-8") from None
    except RecursionError:
        raise InvalidRequestError.field("body", "is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise InvalidRequestError.field(
            "body",
            f"is not valid JSON ({error.msg} at line {error.lineno} "
            f"column {error.colno})",
        ) from None
    except InvalidRequestError:
        raise
    except ValueError:
        # Python refuses integers of more than 4300 digits.
        raise InvalidRequestError.field("body", "holds a number too long") from None

    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequestError.field(
                "body", "holds an unpaired UTF-16 surrogate escape"
            ) from None
    return document


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


_BODY_PIECE = 64 * 1024


def _read_body(
    req: falcon.Request, stream: _Readable, size: int, timeout: float
) -> bytes:
    """Read up to ``size`` bytes, giving up with 408 after ``timeout`` seconds.

    Note:
        The timeout needs the connection's socket, which gunicorn hands over
        as ``gunicorn.socket``; other WSGI servers read without one.
    """
    # NOTE: The socket timeout bounds each wait for data and the deadline is
    # checked between pieces, so a client trickling a byte just under every
    # `timeout` holds this thread longer; a buffering proxy in front stops it.
    sock = req.env.get("gunicorn.socket")
    settimeout = getattr(sock, "settimeout", None)
    previous = getattr(sock, "gettimeout", lambda: None)()
    deadline = time.monotonic() + timeout
    parts: list[bytes] = []
    remaining = size
    try:
        while remaining > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if settimeout is not None:
                settimeout(left)
            part = stream.read(min(remaining, _BODY_PIECE))
            if not part:
                break
            parts.append(part)
            remaining -= len(part)
    except TimeoutError:
        raise falcon.HTTPError(
            falcon.HTTP_408,
            title="Request timeout",
            description=f"body: not received within {timeout:g} s",
        ) from None
    finally:
        if settimeout is not None:
            settimeout(previous)
    return b"".join(parts)


def check_query_names(req: falcon.Request, allowed: Collection[str]) -> None:
    """Refuse query parameters the route does not know, or given twice."""
    seen: set[str] = set()
    for name, _ in parse_qsl(req.query_string, keep_blank_values=True):
        if name not in allowed:
            raise InvalidRequestError.field(name, "unknown query parameter")
        if name in seen:
            raise InvalidRequestError.field(name, "given more than once")
        seen.add(name)


def _raw(req: falcon.Request, name: str) -> str | None:
    value = req.get_param(name)
    if value is None:
        return None
    return str(value)


def query_int(
    req: falcon.Request, name: str, default: int | None, low: int, high: int
) -> int | None:
    """The integer query parameter ``name`` from ``low`` to ``high``, or the default."""
    raw = _raw(req, name)
    if raw is None:
        return default
    try:
        value = int(raw.strip(), 10) if raw.strip().lstrip("-").isdigit() else None
    except ValueError:
        value = None
    if value is None:
        raise InvalidRequestError.field(name, "must be an integer")
    if not low <= value <= high:
        raise InvalidRequestError.field(name, f"must be between {low} and {high}")
    return value


def query_enum(req: falcon.Request, name: str, kind: type[_E]) -> _E | None:
    """The query parameter ``name`` as a member of ``kind``, or None when absent."""
    raw = _raw(req, name)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        choices = ", ".join(str(member.value) for member in kind)
        raise InvalidRequestError.field(name, f"must be one of {choices}") from None


def query_time(req: falcon.Request, name: str) -> datetime | None:
    """The RFC 3339 query parameter ``name`` as an aware UTC date-time."""
    raw = _raw(req, name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw, name)
    except ValidationError:
        if _PLUS_AS_SPACE.search(raw):
            raise InvalidRequestError.field(
                name,
                "must be an RFC 3339 date-time with a time zone; a '+' in a "
                "query string is read as a space, so send +01:00 as %2B01:00",
            ) from None
        raise


# An offset whose '+' a query string turned into a space: "...T10:00:00 01:00".
_PLUS_AS_SPACE = re.compile(r"\d \d{2}:\d{2}$")


def path_name(value: str, name: str) -> str:
    """Check a name taken from the URL path; the error names the path segment."""
    try:
        value.encode("utf-8")
        return check_name(value, name)
    except UnicodeEncodeError:
        raise InvalidRequestError.field(name, "is not valid UTF-8") from None
    except ValidationError as error:
        raise InvalidRequestError(str(error)) from None


_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


def check_raw_path(raw_uri: str, templates: Collection[str]) -> None:
    """Refuse an encoded slash (``%2F``) in a path segment after ``/api/v1``.

    The WSGI server decodes the path before routing, so ``a%2Fb`` would be
    routed as two segments and could reach another route.  The error names
    the path parameter of the route ``templates`` that the segment falls in,
    or ``path``.
    """
    path = raw_uri.partition("?")[0]
    if not path.startswith("/api/v1/") or not _ENCODED_SLASH.search(path):
        return
    segments = path.split("/")
    index = next(i for i, part in enumerate(segments) if _ENCODED_SLASH.search(part))
    names = set()
    for template in templates:
        parts = template.split("/")
        if len(parts) <= index or not parts[index].startswith("{"):
            continue
        if all(
            part.startswith("{") or part == segment
            for part, segment in zip(parts[:index], segments[:index], strict=True)
        ):
            names.add(parts[index].strip("{}"))
    name = names.pop() if len(names) == 1 else "path"
    raise InvalidRequestError.field(name, "must not contain an encoded slash (%2F)")
