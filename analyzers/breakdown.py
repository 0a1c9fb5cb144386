"""Step-time breakdown (TensorBoard plugin semantics, METRICS.md).

Each instant of a step goes to the highest-priority category active then:
Kernel > Memcpy > Memset > Device other > Device wait > Communication > Runtime > DataLoader > CPU Exec >
Other ('device other': device work of an unknown kind; 'device wait': a device stream waiting on another,
e.g. MTIA ``event_wait``; both are zero on CUDA and ROCm traces).
Vectorised: with ``C_k`` the union of categories 1..k, category k's time in a
step is ``|C_k & step| - |C_(k-1) & step|``; Other is the step minus ``|C_all & step|``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import intervals as iv
from .categories import STEP_PREFIX, Kind, is_comm_kernel, is_comm_op, is_dataloader
from .steps import StepTable, step_table
from .trace_model import TraceModel

#: categories in priority order (the last, 'other', is the remainder)
CATEGORIES: tuple[str, ...] = ("kernel", "memcpy", "memset", "device_other", "device_wait", "communication",
                               "runtime", "dataloader", "cpu_exec", "other")
COLUMNS: list[str] = [f"{c}_ms" for c in CATEGORIES] + ["step_ms"]


def category_masks(model: TraceModel) -> dict[str, np.ndarray]:
    """Slice masks of the active categories (all but 'other')."""
    kind = model.kind
    comm_kernel = model.name_mask(is_comm_kernel) & (kind == int(Kind.KERNEL))
    # ops and annotations on host threads; Python stack frames (with_stack) are not ops and would swallow
    # 'Other' (the plugin left them out too); GPU-side copies of annotations are not CPU work
    host_range = np.isin(kind, [int(Kind.CPU_OP), int(Kind.USER_ANNOTATION)])
    host_range &= ~np.asarray(model.tracks.is_device, dtype=bool)[model.track_id]
    comm_op = host_range & model.name_mask(is_comm_op)
    loader = host_range & model.name_mask(is_dataloader)
    step = model.name_mask(lambda s: s.startswith(STEP_PREFIX))
    return {
        "kernel": (kind == int(Kind.KERNEL)) & ~comm_kernel,
        "memcpy": kind == int(Kind.MEMCPY),
        "memset": kind == int(Kind.MEMSET),
        "device_other": kind == int(Kind.DEVICE_OTHER),
        "device_wait": kind == int(Kind.DEVICE_WAIT),
        "communication": comm_kernel | comm_op,
        "runtime": np.isin(kind, [int(Kind.RUNTIME), int(Kind.DRIVER)]),
        "dataloader": loader & ~comm_op,
        "cpu_exec": host_range & ~comm_op & ~loader & ~step,
    }


def cumulative_unions(model: TraceModel, masks: dict[str, np.ndarray] | None = None) -> list[iv.Intervals]:
    """``C_k`` for k = 1..len(CATEGORIES) - 1: the union of the k highest-priority categories."""
    masks = category_masks(model) if masks is None else masks
    out: list[iv.Intervals] = []
    acc = iv.empty()
    for name in CATEGORIES[:-1]:
        m = masks[name]
        cat = iv.union(model.start_ns[m], model.end_ns[m])
        acc = iv.union(np.concatenate((acc[0], cat[0])), np.concatenate((acc[1], cat[1])))
        out.append(acc)
    return out


def breakdown_in_windows(model: TraceModel, win_start_ns: np.ndarray, win_end_ns: np.ndarray,
                         unions: list[iv.Intervals] | None = None) -> pd.DataFrame:
    """Breakdown of arbitrary windows (ms columns as :data:`COLUMNS`); ``unions`` from :func:`cumulative_unions`."""
    ws = np.asarray(win_start_ns, dtype=np.int64)
    we = np.asarray(win_end_ns, dtype=np.int64)
    total = (we - ws).astype(np.float64)
    prev = np.zeros(len(ws), dtype=np.float64)
    data: dict[str, np.ndarray] = {}
    unions = cumulative_unions(model) if unions is None else unions
    for name, acc in zip(CATEGORIES[:-1], unions):
        covered = iv.length_in_windows(acc[0], acc[1], ws, we).astype(np.float64)
        data[f"{name}_ms"] = (covered - prev) / 1e6
        prev = covered
    data["other_ms"] = (total - prev) / 1e6
    data["step_ms"] = total / 1e6
    return pd.DataFrame(data, columns=COLUMNS)


def step_breakdown(model: TraceModel, steps: StepTable | None = None,
                   unions: list[iv.Intervals] | None = None) -> pd.DataFrame:
    """One row per kept step (index: step number); the ms columns add up to ``step_ms``."""
    steps = step_table(model) if steps is None else steps
    df = breakdown_in_windows(model, steps.start_ns, steps.end_ns, unions)
    number = getattr(steps, "number", None)
    df.index = pd.Index(np.arange(len(df)) if number is None else np.asarray(number), name="step")
    return df


def mean_breakdown_ms(df: pd.DataFrame) -> dict[str, float]:
    """Mean per step of each category (keys: kernel, memcpy, ..., other); zeros without steps."""
    if not len(df):
        return {c: 0.0 for c in CATEGORIES}
    return {c: float(df[f"{c}_ms"].mean()) for c in CATEGORIES}
