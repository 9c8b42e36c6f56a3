"""The web viewer's files: ``index.html`` at ``/`` and its ES modules and CSS under ``/web/`` (plain files, no
bundler). The page talks to the same ``/api/v1`` routes the SDK uses, with the API key in a header.

The page is served with a strict Content-Security-Policy (scripts, styles and requests from this server
only; images also from ``blob:`` URLs, which is how slices fetched with the key are shown), since it holds
an API key in session storage.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).resolve().parents[1] / "web"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def install(app: FastAPI) -> None:
    """Serve the viewer at ``/`` and its assets under ``/web/`` (neither is part of the OpenAPI document)."""
    app.mount("/web", StaticFiles(directory=WEB), name="web")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html", headers=SECURITY_HEADERS)
