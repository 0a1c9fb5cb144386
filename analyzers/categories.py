"""The category mapping: raw Kineto ``cat`` strings (old and new schema) to event kinds.

This is the one place that knows which category names mean what; everything
else works with :class:`Kind`.
"""
from __future__ import annotations

from enum import IntEnum


class Kind(IntEnum):
    """Normalised kind of a slice, independent of the trace schema."""

    OTHER = 0
    CPU_OP = 1
    USER_ANNOTATION = 2
    GPU_USER_ANNOTATION = 3
    RUNTIME = 4
    DRIVER = 5
    SYNC = 6
    KERNEL = 7
    MEMCPY = 8
    MEMSET = 9
    PYTHON = 10
    TRACE_SPAN = 11


#: raw category (lower-cased) -> kind; unknown categories map to Kind.OTHER and are kept.
CATEGORY_KIND: dict[str, Kind] = {
    "cpu_op": Kind.CPU_OP,
    "operator": Kind.CPU_OP,
    "user_annotation": Kind.USER_ANNOTATION,
    "gpu_user_annotation": Kind.GPU_USER_ANNOTATION,
    "cuda_runtime": Kind.RUNTIME,
    "runtime": Kind.RUNTIME,
    "mtia_runtime": Kind.RUNTIME,
    "privateuse1_runtime": Kind.RUNTIME,
    "cuda_driver": Kind.DRIVER,
    "privateuse1_driver": Kind.DRIVER,
    "cuda_sync": Kind.SYNC,
    "kernel": Kind.KERNEL,
    "gpu_memcpy": Kind.MEMCPY,
    "memcpy": Kind.MEMCPY,
    "gpu_memset": Kind.MEMSET,
    "memset": Kind.MEMSET,
    "python_function": Kind.PYTHON,
    "python_function_call": Kind.PYTHON,
    "trace": Kind.TRACE_SPAN,
}

#: kinds that run on a device (GPU stream tracks)
DEVICE_KINDS: frozenset[Kind] = frozenset({Kind.KERNEL, Kind.MEMCPY, Kind.MEMSET, Kind.GPU_USER_ANNOTATION})

#: kinds that are actual GPU work (not annotations)
GPU_WORK_KINDS: frozenset[Kind] = frozenset({Kind.KERNEL, Kind.MEMCPY, Kind.MEMSET})

#: runtime calls that block the host until the device catches up
SYNC_CALL_NAMES: frozenset[str] = frozenset({
    "cudaDeviceSynchronize", "cudaStreamSynchronize", "cudaEventSynchronize",
    "hipDeviceSynchronize", "hipStreamSynchronize", "hipEventSynchronize",
})

#: runtime calls that launch GPU work
LAUNCH_CALL_PREFIXES: tuple[str, ...] = (
    "cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchCooperativeKernel", "cudaGraphLaunch",
    "hipLaunchKernel", "hipExtLaunchKernel", "hipModuleLaunchKernel", "cudaMemcpy", "cudaMemset",
    "hipMemcpy", "hipMemset",
)

#: kernel names of collectives (NCCL / RCCL)
COMM_KERNEL_PREFIXES: tuple[str, ...] = ("ncclKernel", "ncclDevKernel", "ncclDev", "rcclKernel")

#: CPU op / annotation names of collectives
COMM_OP_PREFIXES: tuple[str, ...] = ("nccl:", "gloo:", "c10d::", "record_param_comms", "mpi:")

#: host ranges that are data loading
DATALOADER_PREFIXES: tuple[str, ...] = ("enumerate(DataLoader)#", "enumerate(DataPipe)#")

STEP_PREFIX = "ProfilerStep#"


def kind_of_category(cat: str) -> Kind:
    """Map a raw ``cat`` string to a :class:`Kind` (unknown -> OTHER)."""
    return CATEGORY_KIND.get(cat.lower(), Kind.OTHER)


def is_comm_kernel(name: str) -> bool:
    """True for NCCL/RCCL collective kernels."""
    return name.startswith(COMM_KERNEL_PREFIXES)


def is_comm_op(name: str) -> bool:
    """True for collective op ranges on the host (nccl:*, gloo:*, c10d::*)."""
    return name.startswith(COMM_OP_PREFIXES)


def is_dataloader(name: str) -> bool:
    """True for DataLoader / DataPipe ``__next__`` ranges."""
    return name.startswith(DATALOADER_PREFIXES)
