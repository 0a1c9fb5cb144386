"""CPU speed rules from what A/B runs measured on this kind of machine (2-core AVX-512-BF16 CPU):

- CPUBF16: FP32 matrix multiplies dominate and the CPU has bf16 instructions -> ``amp=bf16``
  (GPT-2-like training 1.46x, BERT-like 1.32x, LSTM inference 1.47x; depthwise-conv nets got slower: 0.74x,
  so convolution-bound traces are left out);
- CPUFUSE1: chains of small element-wise ops (GELU built of mul/add/tanh, dropout's RNG) between matmuls
  -> ``compile`` (GPT-2-like 1.10x on an AVX-512 CPU; a conv net got slower: 0.79x, so only matmul-bound
  traces; on an AVX2-only CPU compile measured 0.89x on BERT and 0.98x on a small GPT: AVX-512 required);
- CPUCL1: 4-D convolutions dominate in NCHW -> ``channels_last`` (MobileNet-like 1.31x, small conv net 1.26x).
Each fires only when its op time is a large share of the step in most steps; the gain is a fraction of
the measured op time, never more than it.
"""
from __future__ import annotations

import numpy as np

from .. import intervals as iv
from ..categories import DATALOADER_PREFIXES, Kind
from ..findings import Finding, severity_for
from ..op_names import is_conv_name, is_gemm_name
from ..step_stats import StepSeries
from .context import ModelFacts, pct
from .registry import rule

BF16_FLAGS = ("avx512_bf16", "amx_bf16")
GEMM_MIN_PCT = 30.0  # FP32 GEMM time per step, share of the step
BF16_SAVING = 0.5  # bf16 GEMMs run about twice as fast with avx512_bf16 / AMX
FUSE_MIN_PCT = 10.0  # element-wise + dropout time per step, share of the step
FUSE_MIN_OPS = 20  # element-wise ops per step: a chain, not one big op
FUSE_SAVING = 0.5  # compile fuses a chain into one loop; half of the chain's time is a conservative estimate
FUSE_FLAGS = ("avx512f",)  # the only CPUs where compiling measured faster
CONV_MIN_PCT = 30.0
CHANNELS_LAST_SAVING = 0.25

#: element-wise and RNG ops that a compiler fuses into neighbours
ELEMENTWISE_OPS = frozenset({
    "aten::add", "aten::add_", "aten::mul", "aten::mul_", "aten::div", "aten::div_", "aten::sub", "aten::sub_",
    "aten::tanh", "aten::tanh_", "aten::pow", "aten::exp", "aten::sqrt", "aten::rsqrt", "aten::neg",
    "aten::gelu", "aten::silu", "aten::sigmoid", "aten::relu", "aten::where", "aten::masked_fill",
    "aten::dropout", "aten::native_dropout", "aten::bernoulli_", "aten::rand_like", "aten::empty_like",
    "aten::layer_norm", "aten::native_layer_norm", "aten::softmax", "aten::_softmax", "aten::clamp",
    "aten::threshold_backward", "aten::gelu_backward", "aten::tanh_backward", "aten::native_dropout_backward",
})
DROPOUT_OPS = ("aten::dropout", "aten::native_dropout", "aten::bernoulli_")
#: host ranges whose element-wise ops compiling the model does not fuse (the optimizer, data loading)
NOT_THE_MODEL = ("Optimizer.step#", "Optimizer.zero_grad#", *DATALOADER_PREFIXES)


def _cpu_only(f: ModelFacts) -> bool:
    return not f.model.has_gpu and len(f.model) > 0


def _cpu_flags_for(f: ModelFacts, knob: str, off: object, needed: tuple[str, ...]) -> list[str] | None:
    """The run's CPU flags among ``needed`` when this is a CPU-only run with ``knob`` still ``off``; else None.

    Foreign traces do not name their CPU: None there (these fixes measured slower on CPUs without the flags)."""
    if not _cpu_only(f) or f.settings.get(knob, off) != off:
        return None
    flags = f.model_facts.get("cpu_isa")
    have = [x for x in flags if x in needed] if isinstance(flags, list) else []
    return have or None


def _fp32_rows(f: ModelFacts, rows: np.ndarray) -> np.ndarray:
    """Rows whose recorded input type is float32, or all of them when no dtypes were recorded."""
    if not len(rows):
        return rows
    args = f.model.args_many(rows)
    types = [a.get("Input type") for a in args]
    if not any(types):
        return rows
    keep = [bool(t) and any(x == "float" for x in t if isinstance(x, str)) for t in types]
    return rows[np.asarray(keep, bool)]


def _outside(f: ModelFacts, rows: np.ndarray, prefixes: tuple[str, ...]) -> np.ndarray:
    """``rows`` that do not start inside a host range named with one of ``prefixes`` on the same thread."""
    m = f.model
    ranges = np.flatnonzero(f.name_mask("ranges:" + "|".join(prefixes), lambda s: s.startswith(prefixes)))
    if not len(ranges) or not len(rows):
        return rows
    stride = int(m.end_ns.max()) + 2  # one interval set for all threads: times shifted by thread

    def key(r: np.ndarray, t: np.ndarray) -> np.ndarray:
        return m.track_id[r].astype(np.int64) * stride + t
    s, e = iv.union(key(ranges, m.start_ns[ranges]), key(ranges, m.end_ns[ranges]))
    return rows[~iv.point_in(s, e, key(rows, m.start_ns[rows]))]


def _op_rows(f: ModelFacts, key: str, pred) -> np.ndarray:  # noqa: ANN001
    """Outermost CPU ops in the step window whose name satisfies ``pred``."""
    return f.outermost((f.model.kind == int(Kind.CPU_OP)) & f.in_window & f.name_mask(key, pred))


def _conv_and_gemm(f: ModelFacts) -> tuple[np.ndarray, StepSeries, np.ndarray, StepSeries]:
    conv, gemm = _op_rows(f, "conv", is_conv_name), _op_rows(f, "gemm", is_gemm_name)
    return conv, f.series(conv), gemm, f.series(gemm)


@rule("CPUBF16", "FP32 matmuls on a CPU with bf16 instructions")
def cpu_bf16(f: ModelFacts) -> Finding | None:
    isa = _cpu_flags_for(f, "amp", "off", BF16_FLAGS)
    if isa is None:
        return None  # without bf16 instructions autocast to bf16 is slower (0.09-0.30x measured on AVX2)
    _, conv_s, gemm, gemm_s = _conv_and_gemm(f)
    if conv_s.median_ms >= gemm_s.median_ms:
        return None  # convolution-bound (e.g. depthwise): bf16 measured slower there
    fp32 = _fp32_rows(f, gemm)
    series = f.series(fp32)
    if not series.holds_in_most(GEMM_MIN_PCT):
        return None
    gemm_ms = series.median_ms
    gain = BF16_SAVING * gemm_ms
    return Finding(
        severity=severity_for(pct(gain, f.step_ms)),
        summary=(f"FP32 matrix multiplies take {gemm_ms:.2f} ms per step ({series.median_share_pct:.0f} % of the step) "
                 f"on a CPU with {', '.join(isa)}: bf16 autocast runs them about twice "
                 "as fast."),
        evidence={"fp32_gemm_ms_per_step": gemm_ms, "fp32_gemm_pct_of_step": series.median_share_pct,
                  "conv_ms_per_step": conv_s.median_ms, "cpu_isa": isa, "per_step": series.spread()},
        evidence_ranges=f.evidence_ranges_of(fp32), evidence_rows=f.top_rows(fp32),
        gain_ms=gain, bottleneck_ms=gemm_ms, step_ms=f.step_ms,
        fix="Run the forward pass (and loss) under CPU autocast to bfloat16.",
        fix_snippet="with torch.autocast('cpu', dtype=torch.bfloat16):\n    loss = loss_fn(model(x), y)",
        knob="amp", knob_value="bf16",
        caveats=["bf16 keeps fp32's range but has 8 bits of mantissa: check the loss curve",
                 "ops outside autocast's list stay fp32 (casts cost a little)"],
    )


@rule("CPUFUSE1", "Chains of small element-wise ops between matmuls")
def cpu_fusion(f: ModelFacts) -> Finding | None:
    if _cpu_flags_for(f, "compile", "off", FUSE_FLAGS) is None:
        return None  # on AVX2-only CPUs compiled steps measured slower (0.89x on BERT)
    _, conv_s, _, gemm_s = _conv_and_gemm(f)
    if conv_s.median_ms >= gemm_s.median_ms or gemm_s.median_ms <= 0:
        return None  # conv nets: compile measured slower on a 2-core CPU
    rows = _outside(f, _op_rows(f, "elementwise", lambda s: s in ELEMENTWISE_OPS), NOT_THE_MODEL)  # the optimizer's for-loop is OPT1's, not the compiler's
    series = f.series(rows)
    ops_per_step = len(rows) / f.n_steps
    if ops_per_step < FUSE_MIN_OPS or not series.holds_in_most(FUSE_MIN_PCT):
        return None
    chain_ms = series.median_ms
    dropout = rows[np.isin(f.model.names[rows], DROPOUT_OPS)] if len(rows) else rows
    dropout_ms = f.series(dropout).median_ms
    gain = FUSE_SAVING * chain_ms
    return Finding(
        severity=severity_for(pct(gain, f.step_ms), cap="medium"),
        summary=(f"{ops_per_step:.0f} small element-wise ops per step take {chain_ms:.2f} ms "
                 f"({series.median_share_pct:.0f} % of the step) between the matmuls"
                 + (f"; dropout's random numbers take {dropout_ms:.2f} ms of it" if dropout_ms > 0 else "")
                 + ". torch.compile fuses such chains into one loop."),
        evidence={"elementwise_ms_per_step": chain_ms, "elementwise_pct_of_step": series.median_share_pct,
                  "elementwise_ops_per_step": ops_per_step, "dropout_ms_per_step": dropout_ms,
                  "gemm_ms_per_step": gemm_s.median_ms, "per_step": series.spread()},
        evidence_ranges=f.evidence_ranges_of(rows), evidence_rows=f.top_rows(rows),
        gain_ms=gain, bottleneck_ms=chain_ms, step_ms=f.step_ms,
        fix="Compile the model so that element-wise chains (activations, residual adds, dropout) fuse.",
        fix_snippet="model = torch.compile(model)", knob="compile", knob_value="default",
        caveats=["the first steps compile (seconds to minutes)", "recompiles on new input shapes"],
    )


@rule("CPUCL1", "Convolutions in NCHW layout on the CPU")
def cpu_channels_last(f: ModelFacts) -> Finding | None:
    if not _cpu_only(f) or f.settings.get("channels_last") is True:
        return None
    conv, conv_s, _, gemm_s = _conv_and_gemm(f)
    if not len(conv) or conv_s.median_ms < gemm_s.median_ms or not conv_s.holds_in_most(CONV_MIN_PCT):
        return None
    dims = [a.get("Input Dims") or [] for a in f.model.args_many(conv[:50])]
    if any(d for d in dims) and not any(d and isinstance(d[0], list) and len(d[0]) == 4 for d in dims):
        return None  # no 4-D inputs: nothing for channels_last to act on
    conv_ms = conv_s.median_ms
    gain = CHANNELS_LAST_SAVING * conv_ms
    return Finding(
        severity=severity_for(pct(gain, f.step_ms), cap="medium"),
        summary=(f"Convolutions take {conv_ms:.2f} ms per step ({conv_s.median_share_pct:.0f} % of the step); "
                 "oneDNN's convolutions are faster on NHWC (channels_last) tensors than on NCHW ones."),
        evidence={"conv_ms_per_step": conv_ms, "conv_pct_of_step": conv_s.median_share_pct,
                  "gemm_ms_per_step": gemm_s.median_ms, "per_step": conv_s.spread()},
        evidence_ranges=f.evidence_ranges_of(conv), evidence_rows=f.top_rows(conv),
        gain_ms=gain, bottleneck_ms=conv_ms, step_ms=f.step_ms,
        fix="Convert the model and each 4-D input to channels_last.",
        fix_snippet="model = model.to(memory_format=torch.channels_last)\nx = x.to(memory_format=torch.channels_last)",
        knob="channels_last", knob_value=True,
        caveats=["a foreign trace does not record the layout: skip this if the model is already channels_last"],
    )
