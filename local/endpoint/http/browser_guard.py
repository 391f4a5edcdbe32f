"""Refuse requests a web browser could make, so no web page can drive the endpoint.

Binding 127.0.0.1 keeps other machines out, but not the developer's own browser: any page it
has open may send requests to ``http://127.0.0.1:<port>`` (cross-origin), or reach the port
through a host name it controls that resolves to 127.0.0.1 (DNS rebinding). The endpoint runs
uploaded Glue scripts and Lambda handlers, so either would run a stranger's code here. AWS
SDKs never send ``Origin``, and they send ``Host`` as the endpoint URL names it; browsers send
``Origin`` on every cross-origin request (and every non-GET one), and a rebinding page's
``Host`` is its own name. So: any ``Origin`` header, or a ``Host`` other than this endpoint's
loopback address and port, gets 403 with a one-line reason, and moto's permissive CORS headers
(``Access-Control-*``) are never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


class BrowserGuard:
    """WSGI middleware in front of moto's app; ``port`` is set once the server has bound."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self.port: int | None = None

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why this request is refused, or None to serve it."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None:
            return f"requests from web pages are refused (Origin: {origin})"
        host = environ.get("HTTP_HOST", "")
        allowed = {f"{name}:{self.port}" for name in LOOPBACK_NAMES}
        if host.lower() not in allowed:
            return f"unexpected Host {host!r}: use http://127.0.0.1:{self.port}"
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        reason = self.refusal(environ)
        if reason is not None:
            body = f"local AWS endpoint: {reason}\n".encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            )
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, *exc_info)

        return self._app(environ, without_cors)
