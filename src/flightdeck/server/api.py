"""The control API the CLI talks to: JSON over loopback HTTP, bearer token for anything that mutates.

Routes (all JSON unless noted):

    GET    /healthz
    GET    /metrics                                kube-state-metrics-compatible series (text/plain)
    GET    /api/v1/sd/pods                         the pods as Prometheus HTTP service discovery
    GET    /api/v1/summary                         apps, rollouts, endpoints
    GET    /api/v1/objects/{kind}[?namespace=&selector=]
    GET    /api/v1/objects/{kind}/{namespace}/{name}
    POST   /api/v1/apply                           {"objects": [...]}        -> {"results": ["kind/name created", ...]}
    DELETE /api/v1/objects/{kind}/{namespace}/{name}
    POST   /api/v1/rollouts/{namespace}/{name}/{action}   {"full": bool, "revision": int, "image": "c=img"}
    GET    /api/v1/rollouts/{namespace}/{name}/tree       text/plain
    GET    /api/v1/logs/{namespace}/{pod}?container=&previous=&follow=   text/plain (chunked when following)
    POST   /api/v1/applications/{name}/refresh

The routes call a :class:`ControlPlane`; it raises :class:`ApiError` for anything the user should
read, and the API turns that into ``{"error": message}`` with the status code.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

Obj = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ControlPlane(Protocol):
    def summary(self) -> Obj: ...
    def list_objects(self, kind: str, namespace: str | None, selector: str | None) -> list[Obj]: ...
    def get_object(self, kind: str, namespace: str, name: str) -> Obj: ...
    def apply_objects(self, objects: list[Obj]) -> list[str]: ...
    def delete_object(self, kind: str, namespace: str, name: str) -> str: ...
    def rollout_action(self, namespace: str, name: str, action: str, params: Obj) -> str: ...
    def rollout_tree(self, namespace: str, name: str) -> str: ...
    def read_logs(
        self, namespace: str, pod: str, container: str | None, previous: bool, follow: bool
    ) -> Iterator[bytes]: ...
    def refresh_application(self, name: str) -> str: ...
    def kube_state_metrics(self) -> str: ...
    def pod_targets(self) -> list[Obj]: ...


MAX_BODY = 16 * 1024 * 1024


class ControlAPI:
    """Serves a :class:`ControlPlane` on ``host:port`` in a background thread."""

    def __init__(self, plane: ControlPlane, token: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.plane = plane
        self.token = token
        handler = type("Handler", (_Handler,), {"api": self})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="control-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    api: ControlAPI
    protocol_version = "HTTP/1.1"
    server_version = "flightdeck"

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: the CLI's calls would drown the server's own output."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            body = self._body() if method == "POST" else {}
            if method != "GET":
                self._authorise()
            self._route(method, parts, query, body)
        except ApiError as exc:
            self._json(exc.status, {"error": exc.message})
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away (Ctrl-C on `logs -f`); nothing to answer
        except Exception as exc:  # the API stays up; the caller sees what went wrong
            self._json(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})

    def _authorise(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), self.api.token):
            raise ApiError(401, "unauthorized: this call needs the token in the server's state directory")

    def _body(self) -> Obj:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(413, f"request body too large ({length} bytes)")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"invalid JSON body: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return data

    def _route(self, method: str, parts: list[str], query: dict[str, str], body: Obj) -> None:
        plane = self.api.plane
        if parts == ["healthz"]:
            self._json(200, {"status": "ok"})
            return
        if parts == ["metrics"] and method == "GET":
            self._text(200, plane.kube_state_metrics(), "text/plain; version=0.0.4; charset=utf-8")
            return
        if parts == ["api", "v1", "sd", "pods"] and method == "GET":
            self._json(200, plane.pod_targets())
            return
        if len(parts) < 3 or parts[:2] != ["api", "v1"]:
            raise ApiError(404, f"no such route: {method} {self.path}")
        rest = parts[2:]
        head = rest[0]
        if head == "summary" and method == "GET":
            self._json(200, plane.summary())
        elif head == "objects" and method == "GET" and len(rest) == 2:
            items = plane.list_objects(rest[1], query.get("namespace"), query.get("selector"))
            self._json(200, {"items": items})
        elif head == "objects" and method == "GET" and len(rest) == 4:
            self._json(200, plane.get_object(rest[1], rest[2], rest[3]))
        elif head == "objects" and method == "DELETE" and len(rest) == 4:
            self._json(200, {"result": plane.delete_object(rest[1], rest[2], rest[3])})
        elif head == "apply" and method == "POST":
            objects = body.get("objects")
            if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
                raise ApiError(400, 'the body needs "objects": a list of Kubernetes objects')
            self._json(200, {"results": plane.apply_objects(objects)})
        elif head == "rollouts" and len(rest) == 4 and rest[3] == "tree" and method == "GET":
            self._text(200, plane.rollout_tree(rest[1], rest[2]))
        elif head == "rollouts" and len(rest) == 4 and method == "POST":
            self._json(200, {"result": plane.rollout_action(rest[1], rest[2], rest[3], body)})
        elif head == "logs" and len(rest) == 3 and method == "GET":
            follow = query.get("follow") in ("1", "true")
            chunks = plane.read_logs(
                rest[1], rest[2], query.get("container"), query.get("previous") in ("1", "true"), follow
            )
            self._stream(chunks)
        elif head == "applications" and len(rest) == 3 and rest[2] == "refresh" and method == "POST":
            self._json(200, {"result": plane.refresh_application(rest[1])})
        else:
            raise ApiError(404, f"no such route: {method} {self.path}")

    def _json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _text(self, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, chunks: Iterator[bytes]) -> None:
        # The first chunk is produced before the headers, so a missing pod is still a clean 404.
        first = next(chunks, b"")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in _prepend(first, chunks):
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
