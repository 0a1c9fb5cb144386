"""Open any saved PyTorch profiler trace into :class:`TraceModel` objects.

``load_traces(path)`` returns one model per rank (files, TensorBoard log dirs,
rank folders, run bundles); ``load_trace(path)`` returns the first.  Every
user mistake surfaces as :class:`TraceLoadError` with a one-line message.
"""
from __future__ import annotations

import gc
import math
import os
from operator import attrgetter
from pathlib import Path
from typing import Any, Callable, Iterator

import msgspec
import numpy as np

from . import accelerators as acc
from . import core_args
from .categories import DEVICE_ACTIVITY_KINDS, DEVICE_KINDS, Kind, kind_of_category
from .chunk_pool import worker_count
from .coded_column import factorize as _factorize
from .errors import TraceLoadError
from .kineto_decode import RawEvents, decode_trace_file
from .nesting import nesting_depth
from .packed_bytes import json_array
from .trace_files import resolve
from .trace_model import NO_ID, CounterTrack, Flows, MemoryEvents, SourceInfo, TraceModel, Tracks

ProgressFn = Callable[[str, float], None]  # (phase, fraction 0..1)

#: |relative time| beyond this (about 115 days) is treated as corrupt
MAX_ABS_NS = 10**16


class _MemArgs(msgspec.Struct, gc=False, rename={
    "nbytes": "Bytes", "addr": "Addr", "device_type": "Device Type", "device_id": "Device Id",
    "total_allocated": "Total Allocated", "total_reserved": "Total Reserved",
}):
    nbytes: int = 0
    addr: int = 0
    device_type: int = 0
    device_id: int = -1
    total_allocated: int = -1
    total_reserved: int = -1


_mem_decoder = msgspec.json.Decoder(list[_MemArgs | None])
_mem_one = msgspec.json.Decoder(_MemArgs | None)


# ----------------------------------------------------------------------------- public API
def load_traces(path: str | os.PathLike[str], progress: ProgressFn | None = None) -> list[TraceModel]:
    """Load every rank behind ``path``; raise TraceLoadError on bad input."""
    source = resolve(path)
    if source.format == "run-bundle":
        from .bundle_reader import load_bundle, rank_folders  # local import: bundle_reader imports this module

        if not rank_folders(source.path):
            return [load_bundle(source, progress)]
        from .rank_loading import load_bundle_ranks

        return load_bundle_ranks(source.path, progress)
    if len(source.files) > 1:
        from .rank_loading import load_tasks  # one rank per worker process when the traces are big

        models = load_tasks([("file", -1, str(f), source.format) for f in source.files], progress)
    else:
        models = [load_file(source.files[0], source.format, progress)]
    for index, model in enumerate(models):
        if model.rank is None:
            model.rank = index if len(models) > 1 else 0
    if len(models) > 1:
        models.sort(key=lambda m: (m.rank if m.rank is not None else 1 << 30))
    return models


def load_trace(path: str | os.PathLike[str], progress: ProgressFn | None = None) -> TraceModel:
    """Load the trace behind ``path`` (the first rank when there are several)."""
    return load_traces(path, progress)[0]


def load_file(path: Path, fmt: str = "kineto-json", progress: ProgressFn | None = None,
              workers: int | None = None) -> TraceModel:
    """Load one trace file into a model (decoded in ``workers`` processes; None: by its size and the cores)."""
    if progress:
        progress("reading", 0.0)
    if workers is None:
        try:
            # a gzip holds ~10x its size of JSON
            workers = worker_count(path.stat().st_size * (10 if path.name.lower().endswith(".gz") else 1))
        except OSError:  # unreadable: the decoder names the problem
            workers = 1
    raw = decode_trace_file(path, workers=workers,
                            progress=(lambda f: progress("reading", 0.7 * f)) if progress else None)
    if progress:
        progress("building", 0.7)
    try:
        model = build_model(raw, SourceInfo(str(path), fmt))
    except (OverflowError,) as exc:  # defensive: odd values that slipped through
        raise TraceLoadError(path, f"unusable trace data ({exc})") from None
    if progress:
        progress("done", 1.0)
    return model


# ----------------------------------------------------------------------------- building
def _norm_label(value: Any) -> Any:
    """'25738' -> 25738 so that string and int pids/tids of one thread agree."""
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("-").isdigit() and len(text) < 19:  # not '²' (isdigit, yet no int)
            return int(text)
        return text
    return value


def _normalized_codes(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    codes, uniques = _factorize(values)
    norm = [_norm_label(u) for u in uniques]
    remap_codes, norm_uniques = _factorize(norm)
    return remap_codes[codes] if len(codes) else codes, norm_uniques


def _int_or(value: Any, default: int) -> int:
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, int):
        return value if -(1 << 62) < value < (1 << 62) else default
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def build_model(raw: RawEvents, source: SourceInfo) -> TraceModel:
    """Turn decoded events into the columnar model."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(raw, source)
    finally:
        if gc_was_enabled:
            gc.enable()


def _time_columns(raw: RawEvents, ph_mask: Callable[..., np.ndarray],
                  warnings: list[str]) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(origin in us, int64 ns from it, duration ns as float, valid-time mask, rows of kept complete events)."""
    n = len(raw)
    ts = np.asarray(raw.ts, dtype=np.float64) if n else np.empty(0)
    dur = np.asarray(raw.dur, dtype=np.float64) if n else np.empty(0)
    timed = ph_mask("X", "i", "I", "C", "s", "f", "t") & np.isfinite(ts) & (np.abs(ts) < 1e17)
    origin_us = float(ts[timed].min()) if timed.any() else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        rel_ns_f = np.rint((ts - origin_us) * 1000.0)
        dur_ns_f = np.rint(dur * 1000.0)
    time_ok = timed & (np.abs(rel_ns_f) < MAX_ABS_NS)
    rel_ns = np.where(time_ok, rel_ns_f, 0).astype(np.int64)
    x_all = ph_mask("X")
    x_ok = x_all & time_ok & np.isfinite(dur_ns_f) & (dur_ns_f >= 0) & (dur_ns_f < MAX_ABS_NS)
    bad_x = int(x_all.sum() - x_ok.sum())
    if bad_x:
        warnings.append(f"{bad_x} complete events with missing, negative or absurd ts/dur were skipped")
    return origin_us, rel_ns, dur_ns_f, time_ok, np.flatnonzero(x_ok)


def _string_table(name_uniques: Any, cat_uniques: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names then categories as one string list, category -> string id, category -> Kind)."""
    strings: list[str] = [str(s) for s in name_uniques]
    string_index = {s: i for i, s in enumerate(strings)}
    cat_to_string = np.empty(len(cat_uniques), dtype=np.int32)
    for i, c in enumerate(cat_uniques):
        c = str(c)
        if c not in string_index:
            string_index[c] = len(strings)
            strings.append(c)
        cat_to_string[i] = string_index[c]
    kind_lut = np.array([int(kind_of_category(str(c))) for c in cat_uniques] or [0], dtype=np.int8)
    return strings, cat_to_string, kind_lut


def _device_tracks(track_is_device: np.ndarray, x_track: np.ndarray, pid_tid: tuple[list[Any], list[Any]],
                   core: dict[str, Any], devices: Any, property_ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """Device index and stream of each device track (from the events' args, else from pid / tid)."""
    track_pid, track_tid = pid_tid
    n_tracks = len(track_is_device)
    track_device = np.full(n_tracks, -1, dtype=np.int32)
    track_stream = np.full(n_tracks, -1, dtype=np.int64)
    for t in np.flatnonzero(track_is_device):
        rows_t = np.flatnonzero(x_track == t)
        arg_dev = core["device"][rows_t]
        arg_dev = arg_dev[arg_dev >= 0]
        track_device[t] = int(arg_dev[0]) if len(arg_dev) else acc.device_index(track_pid[t], devices, property_ids)
        arg_stream = core["stream"][rows_t]
        arg_stream = arg_stream[arg_stream >= 0]
        track_stream[t] = int(arg_stream[0]) if len(arg_stream) else core_args.stream_of(track_tid[t])
    return track_device, track_stream


def _run_metadata(raw: RawEvents, origin_us: float) -> tuple[dict[str, Any], list[dict[str, Any]], int | None,
                                                              int | None, int | None]:
    """(metadata, deviceProperties, rank, world size, epoch ns of time 0) from the trace's top-level keys."""
    meta = dict(raw.metadata)
    device_props = meta.pop("deviceProperties", None)
    device_props = [p for p in device_props if isinstance(p, dict)] if isinstance(device_props, list) else []
    dist = meta.get("distributedInfo")
    rank = world = None
    if isinstance(dist, dict):
        r, w = dist.get("rank"), dist.get("world_size")
        rank = r if isinstance(r, int) and not isinstance(r, bool) else None
        world = w if isinstance(w, int) and not isinstance(w, bool) else None
        if isinstance(dist.get("pg_config"), list):  # can be huge (one entry per group, all ranks)
            meta["distributedInfo"] = {k: v for k, v in dist.items() if k != "pg_config"}
    base = meta.get("baseTimeNanoseconds")
    if isinstance(base, (int, float)) and not isinstance(base, bool) and math.isfinite(base) and base > 0:
        origin_abs = int(base) + int(round(origin_us * 1000))
    elif origin_us > 1e14:  # absolute epoch microseconds (older traces)
        origin_abs = int(round(origin_us * 1000))
    else:
        origin_abs = None
    return meta, device_props, rank, world, origin_abs


def _build(raw: RawEvents, source: SourceInfo) -> TraceModel:
    """Columns, tracks, flows, memory and counters of one decoded trace."""
    warnings: list[str] = []
    if raw.dropped:
        warnings.append(f"{raw.dropped} entries of traceEvents were not event objects and were skipped")
    n = len(raw)
    ph_mask = _ph_masker(raw)
    origin_us, rel_ns, dur_ns_f, time_ok, x_rows = _time_columns(raw, ph_mask, warnings)
    name_codes, name_uniques = _factorize(raw.name)
    cat_codes, cat_uniques = _factorize(raw.cat)
    strings, cat_to_string, kind_lut = _string_table(name_uniques, cat_uniques)
    pid_codes, pid_uniques = _normalized_codes(raw.pid)
    tid_codes, tid_uniques = _normalized_codes(raw.tid)
    n_tid = max(len(tid_uniques), 1)
    pair_key = pid_codes * n_tid + tid_codes if n else np.empty(0, dtype=np.int64)
    x_kind = kind_lut[cat_codes[x_rows]] if len(x_rows) else np.empty(0, dtype=np.int8)
    x_track_keys, x_track = np.unique(pair_key[x_rows], return_inverse=True) if len(x_rows) else (
        np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    x_track = x_track.reshape(-1)
    track_pid = [pid_uniques[int(k) // n_tid] for k in x_track_keys]
    track_tid = [tid_uniques[int(k) % n_tid] for k in x_track_keys]
    proc_names, thread_names, proc_sort, thread_sort = _metadata(raw, ph_mask("M"), pid_codes, pid_uniques,
                                                                 tid_codes, tid_uniques)
    devices = acc.device_processes(proc_names)
    x_kind, flow_ends = _accelerator_kinds(raw, ph_mask, (cat_codes, cat_uniques), (name_codes, name_uniques),
                                           pair_key, rel_ns, x_rows, (x_track_keys, x_track, track_pid), devices,
                                           x_kind, warnings)
    track_is_device = np.zeros(len(x_track_keys), dtype=bool)
    track_is_device[np.unique(x_track[np.isin(x_kind, [int(k) for k in DEVICE_KINDS])])] = True
    start_ns = rel_ns[x_rows]
    dur_ns = dur_ns_f[x_rows].astype(np.int64)
    core = _decode_core_args(raw, x_rows, x_kind)
    _link_by_flows(core["correlation"], flow_ends, x_kind)
    property_ids = _property_ids(raw.metadata.get("deviceProperties"))

    track_device, track_stream = _device_tracks(track_is_device, x_track, (track_pid, track_tid), core,
                                                devices, property_ids)

    # order: by start, parents (longer) first
    order = np.lexsort((-dur_ns, start_ns)) if len(x_rows) else np.empty(0, dtype=np.int64)
    rows_sorted, start_ns, dur_ns = x_rows[order], start_ns[order], dur_ns[order]
    track_id, kind = x_track[order].astype(np.int32), x_kind[order]
    for key in core:
        if key != "warnings":
            core[key] = core[key][order]
    tracks = Tracks(
        pid=track_pid, tid=track_tid,
        process_name=[proc_names.get(p, "") for p in track_pid],
        thread_name=[thread_names.get((p, t), "") for p, t in zip(track_pid, track_tid)],
        device=track_device, stream=track_stream, is_device=track_is_device,
        sort_index=_track_order(track_pid, track_tid, track_is_device, track_device, track_stream,
                                proc_sort, thread_sort),
    )

    # flows: launch -> GPU work by correlation; forward -> backward from s/f events
    flows = _flows(kind, core["correlation"], raw, ph_mask, cat_codes, cat_uniques, rel_ns, pair_key,
                   x_track_keys, track_id, start_ns, raw_ids=raw.id)
    memory = _memory(raw, name_codes, name_uniques, ph_mask("i", "I") & time_ok, rel_ns)
    counters = _counters(raw, ph_mask("C") & time_ok, rel_ns)

    meta, device_props, rank, world, origin_abs = _run_metadata(raw, origin_us)
    source.schema = _schema(cat_uniques)

    args_raw = raw.args.take(rows_sorted)  # the slices' args in model order, sharing the packed blob
    return TraceModel(
        source=source, strings=strings, start_ns=start_ns, dur_ns=dur_ns,
        name_id=name_codes[rows_sorted].astype(np.int32),
        cat_id=cat_to_string[cat_codes[rows_sorted]] if len(rows_sorted) else np.empty(0, dtype=np.int32),
        kind=kind.astype(np.int8), track_id=track_id,
        device=np.where(track_is_device[track_id], track_device[track_id], -1).astype(np.int16),
        stream=np.where(track_is_device[track_id], track_stream[track_id], -1).astype(np.int64),
        depth=nesting_depth(track_id, start_ns, dur_ns), **_core_columns(core),
        args_raw=args_raw, tracks=tracks, flows=flows, memory=memory, counters=counters,
        device_properties=device_props, metadata=meta, rank=rank, world_size=world, origin_abs_ns=origin_abs,
        warnings=warnings + core["warnings"], raw_event_count=n,
        accelerator_vendor=acc.vendor_hint(cat_uniques, devices),
    )


def _schema(cat_uniques: Any) -> str:
    """'new' (cpu_op, cuda_runtime, kernel...), 'old' (Operator, Runtime, Kernel) or 'unknown' category names."""
    cats = {str(c) for c in cat_uniques}
    if cats & {"cpu_op", "cuda_runtime", "kernel", "user_annotation"}:
        return "new"
    return "old" if cats & {"Operator", "Runtime", "Kernel"} else "unknown"


def _core_columns(core: dict[str, Any]) -> dict[str, np.ndarray]:
    """The model's launch and kernel columns from the decoded core args (model field -> column)."""
    names = {"correlation": "correlation", "external_id": "external_id", "blocks_per_sm": "blocks_per_sm",
             "occupancy_pct": "occupancy", "registers_per_thread": "registers", "shared_mem_bytes": "shared_memory",
             "grid_blocks": "grid", "block_threads": "block", "bytes": "bytes"}
    return {field: core[key] for field, key in names.items()}


def _ph_masker(raw: RawEvents) -> Callable[..., np.ndarray]:
    """A function of phase letters -> bool mask of the events with one of them."""
    n = len(raw)
    ph_codes, ph_uniques = _factorize(raw.ph)
    ph_index = {p: i for i, p in enumerate(ph_uniques)}

    def ph_mask(*phs: str) -> np.ndarray:
        ids = [ph_index[p] for p in phs if p in ph_index]
        if not ids:
            return np.zeros(n, dtype=bool)
        return np.isin(ph_codes, ids)
    return ph_mask


_GPU_KINDS = np.array(sorted(int(k) for k in DEVICE_KINDS), dtype=np.int8)
_ID_KINDS = np.array([int(Kind.CPU_OP), int(Kind.USER_ANNOTATION), int(Kind.RUNTIME), int(Kind.DRIVER),
                      int(Kind.SYNC)], dtype=np.int8)
_ID_COLUMNS = ("external_id", "correlation")


def _decode_core_args(raw: RawEvents, x_rows: np.ndarray, x_kind: np.ndarray) -> dict[str, Any]:
    """Typed columns (per slice, in x_rows order) from the args that analyses need.

    The chunk decoder typed every event's core args already (``raw.core``);
    host slices keep just their ids, GPU slices the kernel columns too (grid
    and block decoded here, for them only), other slices none.  Values of
    unexpected types were dropped and are counted in one warning.
    """
    m = len(x_rows)
    host = np.isin(x_kind, _ID_KINDS)
    gpu = np.isin(x_kind, _GPU_KINDS)
    cols: dict[str, Any] = {}
    for name in ("external_id", "correlation", "device", "stream", "blocks_per_sm", "occupancy", "registers",
                 "shared_memory", "bytes"):
        values = raw.core[name][x_rows] if m else raw.core[name][:0]
        keep = (host | gpu) if name in _ID_COLUMNS else gpu
        empty = np.nan if values.dtype.kind == "f" else NO_ID
        cols[name] = np.where(keep, values, empty).astype(values.dtype)
    gpu_pos = np.flatnonzero(gpu)
    cols["grid"] = np.full(m, NO_ID, dtype=np.int64)
    cols["block"] = np.full(m, NO_ID, dtype=np.int64)
    grid, block, bad_dims = core_args.decode_dims(raw.args.many(x_rows[gpu_pos]))
    cols["grid"][gpu_pos], cols["block"][gpu_pos] = grid, block
    bad_any = raw.core["bad_any"][x_rows] if m else np.zeros(0, dtype=bool)
    bad = int((raw.core["bad_ids"][x_rows] & host).sum() if m else 0) + int((bad_any[gpu_pos] | bad_dims).sum())
    cols["warnings"] = [f"{bad} events had args of unexpected types (ignored for analysis)"] if bad else []
    return cols


def _property_ids(props: Any) -> set[int]:
    """Device ids that deviceProperties lists."""
    if not isinstance(props, list):
        return set()
    return {p["id"] for p in props if isinstance(p, dict) and isinstance(p.get("id"), int)}


FlowEnds = list[tuple[np.ndarray, np.ndarray]]  # [(s slice positions, ids), (f slice positions, ids)]


def _accelerator_kinds(raw: RawEvents, ph_mask: Callable[..., np.ndarray], cats: tuple[np.ndarray, list[Any]],
                       names: tuple[np.ndarray, list[Any]], pair_key: np.ndarray, rel_ns: np.ndarray,
                       x_rows: np.ndarray, tracks: tuple[np.ndarray, np.ndarray, list[Any]],
                       devices: dict[Any, tuple[int, str | None]], x_kind: np.ndarray,
                       warnings: list[str]) -> tuple[np.ndarray, FlowEnds]:
    """Slice kinds refined by accelerator structure (analyzers.accelerators) and the ac2g flow ends; appends
    a warning per unknown category taken as device work."""
    (cat_codes, cat_uniques), (name_codes, name_uniques) = cats, names
    track_keys, x_track, track_pid = tracks
    if len(x_rows):
        x_kind = acc.refine_kinds_by_name(x_kind, cat_codes[x_rows], name_codes[x_rows], cat_uniques, name_uniques)
    ends = _ac2g_ends(raw, ph_mask, cat_codes, cat_uniques, pair_key, rel_ns, x_rows, track_keys, x_track, x_kind)
    x_kind, promoted = acc.promote_unknown_device_work(x_kind, x_track, track_pid, devices, ends[1][0],
                                                       cat_codes[x_rows], cat_uniques)
    warnings += promoted
    return x_kind, ends


def _ac2g_ends(raw: RawEvents, ph_mask: Callable[..., np.ndarray], cat_codes: np.ndarray, cat_uniques: list[Any],
               pair_key: np.ndarray, rel_ns: np.ndarray, x_rows: np.ndarray, track_keys: np.ndarray,
               x_track: np.ndarray, x_kind: np.ndarray) -> FlowEnds:
    """Slices (x positions) that the launch flows' start ends (runtime calls) and finish ends (device work or
    unknown events) sit on, with the flow ids; -1 where an end matches no slice."""
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    cats = [i for i, c in enumerate(cat_uniques) if str(c) == "ac2g"]
    if not cats or not len(track_keys):
        return [empty, empty]
    host = np.isin(x_kind, [int(Kind.RUNTIME), int(Kind.DRIVER)])
    device = np.isin(x_kind, sorted(int(k) for k in DEVICE_ACTIVITY_KINDS | {Kind.OTHER}))
    out = []
    for ph, candidate in (("s", host), ("f", device)):
        ev = np.flatnonzero(ph_mask(ph) & np.isin(cat_codes, cats))
        t = np.minimum(np.searchsorted(track_keys, pair_key[ev]), len(track_keys) - 1)
        q_track = np.where(track_keys[t] == pair_key[ev], t, -1)
        out.append((acc.slices_starting_at(x_track, rel_ns[x_rows], candidate, q_track, rel_ns[ev]),
                    acc.flow_ids(raw.id, ev)))
    return out


def _link_by_flows(correlation: np.ndarray, ends: FlowEnds, x_kind: np.ndarray) -> None:
    """Device work and runtime calls without a correlation arg take it from their ac2g flow (MTIA, XPU)."""
    (s_pos, s_ids), (f_pos, f_ids) = ends
    acc.fill_correlation(correlation, [(f_pos, f_ids)])
    # host side only for ids no runtime call carries already (never re-link a call that has its own)
    host = np.isin(x_kind, [int(Kind.RUNTIME), int(Kind.DRIVER)])
    known = np.isin(s_ids, correlation[host & (correlation >= 0)])
    acc.fill_correlation(correlation, [(np.where(known, -1, s_pos), s_ids)])


def _track_order(pids: list[Any], tids: list[Any], is_device: np.ndarray, device: np.ndarray, stream: np.ndarray,
                 proc_sort: dict[Any, int], thread_sort: dict[tuple[Any, Any], int]) -> np.ndarray:
    """Rank of each track for display: host processes and threads first (main thread on top), then GPU streams."""
    def key(i: int) -> tuple:
        if is_device[i]:
            return (1, int(device[i]), int(stream[i]), "")
        pid, tid = pids[i], tids[i]
        return (0, proc_sort.get(pid, pid if isinstance(pid, int) else 1 << 40), 0 if pid == tid else 1,
                thread_sort.get((pid, tid), 0), str(tid))
    keys = [key(i) for i in range(len(pids))]
    order = sorted(range(len(pids)), key=lambda i: keys[i])
    rank = np.empty(len(pids), dtype=np.int64)
    rank[order] = np.arange(len(pids))
    return rank


def _dict_args(raw: RawEvents, mask: np.ndarray) -> Iterator[tuple[int, dict[str, Any]]]:
    """(event index, args) for the selected events whose args decode to a JSON object."""
    rows = np.flatnonzero(mask)
    for i, a in zip(rows.tolist(), raw.args.many(rows)):
        if a is None:
            continue
        try:
            args = msgspec.json.decode(a)
        except msgspec.DecodeError:
            continue
        if isinstance(args, dict):
            yield i, args


def _metadata(raw: RawEvents, mask: np.ndarray, pid_codes: np.ndarray, pid_uniques: list[Any],
              tid_codes: np.ndarray, tid_uniques: list[Any]) -> tuple[dict, dict, dict, dict]:
    proc_names: dict[Any, str] = {}
    thread_names: dict[tuple[Any, Any], str] = {}
    proc_sort: dict[Any, int] = {}
    thread_sort: dict[tuple[Any, Any], int] = {}
    for i, args in _dict_args(raw, mask):
        pid, tid = pid_uniques[pid_codes[i]], tid_uniques[tid_codes[i]]
        name = raw.name[i]
        if name == "process_name":
            proc_names[pid] = str(args.get("name", ""))[:200]
        elif name == "thread_name":
            thread_names[(pid, tid)] = str(args.get("name", "")).strip()[:200]
        elif name == "process_sort_index":
            proc_sort[pid] = _int_or(args.get("sort_index"), 0)
        elif name == "thread_sort_index":
            thread_sort[(pid, tid)] = _int_or(args.get("sort_index"), 0)
    return proc_names, thread_names, proc_sort, thread_sort


def _flows(kind: np.ndarray, correlation: np.ndarray, raw: RawEvents, ph_mask: Callable[..., np.ndarray],
           cat_codes: np.ndarray, cat_uniques: list[Any], rel_ns: np.ndarray, pair_key: np.ndarray,
           track_keys: np.ndarray, track_id: np.ndarray, start_ns: np.ndarray, raw_ids: list[Any]) -> Flows:
    src_parts, dst_parts, kind_parts = [], [], []
    # launch flows: runtime/driver call and GPU work sharing a correlation id
    host = np.flatnonzero(np.isin(kind, [int(Kind.RUNTIME), int(Kind.DRIVER)]) & (correlation >= 0))
    gpu = np.flatnonzero(np.isin(kind, sorted(int(k) for k in DEVICE_ACTIVITY_KINDS)) & (correlation >= 0))
    if len(host) and len(gpu):
        h_order = host[np.argsort(correlation[host], kind="stable")]
        h_corr = correlation[h_order]
        pos = np.searchsorted(h_corr, correlation[gpu])
        pos_c = np.minimum(pos, len(h_corr) - 1)
        hit = h_corr[pos_c] == correlation[gpu]
        src_parts.append(h_order[pos_c[hit]])
        dst_parts.append(gpu[hit])
        kind_parts.append(np.full(int(hit.sum()), Flows.LAUNCH, dtype=np.int8))
    # forward -> backward flows: bind each end to the slice starting at its timestamp on its track
    fb_cats = [i for i, c in enumerate(cat_uniques) if str(c) == "fwdbwd"]
    if fb_cats and len(start_ns):
        fb = np.flatnonzero(ph_mask("s", "f") & np.isin(cat_codes, fb_cats))
        ends: dict[Any, dict[str, int]] = {}
        span = int(start_ns.max()) - min(int(start_ns.min()), 0) + 2
        slice_key = track_id.astype(np.int64) * span + start_ns
        key_order = np.argsort(slice_key, kind="stable")
        sorted_keys = slice_key[key_order]
        t = np.minimum(np.searchsorted(track_keys, pair_key[fb]), max(len(track_keys) - 1, 0))
        on_track = track_keys[t] == pair_key[fb] if len(track_keys) else np.zeros(len(fb), dtype=bool)
        k = t.astype(np.int64) * span + rel_ns[fb]
        p = np.minimum(np.searchsorted(sorted_keys, k), len(sorted_keys) - 1)
        found = on_track & (sorted_keys[p] == k)
        for i, row in zip(fb[found].tolist(), key_order[p[found]].tolist()):
            ends.setdefault(raw_ids[i], {})[raw.ph[i]] = row
        pairs = [(e["s"], e["f"]) for e in ends.values() if "s" in e and "f" in e]
        if pairs:
            src_parts.append(np.array([p[0] for p in pairs], dtype=np.int64))
            dst_parts.append(np.array([p[1] for p in pairs], dtype=np.int64))
            kind_parts.append(np.full(len(pairs), Flows.FWD_BWD, dtype=np.int8))
    if not src_parts:
        return Flows(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8))
    return Flows(np.concatenate(src_parts).astype(np.int64), np.concatenate(dst_parts).astype(np.int64),
                 np.concatenate(kind_parts))


def _memory(raw: RawEvents, name_codes: np.ndarray, name_uniques: list[Any], instant_mask: np.ndarray,
            rel_ns: np.ndarray) -> MemoryEvents:
    mem_name = [i for i, s in enumerate(name_uniques) if s == "[memory]"]
    rows = np.flatnonzero(instant_mask & np.isin(name_codes, mem_name)) if mem_name else np.empty(0, dtype=np.int64)
    raws = raw.args.many(rows)
    parsed: list[_MemArgs | None]
    if raws:
        blob = json_array(raws, b"null")
        try:
            parsed = _mem_decoder.decode(blob)
        except (msgspec.ValidationError, msgspec.DecodeError):
            parsed = []
            for r in raws:
                try:
                    parsed.append(_mem_one.decode(r) if r is not None else None)
                except (msgspec.ValidationError, msgspec.DecodeError):
                    parsed.append(None)
    else:
        parsed = []
    keep = [i for i, a in enumerate(parsed) if a is not None and abs(a.nbytes) < 2**62]
    sel = [parsed[i] for i in keep]
    ts_ns = rel_ns[rows[keep]] if keep else np.empty(0, dtype=np.int64)
    order = np.argsort(ts_ns, kind="stable")

    def col(attr: str, dtype: Any, lo: float = -(2.0**62), hi: float = 2.0**62) -> np.ndarray:
        # via float64: exact below 2**53 (addresses, byte counts), and out-of-range values become -1
        vals = np.fromiter(map(attrgetter(attr), sel), dtype=np.float64, count=len(sel))
        vals = np.where((vals >= lo) & (vals < hi), vals, -1)
        return vals[order].astype(dtype)

    return MemoryEvents(
        ts_ns=ts_ns[order],
        bytes=col("nbytes", np.int64),
        addr=col("addr", np.int64),
        device_type=col("device_type", np.int8, 0, 100),
        device_id=col("device_id", np.int16, -1, 30000),
        total_allocated_bytes=col("total_allocated", np.int64),
        total_reserved_bytes=col("total_reserved", np.int64),
    )


def _counters(raw: RawEvents, mask: np.ndarray, rel_ns: np.ndarray) -> list[CounterTrack]:
    series: dict[str, tuple[list[int], list[float]]] = {}
    for i, args in _dict_args(raw, mask):
        for key, value in args.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                name = f"{raw.name[i]} {key}" if len(args) > 1 else str(raw.name[i] or key)
                ts_list, val_list = series.setdefault(name, ([], []))
                ts_list.append(int(rel_ns[i]))
                val_list.append(float(value))
    out = []
    for name, (t, v) in series.items():
        order = np.argsort(np.asarray(t, dtype=np.int64), kind="stable")
        out.append(CounterTrack(name, "", np.asarray(t, dtype=np.int64)[order], np.asarray(v)[order]))
    return out


__all__ = ["load_traces", "load_trace", "load_file", "build_model", "TraceLoadError"]
