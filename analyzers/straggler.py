"""The straggler: the rank the others wait for at the collectives, how much it costs and why.

The straggler is the rank with the largest late time per step (what the
others wait for it at the collectives; see :mod:`analyzers.cross_rank`), HTA's
"late-starting collective" signal summed over every matched collective.  Its
extra time per step is its late time minus the median late time of the other
ranks (ranks that hold each other back in turn cancel out).
Its cause is the breakdown category (:mod:`analyzers.breakdown`) in which that
rank spends the most time beyond the median of the other ranks; communication
is left out (waiting is the symptom, not the cause).
"""
from __future__ import annotations

from statistics import median
from typing import Any

from .cross_rank import RankWaits

#: a rank is a straggler when it is late by at least this much per step ...
MIN_LATE_MS = 1.0
#: ... and by at least this share of the step
MIN_LATE_PCT = 2.0

#: breakdown category -> (what the rank spends longer on, the fix that calls for)
CAUSES: dict[str, tuple[str, str]] = {
    "dataloader": ("data loading",
                   "Feed this rank faster: more DataLoader workers (num_workers), pin_memory, persistent_workers; "
                   "check that its shard or storage is not slower than the others'."),
    "cpu_exec": ("CPU work inside ops",
                 "Give every rank the same CPU: pin ranks to separate cores/NUMA nodes, set OMP_NUM_THREADS per "
                 "rank, keep other processes off its cores; check for uneven input sizes."),
    "runtime": ("runtime calls (kernel launches, synchronizations)",
                "Remove this rank's extra synchronizations (.item(), .cpu(), printing tensors) and launch overhead "
                "(CUDA graphs, torch.compile)."),
    "kernel": ("GPU compute",
               "Balance the work: equal batch sizes and sequence lengths on every rank (bucket or pad them); "
               "check this rank's GPU clocks, temperature and power limit."),
    "memcpy": ("host-device copies",
               "pin_memory=True with non_blocking copies; check this rank's GPU is on the PCIe/NUMA node of its CPU."),
    "memset": ("memsets", "Avoid per-step zeroing on this rank (zero_grad(set_to_none=True))."),
    "device_wait": ("waiting between GPU streams", "Check this rank's stream synchronization."),
    "device_other": ("other device work", "Look at this rank's device timeline."),
    "other": ("host time outside profiled ops (Python code, sleeps, I/O, logging, GC)",
              "Move rank-specific host work out of the training step: logging, checkpointing or evaluation "
              "on one rank, sleeps, synchronous I/O; do it asynchronously or on every rank in turn."),
}
EXCLUDED = ("communication",)


def straggler_cause(mine: dict[str, float], others: list[dict[str, float]]) -> dict[str, Any]:
    """The category where ``mine`` exceeds the others' median the most, with every positive excess."""
    excess = {}
    for cat, ms in mine.items():
        if cat in EXCLUDED:
            continue
        base = median(o.get(cat, 0.0) for o in others) if others else 0.0
        if ms - base > 0:
            excess[cat] = float(ms - base)
    if not excess:
        return {"category": None, "excess_ms": 0.0, "what": "no category stands out", "fix": "", "excess": {}}
    cat = max(excess, key=excess.__getitem__)
    what, fix = CAUSES.get(cat, (cat, "Compare this rank's timeline with another rank's."))
    return {"category": cat, "excess_ms": excess[cat], "what": what, "fix": fix,
            "excess": dict(sorted(excess.items(), key=lambda kv: -kv[1]))}


def find_straggler(per_rank: list[RankWaits], breakdowns: dict[int, dict[str, float]],
                   step_ms: float) -> dict[str, Any] | None:
    """The straggler's figures and cause, or None when no rank is late enough to matter."""
    if len(per_rank) < 2:
        return None
    worst = max(per_rank, key=lambda w: w.late_ms)
    others = [w for w in per_rank if w.rank != worst.rank]
    extra = worst.late_ms - median(w.late_ms for w in others)  # net: ranks that are late in turn cancel out
    if extra < max(MIN_LATE_MS, MIN_LATE_PCT / 100.0 * step_ms):
        return None
    cause = straggler_cause(breakdowns.get(worst.rank, {}), [breakdowns.get(w.rank, {}) for w in others])
    return {"rank": worst.rank, "extra_ms_per_step": extra, "late_ms_per_step": worst.late_ms,
            "others_late_ms": {w.rank: w.late_ms for w in others}, "times_last": worst.times_last,
            "calls": worst.calls, "step_ms": step_ms,
            "others_wait_ms": {w.rank: w.wait_ms for w in others}, "cause": cause}
