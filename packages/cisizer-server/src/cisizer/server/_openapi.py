"""Build the OpenAPI 3.0 document from the route table and the attrs models.

Schemas come from the models' type annotations: ``str``, ``int``,
``float``, ``bool``, ``datetime``, string enums, ``X | None``, ``tuple[X,
...]``, ``list[X]`` and nested attrs classes, which become components.
A field without a default is required; no model takes unknown properties,
which is what the receiver's validation enforces.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from datetime import datetime
from typing import Any

import attrs

from cisizer.server._auth import Tier, security_requirements, security_schemes
from cisizer.server._oidc import login_openapi_paths
from cisizer.server._routes import ROUTES, Route
from cisizer.server._settings import AuthMode

__all__ = ["SchemaBuilder", "build_openapi"]

_PROBLEM = {
    "type": "object",
    "description": "An RFC 9457 problem; detail names the field at fault.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
_ERROR_TEXT = {
    400: "Invalid input; detail names the field",
    401: "No acceptable credential",
    403: "The credential does not cover this request",
    404: "Not found",
    408: "The body did not arrive in time",
    413: "Body larger than --max-body-bytes",
    415: "Body is not application/json",
    503: "The database is not reachable, busy, or not migrated",
}
_SUCCESS_TEXT = {200: "OK", 201: "Created", 204: "No content"}
_PATH_FIELD = re.compile(r"{(\w+)}")


def _summary(cls: type) -> str:
    return (inspect.getdoc(cls) or cls.__name__).splitlines()[0]


class SchemaBuilder:
    """Turn annotations into JSON Schema, collecting attrs classes as components."""

    def __init__(self) -> None:
        """Start with no components."""
        self.components: dict[str, dict[str, Any]] = {}

    def schema(self, annotation: Any) -> dict[str, Any]:
        """The schema of ``annotation``; attrs classes become ``$ref``s."""
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin in (types.UnionType, typing.Union):
            members = [arg for arg in args if arg is not type(None)]
            if len(members) != 1:
                return {"oneOf": [self.schema(arg) for arg in members]}
            inner = self.schema(members[0])
            if len(args) == len(members):
                return inner
            if "$ref" in inner:
                return {"allOf": [inner], "nullable": True}
            return {**inner, "nullable": True}
        if origin in (tuple, list):
            return {"type": "array", "items": self.schema(args[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.schema(args[1])}
        return self._plain(annotation)

    def _plain(self, annotation: Any) -> dict[str, Any]:
        if annotation is bool:
            return {"type": "boolean"}
        if annotation is int:
            return {"type": "integer"}
        if annotation is float:
            return {"type": "number"}
        if annotation is str:
            return {"type": "string"}
        if annotation is datetime:
            return {"type": "string", "format": "date-time"}
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return {
                "type": "string",
                "enum": [str(member.value) for member in annotation],
            }
        if isinstance(annotation, type) and attrs.has(annotation):
            return self._component(annotation)
        raise TypeError(f"no JSON Schema for {annotation!r}")

    def _component(self, cls: type) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.components:
            self.components[name] = {}  # a placeholder stops recursion
            hints = typing.get_type_hints(cls)
            fields = attrs.fields(cls)
            self.components[name] = {
                "type": "object",
                "description": _summary(cls),
                "properties": {
                    field.name: self.schema(hints[field.name]) for field in fields
                },
                "required": [
                    field.name for field in fields if field.default is attrs.NOTHING
                ],
                "additionalProperties": False,
            }
            if not self.components[name]["required"]:
                del self.components[name]["required"]
        return {"$ref": f"#/components/schemas/{name}"}


def _error_statuses(route: Route, mode: AuthMode) -> list[int]:
    """The error statuses ``route`` can answer, and no others.

    404 only where the route declares it (``route.errors``): a report of a
    name without runs is zeros, not 404, and a name holding an encoded
    slash is refused with 400 before routing.  A route that ignores its
    query and takes neither a body nor a path name has nothing to refuse
    with 400.
    """
    statuses = {503, *route.errors}
    if not route.any_query or route.body is not None or "{" in route.path:
        statuses.add(400)
    if route.tier is not Tier.OPEN:
        statuses.add(401)
    if route.tier is Tier.PUSH_TOKEN:
        statuses.add(403)
    if mode is not AuthMode.NONE and route.tier in (Tier.RELAXED, Tier.STRICT):
        # The read token on a strict route, or a person the allow-lists exclude.
        statuses.add(403)
    if route.body is not None:
        statuses.update((408, 413, 415))
    return sorted(statuses)


def _operation(route: Route, builder: SchemaBuilder, mode: AuthMode) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }
        for name in _PATH_FIELD.findall(route.path)
    ]
    parameters += [
        {
            "name": param.name,
            "in": "query",
            "required": False,
            "description": param.description,
            "schema": param.schema,
        }
        for param in route.query
    ]

    responses: dict[str, Any] = {}
    for status in route.statuses:
        answer: dict[str, Any] = {"description": _SUCCESS_TEXT[status]}
        if route.response is not None and status != 204:
            answer["content"] = {
                "application/json": {"schema": builder.schema(route.response)}
            }
        responses[str(status)] = answer
    for status in _error_statuses(route, mode):
        responses[str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": {
                "application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}
                }
            },
        }

    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "security": security_requirements(route.tier, mode),
        "x-auth-tier": route.tier.value,
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": builder.schema(route.body)}},
        }
    return operation


def build_openapi(
    version: str, mode: AuthMode = AuthMode.NONE, routes: tuple[Route, ...] = ROUTES
) -> dict[str, Any]:
    """The OpenAPI document of a receiver of ``version`` in auth ``mode``."""
    builder = SchemaBuilder()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if route.in_schema:
            operation = _operation(route, builder, mode)
            paths.setdefault(route.path, {})[route.method.lower()] = operation
    if mode is AuthMode.OIDC:
        paths.update(login_openapi_paths())

    schemas = {**builder.components, "Problem": _PROBLEM}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "CI Sizer receiver",
            "version": version,
            "description": (
                "Stores CI job resource summaries and answers runs, sizing, "
                "energy and pass/fail statistics."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": security_schemes(mode),
        },
    }
