"""Running one probe against a pod on this node (blocking; the node runs probes on worker threads).

Outcomes carry the prober's messages (``HTTP probe failed with statuscode: 503``, Go's dial errors), which the
node puts in ``Unhealthy`` events.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flightdeck.runtime.probes import ProbeSpec

USER_AGENT = "kube-probe/1.34"
_MAX_BODY = 10 * 1024
_HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    ok: bool
    message: str = ""


@dataclass(frozen=True, slots=True)
class ExecContext:
    """How to run an ``exec`` probe like the container's own processes."""

    env: Mapping[str, str]
    cwd: str
    argv: Sequence[str]  # the probe command with volume paths mapped


def _host(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _dial_error(host: str, port: int, exc: BaseException) -> str:
    target = f"dial tcp {_host(host, port)}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"{target}: i/o timeout"
    if isinstance(exc, ConnectionRefusedError):
        return f"{target}: connect: connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{target}: connect: {exc.strerror.lower()}"
    return f"{target}: {exc}"


def http_probe(spec: ProbeSpec, pod_ip: str) -> ProbeOutcome:
    host = spec.host or pod_ip
    scheme = "https" if spec.scheme == "HTTPS" else "http"
    url = f"{scheme}://{_host(host, spec.port)}{spec.path}"
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
    for name, value in spec.headers:
        headers[name] = value  # user headers override the defaults, Host included
    conn: http.client.HTTPConnection
    if scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the kubelet does not verify probe certificates
        conn = http.client.HTTPSConnection(host, spec.port, timeout=spec.timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, spec.port, timeout=spec.timeout)
    try:
        try:
            conn.connect()
        except OSError as exc:
            if isinstance(exc, socket.timeout | TimeoutError):
                return ProbeOutcome(
                    False,
                    f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
                )
            return ProbeOutcome(False, f'Get "{url}": {_dial_error(host, spec.port, exc)}')
        try:
            conn.request("GET", spec.path, headers=headers)
            response = conn.getresponse()
            response.read(_MAX_BODY)
        except TimeoutError:
            return ProbeOutcome(
                False,
                f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            )
        except (OSError, http.client.HTTPException) as exc:
            return ProbeOutcome(False, f'Get "{url}": {exc or type(exc).__name__}')
    finally:
        conn.close()
    if 200 <= response.status < 400:
        return ProbeOutcome(True)
    return ProbeOutcome(False, f"HTTP probe failed with statuscode: {response.status}")


def tcp_probe(spec: ProbeSpec, pod_ip: str) -> ProbeOutcome:
    host = spec.host or pod_ip
    try:
        with socket.create_connection((host, spec.port), timeout=spec.timeout):
            return ProbeOutcome(True)
    except OSError as exc:
        return ProbeOutcome(False, _dial_error(host, spec.port, exc))


def exec_probe(spec: ProbeSpec, ctx: ExecContext) -> ProbeOutcome:
    try:
        proc = subprocess.Popen(
            list(ctx.argv),
            env=dict(ctx.env),
            cwd=ctx.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return ProbeOutcome(False, f'exec: "{ctx.argv[0]}": {exc.strerror}')
    try:
        output, _ = proc.communicate(timeout=spec.timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return ProbeOutcome(False, f'command "{" ".join(spec.command)}" timed out')
    text = output.decode("utf-8", "replace")
    if proc.returncode == 0:
        return ProbeOutcome(True, text)
    return ProbeOutcome(False, text)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    return value, pos


def grpc_probe(spec: ProbeSpec, pod_ip: str) -> ProbeOutcome:
    """``grpc.health.v1.Health/Check`` with hand-encoded messages (one string field, one enum field)."""
    import grpc

    target = _host(pod_ip, spec.port)
    service = spec.grpc_service.encode()
    request = (b"\x0a" + bytes([len(service)]) + service) if service else b""
    with grpc.insecure_channel(target) as channel:
        call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary("/grpc.health.v1.Health/Check")
        try:
            reply = call(request, timeout=spec.timeout)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return ProbeOutcome(False, f"timeout: health rpc did not complete within {spec.timeout:g}s")
            if code == grpc.StatusCode.UNAVAILABLE:
                return ProbeOutcome(
                    False, f'timeout: failed to connect service "{target}" within {spec.timeout:g}s'
                )
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            return ProbeOutcome(False, f"error: health rpc probe failed: {details}")
    status = 0
    pos = 0
    data = bytes(reply)
    while pos < len(data):
        key, pos = _varint(data, pos)
        if key == 0x08:
            status, pos = _varint(data, pos)
        else:
            break
    if status == 1:
        return ProbeOutcome(True)
    return ProbeOutcome(False, f'service unhealthy (responded with "{_HEALTH_STATUS.get(status, status)}")')


def run_probe(spec: ProbeSpec, pod_ip: str, exec_ctx: ExecContext | None) -> ProbeOutcome:
    if spec.action == "httpGet":
        return http_probe(spec, pod_ip)
    if spec.action == "tcpSocket":
        return tcp_probe(spec, pod_ip)
    if spec.action == "grpc":
        return grpc_probe(spec, pod_ip)
    assert exec_ctx is not None
    return exec_probe(spec, exec_ctx)
