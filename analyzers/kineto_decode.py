"""Decode Kineto / Chrome-trace JSON into per-field columns (:class:`RawEvents`).

A file is streamed: read (or gunzipped) a block at a time, split into chunks
of whole events (``analyzers.event_chunks``), each chunk decoded to compact
columns (``analyzers.chunk_columns``; in worker processes for big files) and
the chunks joined, so the whole JSON text is never held.  A document laid out
otherwise is decoded whole.  Either way the fast path decodes straight into
msgspec structs, keeping each event's ``args`` as raw JSON; a chunk (or
document) with wrongly typed fields is decoded generically and coerced event
by event, dropping what cannot be used and counting it.
"""
from __future__ import annotations

import gc
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator

import msgspec

from .chunk_columns import Event, EventChunk, from_dicts, from_structs, merge_chunks
from .chunk_pool import decode_chunks
from .errors import TraceLoadError
from .event_chunks import EventChunker, Unchunkable
from .gunzip import DEFAULT_LIMITS, GunzipLimits, first_non_space
from .trace_files import TraceBlocks, read_trace_bytes


class _Doc(msgspec.Struct, gc=False):
    traceEvents: list[Event] | None = None
    deviceProperties: Any = None
    distributedInfo: Any = None
    schemaVersion: Any = None
    baseTimeNanoseconds: Any = None
    displayTimeUnit: Any = None
    traceName: Any = None
    record_shapes: Any = None
    profile_memory: Any = None
    with_stack: Any = None
    cupti_version: Any = None
    cuda_runtime_version: Any = None
    cuda_driver_version: Any = None
    host_name: Any = None
    trace_id: Any = None


#: text per chunk of events: small enough to spread over workers and bound memory, big enough to amortize calls
CHUNK_BYTES = 4 << 20
_META_KEYS = tuple(f for f in _Doc.__struct_fields__ if f != "traceEvents")
_doc_decoder = msgspec.json.Decoder(_Doc)
_list_decoder = msgspec.json.Decoder(list[Event])
_any_decoder = msgspec.json.Decoder()


@dataclass
class RawEvents(EventChunk):
    """Columns of every event, in file order (see EventChunk), plus the trace's top-level metadata."""

    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, chunk: EventChunk, metadata: dict[str, Any]) -> "RawEvents":
        return cls(**{f.name: getattr(chunk, f.name) for f in fields(EventChunk)}, metadata=metadata)

    @classmethod
    def empty(cls) -> "RawEvents":
        """No events at all (e.g. a run bundle whose workload failed before tracing)."""
        return cls.of(from_dicts([]), {})


def decode_trace_file(path: Path, limits: GunzipLimits = DEFAULT_LIMITS, workers: int = 1,
                      progress: Callable[[float], None] | None = None, chunk_bytes: int = CHUNK_BYTES) -> RawEvents:
    """Decode one trace file, streamed chunk by chunk (in ``workers`` processes when > 1).

    Falls back to decoding the whole document when its layout is not split-able
    or a chunk is not valid JSON (the whole-document decoder names the error).
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small objects: the collector would only slow us down
    try:
        try:
            try:
                return _streamed(path, limits, workers, progress, chunk_bytes)
            except BrokenProcessPool:  # a worker died (e.g. killed for memory): once more, here
                return _streamed(path, limits, 1, progress, chunk_bytes)
        except (Unchunkable, msgspec.DecodeError, RecursionError, UnicodeDecodeError):
            pass  # not a layout we split, or bad JSON: the whole-document path decides (and names any error)
    finally:
        if gc_was_enabled:
            gc.enable()
    return decode_trace_json(path, read_trace_bytes(path, limits))


def _streamed(path: Path, limits: GunzipLimits, workers: int, progress: Callable[[float], None] | None,
              chunk_bytes: int) -> RawEvents:
    blocks = TraceBlocks(path, limits, block_bytes=max(chunk_bytes, 1 << 16))
    chunker = EventChunker(_Doc, chunk_bytes)
    texts = chunker.chunks(blocks)
    if progress:
        texts = _reporting(texts, blocks, progress)
    chunks = decode_chunks(texts, workers)
    return RawEvents.of(merge_chunks(chunks), _metadata(chunker.meta))


def _reporting(texts: Iterator[bytes], blocks: TraceBlocks, progress: Callable[[float], None]) -> Iterator[bytes]:
    for text in texts:
        progress(blocks.fraction_read())
        yield text


def decode_trace_json(path: Path, data: bytes | bytearray) -> RawEvents:
    """Decode the JSON of one whole trace document; raise TraceLoadError with a one-line reason."""
    first = first_non_space(data)  # no copy of a 1 GB buffer
    if first not in (b"{", b"["):
        raise TraceLoadError(path, "not JSON (expected an object or a list of events)")
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small objects: the collector would only slow us down
    try:
        try:
            return _typed(path, data, first)
        except msgspec.ValidationError:
            return _lenient(path, data)
    except msgspec.DecodeError as exc:
        raise TraceLoadError(path, f"invalid JSON: {_short(exc)}") from None
    except RecursionError:
        raise TraceLoadError(path, "JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise TraceLoadError(path, "invalid UTF-8 in JSON text") from None
    finally:
        if gc_was_enabled:
            gc.enable()


def _typed(path: Path, data: bytes, first: bytes) -> RawEvents:
    """The fast path: typed decode straight into structs."""
    if first == b"[":
        return RawEvents.of(from_structs(_list_decoder.decode(data)), {})
    doc = _doc_decoder.decode(data)
    if doc.traceEvents is None:
        raise TraceLoadError(path, "JSON object has no 'traceEvents' list: not a PyTorch profiler trace")
    return RawEvents.of(from_structs(doc.traceEvents), _metadata(doc))


def _metadata(doc: _Doc) -> dict[str, Any]:
    """The top-level keys (other than the events) that the trace has."""
    return {k: getattr(doc, k) for k in _META_KEYS if getattr(doc, k) is not None}


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200]


def _lenient(path: Path, data: bytes) -> RawEvents:
    """Generic decode, then coerce each event; odd fields become defaults."""
    doc = _any_decoder.decode(data)
    if isinstance(doc, dict):
        events = doc.get("traceEvents")
        if not isinstance(events, list):
            raise TraceLoadError(path, "JSON object has no 'traceEvents' list: not a PyTorch profiler trace")
        meta = {k: doc[k] for k in _META_KEYS if doc.get(k) is not None}
    elif isinstance(doc, list):
        events, meta = doc, {}
    else:
        raise TraceLoadError(path, "not a trace (expected an object or a list of events)")
    return RawEvents.of(from_dicts(events), meta)
