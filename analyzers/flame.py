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


def intern_paths(parent: np.ndarray, label: np.ndarray, root: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge calls with the same path, level by level (vectorised).

    ``parent``: index of each call's parent call (-1 at the top); ``label``: an int label per call;
    ``root``: the node a top-level call hangs under.  Returns (node per call, node parent, node label)
    for the new nodes, numbered from ``root.max() + 1`` (nodes of one level after those of the level above)."""
    n = len(parent)
    node = np.full(n, -1, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    cur = parent.copy()
    while (cur >= 0).any():
        live = cur >= 0
        depth[live] += 1
        cur[live] = parent[cur[live]]
    next_id = int(root.max()) + 1 if n else 0
    parents, labels = [], []
    span = int(label.max()) + 1 if n else 1
    for d in range(int(depth.max()) + 1 if n else 0):
        rows = np.flatnonzero(depth == d)
        pnode = root[rows] if d == 0 else node[parent[rows]]
        keys, inverse = np.unique(pnode * span + label[rows], return_inverse=True)
        node[rows] = next_id + inverse.ravel()
        parents.append(keys // span)
        labels.append(keys % span)
        next_id += len(keys)
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64))
    return node, cat(parents), cat(labels)


def _merge(model: TraceModel, rows: np.ndarray, parent: np.ndarray, threads: bool) -> tuple[np.ndarray, list, list]:
    """Node per call (node 0 = root; one node per thread under it when ``threads``), names, parents."""
    clean = [frame_name(s) for s in model.strings]
    uniq = {c: i for i, c in enumerate(dict.fromkeys(clean))}
    lut = np.array([uniq[c] for c in clean], dtype=np.int64)
    texts = list(uniq)
    names, parents = ["all"], [-1]
    tracks = model.track_id[rows].astype(np.int64)
    root = np.zeros(len(rows), dtype=np.int64)
    if threads:
        for t in np.unique(tracks):
            root[tracks == t] = len(names)
            names.append(model.tracks.label(int(t)))
            parents.append(0)
    node, npar, nlab = intern_paths(parent, lut[model.name_id[rows]] if len(rows) else lut[:0], root)
    names += [texts[int(i)] for i in nlab]
    parents += npar.tolist()
    return node, names, parents


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
