"""The OpenAPI document: generated from the route table, committed, and honoured."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from cisizer.server import __version__, build_openapi
from cisizer.server._routes import ROUTES

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"
_UNROUTABLE_NAMES = (".", "..")


@schemathesis.check
def status_code_of_routable_paths(ctx, response, case):
    """Check the status unless a path name cannot reach the route as one segment.

    The test server (wsgiref) decodes ``%2F`` before routing and clients drop
    dot segments, so such a name lands on another path; gunicorn hands over
    the raw path and the receiver refuses an encoded slash with 400.
    """
    names = [str(value) for value in (case.path_parameters or {}).values()]
    if any("/" in name or name in _UNROUTABLE_NAMES for name in names):
        return None
    return status_code_conformance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_of_routable_paths,
    content_type_conformance,
    response_schema_conformance,
]


def test_committed_document_is_current():
    """docs/openapi.json equals what `cisizer-server openapi` prints."""
    printed = subprocess.run(
        [sys.executable, "-m", "cisizer.server", "openapi"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    assert json.loads(COMMITTED.read_text()) == json.loads(printed), (
        "docs/openapi.json is stale: run `nox -s openapi` and commit it"
    )
    assert COMMITTED.read_text() == printed


def test_every_served_route_is_described():
    """Every API route of the table is an operation with its auth tier."""
    document = build_openapi(__version__)

    described = {
        (method.upper(), path, operation["x-auth-tier"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert described == {
        (route.method, route.path, route.tier.value)
        for route in ROUTES
        if route.in_schema
    }
    assert ("POST", "/api/v1/metrics", "push_token") in described


def test_security_is_declared_per_operation():
    """Open routes need nothing, ingest a push token, the rest the read token."""
    paths = build_openapi(__version__)["paths"]

    assert paths["/health"]["get"]["security"] == []
    assert paths["/api/v1/metrics"]["post"]["security"] == [{"pushToken": []}]
    assert paths["/api/v1/token"]["post"]["security"] == [{"readToken": []}]
    assert paths["/api/v1/sizing/overrides/{org}"]["put"]["security"] == [
        {"readToken": []}
    ]


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("get", "/api/v1/metrics/org/{org}", ["200", "400", "401", "503"]),
        ("get", "/api/v1/runners/{runner}", ["200", "400", "401", "503"]),
        ("get", "/api/v1/energy/repo/{org}/{repo}/{workflow}/{job}", None),
        (
            "get",
            "/api/v1/success-failure-stats/repo/{org}/{repo}/{workflow}/{job}",
            None,
        ),
        ("get", "/api/v1/metrics/repo/{org}/{repo}/{workflow}/{job}", None),
        ("put", "/api/v1/sizing/overrides/{org}", None),
    ],
)
def test_reports_of_unknown_names_declare_no_404(method, path, statuses):
    """Routes that answer zeros or empty lists for unknown names never list 404."""
    responses = build_openapi(__version__)["paths"][path][method]["responses"]

    assert "404" not in responses
    if statuses is not None:
        assert sorted(responses) == statuses


def test_lookups_that_can_miss_declare_404():
    """Sizing without history and deleting a missing override do answer 404."""
    paths = build_openapi(__version__)["paths"]

    sizing = paths["/api/v1/sizing/repo/{org}/{repo}/{workflow}/{job}"]["get"]
    delete = paths["/api/v1/sizing/overrides/{org}"]["delete"]
    assert sizing["responses"]["404"]["description"] == "Not found"
    assert "404" in delete["responses"]
    assert sorted(paths["/api/v1/metrics"]["post"]["responses"]) == [
        "200",
        "201",
        "400",
        "401",
        "403",
        "408",
        "413",
        "415",
        "503",
    ]


def test_models_become_closed_components():
    """attrs models turn into components with required fields and no extras."""
    schemas = build_openapi(__version__)["components"]["schemas"]

    push = schemas["Push"]
    assert push["additionalProperties"] is False
    assert set(push["required"]) == {
        "organization",
        "repository",
        "workflow",
        "job",
        "run_id",
        "payload",
    }
    assert push["properties"]["payload"] == {"$ref": "#/components/schemas/Summary"}
    assert push["properties"]["runner"] == {"type": "string", "nullable": True}
    assert schemas["Summary"]["properties"]["start_time"]["format"] == "date-time"
    assert push["properties"]["status"]["enum"] == [
        "success",
        "failure",
        "cancelled",
        "unknown",
    ]


def _explore(operation, mode, base_url, headers):
    """Send generated requests to one operation and check every answer.

    Returns False when the operation has nothing to generate in this mode
    (a route without parameters has no negative cases).
    """

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=5,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        return False
    return True


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_violation(live_server, push, make_push, mode):
    """Generated requests get no 5xx and no answer outside the document."""
    for number in range(3):
        push(make_push(run_id=f"r{number}", end=10 + number))
    schema = schemathesis.openapi.from_dict(build_openapi(__version__))
    push_token = live_server.push_token("my-org", "my-repo", "ci.yml", "build")

    explored = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        token = push_token if operation.path == "/api/v1/metrics" else None
        headers = {"Authorization": f"Bearer {token or live_server.read_token}"}
        explored += _explore(operation, mode, live_server.url, headers)

    assert explored >= 16


def test_swagger_without_slash_redirects_relatively(http):
    """/swagger redirects to swagger/, which resolves under any path prefix."""
    response = http.get("/swagger")

    assert response.status_code == 301
    assert response.headers["location"] == "swagger/"
    assert response.next_request.url.path == "/swagger/"
    assert urljoin("https://ci.example/sizer/swagger", "swagger/") == (
        "https://ci.example/sizer/swagger/"
    )


def test_swagger_ui_uses_only_relative_local_assets(http):
    """The page names its assets relative to /swagger/, and each answers 200."""
    page = http.get("/swagger/")
    assets = re.findall(r'(?:src|href)="([^"]*)"', page.text)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert assets == [
        "static/swagger-ui.css",
        "static/swagger-ui-bundle.js",
        "static/swagger-ui-standalone-preset.js",
        "init.js",
    ]
    for asset in assets:
        response = http.get(f"/swagger/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 100, asset
    bundle = http.get("/swagger/static/swagger-ui-bundle.js")
    assert len(bundle.content) > 100_000


def test_swagger_init_loads_the_document_relative_to_the_page(http):
    """init.js asks for openapi.json beside the page, which is the live document."""
    init = http.get("/swagger/init.js")
    document = http.get("/swagger/openapi.json")

    assert 'new URL("openapi.json", document.baseURI)' in init.text
    assert "/swagger/" not in init.text
    assert document.json()["openapi"] == "3.0.3"
    assert "/api/v1/metrics" in document.json()["paths"]


def test_served_document_names_its_server_relative_to_itself(http):
    """The live document's server is ../, the receiver's root under any prefix."""
    document = http.get("/swagger/openapi.json").json()
    spec_url = "https://ci.example/sizer/swagger/openapi.json"

    assert document["servers"] == [{"url": "../"}]
    assert urljoin(spec_url, document["servers"][0]["url"]) == (
        "https://ci.example/sizer/"
    )
    assert "servers" not in json.loads(COMMITTED.read_text())


def test_health_declares_no_400(http):
    """/health ignores its query, so it declares 200 and 503 only, and means it."""
    operation = build_openapi(__version__)["paths"]["/health"]["get"]

    response = http.get("/health?probe=lb&probe=again")

    assert sorted(operation["responses"]) == ["200", "503"]
    assert response.status_code == 200
