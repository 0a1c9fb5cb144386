"""DIST1: collective communication not overlapped with compute (or DataParallel on several GPUs)."""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from .. import intervals as iv
from .context import ModelFacts, overlap_with_union, pct
from .registry import rule

COMM_MIN_PCT = 10.0
OVERLAP_MAX_PCT = 50.0


def comm_figures(f: ModelFacts) -> dict[str, float]:
    """Communication per step: time, exposed (not overlapped) time, overlap share; GPU kernels or host ranges."""
    m = f.model
    out = {"comm_ms": 0.0, "exposed_ms": 0.0, "overlap_pct": 0.0, "comm_pct_of_step": 0.0, "source": "none"}
    ck = np.flatnonzero(f.comm_kernel_mask)
    if len(ck):
        comm = exposed = 0
        for d in np.unique(m.device[ck]):
            c = ck[m.device[ck] == d]
            comp = np.flatnonzero(f.kernel_mask & ~f.comm_kernel_mask & (m.device == d))
            ms, me = iv.union(m.start_ns[comp], m.end_ns[comp])
            cs, ce = iv.union(m.start_ns[c], m.end_ns[c])
            covered = overlap_with_union(cs, ce, ms, me)
            comm += int((ce - cs).sum())
            exposed += int((ce - cs).sum() - covered.sum())
        n_dev = len(np.unique(m.device[ck]))
        out.update(comm_ms=f.per_step_ms(comm / n_dev), exposed_ms=f.per_step_ms(exposed / n_dev),
                   overlap_pct=pct(comm - exposed, comm), source="collective kernels")
    else:
        rows = f.outermost(f.comm_op_mask)
        if len(rows):
            lo, hi = f.window
            cs, ce = iv.union(np.clip(m.start_ns[rows], lo, hi), np.clip(m.end_ns[rows], lo, hi))
            comm = int((ce - cs).sum())
            host = f.outermost(f.host_op_mask & ~f.comm_op_mask)
            hs, he = iv.union(np.clip(m.start_ns[host], lo, hi), np.clip(m.end_ns[host], lo, hi))
            covered = int(overlap_with_union(cs, ce, hs, he).sum())
            out.update(comm_ms=f.per_step_ms(comm), exposed_ms=f.per_step_ms(comm - covered),
                       overlap_pct=pct(covered, comm), source="collective host ranges")
    out["comm_pct_of_step"] = pct(out["comm_ms"], f.step_ms)
    return out


@rule("DIST1", "Communication not overlapped with compute")
def comm_overlap(f: ModelFacts) -> Finding | None:
    m = f.model
    strings = set(m.strings)
    data_parallel = "DataParallel.forward" in strings and "DistributedDataParallel.forward" not in strings
    fig = comm_figures(f)
    if data_parallel and len(m.gpu_devices) > 1:
        return Finding(
            title="DataParallel on several GPUs", severity="high",
            summary=(f"nn.DataParallel drives {len(m.gpu_devices)} GPUs from one process (scatter, replicate, "
                     "gather every step)."),
            evidence={**fig, "gpus": len(m.gpu_devices), "data_parallel": True},
            gain_ms=fig["exposed_ms"], bottleneck_ms=fig["exposed_ms"] or None, step_ms=f.step_ms,
            fix="Use DistributedDataParallel, one process per GPU.",
            fix_snippet=("torch.distributed.init_process_group('nccl')\n"
                         "model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank])"),
            caveats=["needs a launcher (torchrun)"],
        )
    if fig["comm_ms"] <= 0 or fig["comm_pct_of_step"] <= COMM_MIN_PCT or fig["overlap_pct"] >= OVERLAP_MAX_PCT:
        return None
    exposed = fig["exposed_ms"]
    gain = 0.5 * exposed
    rows = np.flatnonzero(f.comm_kernel_mask) if fig["source"] == "collective kernels" else f.outermost(f.comm_op_mask)
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"Collectives take {fig['comm_ms']:.2f} ms per step ({fig['comm_pct_of_step']:.0f} % of the step); "
                 f"only {fig['overlap_pct']:.0f} % of it overlaps compute, {exposed:.2f} ms per step is exposed."),
        evidence={**fig, "world_size": m.world_size},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=exposed, step_ms=f.step_ms,
        fix=("Overlap gradient communication with backward: DDP bucketing (bucket_cap_mb), no_sync() during "
             "gradient accumulation, fewer/larger collectives; avoid collectives in the forward pass."),
        fix_snippet=("model = DistributedDataParallel(model, bucket_cap_mb=25, gradient_as_bucket_view=True)\n"
                     "with model.no_sync():  # accumulation micro-steps\n    loss.backward()"),
        caveats=["a single rank's trace cannot show stragglers: compare ranks"]
        + (["host collective ranges include the time spent waiting for the other ranks"]
           if fig["source"] == "collective host ranges" else []),
    )
