"""/docs: Swagger UI for the JSON API, served from this machine so it works offline.

FastAPI's own page loads Swagger UI from a CDN. The same page here points at the copy of
swagger-ui-dist that the fastapi-offline package ships (kept current by its maintainer; installed
by pip like any dependency, nothing copied into this repository).
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
# The pages' policy plus the page's one inline script, admitted by its hash so that nothing else
# inline can run. (Swagger UI sets styles through the DOM, which style-src 'self' allows.)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self' {hashes}; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _hashes(html: str) -> str:
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )


def add_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from local files; build the app with docs_url=None."""
    app.mount(ASSETS_URL, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/favicon.svg",
            # No badge from the online validator: it is a request to swagger.io.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )
        page.headers["content-security-policy"] = DOCS_CSP.format(hashes=_hashes(bytes(page.body).decode()))
        return page
