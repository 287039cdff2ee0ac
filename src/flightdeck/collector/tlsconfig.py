"""``configtls.ClientConfig`` (the keys; flightdeck acts on insecure, CA and client certificates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class TLSClientConfig:
    ca_file: str = ""
    ca_pem: str = ""
    include_system_ca_certs_pool: bool = False
    cert_file: str = ""
    cert_pem: str = ""
    key_file: str = ""
    key_pem: str = ""
    min_version: str = ""
    max_version: str = ""
    cipher_suites: list[str] = field(default_factory=list)
    reload_interval: Any = None
    curve_preferences: list[str] = field(default_factory=list)
    tpm: Any = None
    insecure: bool = False
    insecure_skip_verify: bool = False
    server_name_override: str = ""

    def read(self, path_field: str, pem_field: str) -> bytes | None:
        pem: str = getattr(self, pem_field)
        if pem:
            return pem.encode()
        path: str = getattr(self, path_field)
        if path:
            with open(path, "rb") as fh:
                return fh.read()
        return None
