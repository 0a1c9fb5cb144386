"""Peak memory of a process and all its descendants together, sampled from /proc (Linux).

PSS (proportional set size) is used, so pages two processes share (a forked
worker's inherited pages, columns mapped from the page cache) are counted
once in the sum, not once per process.
"""
from __future__ import annotations

import os
import threading


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:  # the process (or thread) ended between listing and reading
        pass
    return out


def _pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # ended meanwhile
        pass
    return 0


def tree_pss_bytes(root: int) -> int:
    """PSS of ``root`` and every descendant, now."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss_bytes(pid)
        todo += _children(pid)
    return total


class TreeMemorySampler(threading.Thread):
    """Samples ``tree_pss_bytes`` every ``interval_s`` until stopped; ``peak_bytes`` is the largest sum seen."""

    def __init__(self, root: int | None = None, interval_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root, self.interval_s = root or os.getpid(), interval_s
        self.peak_bytes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            self.peak_bytes = max(self.peak_bytes, tree_pss_bytes(self.root))

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak_bytes = max(self.peak_bytes, tree_pss_bytes(self.root))
        return self.peak_bytes
