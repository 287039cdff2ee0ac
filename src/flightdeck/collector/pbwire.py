"""Just enough of the protobuf wire format to assemble messages as bytes: the spanmetrics flush's OTLP
metrics and the prometheus protobuf exposition (``io.prometheus.client.MetricFamily``).

Building thousands of data points through the Python message API costs tens of microseconds each; the
flush instead concatenates pre-encoded pieces (each series' attributes are encoded once, bucket counts
come straight from numpy) and the result is parsed once by upb. Field numbers are read from the
generated descriptors so a proto change cannot silently break the layout.
"""

from __future__ import annotations

import struct

from google.protobuf.descriptor import Descriptor

_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_SFIXED64 = struct.Struct("<q")

WIRE_VARINT = 0
WIRE_I64 = 1
WIRE_LEN = 2


def varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def zigzag(value: int) -> int:
    """sint32/sint64 ZigZag encoding (Python ints are unbounded, so one shift serves both widths)."""
    return (value << 1) ^ (value >> 63)


def tag(number: int, wire: int) -> bytes:
    return varint((number << 3) | wire)


def field_number(descriptor: Descriptor, name: str) -> int:
    return int(descriptor.fields_by_name[name].number)


def len_field(tag_bytes: bytes, payload: bytes) -> bytes:
    return tag_bytes + varint(len(payload)) + payload


def double_field(tag_bytes: bytes, value: float) -> bytes:
    return tag_bytes + _DOUBLE.pack(value)


def fixed64_field(tag_bytes: bytes, value: int) -> bytes:
    return tag_bytes + _FIXED64.pack(value)


def sfixed64_field(tag_bytes: bytes, value: int) -> bytes:
    return tag_bytes + _SFIXED64.pack(value)


def varint_field(tag_bytes: bytes, value: int) -> bytes:
    return tag_bytes + varint(value)


def string_field(tag_bytes: bytes, value: str) -> bytes:
    data = value.encode("utf-8")
    return tag_bytes + varint(len(data)) + data
