"""Shared, lazily computed facts the rules read: steps, per-step figures, name masks, launch links.

One :class:`ModelFacts` per trace model; everything is computed once, on first
use, and vectorised (no Python loop over slices).  Steps, breakdown and GPU
metrics come from the metrics modules (``analyzers.steps``, ``.breakdown``,
``.gpu_metrics``) when they are importable.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np

from ..categories import (COMM_KERNEL_PREFIXES, COMM_OP_PREFIXES, DATALOADER_PREFIXES, STEP_PREFIX,
                          SYNC_CALL_NAMES, Kind)
from ..trace_model import Flows, TraceModel

GPU_WORK = (int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET))

#: Tensor-Core-eligible op names (forward and backward), matched on the lower-cased name.
_ELIGIBLE_RE = re.compile(
    r"(conv(olution)?(_transpose)?[123]?d?\b|convolution|cudnn_conv|miopen_conv|mkldnn_conv|"
    r"(^|[:_])(add|b|badd|addb)?mm(_|\b|backward)|matmul|linear|einsum|lstm|gru\b|rnn|"
    r"(addmm|mm|bmm|baddbmm|convolution|cudnnconvolution|lstm|linear)backward)")
_CONV_RE = re.compile(r"(conv(olution)?(_transpose)?[123]?d?\b|convolution|cudnn_conv|miopen_conv|mkldnn_conv)")
_GEMM_RE = re.compile(r"((^|[:_])(add|b|badd|addb)?mm(_|\b|backward)|matmul|linear|einsum)")

#: kernel-name substrings of Tensor Core kernels (TensorBoard plugin list plus newer cuBLAS/CUTLASS names)
TC_KERNEL_PATTERNS = ("h884", "s884", "h1688", "s1688", "hmma", "i8816", "16816", "xmma_gemm",
                      "xmma_implicit_gemm", "xmma_fprop", "xmma_dgrad", "xmma_wgrad", "884gemm",
                      "1688gemm", "16816gemm", "tensorop", "_tc_", "wmma", "gmma", "sm80_xmma", "sm90_xmma",
                      "bf16", "hgemm")


def is_eligible_name(name: str) -> bool:
    """True for matmul / conv / RNN ops and their backward ops (Tensor-Core eligible)."""
    low = name.lower()
    if low.startswith(("ncclkernel", "nccldevkernel")) or "#" in name:
        return False
    return bool(_ELIGIBLE_RE.search(low))


def is_conv_name(name: str) -> bool:
    return "#" not in name and bool(_CONV_RE.search(name.lower()))


def is_gemm_name(name: str) -> bool:
    return "#" not in name and bool(_GEMM_RE.search(name.lower()))


def is_tc_kernel_name(name: str) -> bool:
    """Tensor Core kernel by name: the metrics module's list (one definition for table and rules)."""
    if _metrics_tc_kernel is not None:
        return _metrics_tc_kernel(name)
    low = name.lower()
    return any(p in low for p in TC_KERNEL_PATTERNS)


try:  # the GPU metrics module owns the Tensor Core kernel-name list; fall back to ours without it
    from ..gpu_metrics import is_tc_kernel_name as _metrics_tc_kernel
except Exception:  # noqa: BLE001
    _metrics_tc_kernel = None


def is_backward_name(name: str) -> bool:
    return "backward" in name.lower() or name.startswith("autograd::engine")


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals as sorted, disjoint (start, end) arrays."""
    if len(starts) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.argsort(starts, kind="stable")
    s = np.asarray(starts, np.int64)[order]
    e = np.asarray(ends, np.int64)[order]
    run_end = np.maximum.accumulate(e)
    new = np.ones(len(s), bool)
    new[1:] = s[1:] > run_end[:-1]
    idx = np.flatnonzero(new)
    ms = s[idx]
    me = np.maximum.reduceat(run_end, idx) if len(idx) else np.empty(0, np.int64)
    return ms, me


def union_ns(starts: np.ndarray, ends: np.ndarray) -> int:
    ms, me = merge_intervals(starts, ends)
    return int((me - ms).sum())


def overlap_with_union(starts: np.ndarray, ends: np.ndarray, ms: np.ndarray, me: np.ndarray) -> np.ndarray:
    """Per interval (starts[i], ends[i]): length covered by the disjoint sorted union (ms, me)."""
    if len(starts) == 0 or len(ms) == 0:
        return np.zeros(len(starts), np.int64)
    cum = np.concatenate([[0], np.cumsum(me - ms)])

    def covered_before(t: np.ndarray) -> np.ndarray:
        # total union length in (-inf, t]
        i = np.searchsorted(ms, t, side="right")  # intervals starting at or before t
        full = cum[np.maximum(i - 1, 0)]
        last_s = ms[np.maximum(i - 1, 0)]
        last_e = me[np.maximum(i - 1, 0)]
        part = np.clip(np.minimum(t, last_e) - last_s, 0, None)
        return np.where(i > 0, full + part, 0)

    return covered_before(np.asarray(ends, np.int64)) - covered_before(np.asarray(starts, np.int64))


@dataclass
class SimpleSteps:
    """Fallback step table (host ProfilerStep ranges, or the whole trace as one step)."""

    start_ns: np.ndarray
    end_ns: np.ndarray

    @property
    def count(self) -> int:
        return len(self.start_ns)

    @property
    def window_ns(self) -> tuple[int, int]:
        if not len(self.start_ns):
            return (0, 0)
        return (int(self.start_ns.min()), int(self.end_ns.max()))


def _fallback_steps(model: TraceModel) -> SimpleSteps:
    rows = model.rows_named(STEP_PREFIX)
    if len(rows):
        s = model.start_ns[rows]
        e = model.end_ns[rows]
        order = np.argsort(s)
        return SimpleSteps(s[order].astype(np.int64), e[order].astype(np.int64))
    if not len(model):
        return SimpleSteps(np.zeros(0, np.int64), np.zeros(0, np.int64))
    return SimpleSteps(np.array([int(model.start_ns.min())]), np.array([int(model.end_ns.max())]))


class ModelFacts:
    """Everything the rules share about one model, computed on first use."""

    def __init__(self, model: TraceModel, steps: Any = None, breakdown: Any = None, gpu_metrics: Any = None):
        self.model = model
        self._steps = steps
        self._breakdown = breakdown
        self._gpu_metrics = gpu_metrics
        self._string_masks: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------ steps
    @cached_property
    def steps(self) -> Any:
        if self._steps is not None:
            return self._steps
        try:
            from ..steps import step_table  # the metrics module, when present
            table = step_table(self.model)
            if table is not None and int(getattr(table, "count", 0)) > 0:
                return table
        except Exception:  # noqa: BLE001 - metrics module absent or failing: fall back
            pass
        return _fallback_steps(self.model)

    @cached_property
    def step_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        st = self.steps
        return np.asarray(st.start_ns, np.int64), np.asarray(st.end_ns, np.int64)

    @cached_property
    def n_steps(self) -> int:
        return max(1, len(self.step_bounds[0]))

    @cached_property
    def window(self) -> tuple[int, int]:
        s, e = self.step_bounds
        if not len(s):
            return (0, 0)
        return int(s.min()), int(e.max())

    @cached_property
    def step_ns(self) -> float:
        """Mean step time in ns."""
        s, e = self.step_bounds
        if not len(s):
            return 0.0
        return float((e - s).mean())

    @cached_property
    def from_profiler_steps(self) -> bool:
        """True when steps come from ProfilerStep# ranges (not the whole trace as one step)."""
        flag = getattr(self.steps, "from_profiler_steps", None)
        if flag is not None:
            return bool(flag)
        return bool(len(self.model.rows_named(STEP_PREFIX)))

    def negligible(self, gain_ms: float) -> bool:
        """A gain too small to report (under 0.1 % of the step, or under 10 us per step)."""
        return gain_ms <= 0.001 * self.step_ms or gain_ms < 0.01

    @property
    def step_ms(self) -> float:
        return self.step_ns / 1e6

    def per_step_ms(self, total_ns: float) -> float:
        return float(total_ns) / self.n_steps / 1e6

    @cached_property
    def breakdown(self) -> Any:
        if self._breakdown is not None:
            return self._breakdown
        try:
            from ..breakdown import step_breakdown
            return step_breakdown(self.model, self.steps)
        except Exception:  # noqa: BLE001
            return None

    @cached_property
    def gpu_metrics(self) -> Any:
        if self._gpu_metrics is not None:
            return self._gpu_metrics
        try:
            from ..gpu_metrics import gpu_metrics
            return gpu_metrics(self.model, self.steps)
        except Exception:  # noqa: BLE001
            return None

    # ------------------------------------------------------------ rows
    @cached_property
    def in_window(self) -> np.ndarray:
        """Bool per slice: starts inside the step window."""
        lo, hi = self.window
        return (self.model.start_ns >= lo) & (self.model.start_ns < hi)

    def string_mask(self, key: str, pred: Callable[[str], bool]) -> np.ndarray:
        """Bool per string id (cached under ``key``): vectorised name tests via name_id."""
        mask = self._string_masks.get(key)
        if mask is None:
            mask = np.fromiter((bool(pred(s)) if isinstance(s, str) else False for s in self.model.strings),
                               dtype=bool, count=len(self.model.strings))
            self._string_masks[key] = mask
        return mask

    def name_mask(self, key: str, pred: Callable[[str], bool]) -> np.ndarray:
        """Bool per slice whose name satisfies ``pred``."""
        sm = self.string_mask(key, pred)
        if not len(sm):
            return np.zeros(len(self.model), bool)
        return sm[self.model.name_id]

    def kind_mask(self, *kinds: Kind) -> np.ndarray:
        return np.isin(self.model.kind, [int(k) for k in kinds])

    @cached_property
    def kernel_mask(self) -> np.ndarray:
        return (self.model.kind == int(Kind.KERNEL)) & self.in_window

    @cached_property
    def comm_kernel_mask(self) -> np.ndarray:
        return self.kernel_mask & self.name_mask("comm_kernel", lambda s: s.startswith(COMM_KERNEL_PREFIXES))

    @cached_property
    def gpu_work_mask(self) -> np.ndarray:
        return np.isin(self.model.kind, GPU_WORK) & self.in_window

    @cached_property
    def gpu_time_ns(self) -> int:
        """Total duration of kernels, copies and memsets in the window (summed, not union)."""
        return int(self.model.dur_ns[self.gpu_work_mask].sum())

    @cached_property
    def kernel_time_ns(self) -> int:
        return int(self.model.dur_ns[self.kernel_mask].sum())

    @cached_property
    def host_op_mask(self) -> np.ndarray:
        """Host ranges that are real work (cpu ops, not step / annotation markers)."""
        m = self.model
        marker = self.name_mask("marker", lambda s: s.startswith(STEP_PREFIX) or "#" in s
                                or s.startswith(DATALOADER_PREFIXES))
        return (m.kind == int(Kind.CPU_OP)) & ~marker & self.in_window

    @cached_property
    def dataloader_mask(self) -> np.ndarray:
        return self.name_mask("dataloader", lambda s: s.startswith(DATALOADER_PREFIXES)) & self.in_window

    @cached_property
    def comm_op_mask(self) -> np.ndarray:
        return self.name_mask("comm_op", lambda s: s.startswith(COMM_OP_PREFIXES)) & self.in_window

    @cached_property
    def sync_call_mask(self) -> np.ndarray:
        return (self.model.kind == int(Kind.RUNTIME)) & self.name_mask("sync", lambda s: s in SYNC_CALL_NAMES) \
            & self.in_window

    @cached_property
    def has_backward(self) -> bool:
        sm = self.string_mask("backward", is_backward_name)
        used = np.zeros(len(sm), bool)
        if len(self.model):
            used[np.unique(self.model.name_id)] = True
        return bool((sm & used).any())

    def outermost(self, mask: np.ndarray) -> np.ndarray:
        """Rows of ``mask`` not nested inside another row of ``mask`` on the same track."""
        rows = np.flatnonzero(mask)
        if not len(rows):
            return rows
        m = self.model
        keep = np.zeros(len(rows), bool)
        tracks = m.track_id[rows]
        for t in np.unique(tracks):
            sel = np.flatnonzero(tracks == t)
            r = rows[sel]  # sorted by start already (model order)
            e = m.end_ns[r]
            prev_max = np.concatenate([[np.iinfo(np.int64).min], np.maximum.accumulate(e)[:-1]])
            keep[sel] = m.start_ns[r] >= prev_max
        return rows[keep]

    # ------------------------------------------------------------ launches
    @cached_property
    def launch_of(self) -> np.ndarray:
        """Per slice: the row of the runtime call that launched it (-1 when none)."""
        m = self.model
        out = np.full(len(m), -1, np.int64)
        fl = m.flows
        if len(fl):
            sel = fl.kind == Flows.LAUNCH
            out[fl.dst_row[sel]] = fl.src_row[sel]
        return out

    def gpu_rows_under(self, host_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """GPU work rows launched from inside the given disjoint-per-track host ranges.

        Returns (gpu_rows, index into host_rows of the range each one came from)."""
        m = self.model
        gpu = np.flatnonzero(self.gpu_work_mask)
        if not len(gpu) or not len(host_rows):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        launch = self.launch_of[gpu]
        ok = launch >= 0
        gpu, launch = gpu[ok], launch[ok]
        if not len(gpu):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        # host ranges sorted by (track, start); search each launch inside its track
        h_track = m.track_id[host_rows].astype(np.int64)
        order = np.lexsort((m.start_ns[host_rows], h_track))
        hr = host_rows[order]
        out_gpu, out_idx = [], []
        l_track = m.track_id[launch].astype(np.int64)
        for t in np.unique(l_track):
            lsel = np.flatnonzero(l_track == t)
            hsel = np.flatnonzero(h_track[order] == t)
            if not len(hsel):
                continue
            hs = m.start_ns[hr[hsel]]
            he = m.end_ns[hr[hsel]]
            ls = m.start_ns[launch[lsel]]
            j = np.searchsorted(hs, ls, side="right") - 1
            inside = (j >= 0) & (ls < he[np.maximum(j, 0)])
            out_gpu.append(gpu[lsel[inside]])
            out_idx.append(order[hsel[j[inside]]])
        if not out_gpu:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(out_gpu), np.concatenate(out_idx)

    # ------------------------------------------------------------ GPU idle
    @cached_property
    def gpu_idle(self) -> dict[str, float]:
        """Per-step GPU idle inside the window (union of kernels per device), split into host wait / other.

        A gap is host wait when the work after it was launched after the gap began
        (the CPU was late)."""
        m = self.model
        lo, hi = self.window
        rows = np.flatnonzero(self.gpu_work_mask)
        res = {"busy_ns": 0.0, "idle_ns": 0.0, "host_wait_ns": 0.0, "window_ns": float(hi - lo)}
        if not len(rows) or hi <= lo:
            return res
        devs = m.device[rows]
        busy = idle = host_wait = 0
        for d in np.unique(devs):
            r = rows[devs == d]
            s = np.clip(m.start_ns[r], lo, hi)
            e = np.clip(m.end_ns[r], lo, hi)
            ms, me = merge_intervals(s, e)
            busy += int((me - ms).sum())
            # gaps between merged intervals, plus the head gap
            gap_start = np.concatenate([[lo], me])
            gap_end = np.concatenate([ms, [hi]])
            g = gap_end - gap_start
            idle += int(g[g > 0].sum())
            # which row starts each merged interval: first row with start == ms (rows sorted by start)
            order = np.argsort(s, kind="stable")
            first = r[order[np.searchsorted(s[order], ms, side="left")]]
            launch = self.launch_of[first]
            lstart = np.where(launch >= 0, m.start_ns[np.maximum(launch, 0)], np.iinfo(np.int64).min)
            gaps_before = gap_end[:-1] - gap_start[:-1]
            hw = (lstart > gap_start[:-1]) & (gaps_before > 0)
            # the CPU was late: the part of the gap after the launch started is latency, count the whole gap
            host_wait += int(gaps_before[hw].sum())
        n_dev = len(np.unique(devs))
        res.update(busy_ns=busy / n_dev, idle_ns=idle / n_dev, host_wait_ns=host_wait / n_dev)
        return res

    # ------------------------------------------------------------ environment
    @property
    def vendor(self) -> str:
        return self.model.vendor

    @cached_property
    def compute_capability(self) -> tuple[int, int] | None:
        for p in self.model.device_properties:
            if "computeMajor" in p:
                try:
                    return int(p["computeMajor"]), int(p.get("computeMinor", 0))
                except (TypeError, ValueError):
                    continue
        cap = ((self.model.run_info or {}).get("env") or {}).get("gpu_capability")
        if isinstance(cap, str) and "." in cap:
            try:
                a, b = cap.split(".", 1)
                return int(a), int(b)
            except ValueError:
                return None
        return None

    @property
    def settings(self) -> dict[str, Any]:
        return self.model.settings

    @property
    def is_bundle(self) -> bool:
        return self.model.run_info is not None

    @property
    def env(self) -> dict[str, Any]:
        return dict((self.model.run_info or {}).get("env") or {})

    def setting_is(self, name: str, value: Any) -> bool:
        return name in self.settings and self.settings[name] == value

    def evidence_ranges_of(self, rows: np.ndarray, limit: int = 200) -> list[tuple[int, int, int]]:
        m = self.model
        rows = np.asarray(rows, np.int64)
        if len(rows) > limit:
            rows = rows[np.argsort(-m.dur_ns[rows], kind="stable")[:limit]]
            rows = np.sort(rows)
        return [(int(m.start_ns[r]), int(m.end_ns[r]), int(m.track_id[r])) for r in rows]

    def top_rows(self, rows: np.ndarray, limit: int = 200) -> list[int]:
        """The longest ``limit`` rows (by duration), in time order."""
        m = self.model
        rows = np.asarray(rows, np.int64)
        if len(rows) > limit:
            rows = np.sort(rows[np.argsort(-m.dur_ns[rows], kind="stable")[:limit]])
        return [int(r) for r in rows]


@dataclass
class RuleContext:
    """Shared precomputed things for a set of models (one ModelFacts per model)."""

    facts: dict[int, ModelFacts] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def add(self, model: TraceModel, steps: Any = None, breakdown: Any = None, gpu_metrics: Any = None) -> ModelFacts:
        """Register metrics already computed for ``model`` (steps table, breakdown, GPU metrics)."""
        f = ModelFacts(model, steps=steps, breakdown=breakdown, gpu_metrics=gpu_metrics)
        self.facts[id(model)] = f
        return f

    def for_model(self, model: TraceModel) -> ModelFacts:
        key = id(model)
        f = self.facts.get(key)
        if f is None or f.model is not model:
            f = ModelFacts(model)
            self.facts[key] = f
        return f


def severity_for(gain_pct: float, cap: str = "high") -> str:
    """Severity from the estimated gain as a share of the step (never above ``cap``)."""
    order = ("high", "medium", "low", "info")
    if gain_pct >= 15.0:
        sev = "high"
    elif gain_pct >= 5.0:
        sev = "medium"
    elif gain_pct > 0.0:
        sev = "low"
    else:
        sev = "info"
    return order[max(order.index(sev), order.index(cap))]


def pct(part: float, whole: float) -> float:
    return 100.0 * float(part) / float(whole) if whole else 0.0
