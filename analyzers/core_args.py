"""The few ``args`` every analysis needs (ids, device, stream, kernel launch figures), decoded to typed columns.

One strict msgspec decode per chunk of events reads every event's args into
float fields; encoding those structs as MessagePack gives fixed-size records
(every float is 9 bytes) that numpy views as columns in one step, instead of
one Python attribute read per field per event.  Rows whose values are oddly
typed (hex strings, booleans, huge ints) are redone one by one leniently and
flagged.  Grid and block sizes vary in length, so they are decoded apart, only
for device rows (``decode_dims``).
"""
from __future__ import annotations

import math
import re
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np

from .packed_bytes import json_array
from .trace_model import NO_ID

CORE_RENAME = {
    "external_id": "External id", "external_id_old": "external id",
    "blocks_per_sm": "blocks per SM", "occupancy": "est. achieved occupancy %",
    "registers": "registers per thread", "shared_memory": "shared memory",
}
#: the id fields (all that host slices need); a bad value in one of them is counted for host slices too
ID_FIELDS = ("external_id", "external_id_old", "correlation")
_FLOAT_FIELDS = ("blocks_per_sm", "occupancy")
_EXACT = float(2**53)  # integers beyond this are not exact as float64: such rows are redone leniently
_STREAM_RE = re.compile(r"stream\s*(\d+)", re.IGNORECASE)


class _CoreFloats(msgspec.Struct, rename=CORE_RENAME, gc=False):
    """Every core arg as a float (ints are exact below 2**53, checked)."""

    external_id: float = -1.0
    external_id_old: float = -1.0
    correlation: float = -1.0
    device: float = -1.0
    stream: float = -1.0
    blocks_per_sm: float = math.nan
    occupancy: float = math.nan
    registers: float = -1.0
    shared_memory: float = -1.0
    bytes: float = -1.0


class _LooseCore(msgspec.Struct, rename=CORE_RENAME):
    """The same args with any JSON type (the slow path for odd producers)."""

    external_id: Any = None
    external_id_old: Any = None
    correlation: Any = None
    device: Any = None
    stream: Any = None
    blocks_per_sm: Any = None
    occupancy: Any = None
    registers: Any = None
    shared_memory: Any = None
    bytes: Any = None


class _Dims(msgspec.Struct, gc=False):
    grid: tuple[int, ...] = ()
    block: tuple[int, ...] = ()


FIELDS = _CoreFloats.__struct_fields__
_floats_decoder = msgspec.json.Decoder(list[_CoreFloats])
_loose_one = msgspec.json.Decoder(_LooseCore | None)
_dims_decoder = msgspec.json.Decoder(list[_Dims])
_dims_one = msgspec.json.Decoder(Any)
_encoder = msgspec.msgpack.Encoder()


def _record_dtype() -> np.dtype:
    """numpy view of one MessagePack-encoded _CoreFloats: each value is 0xcb + a big-endian float64."""
    rec = _encoder.encode(_CoreFloats())
    offsets, pos = [], 1  # byte 0: the fixmap header
    for name in FIELDS:
        key = msgspec.msgpack.encode(CORE_RENAME.get(name, name))
        assert rec[pos:pos + len(key)] == key and rec[pos + len(key)] == 0xCB, "unexpected MessagePack layout"
        offsets.append(pos + len(key) + 1)
        pos += len(key) + 9
    return np.dtype({"names": list(FIELDS), "formats": [">f8"] * len(FIELDS), "offsets": offsets,
                     "itemsize": len(rec)})


_RECORD = _record_dtype()


def decode_core(raws: list[Any]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(float64 column per field, bad id value per row, any bad value per row) of raw JSON args (None: no args)."""
    n = len(raws)
    try:
        parsed = _floats_decoder.decode(json_array(raws))
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _lenient_rows(raws, np.ones(n, dtype=bool), None)
    cols = _as_columns(parsed)
    redo = np.zeros(n, dtype=bool)
    for name in FIELDS:
        if name not in _FLOAT_FIELDS:
            v = cols[name]
            redo |= (np.abs(v) >= _EXACT) | (v != np.floor(v))
    if redo.any():
        return _lenient_rows(raws, redo, cols)
    return cols, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)


def _as_columns(parsed: list[_CoreFloats]) -> dict[str, np.ndarray]:
    n = len(parsed)
    packed = _encoder.encode(parsed)
    header = len(packed) - n * _RECORD.itemsize
    if header < 1 or header > 5:  # not the fixed layout (never seen): read the attributes one by one
        return {f: np.fromiter(map(attrgetter(f), parsed), dtype=np.float64, count=n) for f in FIELDS}
    records = np.frombuffer(packed, dtype=_RECORD, count=n, offset=header)
    return {f: records[f].astype(np.float64) for f in FIELDS}


def _lenient_rows(raws: list[Any], redo: np.ndarray, cols: dict[str, np.ndarray] | None
                  ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Columns with the ``redo`` rows decoded one by one from any JSON types; which rows had unusable values."""
    n = len(raws)
    if cols is None:
        cols = {f: np.full(n, math.nan if f in _FLOAT_FIELDS else float(NO_ID)) for f in FIELDS}
    exact: dict[str, np.ndarray] = {f: cols[f].astype(object) for f in FIELDS if f not in _FLOAT_FIELDS}
    bad_ids = np.zeros(n, dtype=bool)
    bad_any = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(redo).tolist():
        values, bad = loose_core(raws[i])
        bad_ids[i] = bool(bad & set(ID_FIELDS))
        bad_any[i] = bool(bad)
        for f in FIELDS:
            target = cols if f in _FLOAT_FIELDS else exact
            target[f][i] = values.get(f, math.nan if f in _FLOAT_FIELDS else NO_ID)
    cols.update({f: v for f, v in exact.items()})  # object arrays of exact ints
    return cols, bad_ids, bad_any


def loose_core(raw: Any) -> tuple[dict[str, int | float], set[str]]:
    """Usable values of one raw JSON args object with odd types, and the fields whose value was unusable."""
    if not raw:
        return {}, set()
    try:
        loose = _loose_one.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return {}, set(FIELDS)
    if loose is None:
        return {}, set()
    out: dict[str, int | float] = {}
    bad: set[str] = set()
    for name in FIELDS:
        value = getattr(loose, name)
        if value is None:
            continue
        number = _coerce_number(value, name in _FLOAT_FIELDS)
        if number is None and name == "stream" and isinstance(value, str):  # 'stream 3' (MTIA, XPU)
            number = stream_of(value)
            number = None if number == NO_ID else number
        if number is None or not (-(2**62) < number < 2**62):
            bad.add(name)
            continue
        out[name] = number
    return out, bad


def stream_of(label: Any) -> int:
    """The stream number in a label like 'stream 7' (or an int label itself); NO_ID when none."""
    if isinstance(label, int):
        return label
    m = _STREAM_RE.search(str(label))
    return int(m.group(1)) if m else NO_ID


def _coerce_number(value: Any, as_float: bool) -> int | float | None:
    """A number from an odd arg value ('0x0', '2560', 3.0); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return value if as_float else int(value)
    if isinstance(value, str):
        try:
            return float(value) if as_float else int(value, 0)
        except ValueError:
            return None
    return value if isinstance(value, int) else None


def typed_columns(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's dtypes: external id (new key, else the old one), ids and sizes int64, kernel figures compact."""
    def ints(name: str) -> np.ndarray:
        v = cols[name]
        return v.astype(np.int64) if v.dtype != object else np.array(v.tolist(), dtype=np.int64)
    ext = ints("external_id")
    return {
        "external_id": np.where(ext >= 0, ext, ints("external_id_old")),
        "correlation": ints("correlation"),
        "device": ints("device"),
        "stream": ints("stream"),
        "blocks_per_sm": cols["blocks_per_sm"].astype(np.float32),
        "occupancy": cols["occupancy"].astype(np.float32),
        "registers": np.clip(ints("registers"), -1, 2**31 - 1).astype(np.int32),
        "shared_memory": ints("shared_memory"),
        "bytes": ints("bytes"),
    }


def decode_dims(raws: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid blocks, block threads, unusable) per row: products of up to three dims, NO_ID when absent."""
    n = len(raws)
    grid = np.full(n, NO_ID, dtype=np.int64)
    block = np.full(n, NO_ID, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    try:
        parsed = _dims_decoder.decode(json_array(raws))
    except (msgspec.ValidationError, msgspec.DecodeError):
        parsed = [_loose_dims(r) for r in raws]
        bad = np.fromiter((p is None for p in parsed), dtype=bool, count=n)
        parsed = [p if p is not None else _Dims() for p in parsed]
    with_grid = [i for i, dims in enumerate(parsed) if dims.grid]
    if with_grid:
        grid[with_grid] = _products([parsed[i].grid for i in with_grid])
        block[with_grid] = _products([parsed[i].block for i in with_grid])
    return grid, block, bad


def _products(dims: list[tuple[int, ...]]) -> np.ndarray:
    """_product of each; at once when every entry has three dims (CUDA, ROCm), else one by one."""
    if dims and all(len(d) == 3 for d in dims):
        try:
            arr = np.array(dims, dtype=np.int64)
        except OverflowError:  # a value beyond int64: the exact path below
            arr = None
        if arr is not None:
            ok = ((arr >= 0) & (arr <= 1 << 31)).all(axis=1)
            prod = np.where(ok[:, None], arr, 1).astype(np.float64).prod(axis=1)
            if prod.max() < 2**53:  # exact as float64
                return np.where(ok, prod, NO_ID).astype(np.int64)
    return np.array([_product(d) for d in dims], dtype=np.int64)


def _loose_dims(raw: Any) -> _Dims | None:
    """Dims of one args object; None when grid or block is there but not a list of ints."""
    if not raw:
        return _Dims()
    try:
        value = _dims_one.decode(raw)
    except msgspec.DecodeError:
        return None
    if not isinstance(value, dict):
        return _Dims()
    out = {}
    for key in ("grid", "block"):
        dims = value.get(key)
        if dims is None:
            continue
        if not (isinstance(dims, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in dims)):
            return None
        out[key] = tuple(dims)
    return _Dims(**out)


def _product(dims: tuple[int, ...]) -> int:
    """Product of up to three grid/block dims; -1 when absent or absurd."""
    out = 1
    for d in dims[:3]:
        if d < 0 or d > 1 << 31:
            return NO_ID
        out *= d
    return out if dims else NO_ID
