"""Host CPU utilisation and process-tree RSS, read from /proc (no psutil needed)."""
from __future__ import annotations

import os
from typing import Any

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def read_cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs from /proc/stat, or None where unavailable."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user/nice
    return total - idle, total


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                    out.extend(int(c) for c in fh.read().split())
            except OSError:
                continue
    except OSError:
        pass
    return out


def rss_bytes(pid: int) -> int | None:
    """Resident set size of one process from /proc/PID/statm, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return None


def tree_rss_bytes(pid: int, max_procs: int = 64) -> int | None:
    """RSS of ``pid`` plus its descendants (DataLoader workers); shared pages count once per process."""
    total = rss_bytes(pid)
    if total is None:
        return None
    stack, seen = _children(pid), 1
    while stack and seen < max_procs:
        child = stack.pop()
        seen += 1
        total += rss_bytes(child) or 0
        stack.extend(_children(child))
    return total


class HostSampler:
    """Samples host CPU % (all cores, 0-100) and the RSS of a process tree."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid if pid is not None else os.getpid()
        self._last = read_cpu_times()

    def sample(self, now_ns: int) -> dict[str, Any]:
        """One ``source="host"`` row stamped ``now_ns`` (Unix epoch ns)."""
        cpu_pct = None
        cur = read_cpu_times()
        if cur is not None and self._last is not None and cur[1] > self._last[1]:
            cpu_pct = round(100.0 * (cur[0] - self._last[0]) / (cur[1] - self._last[1]), 2)
        self._last = cur
        return {"time_ns": now_ns, "source": "host", "host_cpu_pct": cpu_pct,
                "host_rss_bytes": tree_rss_bytes(self.pid)}
