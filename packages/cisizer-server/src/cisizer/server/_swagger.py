"""Swagger UI for the receiver's OpenAPI document, served from the installed bundle.

Every URL the page and its start script name is relative to ``/swagger/``,
so the UI also works when the receiver is published under a path prefix
(``https://ci.example/sizer/swagger/``); the served document names its
server as ``../``, relative to itself, so "Try it out" calls the API under
the same prefix.  ``/swagger`` without the slash
redirects to ``swagger/`` so that those relative URLs resolve inside it.
"""

from __future__ import annotations

import falcon

from cisizer.server._resources import Reply, State

__all__ = ["swagger_init", "swagger_page"]

_SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CI Sizer API</title>
<link rel="stylesheet" href="static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="static/swagger-ui-bundle.js"></script>
<script src="static/swagger-ui-standalone-preset.js"></script>
<script src="init.js"></script>
</body>
</html>
"""

_SWAGGER_INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
"""


def swagger_page(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Serve Swagger UI at ``/swagger/``; redirect ``/swagger`` there."""
    if not req.env.get("PATH_INFO", "").endswith("/"):
        # Relative to /swagger, "swagger/" is /swagger/ under any prefix.
        raise falcon.HTTPMovedPermanently("swagger/")
    return Reply(raw=_SWAGGER_PAGE.encode(), content_type=falcon.MEDIA_HTML)


def swagger_init(state: State, req: falcon.Request, params: dict[str, str]) -> Reply:
    """Serve the script that points Swagger UI at the OpenAPI document."""
    return Reply(raw=_SWAGGER_INIT.encode(), content_type=falcon.MEDIA_JS)
