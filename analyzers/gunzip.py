"""Streamed, bounded gunzip of trace files: bombs and non-trace content are refused early.

A gzip is read in chunks and inflated a bounded step at a time;
``gunzip_blocks`` hands each step on, so a caller can decode as it goes
without ever holding the whole text.  It is refused, with one line naming the
sizes, when
- the first non-space byte that comes out is not ``{`` or ``[`` (not a trace),
- the compression ratio so far is far beyond what traces reach (the reference
  traces compress 7-30x, a bomb ~1000x), judged once enough has come out,
- the gzip trailer or the output so far exceeds the memory available.
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import TraceLoadError

GZIP_MAGIC = b"\x1f\x8b"
SPACE_BYTES = b" \t\r\n"
TRACE_START_BYTES = (b"{", b"[")


@dataclass(frozen=True)
class GunzipLimits:
    """Bounds of one decompression (tests scale them down)."""

    chunk_bytes: int = 1 << 20  # compressed bytes read per step
    step_bytes: int = 16 << 20  # most decompressed bytes produced per step
    max_ratio: float = 200.0  # refuse beyond this decompressed / compressed ratio ...
    ratio_after_bytes: int = 64 << 20  # ... once this much has come out
    max_bytes: int | None = None  # None: the memory available when reading starts


DEFAULT_LIMITS = GunzipLimits()


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo, else free physical pages, else effectively unbounded."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # no /proc/meminfo (not Linux): the caller has a fallback
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def size_text(n_bytes: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as file managers show them)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} bytes"


def first_non_space(data: bytes | bytearray | memoryview, start: int = 0) -> bytes:
    """The first byte of ``data[start:]`` that is not JSON whitespace (b'' when none); no copy of ``data``."""
    view = memoryview(data)
    for pos in range(start, len(view), 4096):
        block = bytes(view[pos:pos + 4096]).lstrip(SPACE_BYTES)
        if block:
            return block[:1]
    return b""


def _trailer_size(fh: BinaryIO, compressed_bytes: int) -> int:
    """ISIZE of the last gzip member (uncompressed size mod 4 GiB): a lower bound of the output."""
    if compressed_bytes < 18:
        return 0
    here = fh.tell()
    fh.seek(compressed_bytes - 4)
    size = int.from_bytes(fh.read(4), "little")
    fh.seek(here)
    return size


class _Bounds:
    """The checks made after each decompression step."""

    def __init__(self, path: Path, limits: GunzipLimits, compressed_bytes: int) -> None:
        self.path, self.limits, self.compressed_bytes = path, limits, compressed_bytes
        self.max_bytes = limits.max_bytes if limits.max_bytes is not None else available_memory_bytes()
        self.start_checked = False

    def refuse(self, problem: str) -> None:
        raise TraceLoadError(self.path, problem)

    def check_trailer(self, expected_bytes: int) -> None:
        if expected_bytes > self.max_bytes:
            self.refuse(f"gzip of {size_text(self.compressed_bytes)} says it expands to {size_text(expected_bytes)}, "
                        f"more than the {size_text(self.max_bytes)} of memory available; refusing")

    def check(self, block: bytes | bytearray, n_out: int, consumed_bytes: int) -> None:
        """After a step: ``block`` the latest output, ``n_out`` all output so far."""
        if not self.start_checked and block:
            first = first_non_space(block)
            if first:
                self.start_checked = True
                if first not in TRACE_START_BYTES:
                    self.refuse(f"not a trace: the gzip content starts with {first!r}, expected '{{' or '['")
        if n_out > self.max_bytes:
            self.refuse(f"gzip of {size_text(self.compressed_bytes)} expands beyond {size_text(n_out)}, "
                        f"more than the {size_text(self.max_bytes)} of memory available; refusing")
        ratio = n_out / max(consumed_bytes, 1)
        if n_out >= self.limits.ratio_after_bytes and ratio > self.limits.max_ratio:
            self.refuse(f"gzip expands {ratio:.0f}x ({size_text(n_out)} from the first {size_text(consumed_bytes)} "
                        f"of {size_text(self.compressed_bytes)}); traces compress < {self.limits.max_ratio:.0f}x, "
                        "refusing a likely gzip bomb")


def gunzip_blocks(path: Path, fh: BinaryIO, limits: GunzipLimits = DEFAULT_LIMITS,
                  read_bytes: list[int] | None = None) -> Iterator[bytes]:
    """The decompressed content of the gzip open as ``fh``, a bounded step at a time, checked after each step.

    ``read_bytes[0]``, when given, follows the compressed bytes consumed (for progress).
    """
    compressed_bytes = os.fstat(fh.fileno()).st_size
    bounds = _Bounds(path, limits, compressed_bytes)
    bounds.check_trailer(_trailer_size(fh, compressed_bytes))
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    consumed = read_bytes if read_bytes is not None else [0]
    n_out = 0
    try:
        while chunk := fh.read(limits.chunk_bytes):
            consumed[0] += len(chunk)
            pending = chunk
            while pending:
                block = dec.decompress(pending, limits.step_bytes)
                pending = dec.unconsumed_tail
                if dec.eof:
                    pending = _next_member(path, dec.unused_data + pending)
                    if pending:
                        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
                n_out += len(block)
                bounds.check(block, n_out, consumed[0] - len(pending))
                if block:
                    yield block
        block = dec.flush()
    except zlib.error as exc:
        raise TraceLoadError(path, f"corrupt gzip data ({exc})") from None
    if not dec.eof:
        raise TraceLoadError(path, "truncated gzip file (unexpected end of data)")
    n_out += len(block)
    bounds.check(block, n_out, consumed[0])
    if block:
        yield block


def _next_member(path: Path, rest: bytes) -> bytes:
    """What follows a finished gzip member: another member, or nothing (zero padding is ignored)."""
    if not rest or not rest.strip(b"\0"):
        return b""
    if rest[:2] != GZIP_MAGIC and len(rest) >= 2:
        raise TraceLoadError(path, "corrupt gzip data (trailing garbage after the compressed data)")
    return rest
