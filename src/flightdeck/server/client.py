"""The CLI's side of the control API: finds the running server through its state directory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from flightdeck.cli.errors import UserError
from flightdeck.server.state import StateDir

Obj = dict[str, Any]


class ControlClient:
    def __init__(self, state: StateDir, *, timeout: float = 30.0) -> None:
        self.state = state
        url = state.endpoints().get("api")
        if not url or state.server_pid() is None:
            raise UserError(
                f"no flightdeck server is running for state directory {state.path} "
                "(start one with `flightdeck up`, or pass --state-dir)",
                exit_code=1,
            )
        self.url = url
        token = state.token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise UserError(f"cannot reach the flightdeck server at {self.url}: {exc}", exit_code=1) from None
        if response.status_code >= 400:
            try:
                message = response.json().get("error") or response.text
            except ValueError:
                message = response.text
            raise UserError(f"Error from server: {message}", exit_code=1)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(method, path, **kwargs).json()

    def text(self, path: str) -> str:
        return self._call("GET", path).text

    def stream(self, path: str, params: dict[str, str]) -> Iterator[bytes]:
        try:
            with self._http.stream("GET", path, params=params, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    try:
                        message = response.json().get("error") or response.text
                    except ValueError:
                        message = response.text
                    raise UserError(f"Error from server: {message}", exit_code=1)
                yield from response.iter_bytes()
        except httpx.TransportError as exc:
            raise UserError(f"cannot reach the flightdeck server at {self.url}: {exc}", exit_code=1) from None
