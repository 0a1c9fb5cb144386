"""Parent side of a distributed run: torchrun starts the ranks, this process watches them.

``python -m torch.distributed.run --standalone --nproc-per-node N -m
collectors.child --dist ...`` runs every rank on the same step schedule (gloo
on CPU, NCCL on GPUs); never a home-made launcher or process group.  torchrun
ends the whole job when a rank fails; this process adds the per-run timeout
and cancel (stack dump, then SIGKILL of every rank and torchrun), reads each
rank's progress file, samples each rank's host CPU/RSS and settles the bundle
(:mod:`collectors.dist_finish`).  Imports neither torch nor Qt.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from analyzers.paths import child_env
from collectors import bundle as bundle_mod
from collectors.dist_child import PROGRESS, rank_dir_name
from collectors.host_sampler import HostSampler, _tree
from collectors.progress import parse_line
from collectors.runner import STACK_DUMP_GRACE_S, ProgressFn, RunResult, nvidia_gpu_present
from collectors.sampler import SamplerThread


@dataclass
class DistJob:
    """One torchrun job: where its bundle is being written and how it runs."""

    partial: str
    name: str
    nproc: int
    device: str
    timeout_s: float
    started: float
    sample: bool = True
    backend: str = field(default="")

    def __post_init__(self) -> None:
        if not self.backend:
            cuda = self.device == "cuda" or (self.device == "auto" and nvidia_gpu_present())
            self.backend = "nccl" if cuda else "gloo"


def torchrun_command(job: DistJob, child_args: list[str]) -> list[str]:
    """The launch command: torchrun, standalone rendezvous on a free port, no restarts."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
            "--nproc-per-node", str(job.nproc), "--max-restarts", "0", "--monitor-interval", "0.1",
            "-m", "collectors.child", "--dist", "--backend", job.backend, "--bundle", job.partial, *child_args]


class RankWatch:
    """Follows every rank's progress file, learns its pid and samples its host CPU/RSS (~10 Hz)."""

    def __init__(self, partial: str, nproc: int, notify: ProgressFn, interval_s: float = 0.1) -> None:
        self.partial, self.nproc, self.notify = partial, nproc, notify
        self.last: dict[int, dict[str, Any]] = {}
        self.pids: dict[int, int] = {}
        self.rows: dict[int, list[dict[str, Any]]] = {r: [] for r in range(nproc)}
        self._offsets: dict[int, int] = {}
        self._pending: dict[int, bytes] = {}
        self._hosts: dict[int, HostSampler] = {}
        self._interval_s = interval_s
        self._next_sample = 0.0

    def poll(self) -> None:
        """Read new progress lines of every rank; sample the ranks' processes when due."""
        for r in range(self.nproc):
            for event in self._new_events(r):
                event["rank"] = r
                self.last[r] = event
                if isinstance(event.get("pid"), int) and r not in self.pids:
                    self.pids[r] = event["pid"]
                    self._hosts[r] = HostSampler(event["pid"])
                if r == 0 and event.get("event") == "phase":  # one rank's pace is the job's pace
                    self.notify(event)
        now = time.monotonic()
        if now >= self._next_sample:
            self._next_sample = now + self._interval_s
            stamp = time.time_ns()
            for r, host in self._hosts.items():
                self.rows[r].append(host.sample(stamp))

    def _new_events(self, rank: int) -> list[dict[str, Any]]:
        path = os.path.join(self.partial, rank_dir_name(rank), PROGRESS)
        try:
            with open(path, "rb") as fh:
                fh.seek(self._offsets.get(rank, 0))
                data = fh.read()
        except OSError:
            return []
        self._offsets[rank] = self._offsets.get(rank, 0) + len(data)
        lines = (self._pending.get(rank, b"") + data).split(b"\n")
        self._pending[rank] = lines.pop()
        return [e for e in map(parse_line, lines) if e is not None]


def _is_rank_process(pid: int) -> bool:
    """Whether ``pid`` still runs one of our rank children (guards against a reused pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"collectors.child" in fh.read()
    except OSError:
        return False


def _quietly(action: Any) -> None:
    try:
        action()
    except (ProcessLookupError, PermissionError, OSError):  # gone already: nothing left to kill
        pass


def _kill_all(proc: subprocess.Popen[bytes], rank_pids: list[int]) -> None:
    """SIGKILL every rank's process group (a rank and its DataLoader workers), then torchrun's group."""
    tree = _tree(proc.pid, 256)[1:] if proc.poll() is None else []
    live_ranks = [p for p in rank_pids if _is_rank_process(p)]
    for pid in dict.fromkeys([*live_ranks, *tree]):
        try:
            leader = os.getpgid(pid) == pid  # torchrun starts each rank in its own session
        except OSError:
            continue
        if leader:
            _quietly(lambda: os.killpg(pid, signal.SIGKILL))
        _quietly(lambda: os.kill(pid, signal.SIGKILL))
    _quietly(lambda: os.killpg(proc.pid, signal.SIGKILL))
    _quietly(proc.kill)


def _dump_stacks(pids: list[int]) -> None:
    """Ask each live rank's faulthandler for every thread's stack (into its log.txt)."""
    asked = False
    for pid in pids:
        if _is_rank_process(pid):
            try:
                os.kill(pid, signal.SIGUSR1)
                asked = True
            except (ProcessLookupError, PermissionError):  # gone between the check and the signal
                pass
    if asked:
        time.sleep(STACK_DUMP_GRACE_S)


def _supervise(proc: subprocess.Popen[bytes], watch: RankWatch, job: DistJob,
               cancel: threading.Event | None) -> str | None:
    """Watch until torchrun exits; on timeout, cancel or Ctrl-C kill every rank.  Returns the outcome."""
    deadline = job.started + job.timeout_s
    outcome: str | None = None
    try:
        while proc.poll() is None:
            time.sleep(0.05)
            watch.poll()
            if cancel is not None and cancel.is_set():
                outcome = "cancelled"
                break
            if time.monotonic() > deadline:
                outcome = "timeout"
                _dump_stacks(list(watch.pids.values()))
                break
    except KeyboardInterrupt:
        outcome = "cancelled"
    finally:
        _kill_all(proc, list(watch.pids.values()))
        proc.wait()
        watch.poll()
    return outcome


def run_distributed(job: DistJob, child_args: list[str], notify: ProgressFn,
                    cancel: threading.Event | None) -> RunResult:
    """Launch the ranks with torchrun, supervise them, settle and finalize the bundle."""
    from collectors.dist_finish import finish_distributed

    cmd = torchrun_command(job, child_args)
    rec = bundle_mod.read_run(job.partial)
    rec["distributed"] = {"world_size": job.nproc, "nproc_per_node": job.nproc, "nnodes": 1,
                          "backend": job.backend, "launcher": "torch.distributed.run",
                          "launch_command": cmd}
    bundle_mod.write_json_atomic(os.path.join(job.partial, bundle_mod.RUN_JSON), rec)
    notify({"event": "phase", "phase": "start", "step": 0, "total": 0,
            "message": f"starting {rec.get('workload')} on {job.nproc} ranks ({job.backend}) through torchrun"})
    env = child_env()
    env.setdefault("OMP_NUM_THREADS", "1")  # torchrun's own default; said here so every rank gets it
    with open(os.path.join(job.partial, bundle_mod.LOG), "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
    sampler = SamplerThread(pid=proc.pid, nvml=job.sample).start() if job.sample else None
    watch = RankWatch(job.partial, job.nproc, notify)
    outcome = _supervise(proc, watch, job, cancel)
    rows = sampler.stop() if sampler else []
    return finish_distributed(job, proc.returncode, outcome, watch, rows, sampler, notify)


def describe_progress(event: dict[str, Any] | None) -> str:
    """``in phase 'profile' (step 2/4)`` from a rank's last progress event."""
    if not event:
        return "before it started"
    text = f"in phase {event.get('phase', '?')!r}"
    if event.get("total"):
        text += f" (step {event.get('step')}/{event.get('total')})"
    return text
