"""The analysis front door: one :class:`AnalysisSession` per opened trace, ranks as a parameter.

``AnalysisSession.load(path)`` (or ``AnalysisSession(models, path)``) holds
one :class:`~analyzers.rank_analysis.RankAnalysis` per rank.  Every question
(steps, breakdown, GPU metrics, tables, idle time, findings, the report) is
asked of ``session.rank(r)`` or of the session for all ranks, computed on
first use and exactly once.  The CLI, ``compare``, the report and the GUI
all go through here.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from .distributed import distributed_summary
from .findings import Finding, rank_findings
from .memo import Memo, computed
from .rank_analysis import RankAnalysis
from .trace_model import TraceModel

if TYPE_CHECKING:
    from .cross_rank import CrossRank

ProgressFn = Callable[[str, float], None]


def _rank_keys(models: list[TraceModel]) -> list[int]:
    """Rank number of each model: the trace's own, else its position; duplicates get the next free number."""
    used: set[int] = set()
    keys: list[int] = []
    for i, m in enumerate(models):
        r = m.rank if isinstance(m.rank, (int, np.integer)) and m.rank >= 0 else i
        while int(r) in used:
            r = max(used) + 1
        used.add(int(r))
        keys.append(int(r))
    return keys


class AnalysisSession:
    """All ranks of one trace path and every analysis of them."""

    def __init__(self, models: list[TraceModel], path: str = "") -> None:
        self.path = str(path)
        keyed = sorted(zip(_rank_keys(models), range(len(models)), models))
        self._ranks: dict[int, RankAnalysis] = {r: RankAnalysis(m, r) for r, _, m in keyed}
        self.memo = Memo()
        self._cross_errors: list[tuple[str, int, str]] = []

    @classmethod
    def load(cls, path: str, progress: ProgressFn | None = None) -> "AnalysisSession":
        """Load ``path`` (file, folder of ranks, TensorBoard log dir, run bundle); raises TraceLoadError."""
        from .errors import TraceLoadError
        from .loader import load_traces

        models = load_traces(path, progress=progress)
        if not models:
            raise TraceLoadError(path, "no trace found")
        return cls(models, str(path))

    def __repr__(self) -> str:
        return f"AnalysisSession({self.path!r}, ranks={self.ranks})"

    # ------------------------------------------------------------ ranks
    @property
    def ranks(self) -> list[int]:
        """Rank numbers, ascending."""
        return list(self._ranks)

    @property
    def first_rank(self) -> int:
        return self.ranks[0] if self._ranks else 0

    def rank(self, rank: int | None = None) -> RankAnalysis:
        """The analysis of ``rank`` (None: the first rank).  Raises ValueError for an unknown rank."""
        if rank is None:
            rank = self.first_rank
        try:
            return self._ranks[int(rank)]
        except (KeyError, TypeError, ValueError):
            known = ", ".join(str(r) for r in self._ranks) or "none"
            raise ValueError(f"no rank {rank} in this trace (ranks: {known})") from None

    def __iter__(self) -> Iterator[RankAnalysis]:
        return iter(self._ranks.values())

    @property
    def models(self) -> list[TraceModel]:
        """The trace models in rank order."""
        return [ra.model for ra in self]

    @property
    def is_multi_rank(self) -> bool:
        return len(self._ranks) > 1

    # ------------------------------------------------------------ across ranks
    @computed
    def distributed(self) -> dict[str, Any]:
        """Per-rank step, compute and communication figures, the slowest rank and the skew."""
        return {**distributed_summary([ra.comm_stats for ra in self]), **self.cross_rank.to_dict()}

    @computed
    def cross_rank(self) -> "CrossRank":
        """Rank x step times, waits at each collective, overlap per rank, the straggler (analyzers.cross_rank)."""
        from .cross_rank import analyze_ranks, kernel_overlap
        from .rules.distributed import comm_figures
        overlap = []
        for ra in self:
            hta = kernel_overlap(ra.model)
            if hta is not None:  # HTA's definition (whole trace, kernels)
                overlap.append({"rank": ra.rank, **hta})
                continue
            fig = comm_figures(ra.facts)  # CPU collectives: host ranges vs other host ops, per step
            overlap.append({"rank": ra.rank, "comm_ms": fig["comm_ms"], "overlap_ms": fig["comm_ms"] - fig["exposed_ms"],
                            "overlap_pct": fig["overlap_pct"] if fig["comm_ms"] > 0 else None,
                            "source": fig["source"]})
        return analyze_ranks({ra.rank: (ra.model, ra.steps) for ra in self},
                             {ra.rank: ra.mean_breakdown_ms for ra in self}, overlap)

    @computed
    def cross_rank_findings(self) -> list[Finding]:
        """Findings that need every rank (STRAG1); none for one rank."""
        from .rules import run_cross_rank_rules
        return run_cross_rank_rules(self.cross_rank, self._cross_errors) if self.is_multi_rank else []

    @computed
    def merged_ranks(self) -> TraceModel:
        """Every rank's device streams and collectives on one clock, for the merged timeline (rank_merge)."""
        from .rank_merge import merge_ranks
        return merge_ranks(self.models)

    @computed
    def slowest_rank(self) -> int:
        """The rank with the longest mean step (the one the others wait for)."""
        best, best_ms = self.first_rank, -1.0
        for ra in self:
            st = ra.steps
            ms = float(st.dur_ns.mean()) if st.count else -1.0
            if ms > best_ms:
                best, best_ms = ra.rank, ms
        return best

    def findings(self, rank: int | None = None) -> list[Finding]:
        """Findings of ``rank``; for all ranks (None): the largest gain per rule, naming every rank that raised it."""
        if rank is not None:
            return self.rank(rank).findings
        return self.memo.get("findings[all]", self._merged_findings)

    def _merged_findings(self) -> list[Finding]:
        by_key: dict[str, list[Finding]] = {}
        for ra in self:
            for f in ra.findings:
                by_key.setdefault(f.rule + "\0" + f.title, []).append(f)
        out = []
        for group in by_key.values():
            best = max(group, key=lambda f: f.gain_ms)
            if self.is_multi_rank:
                ranks = sorted({f.rank for f in group if f.rank is not None})
                best = dataclasses.replace(best, evidence={**best.evidence, "ranks": ranks})
            out.append(best)
        return rank_findings(out + (self.cross_rank_findings if self.is_multi_rank else []))

    def rule_errors(self) -> list[tuple[str, int, str]]:
        """(rule id, rank, message) of every rule that failed."""
        return [(rid, ra.rank, msg) for ra in self for rid, msg in ra.rule_errors] + list(self._cross_errors)

    def report(self, rank: int | None = None) -> dict[str, Any]:
        """The ``torchscope analyze --json`` object (see :func:`analyzers.report.build_report`)."""
        from .report import build_report
        return build_report(self, rank)
