"""DL1: the training loop waits for the DataLoader."""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from .. import intervals as iv
from .context import ModelFacts, overlap_with_union, pct
from .registry import rule

THRESHOLD_PCT = 5.0  # TensorBoard plugin: DataLoader > 5 % of the step


@rule("DL1", "Data loading stalls the step")
def dataloader_stall(f: ModelFacts) -> Finding | None:
    m = f.model
    rows = f.outermost(f.dataloader_mask)
    if not len(rows) or f.step_ns <= 0:
        return None
    series = f.series(rows)
    if not series.holds_in_most(THRESHOLD_PCT):
        return None  # a stall in one step (a loaded machine, a cold cache) is not the loader's pattern
    dl_ms, share = series.median_ms, series.median_share_pct
    names = set(m.names[rows])
    multi = any("_MultiProcessingDataLoaderIter" in n for n in names)
    single = any("_SingleProcessDataLoaderIter" in n for n in names)
    # time the GPU had nothing to do while the host loaded data: what workers can hide
    if m.has_gpu:
        g = np.flatnonzero(f.gpu_work_mask)
        ms, me = iv.union(m.start_ns[g], m.end_ns[g])
        covered = overlap_with_union(m.start_ns[rows], m.end_ns[rows], ms, me)
        exposed_ms = f.series(rows, m.dur_ns[rows] - covered).median_ms
    else:
        exposed_ms = dl_ms
    workers = f.settings.get("num_workers")
    cores = f.env.get("cpu_affinity") or f.env.get("cpu_count") or 4
    knob, value = None, None
    if not multi and (workers in (None, 0)):
        knob, value = "num_workers", int(max(2, min(4, int(cores))))
        fix = (f"Load batches in {value} worker processes (DataLoader(num_workers={value})) so that loading "
               "overlaps compute; add persistent_workers=True and pin_memory=True on GPU.")
    elif isinstance(workers, int) and workers > 0 and workers * 2 <= int(cores):
        knob, value = "num_workers", workers * 2
        fix = (f"The loader already uses {workers} worker(s) and still stalls: try {workers * 2} workers, "
               "a larger prefetch_factor, persistent_workers=True, or make the dataset's __getitem__ cheaper.")
    elif isinstance(workers, int) and workers > 0:
        fix = (f"The loader already uses {workers} worker(s) on {cores} core(s): more workers would oversubscribe "
               "the CPU; raise prefetch_factor, use persistent_workers=True, or make __getitem__ cheaper.")
    else:
        fix = ("The loader already uses worker processes and still stalls: add workers, raise prefetch_factor, "
               "use persistent_workers=True, or make the dataset's __getitem__ cheaper.")
    pin = ", pin_memory=True" if m.has_gpu else ""
    snippet = (f"loader = torch.utils.data.DataLoader(dataset, batch_size=..., num_workers={value or workers or 4}"
               f"{pin}, persistent_workers=True, prefetch_factor=2)")
    return Finding(
        severity=severity_for(pct(exposed_ms, f.step_ms)),
        summary=(f"DataLoader __next__ takes {dl_ms:.2f} ms per step ({share:.1f} % of a {f.step_ms:.2f} ms step)"
                 + (" in the main process (num_workers=0)" if single and not multi else "")
                 + (f"; the GPU is idle for {exposed_ms:.2f} ms of it" if m.has_gpu else "") + "."),
        evidence={"dataloader_ms_per_step": dl_ms, "dataloader_pct_of_step": share, "step_ms": f.step_ms,
                  "exposed_ms_per_step": exposed_ms, "single_process_iter": single, "multi_process_iter": multi,
                  "num_workers_setting": workers, "ranges": int(len(rows)), "per_step": series.spread()},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=exposed_ms, bottleneck_ms=dl_ms, step_ms=f.step_ms,
        fix=fix, fix_snippet=snippet, knob=knob, knob_value=value,
        caveats=["the dataset must be picklable for worker processes",
                 "host RAM grows with each worker",
                 "each worker runs one torch thread; workers + intra-op threads should not exceed the cores"],
    )
