"""Errors the collectors raise for user mistakes (the CLI turns them into exit code 2)."""
from __future__ import annotations

from analyzers.knobs import KnobError
from collectors.workload_ref import WorkloadRefError


class KnobRefused(KnobError):
    """A valid knob that does not apply to this device or workload (e.g. amp=fp16 on CPU)."""


class UsageError(ValueError):
    """A request that cannot be run as asked (e.g. an A/B run without a fix)."""


USER_ERRORS: tuple[type[Exception], ...] = (KnobError, WorkloadRefError, UsageError, FileNotFoundError)
