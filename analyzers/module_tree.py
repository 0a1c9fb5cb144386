"""The nn.Module tree: calls, host and device time, and FLOPs of each module, per step.

``with_stack=True`` records one ``python_function`` slice per module call,
named ``nn.Module: GPT2Block_0`` (class name and instance number).  Module calls
nest in time on their thread; a module's path is the chain of its enclosing
modules (``GPT2LMHeadModel_0/GPT2Model_0/GPT2Block_0``), and calls of one path
are merged.  Host self time is the call's duration less its child module calls;
device self time is the GPU time of the kernels, copies and memsets launched by
runtime calls directly inside it (not inside a child module); FLOPs are those of
the counted ops (:mod:`analyzers.flops`) directly inside it.  Totals add the
subtree.  Per-step figures divide by the kept steps; calls that start outside
the step window are left out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .categories import Kind
from .flame import intern_paths
from .launches import LaunchPairs
from .op_table import parent_of
from .peak_flops import achieved_tflops
from .steps import StepTable
from .trace_model import TraceModel

MODULE_PREFIX = "nn.Module: "
COLUMNS = ["path", "name", "depth", "parent", "calls", "host_total_ns", "host_self_ns",
           "device_total_ns", "device_self_ns", "flop_total", "flop_self", "tflops",
           "bwd_host_total_ns", "bwd_host_self_ns", "bwd_device_total_ns", "bwd_device_self_ns", "bwd_flop_total",
           "bwd_flop_self", "longest_row"]


@dataclass
class ModuleTree:
    """One row per module path, parents before children (``parent``: index of the parent row, -1 at the top)."""

    table: pd.DataFrame
    steps: int  # steps the figures cover (per-step = total / steps)
    step_ns: float  # mean kept step duration
    has_stacks: bool  # the trace has python_function slices at all

    @property
    def empty(self) -> bool:
        return not len(self.table)

    def per_step_ms(self, column: str) -> np.ndarray:
        """``column`` (ns) per step, in ms."""
        return self.table[column].to_numpy(dtype=float) / max(self.steps, 1) / 1e6

    def roots_cover_pct(self, backward: bool = False) -> float:
        """Host time of the top-level modules (with ``backward``: plus their backward ops) as a share of the
        mean step (NaN without steps)."""
        if not len(self.table) or self.step_ns <= 0:
            return float("nan")
        top = self.table["depth"].to_numpy() == 0
        ns = self.table["host_total_ns"].to_numpy()[top].sum()
        if backward:
            ns += self.table["bwd_host_total_ns"].to_numpy()[top].sum()
        return float(ns / max(self.steps, 1) / self.step_ns * 100)


def module_rows(model: TraceModel) -> np.ndarray:
    """Rows of ``nn.Module: ...`` python slices on host threads, by start."""
    rows = model.rows_named(MODULE_PREFIX)
    if len(rows):
        rows = rows[model.kind[rows] == int(Kind.PYTHON)]
    return rows


def enclosing(model: TraceModel, outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """For each row of ``inner``: index into ``outer`` of the innermost ``outer`` slice enclosing it (-1 none).

    ``inner`` slices must never enclose ``outer`` ones (runtime calls, counted ops inside modules)."""
    res = np.full(len(inner), -1, dtype=np.int64)
    if not len(inner) or not len(outer):
        return res
    is_outer = np.zeros(len(model), dtype=bool)
    is_outer[outer] = True
    both = np.union1d(outer, inner)
    par = parent_of(model, both)
    pos_outer = np.full(len(both), -1, dtype=np.int64)
    mask = is_outer[both]
    pos_outer[mask] = np.searchsorted(outer, both[mask])
    # walk up through inner rows (an op enclosing another op) until an outer row is reached
    cur = par[np.searchsorted(both, inner)]
    for _ in range(64):
        live = cur >= 0
        hit = live & (pos_outer[np.maximum(cur, 0)] >= 0)
        pending = res < 0
        res[hit & pending] = pos_outer[cur[hit & pending]]
        step = live & ~hit & pending
        if not step.any():
            break
        cur = np.where(step, par[np.maximum(cur, 0)], -1)
    return res


def _in_window(model: TraceModel, rows: np.ndarray, steps: StepTable | None) -> np.ndarray:
    if steps is None or not steps.count or not steps.from_profiler_steps:
        return rows
    lo, hi = int(steps.host_start_ns[0]), int(steps.host_end_ns[-1])
    s = model.start_ns[rows]
    return rows[(s >= lo) & (s < hi)]


def _paths(model: TraceModel, rows: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, list[str], list[int]]:
    """Node id per call, node paths and node parents (parents come before their children)."""
    node, node_parent, node_label = intern_paths(parent, model.name_id[rows].astype(np.int64),
                                                 np.full(len(rows), -1, dtype=np.int64))
    paths: list[str] = []
    for p, lab in zip(node_parent.tolist(), node_label.tolist()):
        label = model.strings[lab][len(MODULE_PREFIX):]
        paths.append(f"{paths[p]}/{label}" if p >= 0 else label)
    return node, paths, node_parent.tolist()


def _attribute(model: TraceModel, outer: np.ndarray, outer_node: np.ndarray, inner: np.ndarray,
               values: np.ndarray, k: int) -> np.ndarray:
    """Per node: ``values`` of the ``inner`` rows summed into the node of their innermost ``outer`` row."""
    out = np.zeros(k, dtype=values.dtype if len(values) else np.int64)
    if len(inner) and len(outer):
        owner = enclosing(model, outer, inner)
        ok = owner >= 0
        np.add.at(out, outer_node[owner[ok]], values[ok])
    return out


def _backward_rows(model: TraceModel, rows: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward ops (``XxxBackward0``, linked from their forward op) and the node of that forward op's module."""
    f = model.flows
    sel = f.kind == f.FWD_BWD
    src, dst = f.src_row[sel], f.dst_row[sel]
    owner = enclosing(model, rows, src)
    ok = owner >= 0
    bwd, first = np.unique(dst[ok], return_index=True)
    return bwd, node[owner[ok][first]]


def _columns(model: TraceModel, rows: np.ndarray, node: np.ndarray, k: int, launches: LaunchPairs,
             flop_per_op: pd.Series | None) -> dict[str, np.ndarray]:
    """Self figures per node: device time and FLOPs of the forward, host/device time and FLOPs of the backward."""
    src, dst = launches
    kdur = model.dur_ns[dst].astype(np.int64)
    counted = flop_per_op[flop_per_op > 0] if flop_per_op is not None else pd.Series(dtype=float)
    op_rows, op_flop = counted.index.to_numpy(dtype=np.int64), counted.to_numpy(dtype=float)
    bwd, bnode = _backward_rows(model, rows, node)
    bwd_host = np.zeros(k, dtype=np.int64)
    np.add.at(bwd_host, bnode, model.dur_ns[bwd].astype(np.int64))
    return {"device_self_ns": _attribute(model, rows, node, src, kdur, k),
            "flop_self": _attribute(model, rows, node, op_rows, op_flop, k).astype(float),
            "bwd_host_self_ns": bwd_host,
            "bwd_device_self_ns": _attribute(model, bwd, bnode, src, kdur, k),
            "bwd_flop_self": _attribute(model, bwd, bnode, op_rows, op_flop, k).astype(float)}


def module_tree(model: TraceModel, launches: LaunchPairs, steps: StepTable | None = None,
                flop_per_op: pd.Series | None = None) -> ModuleTree:
    """The module tree of ``model`` (``flop_per_op``: counted FLOPs per op row, :func:`flops.op_flops`).

    Backward: each backward op linked (forward-backward flow) from a forward op inside a module counts for
    that module (``bwd_*`` columns: host time of the backward ops, device time and FLOPs under them)."""
    n_steps = steps.count if steps is not None and steps.count and steps.from_profiler_steps else 1
    step_ns = float(np.mean(steps.host_end_ns - steps.host_start_ns)) if steps is not None and steps.count else 0.0
    has_stacks = bool((model.kind == int(Kind.PYTHON)).any())
    rows = _in_window(model, module_rows(model), steps)
    if not len(rows):
        return ModuleTree(pd.DataFrame(columns=COLUMNS), n_steps, step_ns, has_stacks)
    parent = parent_of(model, rows)
    node, paths, node_parent = _paths(model, rows, parent)
    k = len(paths)
    dur = model.dur_ns[rows].astype(np.int64)
    child = np.zeros(len(rows), dtype=np.int64)
    np.add.at(child, parent[parent >= 0], dur[parent >= 0])
    table = pd.DataFrame({
        "path": paths, "name": [p.rsplit("/", 1)[-1] for p in paths],
        "depth": [p.count("/") for p in paths], "parent": np.array(node_parent, dtype=np.int64),
        "calls": np.bincount(node, minlength=k),
        "host_total_ns": np.bincount(node, weights=dur, minlength=k).astype(np.int64),
        "host_self_ns": np.bincount(node, weights=dur - child, minlength=k).astype(np.int64),
        **_columns(model, rows, node, k, launches, flop_per_op),
    })
    for col in ("device", "flop", "bwd_host", "bwd_device", "bwd_flop"):
        self_col = f"{col}_self" if col.endswith("flop") else f"{col}_self_ns"
        table[self_col.replace("_self", "_total")] = _subtree_sum(table, table[self_col].to_numpy())
    dev, host = table["device_total_ns"].to_numpy(), table["host_total_ns"].to_numpy()
    table["tflops"] = achieved_tflops(table["flop_total"].to_numpy(), np.where(dev > 0, dev, host))
    longest = pd.Series(dur).groupby(node).idxmax()
    table["longest_row"] = rows[longest.reindex(range(k)).to_numpy()]
    return ModuleTree(table[COLUMNS], n_steps, step_ns, has_stacks)


def _subtree_sum(table: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """``values`` summed over each node's subtree (children have larger indices than parents)."""
    total = np.array(values, dtype=values.dtype, copy=True)
    parent = table["parent"].to_numpy()
    for i in range(len(total) - 1, -1, -1):
        if parent[i] >= 0:
            total[parent[i]] += total[i]
    return total
