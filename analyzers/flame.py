"""Call-stack flame graph of host time, and its folded-stacks export.

Frames are the recorded Python functions (``python_function``, ``with_stack=True``)
with the ops and annotations they call as leaves, nested in time on each host
thread (``ProfilerStep#N`` marks are not frames: steps would split every stack).
Calls with the same stack are merged into one node: total time, self time
(total less the children's), calls.  The folded format (one line per stack,
``frame;frame;frame <count>``, the count here in microseconds of self time) is
what Brendan Gregg's ``flamegraph.pl`` and speedscope import
(https://github.com/jlfwong/speedscope/wiki/Importing-from-custom-sources,
"Brendan Gregg's collapsed stack format").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .categories import STEP_PREFIX, Kind
from .op_table import parent_of
from .trace_model import TraceModel

FRAME_KINDS = (int(Kind.PYTHON), int(Kind.CPU_OP), int(Kind.USER_ANNOTATION))
_ADDRESS = re.compile(r" (object )?at 0x[0-9a-fA-F]+")


@dataclass
class FlameGraph:
    """Merged stack nodes in depth-first order (a node's subtree follows it); node 0 is the root 'all'."""

    name: list[str]
    parent: np.ndarray  # int64, -1 for the root
    depth: np.ndarray  # int64, 0 for the root
    total_ns: np.ndarray  # int64
    self_ns: np.ndarray  # int64
    calls: np.ndarray  # int64
    x_ns: np.ndarray  # int64: left edge in an icicle laid out by total time (children by total, desc)
    has_python: bool  # python_function frames were recorded (with_stack=True)

    def __len__(self) -> int:
        return len(self.name)

    def stack(self, node: int) -> list[str]:
        """Frame names from the top (below the root) down to ``node``."""
        out: list[str] = []
        while node > 0:
            out.append(self.name[node])
            node = int(self.parent[node])
        return out[::-1]

    def find(self, text: str) -> np.ndarray:
        """Nodes whose name contains ``text`` (case-insensitive)."""
        t = text.lower()
        return np.array([i for i, n in enumerate(self.name) if i and t in n.lower()], dtype=np.int64)


def frame_name(name: str) -> str:
    """A frame name safe for the folded format: no ';' or line breaks, object addresses dropped."""
    return _ADDRESS.sub("", name).replace(";", ",").replace("\n", " ").replace("\r", " ").strip() or "?"


def _frame_rows(model: TraceModel) -> np.ndarray:
    rows = np.flatnonzero(np.isin(model.kind, FRAME_KINDS))
    if len(rows):
        rows = rows[~np.asarray(model.tracks.is_device, dtype=bool)[model.track_id[rows]]]
        steps = model.name_mask(lambda s: s.startswith(STEP_PREFIX))
        rows = rows[~steps[rows]]
    return rows


def _merge(model: TraceModel, rows: np.ndarray, parent: np.ndarray, threads: bool) -> tuple[np.ndarray, list, list]:
    """Node per call (node 0 = root; one node per thread under it when ``threads``), names, parents."""
    index: dict[tuple[int, str], int] = {}
    names, parents = ["all"], [-1]
    clean = {i: frame_name(s) for i, s in enumerate(model.strings)}
    node = np.empty(len(rows), dtype=np.int64)
    for i in range(len(rows)):
        p = int(parent[i])
        if p >= 0:
            pnode = int(node[p])
        elif threads:
            pnode = _intern(index, names, parents, 0, model.tracks.label(int(model.track_id[rows[i]])))
        else:
            pnode = 0
        node[i] = _intern(index, names, parents, pnode, clean[int(model.name_id[rows[i]])])
    return node, names, parents


def _intern(index: dict, names: list, parents: list, pnode: int, name: str) -> int:
    key = (pnode, name)
    nid = index.get(key)
    if nid is None:
        nid = index[key] = len(names)
        names.append(name)
        parents.append(pnode)
    return nid


def flame_graph(model: TraceModel) -> FlameGraph:
    """Host call stacks of ``model`` merged into a flame graph."""
    rows = _frame_rows(model)
    parent = parent_of(model, rows)
    threads = len(np.unique(model.track_id[rows])) > 1
    node, names, parents = _merge(model, rows, parent, threads)
    k = len(names)
    dur = model.dur_ns[rows].astype(np.int64)
    child = np.zeros(len(rows), dtype=np.int64)
    np.add.at(child, parent[parent >= 0], dur[parent >= 0])
    calls = np.bincount(node, minlength=k).astype(np.int64)
    self_ns = np.bincount(node, weights=np.maximum(dur - child, 0), minlength=k).astype(np.int64)
    par = np.array(parents, dtype=np.int64)
    total = self_ns.copy()
    for i in range(k - 1, 0, -1):  # children come after their parents
        total[par[i]] += total[i]
    return _layout(names, par, total, self_ns, calls, has_python=bool((model.kind[rows] == int(Kind.PYTHON)).any()))


def _layout(names: list[str], par: np.ndarray, total: np.ndarray, self_ns: np.ndarray, calls: np.ndarray,
            has_python: bool) -> FlameGraph:
    """Reorder nodes depth-first (children by total desc) and give each its left edge."""
    k = len(names)
    kids: list[list[int]] = [[] for _ in range(k)]
    for i in range(1, k):
        kids[int(par[i])].append(i)
    order: list[int] = []
    x = np.zeros(k, dtype=np.int64)
    depth = np.zeros(k, dtype=np.int64)
    stack = [0]
    while stack:
        i = stack.pop()
        order.append(i)
        left = int(x[i])
        ch = sorted(kids[i], key=lambda c: -int(total[c]))
        for c in ch:
            x[c], depth[c] = left, depth[i] + 1
            left += int(total[c])
        stack.extend(reversed(ch))
    o = np.array(order, dtype=np.int64)
    new_of = np.empty(k, dtype=np.int64)
    new_of[o] = np.arange(k)
    new_par = np.where(par[o] >= 0, new_of[np.maximum(par[o], 0)], -1)
    return FlameGraph([names[i] for i in o], new_par, depth[o], total[o], self_ns[o], calls[o], x[o], has_python)


def folded_lines(graph: FlameGraph, unit_ns: int = 1000) -> list[str]:
    """``frame;frame;frame count`` per node with self time (count in ``unit_ns``; default microseconds)."""
    lines: list[str] = []
    for i in range(1, len(graph)):
        count = int(round(int(graph.self_ns[i]) / unit_ns))
        if count > 0:
            lines.append(f"{';'.join(graph.stack(i))} {count}")
    return lines


def write_folded(graph: FlameGraph, path: str, unit_ns: int = 1000) -> int:
    """Write the folded stacks to ``path``; returns the number of lines."""
    lines = folded_lines(graph, unit_ns)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + ("\n" if lines else ""))
    return len(lines)
