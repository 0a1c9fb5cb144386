"""Timeline data: lanes, level-of-detail pyramids and counter series.

Pure numpy (no Qt), so :func:`build_pyramids` can run in a worker thread
while the GUI stays responsive.  See ``shared/notes/TIMELINE.md`` for the
design: per lane, numpy columns sorted by start; a pyramid whose level k
merges buckets of ``2**(12+k)`` ns keeping the first start, the max end, the
colour and row of the longest event and a count.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from analyzers.categories import STEP_PREFIX, Kind
from analyzers.steps import StepTable, step_rows, step_table
from analyzers.trace_model import TraceModel

#: smallest merged bucket is 2**BASE_SHIFT ns (4.096 us)
BASE_SHIFT = 12
#: colours per palette family
PALETTE_SIZE = 16

# colour families (palette per kind of event)
FAMILY_OP = 0
FAMILY_RUNTIME = 1
FAMILY_KERNEL = 2
FAMILY_MEMCPY = 3
FAMILY_MEMSET = 4
FAMILY_GPU_ANNOTATION = 5
FAMILY_STEP = 6
FAMILY_SYNC = 7
FAMILY_PYTHON = 8
N_FAMILIES = 9

_KIND_FAMILY = {
    Kind.OTHER: FAMILY_OP,
    Kind.CPU_OP: FAMILY_OP,
    Kind.USER_ANNOTATION: FAMILY_GPU_ANNOTATION,
    Kind.GPU_USER_ANNOTATION: FAMILY_GPU_ANNOTATION,
    Kind.RUNTIME: FAMILY_RUNTIME,
    Kind.DRIVER: FAMILY_RUNTIME,
    Kind.SYNC: FAMILY_SYNC,
    Kind.KERNEL: FAMILY_KERNEL,
    Kind.MEMCPY: FAMILY_MEMCPY,
    Kind.MEMSET: FAMILY_MEMSET,
    Kind.DEVICE_WAIT: FAMILY_SYNC,
    Kind.DEVICE_OTHER: FAMILY_KERNEL,
    Kind.PYTHON: FAMILY_PYTHON,
    Kind.TRACE_SPAN: FAMILY_OP,
}

# lane groups
GROUP_STEPS = "steps"
GROUP_CPU = "cpu"
GROUP_GPU = "gpu"


@dataclass
class Level:
    """One pyramid level of one lane (columns sorted by start)."""

    shift: int  # bucket = 2**shift ns; -1 for the raw events
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    color: np.ndarray  # int16
    row: np.ndarray  # int64 (row of the longest event in the bucket)
    count: np.ndarray  # int32
    cummax_end: np.ndarray  # int64, running max of end (for the visible-window search)

    @property
    def bucket_ns(self) -> float:
        return 0.0 if self.shift < 0 else float(1 << self.shift)

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class Lane:
    """One horizontal row of slices: (track, nesting depth) or the steps row."""

    name: str  # short sub-label ('depth 2', 'kernels', 'annotations')
    levels: list[Level]  # levels[0] holds the raw events

    @property
    def raw(self) -> Level:
        return self.levels[0]

    def level_for(self, ns_per_px: float) -> Level:
        """Coarsest level whose bucket is at most one pixel."""
        best = self.levels[0]
        for lvl in self.levels[1:]:
            if lvl.bucket_ns <= ns_per_px:
                best = lvl
            else:
                break
        return best


@dataclass
class TrackGroup:
    """Lanes drawn together under one label (a CPU thread, a GPU stream, the steps)."""

    key: str  # stable id: 'steps', 'track:<id>'
    label: str
    kind: str  # GROUP_STEPS / GROUP_CPU / GROUP_GPU
    track_id: int | None
    lanes: list[Lane]


@dataclass
class CounterSeries:
    """A counter track drawn as a line."""

    name: str
    unit: str
    ts_ns: np.ndarray  # int64
    values: np.ndarray  # float64


@dataclass
class TimelineData:
    """Everything the timeline draws, precomputed (no Qt)."""

    groups: list[TrackGroup]
    counters: list[CounterSeries]
    row_color: np.ndarray  # int16 per model row
    row_lane: np.ndarray  # int32 per model row: global lane index (-1 if not drawn)
    lane_group: np.ndarray  # int32 per global lane: index into groups
    lane_index: np.ndarray  # int32 per global lane: index inside its group
    t_min: int  # whole span: slices and counters (the host samples start before the profiler)
    t_max: int
    view_min: int = 0  # the profiled window (slices only): where the timeline opens
    view_max: int = 1
    empty_counters: list[CounterSeries] = field(default_factory=list)  # all zero or NaN: hidden by default
    flow_src: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # sorted launch -> work
    flow_src_dst: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    flow_dst: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # sorted work -> launch
    flow_dst_src: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    step_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def lane(self, global_lane: int) -> Lane:
        return self.groups[int(self.lane_group[global_lane])].lanes[int(self.lane_index[global_lane])]

    @property
    def n_events(self) -> int:
        return int(sum(len(l.raw) for g in self.groups for l in g.lanes))


# ----------------------------------------------------------------------------- colours
def name_color_ids(model: TraceModel) -> np.ndarray:
    """Colour id per row: family * PALETTE_SIZE + a stable hash of the name."""
    n = len(model)
    if not n:
        return np.empty(0, dtype=np.int16)
    used = np.unique(model.name_id)
    hashes = np.zeros(max(len(model.strings), 1), dtype=np.int16)
    for sid in used:
        hashes[sid] = zlib.crc32(model.strings[int(sid)].encode("utf-8", "replace")) % PALETTE_SIZE
    fam_lut = np.zeros(max(int(k) for k in Kind) + 1, dtype=np.int16)
    for k, f in _KIND_FAMILY.items():
        fam_lut[int(k)] = f
    fam = fam_lut[model.kind.astype(np.int64)]
    return (fam * PALETTE_SIZE + hashes[model.name_id]).astype(np.int16)


# ----------------------------------------------------------------------------- pyramid
def _make_level(shift: int, start, end, color, row, count) -> Level:
    return Level(shift, start, end, color, row, count,
                 np.maximum.accumulate(end) if len(end) else end.copy())


def _merge(prev: Level, shift: int, b: np.ndarray | None = None) -> Level:
    """Merge ``prev`` into buckets of 2**shift ns (first start, max end, longest event)."""
    if b is None:
        b = prev.start >> shift
    n = len(b)
    brk = np.flatnonzero(b[1:] != b[:-1]) + 1
    idx = np.concatenate(([0], brk))
    start = prev.start[idx]
    end = np.maximum.reduceat(prev.end, idx)
    dur = prev.end - prev.start
    dmax = int(dur.max()) if n else 0
    if n and dmax < (1 << 62) // max(n, 1):
        # one reduceat: key = dur * n + (n - 1 - i) -> the longest, first on ties
        key = dur * n + (n - 1 - np.arange(n, dtype=np.int64))
        best = (n - 1) - (np.maximum.reduceat(key, idx) % n)
    else:
        counts_g = np.diff(np.append(idx, n))
        mx = np.maximum.reduceat(dur, idx)
        pos = np.flatnonzero(dur == np.repeat(mx, counts_g))
        grp = np.repeat(np.arange(len(idx)), counts_g)[pos]
        best = pos[np.concatenate(([True], grp[1:] != grp[:-1]))]
    count = np.add.reduceat(prev.count, idx).astype(np.int32)
    return _make_level(shift, start, end, prev.color[best], prev.row[best], count)


def build_lane(start: np.ndarray, end: np.ndarray, color: np.ndarray, row: np.ndarray,
               screen_px: int = 1920, name: str = "") -> Lane:
    """Raw level plus merged levels until a level has under 2x ``screen_px`` entries."""
    raw = _make_level(-1, start.astype(np.int64), end.astype(np.int64), color.astype(np.int16),
                      row.astype(np.int64), np.ones(len(start), dtype=np.int32))
    levels = [raw]
    cur = raw
    shift = BASE_SHIFT
    limit = 2 * screen_px
    while len(cur) >= limit and shift < 62:
        # jump straight to the first bucket size that halves the level (merging is associative,
        # so skipped levels need not be built); keep going until under 2x the screen width
        while shift < 62:
            b = cur.start >> shift
            distinct = 1 + int(np.count_nonzero(b[1:] != b[:-1]))
            if distinct * 2 <= len(cur) or distinct < limit:
                break
            shift += 1
        cur = _merge(cur, shift, b)
        levels.append(cur)
        shift += 1
    return Lane(name, levels)


# ----------------------------------------------------------------------------- counters
BINARY_UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def format_counter_value(value: float, unit: str) -> str:
    """A counter value for a label: bytes in binary units (``1.32 GiB``), others as ``12.5 %``."""
    if unit == "B":
        for name, scale in BINARY_UNITS:
            if abs(value) >= scale:
                return f"{value / scale:,.2f} {name}"
        return f"{value:,.0f} B"
    return f"{value:,.1f} {unit}".strip()


def is_empty_counter(c: CounterSeries) -> bool:
    """True when a counter holds nothing to see: no samples, or only zeros and NaNs."""
    vals = c.values[np.isfinite(c.values)]
    return not len(vals) or not np.any(vals != 0)


def _counter_series(model: TraceModel) -> list[CounterSeries]:
    out: list[CounterSeries] = []
    for c in model.counters:
        if len(c.ts_ns):
            order = np.argsort(c.ts_ns, kind="stable")
            label = c.name if c.device < 0 or f"{c.device}" in c.name else f"GPU {c.device} {c.name}"
            out.append(CounterSeries(label, c.unit, np.asarray(c.ts_ns, np.int64)[order],
                                     np.asarray(c.values, np.float64)[order]))
    mem = model.memory
    if len(mem):
        keys = np.unique(np.stack([mem.device_type.astype(np.int64), mem.device_id.astype(np.int64)], 1), axis=0)
        for dtype, did in keys:
            sel = (mem.device_type == dtype) & (mem.device_id == did)
            ts = mem.ts_ns[sel]
            where = "CPU" if dtype == 0 else (f"GPU {did}" if dtype == 1 else f"device {dtype}:{did}")
            alloc = mem.total_allocated_bytes[sel]
            if (alloc >= 0).all():
                vals = alloc.astype(np.float64)
            else:  # older traces: running sum of the allocation deltas
                vals = np.cumsum(mem.bytes[sel].astype(np.float64))
                vals -= min(0.0, float(vals.min()))
            out.append(CounterSeries(f"{where} memory allocated", "B", ts, vals))
            res = mem.total_reserved_bytes[sel]
            if (res >= 0).any():
                ok = res >= 0
                out.append(CounterSeries(f"{where} memory reserved", "B", ts[ok], res[ok].astype(np.float64)))
    return out


# ----------------------------------------------------------------------------- build
def overlap_lanes(start: np.ndarray, end: np.ndarray, max_lanes: int = 8) -> np.ndarray:
    """Lane per event (sorted by start) so that events of one lane never overlap (greedy, vectorized)."""
    lane = np.full(len(start), max_lanes - 1, dtype=np.int32)
    todo = np.arange(len(start))
    for k in range(max_lanes - 1):
        if not len(todo):
            break
        e = end[todo]
        prev_max = np.concatenate(([np.iinfo(np.int64).min], np.maximum.accumulate(e)[:-1]))
        ok = start[todo] >= prev_max
        lane[todo[ok]] = k
        todo = todo[~ok]
    return lane


def _spans(start_ns: np.ndarray, end_ns: np.ndarray, counters: list[CounterSeries]) -> tuple[int, int, int, int]:
    """(t_min, t_max) over slices and counters; (view_min, view_max): the slices (the profiled window)."""
    n = len(start_ns)
    t_min = int(start_ns.min()) if n else 0
    t_max = int(end_ns.max()) if n else 1
    view = (t_min, max(t_max, t_min + 1))
    for c in counters:
        if len(c.ts_ns):
            t_min = min(t_min, int(c.ts_ns[0]))
            t_max = max(t_max, int(c.ts_ns[-1]))
    whole = (t_min, max(t_max, t_min + 1))
    return (*whole, *(view if n else whole))  # counters only: open on them


class _GroupBuilder:
    """Collects track groups and the lane index columns while build_pyramids walks the tracks."""

    def __init__(self, model: TraceModel, row_color: np.ndarray, screen_px: int) -> None:
        self.model = model
        self.row_color = row_color
        self.screen_px = screen_px
        self.row_lane = np.full(len(model), -1, dtype=np.int32)
        self.groups: list[TrackGroup] = []
        self.lane_group: list[int] = []
        self.lane_index: list[int] = []

    def add_lane_group(self, group: TrackGroup) -> None:
        """A group whose lanes are built already (its rows keep the lanes of their own tracks)."""
        gi = len(self.groups)
        for li in range(len(group.lanes)):
            self.lane_group.append(gi)
            self.lane_index.append(li)
        self.groups.append(group)

    def add_group(self, key: str, label: str, kind: str, track_id: int | None,
                  lane_rows: list[tuple[str, np.ndarray]]) -> None:
        """A group of one track: each lane's rows are drawn there (row_lane points at it)."""
        m = self.model
        lanes = []
        gi = len(self.groups)
        for li, (lname, rows) in enumerate(lane_rows):
            rows = np.sort(rows)  # model rows are sorted by start
            self.row_lane[rows] = len(self.lane_group)
            lanes.append(build_lane(m.start_ns[rows], m.end_ns[rows], self.row_color[rows], rows,
                                    self.screen_px, lname))
            self.lane_group.append(gi)
            self.lane_index.append(li)
        self.groups.append(TrackGroup(key, label, kind, track_id, lanes))


def _step_lane_rows(model: TraceModel, steps: StepTable) -> tuple[np.ndarray, np.ndarray]:
    """(index into ``steps``, ``ProfilerStep#<number>`` row) of each kept step that has such a row."""
    if not steps.from_profiler_steps or not steps.count:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    row_of: dict[int, int] = {}
    for r in step_rows(model).tolist():  # by start: the first range of each number, as step_table keeps
        name = model.name(r)
        try:
            row_of.setdefault(int(name[len(STEP_PREFIX):]), int(r))
        except ValueError:
            continue
    pairs = [(i, row_of[int(n)]) for i, n in enumerate(steps.number.tolist()) if int(n) in row_of]
    idx = np.array([p[0] for p in pairs], dtype=np.int64)
    rows = np.array([p[1] for p in pairs], dtype=np.int64)
    return idx, rows


def _steps_group(model: TraceModel, steps: StepTable, screen_px: int) -> tuple[TrackGroup | None, np.ndarray]:
    """The Steps lane: one entry per kept step of the step table (stretched to its GPU work), and its rows."""
    idx, rows = _step_lane_rows(model, steps)
    if not len(rows):
        return None, rows
    color = (FAMILY_STEP * PALETTE_SIZE + np.arange(len(rows)) % 2).astype(np.int16)
    start = np.asarray(steps.start_ns, np.int64)[idx]
    end = np.asarray(steps.end_ns, np.int64)[idx]
    lane = build_lane(start, end, color, rows, screen_px, "steps")
    return TrackGroup(GROUP_STEPS, "Steps", GROUP_STEPS, None, [lane]), rows


def _device_lanes(model: TraceModel, rows: np.ndarray, depth: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Lanes of a GPU stream: annotations by depth, kernels/copies, then syncs and other device events."""
    start_all, end_all = model.start_ns, model.end_ns
    lane_rows: list[tuple[str, np.ndarray]] = []
    ann = model.kind[rows] == int(Kind.GPU_USER_ANNOTATION)
    ann_rows, work_rows = rows[ann], rows[~ann]
    if len(ann_rows):
        for j, d in enumerate(np.unique(depth[ann])):
            lane_rows.append(("annotations" if j == 0 else f"annotations {j}", ann_rows[depth[ann] == d]))
    work_kinds = np.array([int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET)], dtype=np.int8)
    is_work = np.isin(model.kind[work_rows], work_kinds)
    # kernels / copies of one stream share one lane (only real overlaps get more);
    # syncs and other device events get lanes of their own below
    for label, part in (("kernels", work_rows[is_work]), ("sync", work_rows[~is_work])):
        if not len(part):
            continue
        wl = overlap_lanes(start_all[part], end_all[part])
        for j in range(int(wl.max()) + 1):
            lane_rows.append((label if j == 0 else f"{label} {j}", part[wl == j]))
    return lane_rows


def _add_track_groups(b: _GroupBuilder) -> None:
    """One group per track (in the tracks' sort order): CPU threads by depth, GPU streams by kind."""
    model = b.model
    order_tracks = np.argsort(model.tracks.sort_index, kind="stable")
    by_track = np.argsort(model.track_id, kind="stable")
    counts = np.bincount(model.track_id.astype(np.int64), minlength=len(model.tracks))
    offsets = np.concatenate(([0], np.cumsum(counts)))
    for t in order_tracks.tolist():
        rows = by_track[offsets[t]:offsets[t + 1]]
        if not len(rows):
            continue
        depth = model.depth[rows].astype(np.int64)
        if model.tracks.is_device[t]:
            lane_rows, kind = _device_lanes(model, rows, depth), GROUP_GPU
        else:
            lane_rows = [(f"depth {int(d)}", rows[depth == d]) for d in np.unique(depth)]
            kind = GROUP_CPU
        b.add_group(f"track:{t}", model.tracks.label(t), kind, t, lane_rows)


def _launch_flows(model: TraceModel) -> dict[str, np.ndarray]:
    """Launch -> work links sorted both ways (TimelineData's flow_* columns)."""
    fl = model.flows
    launch = fl.kind == fl.LAUNCH if len(fl) else np.zeros(0, bool)
    src, dst = fl.src_row[launch].astype(np.int64), fl.dst_row[launch].astype(np.int64)
    o1 = np.argsort(src, kind="stable")
    o2 = np.argsort(dst, kind="stable")
    return dict(flow_src=src[o1], flow_src_dst=dst[o1], flow_dst=dst[o2], flow_dst_src=src[o2])


def build_pyramids(model: TraceModel, steps: StepTable | None = None, screen_px: int = 1920) -> TimelineData:
    """Lanes, pyramids and counters of ``model`` (pure numpy: safe in a worker thread).

    ``steps`` is the rank's step table (``RankAnalysis.steps``; computed here when None): the
    Steps lane shows its kept steps, so the timeline and the Overview agree on what a step is.
    """
    if steps is None:
        steps = step_table(model)
    n = len(model)
    row_color = name_color_ids(model)
    b = _GroupBuilder(model, row_color, screen_px)
    # steps (top lane); their rows stay drawn in their thread too
    steps_group, kept_step_rows = _steps_group(model, steps, screen_px) if n else (None, np.empty(0, np.int64))
    if steps_group is not None:
        b.add_lane_group(steps_group)
    if n:
        _add_track_groups(b)
    all_counters = _counter_series(model)
    t_min, t_max, view_min, view_max = _spans(model.start_ns, model.end_ns, all_counters)
    return TimelineData(
        groups=b.groups, counters=[c for c in all_counters if not is_empty_counter(c)],
        empty_counters=[c for c in all_counters if is_empty_counter(c)],
        row_color=row_color, row_lane=b.row_lane,
        lane_group=np.asarray(b.lane_group, np.int32), lane_index=np.asarray(b.lane_index, np.int32),
        t_min=t_min, t_max=t_max, view_min=view_min, view_max=view_max,
        step_rows=np.asarray(kept_step_rows, np.int64), **_launch_flows(model),
    )


# ----------------------------------------------------------------------------- per-frame helpers
def visible_slice(level: Level, t0: float, t1: float) -> tuple[int, int]:
    """Index range of entries of ``level`` that may intersect [t0, t1]."""
    lo = int(np.searchsorted(level.cummax_end, np.int64(math.floor(t0)), side="left"))
    hi = int(np.searchsorted(level.start, np.int64(math.ceil(t1)), side="right"))
    return lo, max(lo, hi)


def frame_rects(level: Level, t0: float, ns_per_px: float, width_px: float,
                merge_px: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel rectangles of one lane for one frame.

    Returns ``(x, w, color, row, count)``: x and w in pixels relative to the
    left edge of the view, entries narrower than ``merge_px`` folded into runs,
    clamped to the view, at least one pixel wide.
    """
    t1 = t0 + ns_per_px * width_px
    lo, hi = visible_slice(level, t0, t1)
    if hi <= lo:
        e = np.empty(0)
        return e, e, np.empty(0, np.int16), np.empty(0, np.int64), np.empty(0, np.int32)
    s = level.start[lo:hi]
    en = level.end[lo:hi]
    keep = en >= t0
    if not keep.all():
        s, en = s[keep], en[keep]
        color, row, count = level.color[lo:hi][keep], level.row[lo:hi][keep], level.count[lo:hi][keep]
    else:
        color, row, count = level.color[lo:hi], level.row[lo:hi], level.count[lo:hi]
    inv = 1.0 / ns_per_px
    xs = (s - t0) * inv
    xe = (en - t0) * inv
    narrow = (xe - xs) < merge_px
    if len(xs) > 1 and narrow.sum() > 1:
        pbin = np.floor(xs / merge_px)
        same = narrow[1:] & narrow[:-1] & (pbin[1:] == pbin[:-1])
        idx = np.flatnonzero(np.concatenate(([True], ~same)))
        if len(idx) < len(xs):
            counts_g = np.diff(np.append(idx, len(xs)))
            xe_m = np.maximum.reduceat(xe, idx)
            dur = xe - xs
            mx = np.maximum.reduceat(dur, idx)
            pos = np.flatnonzero(dur == np.repeat(mx, counts_g))
            grp = np.repeat(np.arange(len(idx)), counts_g)[pos]
            best = pos[np.concatenate(([True], grp[1:] != grp[:-1]))]
            xs, xe = xs[idx], xe_m
            color, row = color[best], row[best]
            count = np.add.reduceat(count, idx)
    xs = np.maximum(xs, -2.0)
    xe = np.minimum(xe, width_px + 2.0)
    w = np.maximum(xe - xs, 1.0)
    return xs, w, color, row, count


def event_at(level: Level, t: float, tol_ns: float) -> int:
    """Index in ``level`` of the event under time ``t`` (or the longest within ``tol_ns``); -1 if none."""
    lo, hi = visible_slice(level, t - tol_ns, t + tol_ns)
    if hi <= lo:
        return -1
    s = level.start[lo:hi]
    e = level.end[lo:hi]
    inside = np.flatnonzero((s <= t) & (e >= t))
    if len(inside):
        # the shortest containing event (most specific)
        j = inside[np.argmin(e[inside] - s[inside])]
        return lo + int(j)
    near = np.flatnonzero((e >= t - tol_ns) & (s <= t + tol_ns))
    if not len(near):
        return -1
    dist = np.maximum(s[near] - t, t - e[near])
    return lo + int(near[np.argmin(dist)])
