"""A local source for ``secretKeyRef`` args: Secret manifests read from files."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from flightdeck.analysis.args import ArgumentError
from flightdeck.kube.manifest import Manifest, ManifestError


class SecretStore:
    """Secrets by (namespace, name); looked up with Argo's error texts."""

    def __init__(self) -> None:
        self._secrets: dict[tuple[str, str], dict[str, str]] = {}

    def add(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self._secrets[(namespace, name)] = dict(data)

    @classmethod
    def from_manifests(cls, manifests: Iterable[Manifest], default_namespace: str = "default") -> SecretStore:
        store = cls()
        for manifest in manifests:
            if manifest.kind != "Secret":
                continue
            values: dict[str, str] = {}
            for key, encoded in (manifest.obj.get("data") or {}).items():
                try:
                    values[str(key)] = base64.b64decode(str(encoded), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    raise manifest.error(("data", str(key)), "illegal base64 data") from None
            for key, text in (manifest.obj.get("stringData") or {}).items():
                values[str(key)] = str(text)
            store.add(manifest.namespace or default_namespace, manifest.name, values)
        return store

    def __call__(self, namespace: str, name: str, key: str) -> str:
        secret = self._secrets.get((namespace, name))
        if secret is None:
            raise ArgumentError(f'secrets "{name}" not found')
        if key not in secret:
            raise ArgumentError(f"key '{key}' does not exist in secret '{name}'")
        return secret[key]


__all__ = ["ManifestError", "SecretStore"]
