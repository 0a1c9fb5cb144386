"""The progress channel: one JSON object per line, written by the child on a dedicated pipe.

Every event has ``event`` ("phase", "done" or "refused"), ``phase``, ``step``,
``total`` and ``message``.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

Emit = Callable[..., None]


class ProgressWriter:
    """Writes progress events as JSON lines to a file descriptor (or nowhere when fd is None)."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        self.phase = "setup"
        self.step = 0

    def __call__(self, phase: str, step: int = 0, total: int = 0, message: str = "",
                 event: str = "phase", **extra: Any) -> None:
        self.phase, self.step = phase, step
        if self.fd is None:
            return
        obj = {"event": event, "phase": phase, "step": step, "total": total, "message": message,
               "time_ns": time.time_ns(), **extra}
        data = (json.dumps(obj, default=str) + "\n").encode()
        try:
            os.write(self.fd, data)
        except OSError:
            self.fd = None  # the parent went away; keep running silently


def parse_line(line: bytes | str) -> dict[str, Any] | None:
    """Parse one progress line; None when it is not a progress event."""
    try:
        obj = json.loads(line)
    except (ValueError, TypeError):
        return None
    return obj if isinstance(obj, dict) and "event" in obj else None
