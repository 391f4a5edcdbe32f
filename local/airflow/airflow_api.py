"""A minimal client for the stack's REST API (stdlib only): health, login, JSON requests."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

HEALTH_TIMEOUT_SECONDS = 10
# Longer than the API server's own wait for SQLite's write lock (60 s, stack_settings.py): a
# request stalled behind another component's write is answered late, not abandoned half-done.
TIMEOUT_SECONDS = 75


class ApiError(RuntimeError):
    """The API answered with an error status (``status``) or not at all (``status`` None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AirflowApi:
    """Airflow 3 REST API at ``base_url`` (e.g. http://127.0.0.1:8080)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = {"username": username, "password": password}
        self._token: str | None = None

    def health(self) -> dict[str, Any]:
        """``GET /api/v2/monitor/health`` (no login needed); raises ApiError if unreachable."""
        return self._request(
            "GET", "/api/v2/monitor/health", auth=False, timeout=HEALTH_TIMEOUT_SECONDS
        )

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        if query:
            path = f"{path}?{urllib.parse.urlencode(query, doseq=True)}"
        return self._request("GET", path)

    def post(self, path: str, payload: Any) -> dict[str, Any]:
        return self._request("POST", path, payload=payload)

    def patch(self, path: str, payload: Any) -> dict[str, Any]:
        return self._request("PATCH", path, payload=payload)

    def put(self, path: str) -> dict[str, Any]:
        return self._request("PUT", path)

    def _login(self) -> str:
        # Simple auth manager: POST /auth/token with the user's name and password.
        body = self._request("POST", "/auth/token", auth=False, payload=self._credentials)
        return str(body["access_token"])

    def _request(
        self,
        method: str,
        path: str,
        auth: bool = True,
        payload: Any = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            self._token = self._token or self._login()
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:300]
            raise ApiError(f"{method} {path}: HTTP {err.code} {detail}", err.code) from None
        except (urllib.error.URLError, OSError) as err:
            raise ApiError(f"{method} {path}: {err}") from None
