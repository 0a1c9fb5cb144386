"""Decode Kineto / Chrome-trace JSON bytes into plain per-field lists.

The fast path decodes straight into msgspec structs, keeping each event's
``args`` as raw JSON (decoded later, only where needed).  When a file has
wrongly typed fields the lenient path decodes generic JSON and coerces event
by event, dropping what cannot be used and counting it.
"""
from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from .errors import TraceLoadError
from .gunzip import first_non_space

_NAN = float("nan")


class _Event(msgspec.Struct, gc=False):
    ph: str = ""
    name: str = ""
    cat: str = ""
    pid: int | str = 0
    tid: int | str = 0
    ts: float = _NAN
    dur: float = 0.0
    id: int | str | None = None
    args: msgspec.Raw = msgspec.Raw()


class _Doc(msgspec.Struct, gc=False):
    traceEvents: list[_Event] | None = None
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


_META_KEYS = tuple(f for f in _Doc.__struct_fields__ if f != "traceEvents")
_doc_decoder = msgspec.json.Decoder(_Doc)
_list_decoder = msgspec.json.Decoder(list[_Event])
_any_decoder = msgspec.json.Decoder()


@dataclass
class RawEvents:
    """Per-field columns of every event, in file order, plus top-level metadata.

    ``ts`` and ``dur`` are float64 arrays (microseconds); the others are object
    arrays (or lists while the lenient path builds them).
    """

    ph: Any
    name: Any
    cat: Any
    pid: Any
    tid: Any
    ts: Any
    dur: Any
    id: Any
    args: Any  # msgspec.Raw / bytes / None per event
    metadata: dict[str, Any] = field(default_factory=dict)
    dropped: int = 0  # events that were not JSON objects or lacked usable fields

    def __len__(self) -> int:
        return len(self.ph)

    @classmethod
    def empty(cls) -> "RawEvents":
        """No events at all (e.g. a run bundle whose workload failed before tracing)."""
        return _to_columns(cls([], [], [], [], [], [], [], [], []))


def decode_trace_json(path: Path, data: bytes | bytearray) -> RawEvents:
    """Decode the JSON of one trace file; raise TraceLoadError with a one-line reason."""
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
        return _from_structs(_list_decoder.decode(data), {})
    doc = _doc_decoder.decode(data)
    if doc.traceEvents is None:
        raise TraceLoadError(path, "JSON object has no 'traceEvents' list: not a PyTorch profiler trace")
    meta = {k: getattr(doc, k) for k in _META_KEYS if getattr(doc, k) is not None}
    return _from_structs(doc.traceEvents, meta)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200]


def _column(events: list[Any], attr: str, dtype: Any = object) -> np.ndarray:
    """One field of every struct as a numpy array, in one pass."""
    return np.fromiter(map(attrgetter(attr), events), dtype=dtype, count=len(events))


def _from_structs(events: list[_Event], meta: dict[str, Any]) -> RawEvents:
    n = len(events)
    return RawEvents(
        ph=_column(events, "ph"),
        name=_column(events, "name"),
        cat=_column(events, "cat"),
        pid=_column(events, "pid"),
        tid=_column(events, "tid"),
        ts=_column(events, "ts", np.float64),
        dur=_column(events, "dur", np.float64),
        id=_column(events, "id"),
        args=np.fromiter((a if len(a) else None for a in map(attrgetter("args"), events)), dtype=object, count=n),
        metadata=meta,
    )


def _to_columns(out: RawEvents) -> RawEvents:
    """Lists built by the lenient path -> the same array columns as the fast path."""
    for name in ("ph", "name", "cat", "pid", "tid", "id", "args"):
        values = getattr(out, name)
        setattr(out, name, np.fromiter(values, dtype=object, count=len(values)))
    out.ts = np.asarray(out.ts, dtype=np.float64)
    out.dur = np.asarray(out.dur, dtype=np.float64)
    return out


def _num(value: Any, default: float) -> float:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        f = float(value)
        return f if math.isfinite(f) else default
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return default
        return f if math.isfinite(f) else default
    return default


def _label(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return "?" if value is None else str(value)[:64]


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
    out = RawEvents([], [], [], [], [], [], [], [], [], meta)
    encode = msgspec.json.encode
    for ev in events:
        if not isinstance(ev, dict):
            out.dropped += 1
            continue
        ph = ev.get("ph")
        out.ph.append(ph if isinstance(ph, str) else "")
        name = ev.get("name", "")
        out.name.append(name if isinstance(name, str) else str(name)[:200])
        cat = ev.get("cat", "")
        out.cat.append(cat if isinstance(cat, str) else str(cat)[:64])
        out.pid.append(_label(ev.get("pid", 0)))
        out.tid.append(_label(ev.get("tid", 0)))
        out.ts.append(_num(ev.get("ts"), _NAN))
        out.dur.append(_num(ev.get("dur", 0.0), _NAN))
        ident = ev.get("id")
        out.id.append(ident if isinstance(ident, (int, str)) and not isinstance(ident, bool) else None)
        args = ev.get("args")
        out.args.append(encode(args) if isinstance(args, dict) else None)
    return _to_columns(out)
