"""One chunk of trace events -> compact columns (codes, floats, packed args, core args), and back together.

``decode_chunk`` turns the text of some whole events into an
:class:`EventChunk`: strings and labels as int32 codes with the chunk's own
distinct values, times as float64, each event's raw ``args`` packed into one
blob, and the core args already typed (``analyzers.core_args``).  Nothing
refers back to the text, so it can be dropped at once.  ``merge_chunks``
joins chunks in order into the columns of the whole trace, and
``to_frame``/``from_frame`` move a chunk between processes as plain bytes
(numpy buffers + a JSON header), never pickled objects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np

from . import core_args
from .coded_column import CodedColumn
from .packed_bytes import PackedBytes

_NAN = float("nan")
CODED_FIELDS = ("ph", "name", "cat", "pid", "tid", "id")


class Event(msgspec.Struct, gc=False):
    """The fields of one event that loading needs; ``args`` stays raw JSON."""

    ph: str = ""
    name: str = ""
    cat: str = ""
    pid: int | str = 0
    tid: int | str = 0
    ts: float = _NAN
    dur: float = 0.0
    id: int | str | None = None
    args: msgspec.Raw = msgspec.Raw()


_events_decoder = msgspec.json.Decoder(list[Event])
_any_decoder = msgspec.json.Decoder()


@dataclass
class EventChunk:
    """Columns of consecutive events (file order)."""

    ph: CodedColumn
    name: CodedColumn
    cat: CodedColumn
    pid: CodedColumn
    tid: CodedColumn
    id: CodedColumn
    ts: np.ndarray  # float64 us
    dur: np.ndarray  # float64 us
    args: PackedBytes
    core: dict[str, np.ndarray]  # core_args.typed_columns + "bad_ids" / "bad_any" flags
    dropped: int = 0  # entries that were not event objects

    def __len__(self) -> int:
        return len(self.ts)


def decode_chunk(text: bytes) -> EventChunk:
    """Columns of the events in ``text`` (``{..}, {..}``); msgspec.DecodeError if it is not valid JSON."""
    blob = b"[" + text + b"]"
    try:
        events = _events_decoder.decode(blob)
    except msgspec.ValidationError:
        return from_dicts(_any_decoder.decode(blob))
    return from_structs(events)


def from_structs(events: list[Event]) -> EventChunk:
    """Columns of typed events."""
    n = len(events)

    def coded(attr: str) -> CodedColumn:
        return CodedColumn.of(np.fromiter(map(attrgetter(attr), events), dtype=object, count=n))

    raws = list(map(attrgetter("args"), events))
    return EventChunk(
        ph=coded("ph"), name=coded("name"), cat=coded("cat"), pid=coded("pid"), tid=coded("tid"), id=coded("id"),
        ts=np.fromiter(map(attrgetter("ts"), events), dtype=np.float64, count=n),
        dur=np.fromiter(map(attrgetter("dur"), events), dtype=np.float64, count=n),
        args=PackedBytes.pack_raw(raws), core=_core(raws),
    )


def _core(raws: list[Any]) -> dict[str, np.ndarray]:
    cols, bad_ids, bad_any = core_args.decode_core(raws)
    out = core_args.typed_columns(cols)
    out["bad_ids"], out["bad_any"] = bad_ids, bad_any
    return out


# ----------------------------------------------------------------------------- lenient (odd producers)
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


def from_dicts(events: list[Any]) -> EventChunk:
    """Columns of generically decoded events, coercing each field: odd values become defaults, non-objects drop."""
    cols: dict[str, list[Any]] = {f: [] for f in ("ph", "name", "cat", "pid", "tid", "ts", "dur", "id", "args")}
    dropped = 0
    encode = msgspec.json.encode
    for ev in events:
        if not isinstance(ev, dict):
            dropped += 1
            continue
        ph, name, cat, ident, args = ev.get("ph"), ev.get("name", ""), ev.get("cat", ""), ev.get("id"), ev.get("args")
        cols["ph"].append(ph if isinstance(ph, str) else "")
        cols["name"].append(name if isinstance(name, str) else str(name)[:200])
        cols["cat"].append(cat if isinstance(cat, str) else str(cat)[:64])
        cols["pid"].append(_label(ev.get("pid", 0)))
        cols["tid"].append(_label(ev.get("tid", 0)))
        cols["ts"].append(_num(ev.get("ts"), _NAN))
        cols["dur"].append(_num(ev.get("dur", 0.0), _NAN))
        cols["id"].append(ident if isinstance(ident, (int, str)) and not isinstance(ident, bool) else None)
        cols["args"].append(encode(args) if isinstance(args, dict) else b"")
    coded = {f: CodedColumn.of(cols[f]) if cols[f] else CodedColumn(np.empty(0, dtype=np.int32), [])
             for f in CODED_FIELDS}
    return EventChunk(**coded, ts=np.asarray(cols["ts"], dtype=np.float64),
                      dur=np.asarray(cols["dur"], dtype=np.float64), args=PackedBytes.pack_raw(cols["args"]),
                      core=_core(cols["args"]), dropped=dropped)


# ----------------------------------------------------------------------------- joining
def merge_chunks(chunks: list[EventChunk]) -> EventChunk:
    """One chunk with the rows of all, in order (codes re-mapped to shared distinct values)."""
    if not chunks:
        return from_dicts([])
    if len(chunks) == 1:
        return chunks[0]
    coded = {f: CodedColumn.concat([getattr(c, f) for c in chunks]) for f in CODED_FIELDS}
    return EventChunk(
        **coded, ts=np.concatenate([c.ts for c in chunks]), dur=np.concatenate([c.dur for c in chunks]),
        args=PackedBytes.concat([c.args for c in chunks]),
        core={k: np.concatenate([c.core[k] for c in chunks]) for k in chunks[0].core},
        dropped=sum(c.dropped for c in chunks),
    )


# ----------------------------------------------------------------------------- between processes
_ARRAY_FIELDS = ("ts", "dur")


def to_frame(chunk: EventChunk) -> bytes:
    """The chunk as bytes: a JSON header (dtypes, sizes, distinct values) then the raw array buffers."""
    arrays: list[tuple[str, np.ndarray]] = [(f"{f}.codes", getattr(chunk, f).codes) for f in CODED_FIELDS]
    arrays += [(f, getattr(chunk, f)) for f in _ARRAY_FIELDS]
    arrays += [("args.blob", chunk.args.blob), ("args.offsets", chunk.args.offsets),
               ("args.present", chunk.args.present)]
    arrays += [(f"core.{k}", v) for k, v in chunk.core.items()]
    header = msgspec.json.encode({
        "arrays": [[name, a.dtype.str, len(a)] for name, a in arrays],
        "uniques": {f: getattr(chunk, f).uniques for f in CODED_FIELDS},
        "dropped": chunk.dropped,
    })
    parts = [len(header).to_bytes(8, "little"), header] + [np.ascontiguousarray(a).tobytes() for _, a in arrays]
    return b"".join(parts)


def from_frame(frame: bytes) -> EventChunk:
    """The chunk that ``to_frame`` wrote (arrays copied out of the frame)."""
    size = int.from_bytes(frame[:8], "little")
    header = msgspec.json.decode(frame[8:8 + size])
    pos = 8 + size
    arrays: dict[str, np.ndarray] = {}
    for name, dtype, count in header["arrays"]:
        dt = np.dtype(dtype)
        arrays[name] = np.frombuffer(frame, dtype=dt, count=count, offset=pos).copy()
        pos += dt.itemsize * count
    coded = {f: CodedColumn(arrays[f"{f}.codes"], header["uniques"][f]) for f in CODED_FIELDS}
    core = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("core.")}
    return EventChunk(**coded, ts=arrays["ts"], dur=arrays["dur"],
                      args=PackedBytes(arrays["args.blob"], arrays["args.offsets"], arrays["args.present"]),
                      core=core, dropped=header["dropped"])


__all__ = ["Event", "EventChunk", "decode_chunk", "from_structs", "from_dicts", "merge_chunks", "to_frame",
           "from_frame"]
