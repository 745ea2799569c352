"""The API documentation at /docs: Swagger UI served by the app itself, under the UI's strict CSP.

FastAPI's own /docs page loads Swagger UI from a CDN (blank on a shop network without internet) and starts it
with an inline script (which the CSP forbids). This page is a plain file, its Swagger UI files come from a
package (`fastapi-offline` ships them), and it is started by a small module (app/api/swagger/docs.js).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.api.static import SECURITY_HEADERS
from app.core.errors import NotFound

router = APIRouter(include_in_schema=False)

PAGE_DIR = Path(__file__).parent / "swagger"
SWAGGER_DIR = Path(str(importlib.resources.files("fastapi_offline") / "static"))
# What the page may load, by name: nothing else under /docs/ is served.
ASSETS = {
    "swagger-ui-bundle.js": (SWAGGER_DIR, "text/javascript"),
    "swagger-ui.css": (SWAGGER_DIR, "text/css"),
    "favicon.png": (SWAGGER_DIR, "image/png"),
    "docs.js": (PAGE_DIR, "text/javascript"),
}


def _file(path: Path, media_type: str) -> FileResponse:
    # Revalidated like the UI's files (ETag: a 304), so an upgrade shows at once.
    return FileResponse(path, media_type=media_type, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/docs")
async def docs_page() -> FileResponse:
    return _file(PAGE_DIR / "index.html", "text/html; charset=utf-8")


@router.get("/docs/{name}")
async def docs_asset(name: str) -> FileResponse:
    folder, media_type = ASSETS.get(name, (None, ""))
    if folder is None:
        raise NotFound("No such file")
    return _file(folder / name, media_type)
