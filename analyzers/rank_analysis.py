"""Every analysis of one rank's trace, each computed on first use and kept: :class:`RankAnalysis`.

The analyses are the pure functions of the metric modules; this object wires
their inputs (launch links, steps, category unions, Tensor Core flags ...) so
that each is computed once per rank.  It owns the results in ``memo``
(``memo.counts`` says how often each was computed: at most once).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import intervals as iv
from .compiled_regions import CompiledRegions, compiled_regions
from .breakdown import category_masks, cumulative_unions, mean_breakdown_ms, step_breakdown
from .critical_path import CriticalPath, critical_path_or_reason
from .distributed import hta_comm_overlap_pct, rank_comm_stats
from .findings import Finding, rank_findings
from .flame import FlameGraph, flame_graph
from .flops import op_flops
from .gpu_metrics import GpuMetrics, TensorCoreFlags, gpu_metrics, tensor_core_flags
from .hta_view import HtaView, hta_view
from .idle_time import gpu_gaps, hta_idle_summary, idle_time, idle_time_summary
from .kernel_table import kernel_table
from .launch_stats import hta_launch_summary, launch_summary, launch_table
from .launches import LaunchPairs, launch_of, launch_pairs
from .measurement_quality import measurement_quality
from .memo import Memo, computed
from .module_tree import ModuleTree, module_tree
from .peak_flops import throughput
from .memory_timeline import MemoryPeak, MemorySeries, memory_peaks, memory_series
from .op_table import op_table, op_times
from .steps import StepTable, step_table
from .temporal_breakdown import TemporalBreakdown, hta_temporal_breakdown, temporal_breakdown
from .trace_model import TraceModel

if TYPE_CHECKING:  # the rules import this module's users, not the other way round
    from .rules.context import ModelFacts

#: live allocations kept per memory peak (the report shows a few, the GUI lists these)
MEMORY_LIVE_ROWS = 200
OP_GROUPINGS = ("name", "name+shapes")


class RankAnalysis:
    """One rank: its model and every analysis of it, computed lazily, exactly once."""

    def __init__(self, model: TraceModel, rank: int) -> None:
        self.model = model
        self.rank = rank
        self.memo = Memo()

    def __repr__(self) -> str:
        return f"RankAnalysis(rank={self.rank}, slices={len(self.model)}, computed={sorted(self.memo.values)})"

    # ------------------------------------------------------------ building blocks
    @computed
    def launches(self) -> LaunchPairs:
        """(launching host row, GPU op row) pairs."""
        return launch_pairs(self.model)

    @computed
    def launch_of(self) -> np.ndarray:
        """Per slice: the row of the runtime call that launched it (-1 when none)."""
        return launch_of(self.model, self.launches)

    @computed
    def category_unions(self) -> list[iv.Intervals]:
        """Cumulative unions of the breakdown categories (priority order)."""
        return cumulative_unions(self.model, category_masks(self.model))

    @computed
    def tensor_core_flags(self) -> TensorCoreFlags:
        """Per kernel: Tensor Core, launched by an eligible op, and the signal used."""
        return tensor_core_flags(self.model, self.launches)

    @computed
    def op_times(self) -> pd.DataFrame:
        """Per op slice: host/device self and total ns."""
        return op_times(self.model, self.launches)

    # ------------------------------------------------------------ steps and time
    @computed
    def steps(self) -> StepTable:
        """Kept steps (TensorBoard plugin semantics)."""
        return step_table(self.model, self.launches)

    @computed
    def breakdown(self) -> pd.DataFrame:
        """Per step: ms per category (kernel ... other) and step_ms."""
        return step_breakdown(self.model, self.steps, self.category_unions)

    @computed
    def mean_breakdown_ms(self) -> dict[str, float]:
        """Mean per step of each category."""
        return mean_breakdown_ms(self.breakdown)

    @computed
    def gpu_metrics(self) -> list[GpuMetrics]:
        """Per device: utilization, SM efficiency, occupancy, Tensor Core shares."""
        return gpu_metrics(self.model, self.steps, self.tensor_core_flags)

    @computed
    def measurement_quality(self) -> dict[str, Any]:
        """Whether the profile can be trusted: step spread, profiler overhead, CPU contention."""
        return measurement_quality(self.model, self.steps)

    @computed
    def temporal(self) -> TemporalBreakdown:
        """HTA temporal breakdown (idle / compute / non-compute)."""
        return temporal_breakdown(self.model)

    # ------------------------------------------------------------ tables
    def op_table(self, group_by: str = "name") -> pd.DataFrame:
        """Ops aggregated by name, or by name and input shapes (``"name+shapes"``)."""
        if group_by not in OP_GROUPINGS:
            raise ValueError(f"group_by must be one of {OP_GROUPINGS}, not {group_by!r}")
        return self.memo.get(f"op_table[{group_by}]",
                             lambda: op_table(self.model, group_by, self.op_times, self.op_flops["flop"]))

    @computed
    def kernel_table(self) -> pd.DataFrame:
        """Per kernel name: calls, times, geometry, occupancy, Tensor Cores."""
        return kernel_table(self.model, tc_flags=self.tensor_core_flags)

    @computed
    def memory_series(self) -> list[MemorySeries]:
        """Allocated/reserved memory over time per device."""
        return memory_series(self.model)

    @computed
    def memory_peaks(self) -> list[MemoryPeak]:
        """Per device: the peak and what was live then."""
        return memory_peaks(self.model, max_live=MEMORY_LIVE_ROWS)

    # ------------------------------------------------------------ user code: modules, stacks, FLOPs
    @computed
    def op_flops(self) -> pd.DataFrame:
        """Per op slice: counted FLOPs (outermost op with a formula) and the matmul dtype."""
        return op_flops(self.model, self.op_times)

    @computed
    def throughput(self) -> dict[str, Any]:
        """GFLOP per step, achieved TFLOP/s and MFU (where the GPU's peak is known)."""
        return throughput(self.model, self.op_flops, self.steps)

    @computed
    def module_tree(self) -> ModuleTree:
        """nn.Module tree (with_stack traces): calls, host/device time and FLOPs per module path."""
        return module_tree(self.model, self.launches, self.steps, self.op_flops["flop"])

    @computed
    def compiled_regions(self) -> CompiledRegions:
        """torch.compile: regions, their kernels, graph breaks, recompiles, compile time per step."""
        return compiled_regions(self.model, self.launches, self.steps, self.op_times)

    @computed
    def flame(self) -> FlameGraph:
        """Host call stacks (Python frames and ops) merged into a flame graph."""
        return flame_graph(self.model)

    # ------------------------------------------------------------ HTA-style
    @computed
    def gpu_gaps(self) -> pd.DataFrame:
        """Every idle gap between GPU ops on a stream, with its HTA category."""
        return gpu_gaps(self.model, self.launches)

    @computed
    def idle_time(self) -> pd.DataFrame:
        """Per stream: idle ms by category."""
        return idle_time(self.model, self.gpu_gaps)

    @computed
    def idle_summary(self) -> dict[str, Any]:
        """Idle totals over all streams."""
        return idle_time_summary(self.model, self.idle_time)

    @computed
    def launch_table(self) -> pd.DataFrame:
        """Per kernel: launch call, GPU time and launch delay."""
        return launch_table(self.model, self.launches)

    @computed
    def launch_summary(self) -> dict[str, Any]:
        """Short kernels, long launch delays, slow launch calls."""
        return launch_summary(self.model, self.launch_table)

    @computed
    def comm_stats(self) -> dict[str, Any]:
        """Compute vs communication kernel time and their overlap in the step window."""
        return rank_comm_stats(self.model, self.steps)

    @computed
    def hta_view(self) -> HtaView:
        """The trace as HTA 0.5 selects and rounds it."""
        return hta_view(self.model)

    @computed
    def hta_figures(self) -> dict[str, Any]:
        """HTA 0.5's own temporal, idle-time, launch and overlap figures (docs/HTA_PARITY.md)."""
        return {"definitions": "HTA 0.5 (docs/HTA_PARITY.md)",
                "temporal": hta_temporal_breakdown(self.hta_view).to_dict(),
                "idle": hta_idle_summary(self.hta_view, self.launch_of),
                "launch": hta_launch_summary(self.hta_view, self.launches),
                "overlap_pct": hta_comm_overlap_pct(self.hta_view),
                "dropped_last_step": self.hta_view.dropped_last_step}

    def critical_path(self, annotation: str | None = None, instance: int | None = None) -> CriticalPath | str:
        """Critical path of one annotation instance (default: the second profiler step; HTA's model),
        or the one-line reason there is none."""
        return self.memo.get(f"critical_path[{annotation}|{instance}]",
                             lambda: critical_path_or_reason(self.hta_view, self.launches, annotation, instance))

    @computed
    def critical_path_summary(self) -> dict[str, Any]:
        """The default window's critical path as a dict ({"reason": ...} when there is none)."""
        cp = self.critical_path()
        return cp.to_dict() if isinstance(cp, CriticalPath) else {"reason": cp}

    # ------------------------------------------------------------ rules
    @computed
    def facts(self) -> ModelFacts:
        """What the rules share about this rank (built on this analysis)."""
        from .rules.context import ModelFacts
        return ModelFacts(self)

    @computed
    def findings(self) -> list[Finding]:
        """This rank's findings, ranked by estimated gain."""
        from .rules import run_rank_rules
        return rank_findings(run_rank_rules(self.facts))

    @property
    def rule_errors(self) -> list[tuple[str, str]]:
        """(rule id, message) of each rule that failed on this rank (the others still ran)."""
        _ = self.findings
        return list(self.facts.rule_errors)

    # ------------------------------------------------------------ errors
    def try_get(self, name: str, *args: Any) -> tuple[Any, str | None]:
        """(value, None) or (None, the one-line error) for the analysis ``name``."""
        from .errors import AnalysisError
        try:
            attr = getattr(self, name)
            return (attr(*args) if callable(attr) else attr), None
        except AnalysisError as exc:
            return None, str(exc)
