"""The fix-knob vocabulary: the one place that names every knob.

Rules (analyzers) suggest a knob and a value, the harness (collectors) applies
it, the GUI only passes it along.  Parsing and validation live here so that a
``KNOB=VALUE`` string from the command line, a finding and the GUI all agree.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Mapping


class KnobError(ValueError):
    """A knob name or value that the vocabulary does not accept."""


@dataclass(frozen=True)
class Knob:
    """One fix knob: its name, value type and allowed values."""

    name: str
    kind: str  # "bool", "int" or "choice"
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    min_value: int | None = None
    needs_cuda: bool = False  # True when the knob means nothing without an NVIDIA GPU

    def parse(self, raw: Any) -> Any:
        """Turn a string (or an already typed value) into this knob's value."""
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise KnobError(f"knob {self.name!r} takes true or false, not {raw!r}")
        if self.kind == "int":
            try:
                value = int(str(raw).strip()) if not isinstance(raw, bool) else None
            except ValueError:
                value = None
            if value is None:
                raise KnobError(f"knob {self.name!r} takes an integer, not {raw!r}")
            if self.min_value is not None and value < self.min_value:
                raise KnobError(f"knob {self.name!r} must be >= {self.min_value}, not {value}")
            return value
        text = str(raw).strip().lower()
        if text in ("false", "0", "no", "none"):
            text = "off"
        if text not in self.choices:
            raise KnobError(f"knob {self.name!r} takes one of {', '.join(self.choices)}, not {raw!r}")
        return text


KNOBS: dict[str, Knob] = {
    k.name: k
    for k in (
        Knob("amp", "choice", "off", "autocast to bf16 or fp16 (fp16 adds a GradScaler)",
             choices=("off", "bf16", "fp16")),
        Knob("tf32", "bool", False, "allow TF32 in matmuls and convolutions (Ampere and newer)",
             needs_cuda=True),
        Knob("cudnn_benchmark", "bool", False, "let cuDNN autotune convolution algorithms",
             needs_cuda=True),
        Knob("channels_last", "bool", False, "NHWC memory format for the model and 4-D inputs"),
        Knob("compile", "choice", "off", "torch.compile the model",
             choices=("off", "default", "reduce-overhead", "max-autotune")),
        Knob("num_workers", "int", 0, "DataLoader worker processes", min_value=0),
        Knob("pin_memory", "bool", False, "page-locked host memory for DataLoader batches"),
        Knob("persistent_workers", "bool", False, "keep DataLoader workers alive across epochs"),
        Knob("prefetch_factor", "int", 2, "batches prefetched per DataLoader worker", min_value=1),
        Knob("non_blocking", "bool", False, "asynchronous host-to-device copies of the batch"),
        Knob("batch_size", "int", 0, "batch size (0 keeps the workload's own)", min_value=1),
        Knob("optimizer_impl", "choice", "default", "optimizer implementation",
             choices=("default", "foreach", "fused")),
        Knob("zero_grad_to_none", "bool", True, "optimizer.zero_grad(set_to_none=True)"),
        Knob("dynamic_quant", "bool", False, "dynamic int8 quantization of Linear/LSTM layers (CPU inference)"),
        Knob("threads", "int", 0, "torch intra-op threads (0 keeps the default)", min_value=1),
        Knob("inference_mode", "bool", False, "run inference under torch.inference_mode()"),
        Knob("ddp", "bool", False, "wrap the model in DistributedDataParallel (with --nproc-per-node)"),
    )
}


def knob(name: str) -> Knob:
    """Return the knob called ``name`` or raise KnobError listing the known ones."""
    try:
        return KNOBS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(KNOBS), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        raise KnobError(f"unknown knob {name!r}; {hint}known knobs: {', '.join(sorted(KNOBS))}") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``KNOB=VALUE`` into (name, typed value)."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise KnobError(f"expected KNOB=VALUE, got {text!r}")
    k = knob(name.strip())
    return k.name, k.parse(raw)


def parse_assignments(texts: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Parse several ``KNOB=VALUE`` strings into one dict (later ones win)."""
    out: dict[str, Any] = {}
    for text in texts:
        name, value = parse_assignment(text)
        out[name] = value
    return out


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise a mapping of knob settings."""
    return {name: knob(name).parse(value) for name, value in settings.items()}


def format_assignment(name: str, value: Any) -> str:
    """The ``KNOB=VALUE`` text for a setting (inverse of parse_assignment)."""
    if isinstance(value, bool):
        return f"{name}={'true' if value else 'false'}"
    return f"{name}={value}"
