"""Recognise accelerator (device) activity from a trace's structure, for any vendor.

The loader asks this module four things, all vectorised over the complete
events (``X``) of one trace:

* the kind of events of name-typed categories (MTIA CCP events: jobs,
  ``dma_request`` copies, ``event_wait`` waits);
* which processes are devices (``process_name`` 'MTIA 0', 'XPU 1', ...);
* which slices the ``ac2g`` flows (host runtime call -> device work) point at,
  so that device work without a ``correlation`` arg still links to its launch;
* which events of unknown categories are device work (the target of an
  ``ac2g`` flow, or on a device process): they become ``Kind.DEVICE_OTHER``
  with a warning, never dropped silently.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .categories import MAX_DEVICE_INDEX, Kind, device_process, kind_is_by_name, kind_of_device_name, vendor_of_category

NO_POS = -1
_OTHER = int(Kind.OTHER)


def refine_kinds_by_name(x_kind: np.ndarray, x_cat: np.ndarray, x_name: np.ndarray, cat_uniques: list[Any],
                         name_uniques: list[Any]) -> np.ndarray:
    """Kinds of slices whose category types them by name (``x_cat``/``x_name``: factorized codes)."""
    by_name = np.array([kind_is_by_name(str(c)) for c in cat_uniques] or [False], dtype=bool)
    rows = np.flatnonzero(by_name[x_cat]) if len(x_cat) else np.empty(0, dtype=np.int64)
    if not len(rows):
        return x_kind
    names = np.unique(x_name[rows])
    lut = np.zeros(max(len(name_uniques), 1), dtype=np.int8)
    lut[names] = [int(kind_of_device_name(str(name_uniques[i]))) for i in names.tolist()]
    out = x_kind.copy()
    out[rows] = lut[x_name[rows]]
    return out


def device_processes(proc_names: dict[Any, str]) -> dict[Any, tuple[int, str | None]]:
    """pid -> (device index from the name, vendor the name proves) for processes named like devices."""
    out = {}
    for pid, name in proc_names.items():
        hit = device_process(name)
        if hit is not None:
            out[pid] = hit
    return out


def slices_starting_at(x_track: np.ndarray, x_start: np.ndarray, candidate: np.ndarray, q_track: np.ndarray,
                       q_ts: np.ndarray) -> np.ndarray:
    """Position of a candidate slice starting exactly at each query (track, time); -1 when none."""
    out = np.full(len(q_track), NO_POS, dtype=np.int64)
    pos = np.flatnonzero(candidate)
    if not len(pos) or not len(q_track):
        return out
    c_track, c_start = x_track[pos].astype(np.int64), x_start[pos].astype(np.int64)
    q_track, q_ts = q_track.astype(np.int64), q_ts.astype(np.int64)
    lo = min(int(c_start.min()), int(q_ts.min()))
    span = max(int(c_start.max()), int(q_ts.max())) - lo + 2
    if (int(max(c_track.max(), q_track.max())) + 2) * span >= 1 << 62:  # keys would overflow: per query
        return _slices_starting_at_slow(c_track, c_start, pos, q_track, q_ts)
    key = c_track * span + (c_start - lo)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    q_key = q_track * span + (q_ts - lo)
    p = np.minimum(np.searchsorted(sorted_key, q_key), len(sorted_key) - 1)
    hit = (q_track >= 0) & (sorted_key[p] == q_key)
    out[hit] = pos[order[p[hit]]]
    return out


def _slices_starting_at_slow(c_track: np.ndarray, c_start: np.ndarray, pos: np.ndarray, q_track: np.ndarray,
                             q_ts: np.ndarray) -> np.ndarray:
    first: dict[tuple[int, int], int] = {}
    for t, s, p in zip(c_track.tolist(), c_start.tolist(), pos.tolist()):
        first.setdefault((t, s), p)
    return np.array([first.get(k, NO_POS) for k in zip(q_track.tolist(), q_ts.tolist())], dtype=np.int64)


def flow_ids(raw_ids: Any, rows: np.ndarray) -> np.ndarray:
    """Integer flow ids of the given events (-1 when absent or not a number); ``raw_ids`` a CodedColumn or list."""
    if hasattr(raw_ids, "uniques"):  # each distinct id of these rows converted once
        used, inverse = np.unique(raw_ids.codes[rows], return_inverse=True)
        values = [raw_ids.uniques[c] for c in used.tolist()]
        lut = np.array(values) if values else np.full(1, NO_POS, dtype=np.int64)
        if lut.dtype == np.int64:  # all plain ints (the usual): range-check at once
            lut = np.where((lut >= 0) & (lut < 1 << 62), lut, NO_POS)
        else:
            lut = np.array([_flow_id(v) for v in values], dtype=np.int64)
        return lut[inverse.reshape(-1)] if len(rows) else np.full(0, NO_POS, dtype=np.int64)
    return np.array([_flow_id(raw_ids[r]) for r in rows.tolist()], dtype=np.int64).reshape(-1)


def _flow_id(value: Any) -> int:
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            return NO_POS
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62:
        return value
    return NO_POS


def promote_unknown_device_work(x_kind: np.ndarray, x_track: np.ndarray, track_pid: list[Any],
                                devices: dict[Any, tuple[int, str | None]], flow_dst: np.ndarray,
                                x_cat: np.ndarray, cat_uniques: list[Any]) -> tuple[np.ndarray, list[str]]:
    """Unknown-category slices that are device work -> DEVICE_OTHER; one warning per category."""
    other = x_kind == _OTHER
    if not other.any():
        return x_kind, []
    on_device = np.array([pid in devices for pid in track_pid] or [False], dtype=bool)[x_track]
    linked = np.zeros(len(x_kind), dtype=bool)
    linked[flow_dst[flow_dst >= 0]] = True
    promote = other & (on_device | linked)
    if not promote.any():
        return x_kind, []
    out = x_kind.copy()
    out[promote] = int(Kind.DEVICE_OTHER)
    codes, counts = np.unique(x_cat[promote], return_counts=True)
    warnings = [f"{n} events of unknown category '{cat_uniques[c]}' look like device work (on a device process "
                f"or launched by a runtime call): shown as device activity of an unknown kind"
                for c, n in zip(codes.tolist(), counts.tolist())]
    return out, warnings


def fill_correlation(correlation: np.ndarray, ends: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Give slices bound to a flow end (positions, flow ids) the flow id as correlation where they lack one."""
    for pos, ids in ends:
        ok = (pos >= 0) & (ids >= 0)
        p, i = pos[ok], ids[ok]
        missing = correlation[p] < 0
        correlation[p[missing]] = i[missing]


def vendor_hint(cat_uniques: list[Any], devices: dict[Any, tuple[int, str | None]]) -> str | None:
    """The accelerator vendor the categories or device process names prove ('mtia', 'intel'), else None."""
    for c in cat_uniques:
        vendor = vendor_of_category(str(c))
        if vendor:
            return vendor
    for _, vendor in devices.values():
        if vendor:
            return vendor
    return None


def device_index(pid: Any, devices: dict[Any, tuple[int, str | None]], property_ids: set[int]) -> int:
    """Device index of a device track without a ``device`` arg: the pid or the number in its process name,
    whichever deviceProperties knows (pid first); the name's number, else the pid, when neither is known."""
    named = devices.get(pid, (None, None))[0]
    pid_ok = isinstance(pid, int) and 0 <= pid < MAX_DEVICE_INDEX
    if pid_ok and pid in property_ids:
        return pid
    if named is not None and (named in property_ids or not property_ids or not pid_ok):
        return named
    return pid if pid_ok else 0
