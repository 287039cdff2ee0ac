"""Request-body decompression with confighttp's encodings, bounded so a small bomb cannot exhaust memory,
and gzip compression for the exporters."""

from __future__ import annotations

import zlib

import cramjam

# confighttp's default decoders (v0.142): "" gzip zstd zlib snappy deflate lz4
ENCODINGS = ("", "gzip", "zstd", "zlib", "snappy", "deflate", "lz4")


class DecompressError(Exception):
    """``header`` errors happen before the handler (upstream answers from the decompression middleware);
    others surface when the handler reads the body."""

    def __init__(self, message: str, header: bool = False) -> None:
        super().__init__(message)
        self.header = header


TOO_LARGE = "http: request body too large"


def _zlib_stream(data: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DecompressError(_zlib_message(str(exc))) from None
    if len(out) > limit:
        raise DecompressError(TOO_LARGE)
    if not d.eof:
        raise DecompressError("unexpected EOF")
    return out


def _zlib_message(text: str) -> str:
    # Go's compress/flate reports corrupt streams like this; the offset is not recoverable here.
    if "incorrect header check" in text or "unknown compression method" in text:
        return "zlib: invalid header"
    return "flate: corrupt input"


def _bounded(func_into: object, data: bytes, limit: int) -> bytes:
    out = bytearray(limit + 1)
    try:
        n = func_into(data, out)  # type: ignore[operator]
    except cramjam.DecompressionError as exc:
        raise DecompressError(str(exc)) from None
    if int(n) > limit:
        raise DecompressError(TOO_LARGE)
    return bytes(out[: int(n)])


def decompress(encoding: str, data: bytes, limit: int) -> bytes:
    """The decoded body; DecompressError with the message the collector would report."""
    if encoding == "":
        if len(data) > limit:
            raise DecompressError(TOO_LARGE)
        return data
    if encoding == "gzip":
        if len(data) < 2 or data[0] != 0x1F or data[1] != 0x8B:
            raise DecompressError("gzip: invalid header" if data else "EOF", header=True)
        return _zlib_stream(data, 16 + zlib.MAX_WBITS, limit)
    if encoding in ("zlib", "deflate"):
        if len(data) < 2:
            raise DecompressError("unexpected EOF" if data else "EOF", header=True)
        try:
            return _zlib_stream(data, zlib.MAX_WBITS, limit)
        except DecompressError as exc:
            if str(exc) == "zlib: invalid header":
                raise DecompressError(str(exc), header=True) from None
            raise
    if encoding == "snappy":
        # Upstream auto-detects the framed format by its stream header.
        if data[:10] == b"\xff\x06\x00\x00sNaPpY":
            return _bounded(cramjam.snappy.decompress_into, data, limit)
        try:
            size = int(cramjam.snappy.decompress_raw_len(data))
        except cramjam.DecompressionError as exc:
            raise DecompressError(str(exc)) from None
        if size > limit:
            raise DecompressError(TOO_LARGE)
        return _bounded(cramjam.snappy.decompress_raw_into, data, limit)
    if encoding == "zstd":
        return _bounded(cramjam.zstd.decompress_into, data, limit)
    if encoding == "lz4":
        return _bounded(cramjam.lz4.decompress_into, data, limit)
    raise DecompressError(f"unsupported Content-Encoding: {encoding}", header=True)


def gzip_compress(data: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return c.compress(data) + c.flush()
