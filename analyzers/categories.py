"""The category mapping: raw Kineto ``cat`` strings (old and new schema) to event kinds.

This is the one place that knows which category names mean what; everything
else works with :class:`Kind`.
"""
from __future__ import annotations

import re
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
    DEVICE_WAIT = 12  # a device stream waiting on another stream or an event (e.g. MTIA event_wait)
    DEVICE_OTHER = 13  # device work of an unknown category, recognised from the trace's structure


#: raw category (lower-cased) -> kind; unknown categories map to Kind.OTHER and are kept.
CATEGORY_KIND: dict[str, Kind] = {
    "cpu_op": Kind.CPU_OP,
    "operator": Kind.CPU_OP,
    "user_annotation": Kind.USER_ANNOTATION,
    "gpu_user_annotation": Kind.GPU_USER_ANNOTATION,
    "runtime": Kind.RUNTIME,
    "memcpy": Kind.MEMCPY,
    "memset": Kind.MEMSET,
    "python_function": Kind.PYTHON,
    "python_function_call": Kind.PYTHON,
    "trace": Kind.TRACE_SPAN,
}

#: Accelerator categories: raw category (lower-cased) -> (vendor it proves, kind).  A vendor of None: the
#: category is shared (CUDA and ROCm/HIP write the same names; Intel XPU kernels and copies use them too).
#: A kind of None: the kind follows the event name (:func:`kind_of_device_name`).
ACCELERATOR_CATEGORIES: dict[str, tuple[str | None, Kind | None]] = {
    # NVIDIA CUDA, AMD ROCm/HIP (and the device side of Intel XPU)
    "kernel": (None, Kind.KERNEL),
    "gpu_memcpy": (None, Kind.MEMCPY),
    "gpu_memset": (None, Kind.MEMSET),
    "cuda_runtime": (None, Kind.RUNTIME),
    "cuda_driver": (None, Kind.DRIVER),
    "cuda_sync": (None, Kind.SYNC),
    # Meta MTIA: device jobs, DMA copies and waits share one category
    "mtia_ccp_events": ("mtia", None),
    "mtia_runtime": ("mtia", Kind.RUNTIME),
    # Intel XPU (XPUPTI): host side
    "xpu_runtime": ("intel", Kind.RUNTIME),
    "xpu_driver": ("intel", Kind.DRIVER),
    # PyTorch PrivateUse1 backends
    "privateuse1_runtime": (None, Kind.RUNTIME),
    "privateuse1_driver": (None, Kind.DRIVER),
}
CATEGORY_KIND.update({c: k for c, (_, k) in ACCELERATOR_CATEGORIES.items() if k is not None})

#: device events of name-typed categories: lower-cased name prefix -> kind (anything else is compute)
DEVICE_NAME_KINDS: tuple[tuple[str, Kind], ...] = (
    ("dma", Kind.MEMCPY), ("memcpy", Kind.MEMCPY), ("memset", Kind.MEMSET),
    ("event_wait", Kind.DEVICE_WAIT), ("wait", Kind.DEVICE_WAIT),
)

#: device process names ('MTIA 0', 'XPU 1', 'GPU 0'): name prefix (upper-cased) -> vendor it proves (None: any)
DEVICE_PROCESS_PREFIXES: dict[str, str | None] = {
    "GPU": None, "MTIA": "mtia", "XPU": "intel", "HPU": None, "NPU": None, "MLU": None, "GCU": None, "TPU": None,
}

#: device indices at or above this are not device indices (pids, garbage)
MAX_DEVICE_INDEX = 4096

#: vendors whose devices have no SMs, CUDA occupancy or Tensor Cores: those metrics and advice stay off
NON_CUDA_VENDORS: frozenset[str] = frozenset({"mtia", "intel"})

#: kinds that run on a device (GPU stream tracks)
DEVICE_KINDS: frozenset[Kind] = frozenset({Kind.KERNEL, Kind.MEMCPY, Kind.MEMSET, Kind.GPU_USER_ANNOTATION,
                                           Kind.DEVICE_WAIT, Kind.DEVICE_OTHER})

#: kinds that are actual GPU work (not annotations)
GPU_WORK_KINDS: frozenset[Kind] = frozenset({Kind.KERNEL, Kind.MEMCPY, Kind.MEMSET})

#: kinds that show a device was used (work, waits and device work of an unknown kind)
DEVICE_ACTIVITY_KINDS: frozenset[Kind] = GPU_WORK_KINDS | {Kind.DEVICE_WAIT, Kind.DEVICE_OTHER}

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

_DEVICE_PROCESS_RE = re.compile(r"^\s*(" + "|".join(DEVICE_PROCESS_PREFIXES) + r")\s*[:#]?\s*(\d+)\s*$",
                                re.IGNORECASE)


def kind_of_category(cat: str) -> Kind:
    """Map a raw ``cat`` string to a :class:`Kind` (unknown -> OTHER)."""
    return CATEGORY_KIND.get(cat.lower(), Kind.OTHER)


def kind_is_by_name(cat: str) -> bool:
    """True for accelerator categories whose events take their kind from their name (MTIA CCP events)."""
    entry = ACCELERATOR_CATEGORIES.get(cat.lower())
    return entry is not None and entry[1] is None


def kind_of_device_name(name: str) -> Kind:
    """Kind of a device event of a name-typed category: copy, memset, wait, else compute (KERNEL)."""
    low = name.lower()
    for prefix, kind in DEVICE_NAME_KINDS:
        if low.startswith(prefix):
            return kind
    return Kind.KERNEL


def vendor_of_category(cat: str) -> str | None:
    """The vendor an accelerator category proves ('mtia', 'intel'), None for shared or host categories."""
    entry = ACCELERATOR_CATEGORIES.get(cat.lower())
    return entry[0] if entry else None


def device_process(name: str) -> tuple[int, str | None] | None:
    """(index, vendor) of a device process name such as 'MTIA 0' or 'XPU 1'; None for host processes."""
    m = _DEVICE_PROCESS_RE.match(name)
    if not m or len(m.group(2)) > 4 or int(m.group(2)) >= MAX_DEVICE_INDEX:
        return None
    return int(m.group(2)), DEVICE_PROCESS_PREFIXES[m.group(1).upper()]


def is_comm_kernel(name: str) -> bool:
    """True for NCCL/RCCL collective kernels."""
    return name.startswith(COMM_KERNEL_PREFIXES)


def is_comm_op(name: str) -> bool:
    """True for collective op ranges on the host (nccl:*, gloo:*, c10d::*)."""
    return name.startswith(COMM_OP_PREFIXES)


def is_dataloader(name: str) -> bool:
    """True for DataLoader / DataPipe ``__next__`` ranges."""
    return name.startswith(DATALOADER_PREFIXES)
