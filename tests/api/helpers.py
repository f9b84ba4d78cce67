"""API test helpers: a token per user and a client that sends it."""

from __future__ import annotations

from typing import Any

from django.test import Client

from api.models import create_token

BASE = "/api/v1"


class ApiClient:
    """Django's test client speaking JSON with a bearer token (no session, no cookies)."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        url = path if path.startswith("/api/") else BASE + path
        call = getattr(self.client, method)
        if method in ("get", "delete"):
            if params:
                from urllib.parse import urlencode

                url += "?" + urlencode(params)
            return call(url, headers=self.headers)
        return call(url, data=body if body is not None else {}, content_type="application/json", headers=self.headers)

    def get(self, path: str, **params: Any) -> Any:
        return self._call("get", path, **params)

    def post(self, path: str, body: Any = None) -> Any:
        return self._call("post", path, body)

    def put(self, path: str, body: Any = None) -> Any:
        return self._call("put", path, body)

    def delete(self, path: str, **params: Any) -> Any:
        return self._call("delete", path, **params)


def api_client(user: Any, name: str | None = None) -> ApiClient:
    if user is None:
        return ApiClient(None)
    _token, secret = create_token(name=name or f"test-{user.username}", user=user)
    return ApiClient(secret)
