"""GRAPHBRK1 (graph breaks split the compiled model) and RECOMP1 (torch.compile recompiles during the steps).

Both read :mod:`analyzers.compiled_regions` (``Torch-Compiled Region: F/C`` ranges).
"""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from .context import ModelFacts, pct
from .registry import rule


@rule("GRAPHBRK1", "Graph breaks split the compiled model")
def graph_breaks(f: ModelFacts) -> Finding | None:
    cr = f.analysis.compiled_regions
    if not cr.present or not len(cr.per_step):
        return None
    breaks = cr.graph_breaks_per_step
    if breaks < 1:
        return None
    per_step = cr.per_step
    lookups = float(np.median(per_step["cache_lookups"]))
    lookup_ms = cr.cache_lookup_ns / 1e6 / max(int(per_step["cache_lookups"].sum()), 1)
    # measured lower bound: the extra guard checks; the fusion lost across a break is not measured here
    gain = breaks * lookup_ms
    frames = sorted({int(x) for x in cr.regions["frame"]})
    resumes = {r["region"]: r["called_from"] for _, r in cr.regions.iterrows() if r["frame"] > 0 and r["called_from"]}
    rows = [int(r) for r in cr.regions["first_row"]]
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)) if gain > 0 else "low",
        summary=(f"Each step enters {breaks + 1:.0f} compiled frames ({', '.join(map(str, frames))}) "
                 f"instead of one: {breaks:.0f} graph break(s) per step run the code between the pieces eagerly "
                 "and stop inductor fusing across them."
                 + (f" Compiled code resumes in {', '.join(sorted(set(resumes.values())))}." if resumes else "")),
        evidence={"frames_per_step": breaks + 1, "graph_breaks_per_step": breaks, "frames": frames,
                  "cache_lookups_per_step": lookups, "regions": cr.regions["region"].tolist(),
                  "resumes_in": resumes},
        evidence_rows=rows,
        gain_ms=gain, step_ms=f.step_ms,
        fix=("Find each break and its reason with torch._dynamo.explain(model)(*inputs) (or TORCH_LOGS=graph_breaks); "
             "remove the cause (.item(), print, data-dependent Python control flow, unsupported calls), then "
             "compile with fullgraph=True so a new break fails loudly."),
        fix_snippet=("explanation = torch._dynamo.explain(model)(*example_inputs)\n"
                     "print(explanation.break_reasons)\n"
                     "model = torch.compile(model, fullgraph=True)"),
        caveats=["the gain counts only the extra guard checks per break; the lost fusion usually costs more",
                 "several frames can also be separately compiled functions, not breaks"],
    )


@rule("RECOMP1", "torch.compile recompiles during the steps")
def recompiles(f: ModelFacts) -> Finding | None:
    cr = f.analysis.compiled_regions
    if not cr.present:
        return None
    per_step = cr.per_step
    compiling = per_step[per_step["compile_ns"] > 0] if len(per_step) else per_step
    if not cr.recompiled_frames and not len(compiling):
        return None
    compile_ms = float(per_step["compile_ns"].sum()) / 1e6 if len(per_step) else cr.compile_ns / 1e6
    gain = compile_ms / f.n_steps
    recompiled = cr.regions[cr.regions["compile_id"] > 0]["region"].tolist()
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"torch.compile compiled again inside the profiled steps ({compile_ms:.1f} ms of compilation in "
                 f"{len(compiling)} step(s)); recompiled regions: {', '.join(recompiled) or 'none yet'}. "
                 "A guard failed: new input shapes, dtypes or Python values."),
        evidence={"compile_ms": compile_ms, "steps_compiling": compiling["step"].tolist() if len(compiling) else [],
                  "recompiled_frames": cr.recompiled_frames, "recompiled_regions": recompiled},
        evidence_rows=[int(r) for r in cr.regions[cr.regions["compile_id"] > 0]["first_row"]],
        gain_ms=gain, bottleneck_ms=gain, step_ms=f.step_ms,
        fix=("See which guard failed with TORCH_LOGS=recompiles; for changing shapes mark the dimension dynamic "
             "(torch._dynamo.mark_dynamic(x, 0)) or compile with dynamic=True; pad or bucket sequence lengths; keep "
             "Python scalars that change per step out of the compiled function (pass them as tensors)."),
        fix_snippet=("torch._dynamo.mark_dynamic(batch, 0)  # or: torch.compile(model, dynamic=True)\n"
                     "# TORCH_LOGS=recompiles python train.py  -> prints each failed guard"),
        caveats=["warm-up compiles before the profiled window are not in the trace",
                 "past torch._dynamo.config.recompile_limit (8) the frame falls back to eager"],
    )
