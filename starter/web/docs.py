"""The API's documentation page, served whole by the app.

FastAPI's own page loads Swagger UI from a CDN with an inline script: the content security policy
blocks both, and a machine without internet could not load them anyway. Here Swagger UI's files
come from the ``fastapi-offline`` package and the page starts it from a script of our own, so the
page works offline under the same policy as every other page.
"""

from __future__ import annotations

import json
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI, path: str) -> None:
    """Serves the documentation of ``app.openapi_url`` at ``path``."""
    assets = f"{path}/assets"
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{app.title} API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{path}/start.js"></script>
</body>
</html>
"""
    # No validator badge: it would call out to swagger.io.
    start = f"""window.ui = SwaggerUIBundle({{
  url: {json.dumps(app.openapi_url)},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout"
}});
"""

    @app.get(path, include_in_schema=False)
    async def docs_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{path}/start.js", include_in_schema=False)
    async def docs_start() -> Response:
        return Response(start, media_type="text/javascript")

    app.mount(assets, StaticFiles(directory=ASSETS), name="docs-assets")
