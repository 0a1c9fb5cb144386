"""Critical path of one step or annotation instance, with HTA 0.5's lightweight model (docs/HTA_PARITY.md).

The graph has a start and an end node per host op / runtime call and per GPU op
of the window, on HTA's microsecond clock (:mod:`hta_view`).  Edges: op nesting
on each host thread (an op's time between its children; consecutive top-level
ops are joined by zero-weight dependencies; blocking syncs weigh nothing),
launch -> kernel (a *launch delay* when the stream was empty), kernel -> next
kernel on a stream (*kernel-kernel gap*), ``cudaStreamWaitEvent`` (awaited op ->
waiting op, zero weight) and Stream / Context Sync (last GPU op -> end of the
blocking call, zero weight).  The critical path is the longest path; each edge
on it is *cpu_bound* (host op time), *gpu_compute_bound* (GPU op time),
*gpu_kernel_kernel_overhead* or *gpu_kernel_launch_overhead*.  Beyond HTA: the
GPU-idle gaps on the path, each named after the host op that delayed it
(:func:`idle_delays`).  Not modelled yet: ``Event Sync`` (``cudaEventSynchronize``).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .categories import Kind
from .errors import TraceLoadError
from .hta_view import COMM_RE, HtaView
from .launches import LaunchPairs

BOUND_BY = ("cpu_bound", "gpu_compute_bound", "gpu_kernel_kernel_overhead", "gpu_kernel_launch_overhead")
BLOCKING_CALLS = ("cudaDeviceSynchronize", "cudaStreamSynchronize", "cudaEventQuery", "cudaEventSynchronize",
                  "cudaMemcpy", "cudaMemcpyAsync")
LAUNCH_CALLS = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cudaMemcpyAsync", "cudaMemsetAsync",
                "runFunction - job_prep_and_submit_for_execution", "hipLaunchKernel", "hipExtModuleLaunchKernel",
                "hipMemsetAsync", "hipMemcpyAsync", "hipMemcpyWithStream")
OP, DEPENDENCY, LAUNCH, KERNEL_KERNEL, SYNC = "op", "dependency", "launch_delay", "kernel_kernel", "sync"
DEFAULT_ANNOTATION = "ProfilerStep"
TOP_OPS = 10


@dataclass(frozen=True)
class PathEdge:
    """One edge of the path: model rows it joins, its kind and weight, what bounds it, when it starts and the
    op its time belongs to (HTA's attribution; -1 for none)."""

    src_row: int
    dst_row: int
    kind: str
    weight_us: int
    bound_by: str
    at_us: int
    op_row: int


class CriticalPathError(TraceLoadError):
    """Why there is no critical path for this trace and window (one line)."""


@dataclass
class CriticalPath:
    """The path: its length, shares by what bounds it, the ops on it and its edges (rows of the model)."""

    window: str
    instance: int
    start_us: int
    end_us: int
    length_us: int
    bound_by_us: dict[str, int]
    top_ops: list[dict[str, Any]]
    edges: list[PathEdge]
    warnings: list[str] = field(default_factory=list)
    idle_delays: list[dict[str, Any]] = field(default_factory=list)

    @property
    def length_ms(self) -> float:
        return self.length_us / 1e3

    @property
    def bound_by_pct(self) -> dict[str, float]:
        total = self.length_us
        return {k: (100.0 * v / total if total else 0.0) for k, v in self.bound_by_us.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window, "instance": self.instance, "length_ms": self.length_ms,
                "window_ms": (self.end_us - self.start_us) / 1e3, "bound_by_pct": self.bound_by_pct,
                "bound_by_ms": {k: v / 1e3 for k, v in self.bound_by_us.items()}, "top_ops": self.top_ops,
                "edges_on_path": len(self.edges), "gpu_idle_delays": self.idle_delays, "warnings": self.warnings}


def annotation_window(view: HtaView, annotation: str | None, instance: int | None) -> tuple[str, int, int, int]:
    """(name, instance, start us, end us) of the ``instance``-th host event whose name contains ``annotation``
    (default: profiler steps, the second one when there are two or more: the first is often incomplete)."""
    model = view.model
    text = DEFAULT_ANNOTATION if annotation is None else annotation
    ids = [i for i, s in enumerate(model.strings) if text in s]
    rows = np.flatnonzero(view.keep & ~view.is_gpu & np.isin(model.name_id, ids)) if ids else np.empty(0, int)
    rows = rows[np.argsort(view.start_us[rows], kind="stable")]
    if not len(rows):
        what = ("no profiler steps in this trace (pass --annotation NAME)" if annotation is None
                else f"no annotation containing {text!r} in this trace")
        raise CriticalPathError(model.source.path if model.source else "trace", what)
    k = (1 if len(rows) > 1 else 0) if instance is None else instance
    if not 0 <= k < len(rows):
        raise CriticalPathError(model.source.path if model.source else "trace",
                                f"instance {k} of {text!r} does not exist (there are {len(rows)}: 0..{len(rows) - 1})")
    r = rows[k]
    return model.strings[model.name_id[r]], k, int(view.start_us[r]), int(view.end_us[r])


class _Graph:
    """Nodes (2 per event: start, end), weighted edges, longest path; the HTA CPGraph reduced to arrays."""

    def __init__(self, view: HtaView, rows: np.ndarray) -> None:
        self.view = view
        self.rows = rows
        self.start = {int(r): 2 * i for i, r in enumerate(rows)}
        ts = np.empty(2 * len(rows), dtype=np.int64)
        ts[0::2], ts[1::2] = view.start_us[rows], view.end_us[rows]
        self.node_ts: list[int] = ts.tolist()
        self.pred: dict[int, list[tuple[int, int, str]]] = defaultdict(list)  # node -> [(src, weight, kind)]
        self.parent: dict[tuple[int, int], int] = {}  # (src node, dst node) -> row the edge is attributed to

    def ts(self, node: int) -> int:
        return self.node_ts[node]

    def row(self, node: int) -> int:
        return int(self.rows[node // 2])

    def add(self, src: int, dst: int, kind: str, zero: bool = False, attributed: int | None = None) -> None:
        weight = 0 if zero or kind in (DEPENDENCY, SYNC) else max(0, self.ts(dst) - self.ts(src))
        self.pred[dst].append((src, weight, kind))
        if attributed is not None:
            self.parent[(src, dst)] = attributed

    def longest_path(self) -> list[tuple[int, int, str, int]]:
        """Edges (src, dst, kind, weight) of the longest path (networkx ``dag_longest_path`` semantics)."""
        n = 2 * len(self.rows)
        succ: dict[int, list[int]] = defaultdict(list)
        indeg = [0] * n
        for dst, preds in self.pred.items():
            for src, _, _ in preds:
                succ[src].append(dst)
            indeg[dst] = len(preds)
        ready = [i for i in range(n) if indeg[i] == 0]
        dist = [0] * n
        best: dict[int, tuple[int, int, str]] = {}
        seen = 0
        while ready:
            v = ready.pop()
            seen += 1
            for src, w, kind in self.pred.get(v, ()):
                if dist[src] + w > dist[v] or (v not in best and dist[src] + w >= dist[v]):
                    dist[v], best[v] = dist[src] + w, (src, w, kind)
            for d in succ.get(v, ()):
                indeg[d] -= 1
                if indeg[d] == 0:
                    ready.append(d)
        if seen < n:
            raise ValueError("the critical path graph has a cycle")
        v = max(range(n), key=dist.__getitem__) if n else 0
        path = []
        while v in best:
            src, w, kind = best[v]
            path.append((src, v, kind, w))
            v = src
        return path[::-1]


def _window_rows(view: HtaView, launch_rows: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """(host rows, GPU rows) of the window, as HTA clips them: host events starting in it with a duration,
    GPU events whose launch call starts in it with a duration."""
    model = view.model
    host_track = ~np.asarray(model.tracks.is_device, dtype=bool)[model.track_id]
    dur = view.dur_us
    host = np.flatnonzero(view.keep & ~view.is_gpu & host_track & (view.start_us >= lo) & (view.start_us <= hi)
                          & (dur > 0))
    lr = launch_rows
    gpu = view.keep & view.on_stream & view.is_gpu & (lr >= 0)
    lrs = np.maximum(lr, 0)
    gpu &= (view.start_us[lrs] >= lo) & (view.start_us[lrs] <= hi) & (dur[lrs] > 0)
    return host, np.flatnonzero(gpu)


def _host_edges(g: _Graph, host: np.ndarray, node_row: np.ndarray) -> dict[int, int]:
    """Op-nesting edges on each host thread (HTA ``_construct_graph_from_call_stack``); returns row -> parent row."""
    model = g.view.model
    blocking = set(model.string_id(n) for n in BLOCKING_CALLS if n in model.strings)
    parents: dict[int, int] = {}
    for track in np.unique(model.track_id[host]):
        rows = host[model.track_id[host] == track]
        rows = rows[np.lexsort((-model.dur_ns[rows], model.start_ns[rows]))]
        stack: list[int] = []
        state = {"last": None, "high": None, "depth": 0, "parent": -1}

        def leave(r: int) -> None:
            if not node_row[r]:
                return
            end = g.start[r] + 1
            state["depth"] -= 1
            if state["last"] is not None:
                g.add(state["last"], end, OP, zero=int(model.name_id[r]) in blocking,
                      attributed=_attribution(g, state["last"], end, state["parent"]))
            if state["depth"] == 0:
                state["last"], state["high"] = None, end
            else:
                state["last"], state["parent"] = end, parents.get(r, -1)

        for r in rows.tolist():
            while stack and model.end_ns[stack[-1]] <= model.start_ns[r]:
                leave(stack.pop())
            parents[r] = stack[-1] if stack else -1
            stack.append(r)
            if not node_row[r]:
                continue
            start = g.start[r]
            if state["depth"] == 0 and state["high"] is not None:
                g.add(state["high"], start, DEPENDENCY)
            state["depth"] += 1
            if state["last"] is not None:
                g.add(state["last"], start, OP, attributed=_attribution(g, state["last"], start, state["parent"]))
            state["last"], state["parent"] = start, parents[r]
        while stack:
            leave(stack.pop())
    return parents


def _attribution(g: _Graph, src: int, dst: int, src_parent: int) -> int:
    """The row an op edge's time belongs to (HTA ``_attribute_edge``)."""
    if src % 2 == 0:
        return g.row(src)
    if dst % 2 == 1:
        return g.row(dst)
    return src_parent


def _queue_lengths(view: HtaView, launches: LaunchPairs) -> tuple[np.ndarray, np.ndarray]:
    """Per slice (GPU op rows; -1 elsewhere): its stream's queue length just after its launch call, and just
    after it started (HTA's queue-length series: +1 at each launch call, -1 at each op start)."""
    model = view.model
    src, dst = launches
    names = np.array(model.strings, dtype=object)
    ok = view.keep[src] & view.keep[dst] & (model.stream[dst] >= 0) & \
        np.isin(names[model.name_id[src]] if len(src) else np.empty(0, dtype=object), LAUNCH_CALLS)
    src, dst = src[ok], dst[ok]
    at_launch = np.full(len(model), -1, dtype=np.int64)
    at_start = np.full(len(model), -1, dtype=np.int64)
    for s in np.unique(model.stream[dst]).tolist():
        sel = model.stream[dst] == s
        ts = np.concatenate([view.start_us[src[sel]], view.start_us[dst[sel]]])
        delta = np.concatenate([np.ones(sel.sum(), np.int64), -np.ones(sel.sum(), np.int64)])
        who = np.concatenate([dst[sel], dst[sel]])
        order = np.argsort(ts, kind="stable")
        q = np.cumsum(delta[order])
        up = delta[order] > 0
        at_launch[who[order][up]] = q[up]
        at_start[who[order][~up]] = q[~up]
    return at_launch, at_start


def linked_host_rows(view: HtaView) -> np.ndarray:
    """Per slice: the host runtime row with the same correlation id, for GPU events (-1 when none)."""
    model = view.model
    out = np.full(len(model), -1, dtype=np.int64)
    host = np.flatnonzero(~view.is_gpu & (model.correlation >= 0)
                          & np.isin(model.kind, [int(Kind.RUNTIME), int(Kind.DRIVER)]))
    gpu = np.flatnonzero(view.is_gpu & (model.correlation >= 0))
    if not len(host) or not len(gpu):
        return out
    order = np.argsort(model.correlation[host], kind="stable")
    keys = model.correlation[host][order]
    pos = np.minimum(np.searchsorted(keys, model.correlation[gpu]), len(keys) - 1)
    hit = keys[pos] == model.correlation[gpu]
    out[gpu[hit]] = host[order][pos[hit]]
    return out


def _gpu_edges(g: _Graph, gpu: np.ndarray, syncs: np.ndarray, linked: np.ndarray,
               queues: tuple[np.ndarray, np.ndarray], waits_on: dict[int, int]) -> None:
    """Kernel spans, launch delays, kernel-kernel gaps and Stream/Context Sync edges
    (HTA ``_construct_graph_from_kernels``), in start order (syncs at their end)."""
    view, model = g.view, g.view.model
    at_launch, at_start = queues
    context_sync = model.string_id("Context Sync") if "Context Sync" in model.strings else -2
    stream_sync = model.string_id("Stream Sync") if "Stream Sync" in model.strings else -2
    events = [(int(view.start_us[r]), 0, int(r)) for r in gpu.tolist()] + \
        [(int(view.end_us[r]), 1, int(r)) for r in syncs.tolist()]
    last: dict[int, int] = {}
    for _, is_sync, r in sorted(events):
        runtime = int(linked[r])
        if is_sync:
            name = int(model.name_id[r])
            targets = list(last.values()) if name == context_sync else \
                [last[int(model.stream[r])]] if name == stream_sync and int(model.stream[r]) in last else []
            if runtime in g.start:
                for node in targets:
                    g.add(node, g.start[runtime] + 1, SYNC)
            continue
        start, stream = g.start[r], int(model.stream[r])
        g.add(start, start + 1, OP, attributed=r)
        prev = last.get(stream)
        dep = waits_on.get(r)
        dep_end = g.start[dep] + 1 if dep in g.start else None
        if dep_end is not None:
            g.add(dep_end, start, SYNC)
        if (at_launch[r] == 1 and at_start[r] == 0 and runtime in g.start
                and (prev is None or g.ts(prev) < view.start_us[runtime])
                and (dep_end is None or g.ts(dep_end) < view.start_us[runtime])):
            g.add(g.start[runtime], start, LAUNCH)
        elif prev is not None and (dep_end is None or g.ts(dep_end) < g.ts(prev)):
            g.add(prev, start, KERNEL_KERNEL, attributed=g.row(prev))
        last[stream] = start + 1


def _bound_by(model: Any, kind: str, row: int) -> str:
    if kind == KERNEL_KERNEL:
        return "gpu_kernel_kernel_overhead"
    if kind == LAUNCH:
        return "gpu_kernel_launch_overhead"
    if kind != OP:
        return ""
    if row < 0 or model.stream[row] < 0 or not model.kind[row] in (int(Kind.KERNEL), int(Kind.MEMCPY),
                                                                     int(Kind.MEMSET), int(Kind.SYNC)):
        return "cpu_bound"
    return "gpu_communication_bound" if COMM_RE.match(model.strings[model.name_id[row]]) else "gpu_compute_bound"


def critical_path(view: HtaView, launches: LaunchPairs, annotation: str | None = None,
                  instance: int | None = None) -> CriticalPath:
    """The critical path of one annotation instance (default: the second profiler step) of the view's rank."""
    model = view.model
    path = model.source.path if model.source else "trace"
    if not model.has_gpu:
        raise CriticalPathError(path, "no GPU work in this trace: the critical path is the host timeline")
    name, k, lo, hi = annotation_window(view, annotation, instance)
    linked = linked_host_rows(view)
    host, gpu = _window_rows(view, linked, lo, hi)
    sync_names = [model.string_id(n) for n in ("Context Sync", "Stream Sync") if n in model.strings]
    syncs = gpu[np.isin(model.name_id[gpu], sync_names)]
    gpu = gpu[np.isin(model.kind[gpu], [int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET)])]
    rows = np.unique(np.concatenate([host, gpu, linked[syncs][linked[syncs] >= 0]]))
    node_row = np.zeros(len(model), dtype=bool)
    node_row[rows] = np.isin(model.kind[rows], [int(Kind.CPU_OP), int(Kind.RUNTIME), int(Kind.DRIVER),
                                                int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET)])
    rows = rows[node_row[rows]]
    g = _Graph(view, rows)
    _host_edges(g, host, node_row)
    _gpu_edges(g, gpu, syncs, linked, _queue_lengths(view, launches), stream_wait_links(view, linked, launches))
    edges = g.longest_path()
    warnings = [] if model.rows_of_kind(Kind.SYNC).size else \
        ["no CUDA sync events in this trace: GPU -> CPU waits are not linked, the path may understate GPU time"]
    return _summarise(g, edges, name, k, lo, hi, warnings)


def _summarise(g: _Graph, edges: list[tuple[int, int, str, int]], name: str, k: int, lo: int, hi: int,
               warnings: list[str]) -> CriticalPath:
    model = g.view.model
    bound = {b: 0 for b in BOUND_BY}
    per_op: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for src, dst, kind, w in edges:
        row = g.parent.get((src, dst), -1)
        b = _bound_by(model, kind, row)
        if b:
            bound[b] = bound.get(b, 0) + w
        if b in ("cpu_bound", "gpu_compute_bound", "gpu_communication_bound") and w > 0:
            per_op[(model.strings[model.name_id[row]] if row >= 0 else "(root)", b)] += w
        out.append(PathEdge(g.row(src), g.row(dst), kind, w, b, g.ts(src), row))
    total = sum(e.weight_us for e in out)
    top = sorted(per_op.items(), key=lambda kv: -kv[1])[:TOP_OPS]
    top_ops = [{"name": n, "bound_by": b, "ms": w / 1e3, "share_pct": 100.0 * w / total if total else 0.0}
               for (n, b), w in top]
    return CriticalPath(name, k, lo, hi, total, bound, top_ops, out, warnings, idle_delays(g.view, out))


def stream_wait_links(view: HtaView, linked: np.ndarray, launches: LaunchPairs) -> dict[int, int]:
    """GPU op row -> the GPU op row it waits for through ``cudaStreamWaitEvent`` (HTA's event-sync model):
    the source is the last op launched onto the recorded stream before ``cudaEventRecord``, the waiter the
    next op the same thread launches onto the waiting stream after ``cudaStreamWaitEvent``."""
    model = view.model
    waits = model.rows_named("Stream Wait Event")
    records = model.rows_named("cudaEventRecord")
    if not len(waits) or not len(records):
        return {}
    names = np.array(model.strings, dtype=object)
    src, dst = launches
    ok = view.keep[src] & (model.stream[dst] >= 0) & np.isin(names[model.name_id[src]], LAUNCH_CALLS)
    src, dst = src[ok], dst[ok]
    order = np.argsort(view.start_us[src], kind="stable")
    src, dst = src[order], dst[order]
    by_stream = _groups(model.stream[dst].astype(np.int64), 0 * src)
    by_thread = _groups(model.stream[dst].astype(np.int64), model.track_id[src].astype(np.int64))
    record_of = {int(model.correlation[r]): int(r) for r in records.tolist()}
    out: dict[int, int] = {}
    for w, args in zip(waits.tolist(), model.args_many(waits.tolist())):
        rec = record_of.get(int(args.get("wait_on_cuda_event_record_corr_id", -1)))
        runtime = int(linked[w])
        if rec is None or runtime < 0:
            continue
        before = by_stream.get((int(args.get("wait_on_stream", -1)), 0))
        after = by_thread.get((int(model.stream[w]), int(model.track_id[runtime])))
        if before is None or after is None:
            continue
        i = int(np.searchsorted(view.start_us[src[before]], view.start_us[rec], side="right")) - 1
        j = int(np.searchsorted(view.start_us[src[after]], view.start_us[runtime], side="left"))
        if i >= 0 and j < len(after):
            out[int(dst[after[j]])] = int(dst[before[i]])
    return out


def critical_path_or_reason(view: HtaView, launches: LaunchPairs, annotation: str | None = None,
                            instance: int | None = None) -> CriticalPath | str:
    """:func:`critical_path`, or the one-line reason there is none (no GPU work, no such step or annotation)."""
    try:
        return critical_path(view, launches, annotation, instance)
    except CriticalPathError as exc:
        return str(exc)


PATH_COLUMNS = ["#", "at_ms", "kind", "bound_by", "weight_us", "from", "to"]


def path_table(cp: CriticalPath, model: Any) -> pd.DataFrame:
    """The path's edges in order: when (ms from the trace start), kind, what bounds it, weight, from / to event."""
    names = np.array(model.strings, dtype=object)
    rows = [(i, e.at_us / 1e3, e.kind, e.bound_by or "-", e.weight_us, names[model.name_id[e.src_row]],
             names[model.name_id[e.dst_row]]) for i, e in enumerate(cp.edges)]
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def _groups(a: np.ndarray, b: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """(a, b) -> positions with that pair, in position order."""
    out: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(a.tolist(), b.tolist())):
        out[key].append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


IDLE_DELAYS = 10


def idle_delays(view: HtaView, edges: list[PathEdge], top: int = IDLE_DELAYS) -> list[dict[str, Any]]:
    """GPU-idle gaps on the path, each with the host op that delayed it, longest first.

    Where the path enters the GPU through a launch delay, the device had been idle since its last op ended;
    the host stretch of the path before that launch is what held the GPU up, and the op with most of that
    stretch's time (HTA's attribution: the innermost op owning it) is named as the delaying op."""
    model = view.model
    prev_end = _device_prev_end(view)
    segment: dict[int, int] = defaultdict(int)
    out = []
    for e in edges:
        if e.bound_by == "cpu_bound" and e.op_row >= 0:
            segment[e.op_row] += e.weight_us
            continue
        if e.kind == LAUNCH and segment:
            k = e.dst_row
            start = int(view.start_us[k])
            idle_from = prev_end(int(model.device[k]), start)
            if idle_from is not None and start > idle_from:
                by = max(segment, key=lambda r: segment[r])
                out.append({"gap_ms": (start - idle_from) / 1e3, "at_ms": idle_from / 1e3,
                            "next_gpu_op": model.strings[model.name_id[k]],
                            "delayed_by": model.strings[model.name_id[by]], "delayed_by_row": by,
                            "delayed_by_ms": segment[by] / 1e3, "host_ms": sum(segment.values()) / 1e3})
        if e.kind in (LAUNCH, KERNEL_KERNEL, SYNC) or e.bound_by.startswith("gpu"):
            segment = defaultdict(int)  # the path is on the GPU: the next host stretch starts afresh
    return sorted(out, key=lambda d: -d["gap_ms"])[:top]


def _device_prev_end(view: HtaView) -> Any:
    """``f(device, t)``: the latest end of the device's GPU ops that started before ``t`` (None: none did)."""
    model, rows = view.model, view.work_rows
    per_device: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for d in np.unique(model.device[rows]).tolist():
        r = rows[model.device[rows] == d]
        r = r[np.argsort(view.start_us[r], kind="stable")]
        per_device[d] = (view.start_us[r], np.maximum.accumulate(view.end_us[r]))

    def prev_end(device: int, t: int) -> int | None:
        starts, ends = per_device.get(device, (np.empty(0, np.int64), np.empty(0, np.int64)))
        i = int(np.searchsorted(starts, t, side="left")) - 1
        return int(ends[i]) if i >= 0 else None
    return prev_end


def path_highlights(cp: CriticalPath, model: Any) -> tuple[list[int], list[tuple[int, int, int | None]]]:
    """What to outline on the timeline: the events whose time is on the path (rows), and the path's launch
    delays and kernel-kernel gaps as (start ns, end ns, track id) ranges on the GPU op's track."""
    rows = sorted({e.op_row for e in cp.edges if e.kind == OP and e.weight_us > 0 and e.op_row >= 0})
    ranges: list[tuple[int, int, int | None]] = []
    for e in cp.edges:
        if e.kind not in (LAUNCH, KERNEL_KERNEL) or e.weight_us <= 0:
            continue
        lo = int(model.start_ns[e.src_row] if e.kind == LAUNCH else model.end_ns[e.src_row])
        hi = int(model.start_ns[e.dst_row])
        if hi > lo:
            ranges.append((lo, hi, int(model.track_id[e.dst_row])))
    return rows, ranges
