"""The UI's static files in development, with the same security headers Nginx adds in production."""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# Keep in step with the default $camvault_csp in nginx.conf: no inline script or style, so a
# file name that smuggled markup past the UI's text-only rendering still could not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class UIFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        # Fixed names, no build step: revalidate everything (ETag makes it a 304) so an upgrade shows at once.
        response.headers["Cache-Control"] = "no-cache"
        return response
