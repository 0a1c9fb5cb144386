"""The columnar trace model every analyzer, metric and view reads.

One :class:`TraceModel` holds one rank's trace: a table of slices (numpy
columns, sorted by start), the shared string table, tracks, flows, memory
events, counter tracks and device properties.  Times are int64 nanoseconds
relative to the trace start (``origin_abs_ns`` maps them back to the epoch).
Rarely used event args stay as raw JSON per row and are decoded on demand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable, Sequence

import msgspec
import numpy as np

from .categories import DEVICE_ACTIVITY_KINDS, Kind, device_process
from .packed_bytes import json_array

NO_ID = -1  # value of correlation / external id / device / stream when absent


@dataclass
class Tracks:
    """One row per (pid, tid) pair: a CPU thread or a GPU stream."""

    pid: list[Any]
    tid: list[Any]
    process_name: list[str]
    thread_name: list[str]
    device: np.ndarray  # int32, -1 for host threads
    stream: np.ndarray  # int64, -1 for host threads
    is_device: np.ndarray  # bool
    sort_index: np.ndarray  # int64, for ordering in the timeline

    def __len__(self) -> int:
        return len(self.pid)

    def label(self, track_id: int) -> str:
        """A readable track label: 'GPU 0 stream 7', 'MTIA 0 stream 3' or 'python thread 123'."""
        if self.is_device[track_id]:
            proc = self.process_name[track_id].strip()
            device = proc if device_process(proc) else f"GPU {int(self.device[track_id])}"
            return f"{device} stream {int(self.stream[track_id])}"
        name = self.thread_name[track_id] or f"thread {self.tid[track_id]}"
        proc = self.process_name[track_id]
        return f"{proc} {name}".strip() if proc and proc not in name else name


@dataclass
class Flows:
    """Links between slices: launch -> GPU work (kind 0) and forward -> backward (kind 1)."""

    src_row: np.ndarray  # int64
    dst_row: np.ndarray  # int64
    kind: np.ndarray  # int8

    LAUNCH = 0
    FWD_BWD = 1

    def __len__(self) -> int:
        return len(self.src_row)


@dataclass
class MemoryEvents:
    """``[memory]`` instants from profile_memory=True, sorted by time."""

    ts_ns: np.ndarray  # int64
    bytes: np.ndarray  # int64, negative = free
    addr: np.ndarray  # int64
    device_type: np.ndarray  # int8: 0 CPU, 1 CUDA (others kept as given)
    device_id: np.ndarray  # int16
    total_allocated_bytes: np.ndarray  # int64, -1 when absent
    total_reserved_bytes: np.ndarray  # int64, -1 when absent

    def __len__(self) -> int:
        return len(self.ts_ns)


@dataclass
class CounterTrack:
    """A time series: a Chrome 'C' counter, or an NVML / host sample column."""

    name: str
    unit: str
    ts_ns: np.ndarray  # int64
    values: np.ndarray  # float64
    device: int = -1  # GPU index, -1 for host / unknown
    source: str = "trace"  # 'trace' or 'samples'


@dataclass
class SourceInfo:
    """Where a model came from."""

    path: str
    format: str  # 'kineto-json', 'kineto-json.gz', 'tensorboard-logdir', 'rank-folder', 'run-bundle'
    schema: str = "unknown"  # 'new' (cpu_op...) or 'old' (Operator...) or 'unknown'


@dataclass
class TraceModel:
    """One rank's trace, columnar.  Build it with :func:`analyzers.loader.load_trace`."""

    source: SourceInfo
    strings: list[str]
    # --- slices (all arrays have the same length, sorted by start_ns) ---
    start_ns: np.ndarray  # int64
    dur_ns: np.ndarray  # int64
    name_id: np.ndarray  # int32 -> strings
    cat_id: np.ndarray  # int32 -> strings (raw category, kept even when unknown)
    kind: np.ndarray  # int8 (Kind)
    track_id: np.ndarray  # int32 -> tracks
    device: np.ndarray  # int16, -1 host
    stream: np.ndarray  # int64, -1 host
    depth: np.ndarray  # int16, nesting depth inside its track
    correlation: np.ndarray  # int64, -1 absent
    external_id: np.ndarray  # int64, -1 absent
    blocks_per_sm: np.ndarray  # float32, nan absent
    occupancy_pct: np.ndarray  # float32, nan absent (est. achieved occupancy %)
    registers_per_thread: np.ndarray  # int32, -1 absent
    shared_mem_bytes: np.ndarray  # int64, -1 absent
    grid_blocks: np.ndarray  # int64 product of grid dims, -1 absent
    block_threads: np.ndarray  # int64 product of block dims, -1 absent
    bytes: np.ndarray  # int64 (memcpy / memset size), -1 absent
    args_raw: Sequence[Any]  # per row: raw JSON bytes of args (or None), decoded lazily (PackedBytes from the loader)
    tracks: Tracks
    flows: Flows
    memory: MemoryEvents
    counters: list[CounterTrack]
    device_properties: list[dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)
    rank: int | None = None
    world_size: int | None = None
    origin_abs_ns: int | None = None  # epoch ns of relative time 0, when known
    run_info: dict[str, Any] | None = None  # run.json of a TorchScope run bundle
    warnings: list[str] = field(default_factory=list)
    raw_event_count: int = 0
    accelerator_vendor: str | None = None  # vendor the categories / device process names prove ('mtia', 'intel')

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.start_ns)

    @property
    def n_slices(self) -> int:
        return len(self.start_ns)

    @cached_property
    def end_ns(self) -> np.ndarray:
        """int64 end of each slice."""
        return self.start_ns + self.dur_ns

    @cached_property
    def names(self) -> np.ndarray:
        """Object array of every slice's name (built once, on first use)."""
        table = np.array(self.strings, dtype=object)
        return table[self.name_id] if len(self.name_id) else np.empty(0, dtype=object)

    @property
    def span_ns(self) -> int:
        """Time from the first slice start to the last slice end."""
        if not len(self.start_ns):
            return 0
        return int(self.end_ns.max() - self.start_ns.min())

    def name(self, row: int) -> str:
        return self.strings[int(self.name_id[row])]

    def category(self, row: int) -> str:
        return self.strings[int(self.cat_id[row])]

    def string_id(self, text: str) -> int:
        """Id of ``text`` in the string table, or -1 when absent."""
        return self._string_index.get(text, -1)

    @cached_property
    def _string_index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.strings)}

    def name_mask(self, predicate: Callable[[str], bool]) -> np.ndarray:
        """Bool per slice: ``predicate(name)``, evaluated once per distinct string."""
        if not len(self):
            return np.zeros(0, dtype=bool)
        lut = np.fromiter((bool(predicate(s)) for s in self.strings), dtype=bool, count=len(self.strings))
        return lut[self.name_id]

    def rows_of_kind(self, *kinds: Kind) -> np.ndarray:
        """Row indices of slices of any of ``kinds`` (sorted by start)."""
        if len(kinds) == 1:
            return np.flatnonzero(self.kind == int(kinds[0]))
        return np.flatnonzero(np.isin(self.kind, [int(k) for k in kinds]))

    def rows_named(self, prefix: str) -> np.ndarray:
        """Row indices of slices whose name starts with ``prefix``."""
        ids = [i for i, s in enumerate(self.strings) if s.startswith(prefix)]
        if not ids:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(np.isin(self.name_id, ids))

    # ------------------------------------------------------------------ args
    def args(self, row: int) -> dict[str, Any]:
        """All args of one slice, decoded from the raw JSON kept at load time."""
        raw = self.args_raw[row]
        if raw is None:
            return {}
        try:
            value = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    def raw_args_of(self, rows: Iterable[int]) -> list[Any]:
        """The raw JSON args (bytes-like, or None) of several slices, without a copy each when packed."""
        rows = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
        many = getattr(self.args_raw, "many", None)
        return many(rows) if many is not None else [self.args_raw[r] for r in rows.tolist()]

    def args_many(self, rows: Iterable[int]) -> list[dict[str, Any]]:
        """Args of several slices at once (one decode call)."""
        rows = list(rows)
        raws = self.raw_args_of(rows)
        if not raws:
            return []
        blob = json_array(raws)
        try:
            values = msgspec.json.decode(blob)
        except msgspec.DecodeError:
            return [self.args(r) for r in rows]
        return [v if isinstance(v, dict) else {} for v in values]

    # ------------------------------------------------------------------ devices
    @cached_property
    def gpu_devices(self) -> list[int]:
        """Device indices with device activity (kernels, copies, memsets, waits, device work of unknown kind)."""
        mask = np.isin(self.kind, [int(k) for k in DEVICE_ACTIVITY_KINDS])
        devs = np.unique(self.device[mask])
        return [int(d) for d in devs if d >= 0]

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpu_devices)

    def device_property(self, device: int) -> dict[str, Any]:
        """deviceProperties entry of ``device`` ({} when the trace has none)."""
        for props in self.device_properties:
            if props.get("id") == device:
                return props
        return {}

    @property
    def vendor(self) -> str:
        """'nvidia', 'amd', 'mtia', 'intel', 'cpu' or 'unknown' (device names, categories, runtime calls)."""
        names = " ".join(str(p.get("name", "")) for p in self.device_properties).lower()
        if "amd" in names or "radeon" in names or "instinct" in names or "mi2" in names or "mi3" in names:
            return "amd"
        if "nvidia" in names or "tesla" in names or "geforce" in names or "quadro" in names:
            return "nvidia"
        if not self.has_gpu:
            return "cpu"
        if self.accelerator_vendor:
            return self.accelerator_vendor
        if "intel" in names:
            return "intel"
        runtime_names = {self.strings[i] for i in np.unique(self.name_id[self.kind == int(Kind.RUNTIME)])}
        if any(n.startswith("hip") for n in runtime_names):
            return "amd"
        if any(n.startswith("cuda") for n in runtime_names):
            return "nvidia"
        return "unknown"

    # ------------------------------------------------------------------ run bundle
    @property
    def settings(self) -> dict[str, Any]:
        """Knob settings of the run that recorded this trace ({} for foreign traces)."""
        return dict((self.run_info or {}).get("settings") or {})

    def counter(self, name: str) -> CounterTrack | None:
        for c in self.counters:
            if c.name == name:
                return c
        return None

    def summary(self) -> dict[str, Any]:
        """Small facts for reports: counts and span."""
        kinds = np.bincount(self.kind.astype(np.int64), minlength=len(Kind)) if len(self) else np.zeros(len(Kind))
        return {
            "events": int(self.raw_event_count),
            "slices": int(len(self)),
            "span_ms": self.span_ns / 1e6,
            "kernels": int(kinds[Kind.KERNEL]),
            "memcpys": int(kinds[Kind.MEMCPY]),
            "memsets": int(kinds[Kind.MEMSET]),
            "cpu_ops": int(kinds[Kind.CPU_OP]),
            "runtime_calls": int(kinds[Kind.RUNTIME]),
            "memory_events": int(len(self.memory)),
            "flows": int(len(self.flows)),
            "counters": len(self.counters),
        }
