"""Decode event chunks in worker processes while this one reads (and gunzips) the next.

Workers are forked (cheap: the code is already imported) and only when this
process runs no other threads; each gets a chunk's text as bytes and answers
with the chunk's columns as bytes (``chunk_columns.to_frame``), so nothing but
bytes crosses.  At most ``2 * workers`` chunks are in flight, which bounds
memory whatever the file size.  Without fork (or with threads running) the
chunks are decoded here, one after another.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Iterable

from .chunk_columns import EventChunk, decode_chunk, from_frame, to_frame

#: files below this many bytes of JSON decode here: a pool's start costs more than it saves
PARALLEL_MIN_BYTES = 32 << 20


def _die_with_parent(parent_pid: int) -> None:
    """Worker start: be killed when the process that forked us dies (a cancelled load, a killed app)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown ends us
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends the pool
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)


def _decode_to_frame(text: bytes) -> bytes:
    return to_frame(decode_chunk(text))


_allowed = [True]


def disable_workers() -> None:
    """Decode in this process from now on (a worker of another pool: one rank per process already)."""
    _allowed[0] = False


def can_fork() -> bool:
    """Forking is safe here: the platform has it, this is not a daemon or pool worker, and no other thread runs."""
    return (_allowed[0] and "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


#: more workers than this gain little: this process's reading and joining becomes the limit
MAX_WORKERS = 4


def worker_count(file_bytes: int, cores: int | None = None) -> int:
    """Processes to decode a file of ``file_bytes`` with: 1 (here) when small or forking is not safe.

    All the cores this process may run on count (not the load average: a user
    opening a trace waits for it; other work is slowed, never starved, by the OS).
    """
    if file_bytes < PARALLEL_MIN_BYTES or not can_fork():
        return 1
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_WORKERS))


def decode_chunks(texts: Iterable[bytes], workers: int = 1) -> list[EventChunk]:
    """The columns of every chunk, in order.  A worker that dies raises BrokenProcessPool (no hang)."""
    if workers <= 1 or not can_fork():
        return [decode_chunk(t) for t in texts]
    out: list[EventChunk] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        pending: deque[Future] = deque()
        for text in texts:
            pending.append(pool.submit(_decode_to_frame, text))
            del text
            while len(pending) > 2 * workers or (pending and pending[0].done()):
                out.append(from_frame(pending.popleft().result()))
        while pending:
            out.append(from_frame(pending.popleft().result()))
    return out
