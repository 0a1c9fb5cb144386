"""Which knobs ``torchscope tune`` tries, in what order, and which it skips (torch-free).

The fixes of the baseline's findings come first (they carry their own code
snippets), then a per-device standard list.  Every candidate is checked before
anything runs: the device (``knob_checks.refuse_for_device``), the workload's
facts (``knob_checks.refuse_for_facts``) and the CPU's instruction set; a knob
that cannot apply is kept as ``skipped`` with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from analyzers.knobs import KNOBS, KnobError, format_assignment

#: the code change for each standard knob (a finding's own fix_snippet wins)
SNIPPETS: dict[str, str] = {
    "amp": "with torch.autocast(device_type=DEVICE, dtype=torch.bfloat16):\n    loss = loss_fn(model(x), y)",
    "compile": "model = torch.compile(model)",
    "optimizer_impl": "opt = torch.optim.SGD(model.parameters(), lr=..., foreach=True)  # or fused=True",
    "threads": "torch.set_num_threads(N)",
    "num_workers": "loader = DataLoader(dataset, batch_size=..., num_workers=N)",
    "batch_size": "loader = DataLoader(dataset, batch_size=N)",
    "channels_last": "model = model.to(memory_format=torch.channels_last)\nx = x.to(memory_format=torch.channels_last)",
    "dynamic_quant": "model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)",
    "inference_mode": "with torch.inference_mode():\n    out = model(x)",
    "tf32": "torch.backends.cuda.matmul.allow_tf32 = True\ntorch.backends.cudnn.allow_tf32 = True",
    "cudnn_benchmark": "torch.backends.cudnn.benchmark = True",
    "pin_memory": "loader = DataLoader(dataset, ..., pin_memory=True)\nx = x.to('cuda', non_blocking=True)",
    "non_blocking": "x = x.to('cuda', non_blocking=True)",
    "zero_grad_to_none": "optimizer.zero_grad(set_to_none=True)",
    "persistent_workers": "loader = DataLoader(dataset, ..., num_workers=N, persistent_workers=True)",
    "prefetch_factor": "loader = DataLoader(dataset, ..., num_workers=N, prefetch_factor=4)",
}
BF16_ISA = ("avx512_bf16", "amx_bf16")


@dataclass
class Candidate:
    """One knob setting under test and what was measured for it."""

    knob: str
    value: Any
    source: str = "standard"  # "finding RULE", "standard", "user" or "stack"
    snippet: str = ""
    verdict: str = "pending"  # pending, running, faster, no effect, slower, failed, skipped
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # settings a stack adds beyond knob=value

    @property
    def settings(self) -> dict[str, Any]:
        return {self.knob: self.value, **self.extra}

    @property
    def label(self) -> str:
        return " ".join(format_assignment(k, v) for k, v in self.settings.items())


def standard_list(device: str, facts: Mapping[str, Any], model_facts: Mapping[str, Any]) -> list[Candidate]:
    """The per-device standard candidates (before applicability checks)."""
    cores = int(model_facts.get("cpu_cores") or 1)
    threads = int(model_facts.get("torch_threads") or cores)
    batch = facts.get("batch_size") or 0
    out = [Candidate("amp", "bf16"), Candidate("compile", "default"), Candidate("optimizer_impl", "foreach"),
           Candidate("num_workers", 2), Candidate("channels_last", True)]
    if device == "cuda":
        out += [Candidate("tf32", True), Candidate("cudnn_benchmark", True), Candidate("pin_memory", True),
                Candidate("optimizer_impl", "fused")]
    else:
        if threads > 1:
            out.append(Candidate("threads", max(1, threads // 2)))
        out += [Candidate("dynamic_quant", True), Candidate("inference_mode", True)]
    if batch:
        out.append(Candidate("batch_size", int(batch) * 2))
    return out


def from_findings(findings: list[Any]) -> list[Candidate]:
    """One candidate per distinct knob setting the findings propose (highest gain first)."""
    out: list[Candidate] = []
    for f in sorted(findings, key=lambda f: -(f.gain_ms or 0.0)):
        if f.knob is not None and not any(c.knob == f.knob and c.value == f.knob_value for c in out):
            out.append(Candidate(f.knob, f.knob_value, source=f"finding {f.rule}", snippet=f.fix_snippet))
    return out


def merge(first: list[Candidate], then: list[Candidate]) -> list[Candidate]:
    """``first`` then the ones of ``then`` whose knob ``first`` does not already try."""
    seen = {c.knob for c in first}
    out = list(first)
    for c in then:
        if c.knob not in seen:
            seen.add(c.knob)
            out.append(c)
    return out


def check(cand: Candidate, base: Mapping[str, Any], device: str, facts: Mapping[str, Any],
          cpu_isa: list[str] | None, user: bool = False) -> str | None:
    """Why ``cand`` cannot apply here (None when it can): device, workload facts, CPU, baseline."""
    from collectors.knob_checks import refuse_for_device, refuse_for_facts
    if base.get(cand.knob, KNOBS[cand.knob].default) == cand.value:
        return f"the baseline already runs {format_assignment(cand.knob, cand.value)}"
    try:
        refuse_for_device({**base, **cand.settings}, device)
        refuse_for_facts({**base, **cand.settings}, facts)
    except KnobError as exc:
        return str(exc).removeprefix("knob ")
    if (device != "cuda" and cand.settings.get("amp") == "bf16" and cpu_isa is not None and not user
            and not set(BF16_ISA) & set(cpu_isa)):
        return ("this CPU has no native bf16 (no AVX512_BF16/AMX; flags: " + (", ".join(cpu_isa) or "unknown")
                + "): bf16 matmuls are emulated and slower; pass --candidates amp=bf16 to measure anyway")
    return None


def snippet_for(cand: Candidate) -> str:
    """The code change: the finding's own snippet, else the standard one with the value filled in."""
    if cand.snippet:
        return cand.snippet
    text = SNIPPETS.get(cand.knob, "")
    return text.replace("N", str(cand.value)) if isinstance(cand.value, int) and not isinstance(cand.value, bool) \
        else text
