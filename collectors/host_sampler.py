"""Host CPU utilisation (system-wide and the workload's own) and process-tree RSS, read from /proc."""
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
            except OSError:  # the thread ended between listdir and open
                continue
    except OSError:  # the process itself is gone: it has no children
        pass
    return out


def rss_bytes(pid: int) -> int | None:
    """Resident set size of one process from /proc/PID/statm, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return None


def proc_cpu_jiffies(pid: int) -> int | None:
    """CPU time of one process and of its reaped children (utime + stime + cutime + cstime), in jiffies."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15])  # fields 14-17 of proc(5), counted after the comm field
    except (OSError, IndexError, ValueError):
        return None


def _tree(pid: int, max_procs: int) -> list[int]:
    """``pid`` and its descendants (DataLoader workers), at most ``max_procs``."""
    out, stack = [pid], _children(pid)
    while stack and len(out) < max_procs:
        child = stack.pop()
        out.append(child)
        stack.extend(_children(child))
    return out


def tree_cpu_jiffies(pid: int, max_procs: int = 64) -> int | None:
    """CPU time of ``pid`` and its live descendants, in jiffies (None when ``pid`` is gone)."""
    own = proc_cpu_jiffies(pid)
    if own is None:
        return None
    return own + sum(proc_cpu_jiffies(c) or 0 for c in _tree(pid, max_procs)[1:])


def tree_rss_bytes(pid: int, max_procs: int = 64) -> int | None:
    """RSS of ``pid`` plus its descendants (DataLoader workers); shared pages count once per process."""
    total = rss_bytes(pid)
    if total is None:
        return None
    return total + sum(rss_bytes(c) or 0 for c in _tree(pid, max_procs)[1:])


class HostSampler:
    """Samples host CPU % (all cores, 0-100), the workload tree's share of it, and the tree's RSS.

    ``host_cpu_pct - host_proc_cpu_pct`` is what other processes took: contention the profile cannot show."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid if pid is not None else os.getpid()
        self._last = read_cpu_times()
        self._last_proc = tree_cpu_jiffies(self.pid)

    def sample(self, now_ns: int) -> dict[str, Any]:
        """One ``source="host"`` row stamped ``now_ns`` (Unix epoch ns)."""
        cpu_pct = proc_pct = None
        cur, proc = read_cpu_times(), tree_cpu_jiffies(self.pid)
        if cur is not None and self._last is not None and cur[1] > self._last[1]:
            span = cur[1] - self._last[1]
            cpu_pct = round(100.0 * (cur[0] - self._last[0]) / span, 2)
            if proc is not None and self._last_proc is not None:
                proc_pct = round(min(100.0, max(0.0, 100.0 * (proc - self._last_proc) / span)), 2)
        self._last, self._last_proc = cur, proc
        return {"time_ns": now_ns, "source": "host", "host_cpu_pct": cpu_pct, "host_proc_cpu_pct": proc_pct,
                "host_rss_bytes": tree_rss_bytes(self.pid)}
