"""CPU rule set: CPU1 (no GPU used), CPUQ1 (dynamic int8 quantization), THREAD1 (oversubscription),
INF1 (inference with autograd recording)."""
from __future__ import annotations

import numpy as np

from ..findings import Finding, severity_for
from ..categories import Kind
from .context import ModelFacts, pct
from .registry import rule

CPUQ_THRESHOLD_PCT = 40.0
PER_OP_OVERHEAD_US = 3.0
#: ops of the layers quantize_dynamic converts (nn.Linear -> aten::linear, nn.LSTM/GRU); a bare addmm/mm
#: (transformers' Conv1D, functional code) stays fp32, so it is not counted
_QUANT_OPS = ("aten::linear", "aten::lstm", "aten::gru")


@rule("CPU1", "No GPU used")
def no_gpu(f: ModelFacts) -> Finding | None:
    m = f.model
    if m.has_gpu or not len(m):
        return None
    env = f.env
    gpu_available = bool(env.get("cuda_available")) or bool(env.get("gpu_count"))
    nvml = (m.run_info or {}).get("nvml")
    summary = "The trace holds no GPU kernels, copies or device properties: the whole run is on the CPU."
    severity = "info"
    fix = "Analysed with the CPU rule set (data loading, threads, quantization, inference mode)."
    if gpu_available:
        severity = "high"
        summary = ("A GPU was available to the run but the trace holds no GPU work: the model and the "
                   "batches stay on the CPU.")
        fix = "Move the model and each batch to the GPU (model.to('cuda'), batch.to('cuda', non_blocking=True))."
    return Finding(
        severity=severity, summary=summary,
        evidence={"device_properties": len(m.device_properties), "kernels": 0,
                  "gpu_available_in_run": gpu_available, "nvml": nvml, "cpu_ops": int((m.kind == int(Kind.CPU_OP)).sum())},
        gain_ms=0.0, bottleneck_ms=0.0, step_ms=f.step_ms, fix=fix,
        fix_snippet="device = 'cuda' if torch.cuda.is_available() else 'cpu'\nmodel.to(device)",
    )


def _cpu_time(f: ModelFacts) -> tuple[np.ndarray, int]:
    rows = f.outermost(f.host_op_mask)
    return rows, int(f.model.dur_ns[rows].sum())


def _is_inference(f: ModelFacts) -> bool:
    kind = (f.model.run_info or {}).get("workload_kind")
    if kind is not None:
        return kind == "infer"
    return not f.has_backward


@rule("CPUQ1", "Linear/LSTM layers dominate CPU inference")
def cpu_quant(f: ModelFacts) -> Finding | None:
    m = f.model
    if m.has_gpu or not _is_inference(f) or f.settings.get("dynamic_quant") is True:
        return None
    names = m.strings
    if any(s.startswith("quantized::") for s in names):
        return None  # already quantized
    top, cpu_ns = _cpu_time(f)
    if not cpu_ns:
        return None
    types = [t.get("type") for t in f.model_facts.get("module_types") or []]
    if types and not any(t in ("Linear", "LSTM", "GRU") for t in types):
        return None  # the run's model has no layer quantize_dynamic converts
    # linear ops nested in a non-linear top-level op (e.g. a module range) count too
    nested = f.host_op_mask & f.name_mask("quant_ops", lambda s: s.startswith(_QUANT_OPS))
    rows = f.outermost(nested)
    lin_ms, cpu_ms = f.series(rows).median_ms, f.series(top).median_ms
    share = pct(lin_ms, cpu_ms)
    if share <= CPUQ_THRESHOLD_PCT:
        return None
    widths = []
    for r, a in zip(rows[:200], m.args_many(rows[:200])):
        dims = a.get("Input Dims") or []
        weight_at = 2 if m.name(int(r)).startswith("aten::addmm") else 1
        d = dims[weight_at] if len(dims) > weight_at else None
        if isinstance(d, list) and len(d) == 2:
            widths.extend(int(x) for x in d if isinstance(x, (int, float)))
    max_width = max(widths) if widths else None
    gain = 0.2 * lin_ms  # measured on a 2-core EPYC: no gain at batch 8; larger elsewhere: a guess to test by A/B
    caveats = ["accuracy must be checked after quantization", "only nn.Linear / nn.LSTM / nn.GRU are quantized",
               "dynamic quantization is a CPU inference feature",
               "int8 kernels are not faster on every CPU and quantized engine: measure the A/B run"]
    if max_width is not None and max_width < 512:
        caveats.append(f"the widest layer is {max_width}: tiny layers may not gain")
        gain = 0.1 * lin_ms
    return Finding(
        severity=severity_for(pct(gain, f.step_ms), cap="medium"),
        summary=(f"Linear/matmul/LSTM ops take {share:.0f} % of the CPU op time ({lin_ms:.2f} ms per step) "
                 "in an inference run; dynamic int8 quantization usually speeds these up."),
        evidence={"linear_ms_per_step": lin_ms, "linear_pct_of_cpu": share, "cpu_ms_per_step": cpu_ms,
                  "max_layer_width": max_width, "ops": int(len(rows))},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=lin_ms, step_ms=f.step_ms,
        fix="Quantize Linear/LSTM weights to int8 dynamically for CPU inference.",
        fix_snippet="model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear, torch.nn.LSTM}, dtype=torch.qint8)",
        knob="dynamic_quant", knob_value=True, caveats=caveats,
    )


@rule("THREAD1", "CPU threads oversubscribed")
def threads(f: ModelFacts) -> Finding | None:
    if not f.is_bundle:
        return None
    env = f.env
    cores = env.get("cpu_affinity") or env.get("cpu_count")
    intra = f.settings.get("threads") or env.get("torch_threads")
    if not cores or not intra:
        return None
    workers = int(f.settings.get("num_workers") or 0)
    busy = int(intra) + workers
    if busy <= int(cores):
        return None
    target = max(1, int(cores) - workers)
    if f.settings.get("threads") == target:
        return None
    _, cpu_ns = _cpu_time(f)
    cpu_ms = f.per_step_ms(cpu_ns)
    over = (busy - int(cores)) / busy
    gain = 0.25 * over * cpu_ms  # workers waiting on I/O do not use a core: stay modest
    return Finding(
        severity=severity_for(pct(gain, f.step_ms), cap="medium") if gain else "low",
        summary=(f"{intra} intra-op threads + {workers} DataLoader worker(s) = {busy} busy threads on "
                 f"{cores} core(s); threads compete for the cores."),
        evidence={"cores": int(cores), "intra_op_threads": int(intra), "num_workers": workers,
                  "busy_threads": busy, "cpu_ms_per_step": cpu_ms},
        gain_ms=gain, bottleneck_ms=cpu_ms, step_ms=f.step_ms,
        fix=f"Use {target} intra-op thread(s) so that threads + workers fit the cores.",
        fix_snippet=f"torch.set_num_threads({target})", knob="threads", knob_value=target,
        caveats=["the gain is an estimate: measure the A/B run", "fewer threads can slow large ops",
                 "DataLoader workers that wait on I/O hardly use a core"],
    )


@rule("INF1", "Inference runs with autograd recording")
def inference_mode(f: ModelFacts) -> Finding | None:
    m = f.model
    if f.settings.get("inference_mode") is True:
        return None
    kind = (m.run_info or {}).get("workload_kind")
    if kind == "train" or f.has_backward:
        return None
    top, cpu_ns = _cpu_time(f)
    if not len(top):
        return None
    sample = top[np.argsort(-m.dur_ns[top])[:50]]
    args = m.args_many(sample)
    with_seq = [int(r) for r, a in zip(sample, args) if "Sequence number" in a]
    if not with_seq:
        return None
    cpu_ms = f.per_step_ms(cpu_ns)
    # autograd bookkeeping costs a few microseconds per recorded op (graph nodes, version counters)
    ops_per_step = len(top) / f.n_steps * len(with_seq) / len(sample)
    gain = min(ops_per_step * PER_OP_OVERHEAD_US / 1e3, 0.1 * cpu_ms)
    if f.negligible(gain):
        return None
    return Finding(
        severity="low",
        summary=("No backward pass ran, yet the ops carry autograd sequence numbers: grad mode was on. "
                 "torch.inference_mode() skips autograd bookkeeping."),
        evidence={"ops_sampled": len(sample), "ops_with_sequence_number": len(with_seq), "cpu_ms_per_step": cpu_ms,
                  "recorded_ops_per_step": ops_per_step},
        evidence_rows=with_seq[:200], evidence_ranges=f.evidence_ranges_of(np.asarray(with_seq)),
        gain_ms=gain, bottleneck_ms=cpu_ms, step_ms=f.step_ms,
        fix="Run evaluation/inference under torch.inference_mode() (or torch.no_grad()).",
        fix_snippet="with torch.inference_mode():\n    out = model(x)", knob="inference_mode", knob_value=True,
        caveats=["the gain is usually a few percent", "tensors made under inference_mode cannot be used in autograd later"],
    )
