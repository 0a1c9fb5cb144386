"""What the rules share about one rank: :class:`ModelFacts`, built on the rank's analysis.

Steps, breakdown, GPU metrics and launch links come from the
:class:`~analyzers.rank_analysis.RankAnalysis` (computed once there); the
masks the rules need (kernels in the step window, host ops, DataLoader
ranges, syncs ...) are computed here once, on first use, and vectorised.
"""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import intervals as iv
from ..categories import (COMM_KERNEL_PREFIXES, COMM_OP_PREFIXES, DATALOADER_PREFIXES, GPU_WORK_KINDS, STEP_PREFIX,
                          SYNC_CALL_NAMES, Kind)
from ..memo import Memo
from ..op_names import is_backward_name
from ..step_stats import StepSeries, per_step_ns

if TYPE_CHECKING:
    from ..rank_analysis import RankAnalysis

GPU_WORK = tuple(int(k) for k in GPU_WORK_KINDS)


def overlap_with_union(starts: np.ndarray, ends: np.ndarray, ms: np.ndarray, me: np.ndarray) -> np.ndarray:
    """Per interval (starts[i], ends[i]): the length covered by the disjoint sorted union (ms, me)."""
    if len(starts) == 0 or len(ms) == 0:
        return np.zeros(len(starts), np.int64)
    return iv.covered_before(ms, me, np.asarray(ends, np.int64)) - iv.covered_before(ms, me, np.asarray(starts, np.int64))


def pct(part: float, whole: float) -> float:
    return 100.0 * float(part) / float(whole) if whole else 0.0


class ModelFacts:
    """Everything the rules share about one rank, computed on first use."""

    def __init__(self, rank: RankAnalysis) -> None:
        self.analysis = rank
        self.model = rank.model
        self.rank = rank.rank
        self.memo = Memo()  # results rules share with each other (e.g. the eligible-op table)
        self.rule_errors: list[tuple[str, str]] = []  # (rule id, message) of rules that failed

    # ------------------------------------------------------------ steps
    @property
    def steps(self) -> Any:
        return self.analysis.steps

    @cached_property
    def step_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        st = self.steps
        return np.asarray(st.start_ns, np.int64), np.asarray(st.end_ns, np.int64)

    @cached_property
    def n_steps(self) -> int:
        return max(1, self.steps.count)

    @cached_property
    def window(self) -> tuple[int, int]:
        return self.steps.window_ns

    @cached_property
    def step_ns(self) -> float:
        """The typical step time in ns: the median, so that one slow step does not move it."""
        s, e = self.step_bounds
        return float(np.median(e - s)) if len(s) else 0.0

    @cached_property
    def step_durations_ms(self) -> np.ndarray:
        s, e = self.step_bounds
        return (e - s) / 1e6

    def series(self, rows: np.ndarray, values_ns: np.ndarray | None = None) -> StepSeries:
        """Per step: the summed duration (or ``values_ns``) of ``rows``, by the step each row starts in."""
        m = self.model
        rows = np.asarray(rows, np.int64)
        vals = m.dur_ns[rows] if values_ns is None else values_ns
        s, e = self.step_bounds
        return StepSeries(per_step_ns(m.start_ns[rows], vals, s, e) / 1e6, self.step_durations_ms)

    @property
    def from_profiler_steps(self) -> bool:
        """True when steps come from ProfilerStep# ranges (not the whole trace as one step)."""
        return bool(self.steps.from_profiler_steps)

    def negligible(self, gain_ms: float) -> bool:
        """A gain too small to report (under 0.1 % of the step, or under 10 us per step)."""
        return gain_ms <= 0.001 * self.step_ms or gain_ms < 0.01

    @property
    def step_ms(self) -> float:
        return self.step_ns / 1e6

    def per_step_ms(self, total_ns: float) -> float:
        return float(total_ns) / self.n_steps / 1e6

    @property
    def breakdown(self) -> Any:
        return self.analysis.breakdown

    @property
    def gpu_metrics(self) -> Any:
        return self.analysis.gpu_metrics

    # ------------------------------------------------------------ rows
    @cached_property
    def in_window(self) -> np.ndarray:
        """Bool per slice: starts inside the step window."""
        lo, hi = self.window
        return (self.model.start_ns >= lo) & (self.model.start_ns < hi)

    def name_mask(self, key: str, pred: Callable[[str], bool]) -> np.ndarray:
        """Bool per slice whose name satisfies ``pred`` (kept under ``key``)."""
        return self.memo.get(f"name_mask[{key}]", lambda: self.model.name_mask(pred))

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
        return bool(self.name_mask("backward", is_backward_name).any())

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
    @property
    def launch_of(self) -> np.ndarray:
        """Per slice: the row of the runtime call that launched it (-1 when none)."""
        return self.analysis.launch_of

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
    def model_facts(self) -> dict[str, Any]:
        """The run's model facts (parameters, module types, optimizer, CPU flags); {} for foreign traces."""
        facts = (self.model.run_info or {}).get("model_facts")
        return facts if isinstance(facts, dict) else {}

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
