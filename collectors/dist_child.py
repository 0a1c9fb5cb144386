"""Rank side of a distributed run: one ``collectors.child`` per rank, started by torchrun.

torchrun (``torch.distributed.run``) sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and the rendezvous address; each rank writes its own
``rank-<r>/`` folder in the run bundle (run.json, log.txt, progress.jsonl,
trace.json.gz), which is itself a valid one-rank bundle.  The process group of
a workload is torch's own ``init_process_group`` (gloo on CPU, NCCL on GPUs);
a plain script creates its own.  Imports torch only inside the functions.
"""
from __future__ import annotations

import os
from typing import Any

from collectors import bundle as bundle_mod
from collectors.progress import ProgressWriter

PROGRESS = "progress.jsonl"


def rank_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment."""
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return rank, world, int(os.environ.get("LOCAL_RANK", str(rank)))


def rank_dir_name(rank: int) -> str:
    """The rank's folder inside the run bundle."""
    return f"rank-{rank}"


def _open_append(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def setup_rank(job_bundle: str) -> tuple[str, dict[str, Any], ProgressWriter]:
    """Create ``rank-<r>/``, send this process's output to its log.txt, start its run.json.

    Returns (rank folder, the rank's run record, its progress writer).  The
    first progress event carries the pid so the parent can sample and signal it.
    """
    rank, world, local = rank_env()
    rank_dir = os.path.join(job_bundle, rank_dir_name(rank))
    os.makedirs(rank_dir, exist_ok=True)
    log_fd = _open_append(os.path.join(rank_dir, bundle_mod.LOG))
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    rec = {k: v for k, v in bundle_mod.read_run(job_bundle).items() if k not in ("distributed", "ranks")}
    rec.update(rank=rank, world_size=world, local_rank=local, status="running", error=None)
    bundle_mod.write_json_atomic(os.path.join(rank_dir, bundle_mod.RUN_JSON), rec)
    emit = ProgressWriter(_open_append(os.path.join(rank_dir, PROGRESS)))
    emit("setup", 0, 0, f"rank {rank} of {world} started", pid=os.getpid(), rank=rank)
    return rank_dir, rec, emit


def init_process_group(device: str, backend: str) -> dict[str, int]:
    """Join torchrun's process group (torch's own ``init_process_group``); pin the rank's GPU.

    Returns {rank, world_size, local_rank}.  Does nothing when the group exists.
    """
    import torch
    import torch.distributed as dist

    rank, world, local = rank_env()
    if device == "cuda":
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return {"rank": dist.get_rank(), "world_size": dist.get_world_size(), "local_rank": local}


def destroy_process_group() -> None:
    """Leave the process group if this process joined one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
