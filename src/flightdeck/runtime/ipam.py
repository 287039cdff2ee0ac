"""Loopback address allocation: every pod gets its own 127.10.x.y (Linux routes all of 127/8 to ``lo``).

Addresses are handed out in order and wrap around, so a released address is not reused at once (a client that
still holds a connection to a deleted pod's address gets "connection refused", not a stranger).
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable


class AddressesExhausted(Exception):
    """Every loopback address of the pool is in use."""


class LoopbackPool:
    """Addresses ``prefix.x.y`` with x in 0..255 and y in 1..254 (no .0/.255 hosts, to avoid surprises)."""

    def __init__(self, prefix: str = "127.10", in_use: Iterable[str] = ()) -> None:
        base = ipaddress.IPv4Address(f"{prefix}.0.0")
        self._base = int(base)
        self._prefix = prefix
        self._used: set[int] = set()
        self._next = 0
        self._lock = threading.Lock()
        for ip in in_use:
            self.reserve(ip)

    def _ip(self, offset: int) -> str:
        return str(ipaddress.IPv4Address(self._base + offset))

    @staticmethod
    def _valid(offset: int) -> bool:
        low = offset & 0xFF
        return 0 < low < 255 and 0 <= offset < 1 << 16

    def contains(self, ip: str) -> bool:
        try:
            offset = int(ipaddress.IPv4Address(ip)) - self._base
        except ipaddress.AddressValueError:
            return False
        return self._valid(offset)

    def reserve(self, ip: str) -> None:
        """Mark an address taken (pods found again after a restart)."""
        if not self.contains(ip):
            raise ValueError(f"{ip} is not in {self._prefix}.0.0/16")
        with self._lock:
            self._used.add(int(ipaddress.IPv4Address(ip)) - self._base)

    def allocate(self) -> str:
        with self._lock:
            for step in range(1 << 16):
                offset = (self._next + step) % (1 << 16)
                if self._valid(offset) and offset not in self._used:
                    self._used.add(offset)
                    self._next = offset + 1
                    return self._ip(offset)
        raise AddressesExhausted(f"no free address left in {self._prefix}.0.0/16")

    def release(self, ip: str) -> None:
        if not self.contains(ip):
            return
        with self._lock:
            self._used.discard(int(ipaddress.IPv4Address(ip)) - self._base)

    def __len__(self) -> int:
        return len(self._used)
