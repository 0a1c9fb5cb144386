"""Operator table: calls, host self/total time, device self/total time per op name.

Host self time = duration minus the durations of child ops (TensorBoard plugin).
Device self time = GPU time of the kernels, copies and memsets launched by the
op's own runtime calls (runtime ``External id`` -> op, else the innermost op
enclosing the launch); device total adds the device time of descendant ops.
Grouping by input shapes and dtypes decodes args lazily, only when asked.
"""
from __future__ import annotations

import json

import msgspec
import numpy as np
import pandas as pd

from .categories import STEP_PREFIX, Kind
from .coded_column import factorize
from .nesting import nesting_depth
from .packed_bytes import json_array
from .peak_flops import achieved_tflops
from .launches import LaunchPairs, launch_pairs
from .trace_model import TraceModel

OP_KINDS = (int(Kind.CPU_OP), int(Kind.USER_ANNOTATION))
COLUMNS = ["name", "calls", "host_total_us", "host_self_us", "device_total_us", "device_self_us",
           "host_mean_us", "device_mean_us"]


def parent_of(model: TraceModel, rows: np.ndarray) -> np.ndarray:
    """Index (into ``rows``) of each row's innermost enclosing row on its track, -1 at top level."""
    n = len(rows)
    parent = np.full(n, -1, dtype=np.int64)
    if not n:
        return parent
    track = model.track_id[rows].astype(np.int64)
    start = model.start_ns[rows]
    depth = nesting_depth(track.astype(np.int32), start, model.dur_ns[rows]).astype(np.int64)
    stride = int(model.end_ns[rows].max()) + 2
    key = track * stride + start
    for d in range(1, int(depth.max()) + 1 if n else 1):
        child = np.flatnonzero(depth == d)
        cand = np.flatnonzero(depth == d - 1)  # ascending row order = ascending start within a track
        if not len(child) or not len(cand):
            continue
        ck = key[cand]
        order = np.argsort(ck, kind="stable")
        pos = np.searchsorted(ck[order], key[child], side="right") - 1
        ok = pos >= 0
        p = cand[order[np.maximum(pos, 0)]]
        ok &= track[p] == track[child]
        parent[child[ok]] = p[ok]
    return parent


def _op_rows(model: TraceModel) -> np.ndarray:
    rows = np.flatnonzero(np.isin(model.kind, OP_KINDS))
    if len(rows):
        rows = rows[~np.asarray(model.tracks.is_device, dtype=bool)[model.track_id[rows]]]
    return rows


def op_times(model: TraceModel, launches: LaunchPairs | None = None) -> pd.DataFrame:
    """Per op slice (index: model row): host self/total ns, device self/total ns."""
    ops = _op_rows(model)
    n = len(ops)
    src, dst = launch_pairs(model) if launches is None else launches
    # host tree over ops and the launching runtime calls together: a launch's parent is its innermost op
    op_mark = np.zeros(len(model), dtype=bool)
    op_mark[ops] = True
    rt_mark = np.zeros(len(model), dtype=bool)
    rt_mark[src] = True
    both = np.flatnonzero(op_mark | rt_mark)  # sorted rows
    par = parent_of(model, both)
    is_op = op_mark[both]
    pos_in_ops = np.full(len(both), -1, dtype=np.int64)
    pos_in_ops[is_op] = np.arange(n)  # ops and both are both sorted by row
    # parent op of each op (runtime calls never enclose ops)
    op_parent_both = par[is_op]
    op_parent = np.where(op_parent_both >= 0, pos_in_ops[np.maximum(op_parent_both, 0)], -1)
    dur = model.dur_ns[ops].astype(np.int64)
    child_sum = np.zeros(n, dtype=np.int64)
    has_p = op_parent >= 0
    np.add.at(child_sum, op_parent[has_p], dur[has_p])
    host_self = dur - child_sum
    # device time of each GPU op -> its launching runtime row -> op (external id first, else enclosure)
    gpu_dur = model.dur_ns[dst].astype(np.int64)
    launch_op = np.full(len(dst), -1, dtype=np.int64)
    ext = model.external_id[src]
    op_ext = model.external_id[ops]
    valid = op_ext > 0
    if valid.any():
        ve = op_ext[valid]
        vidx = np.flatnonzero(valid)
        o = np.argsort(ve, kind="stable")
        p = np.searchsorted(ve[o], ext)
        pc = np.minimum(p, len(o) - 1)
        hit = (ext > 0) & (ve[o][pc] == ext)
        launch_op[hit] = vidx[o[pc[hit]]]
    miss = launch_op < 0
    if miss.any():
        rt_pos = np.searchsorted(both, src[miss])
        pr = par[rt_pos]
        launch_op[miss] = np.where(pr >= 0, pos_in_ops[np.maximum(pr, 0)], -1)
    dev_self = np.zeros(n, dtype=np.int64)
    ok = launch_op >= 0
    np.add.at(dev_self, launch_op[ok], gpu_dur[ok])
    # device total: add each op's total into its parent, deepest first
    dev_total = dev_self.copy()
    depth = _depth_from_parent(op_parent)
    for d in range(int(depth.max()) if n else 0, 0, -1):
        rows_d = np.flatnonzero(depth == d)
        np.add.at(dev_total, op_parent[rows_d], dev_total[rows_d])
    return pd.DataFrame({"name_id": model.name_id[ops], "host_total_ns": dur, "host_self_ns": host_self,
                         "device_total_ns": dev_total, "device_self_ns": dev_self, "parent": op_parent},
                        index=pd.Index(ops, name="row"))


def _depth_from_parent(parent: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(parent), dtype=np.int64)
    cur = parent.copy()
    while (cur >= 0).any():
        has = cur >= 0
        depth[has] += 1
        cur[has] = parent[cur[has]]
    return depth


class _Signature(msgspec.Struct, rename={"dims": "Input Dims", "types": "Input type"}):
    dims: msgspec.Raw = msgspec.Raw()
    types: msgspec.Raw = msgspec.Raw()


_signatures_decoder = msgspec.json.Decoder(list[_Signature])


def input_signatures(model: TraceModel, rows: np.ndarray) -> tuple[list[str], list[str]]:
    """``json.dumps`` of each row's "Input Dims" and "Input type" args ('[]' when absent).

    Rows share few distinct signatures: each distinct raw text is decoded and
    re-dumped once, instead of every row's args being decoded whole.
    """
    rows = np.asarray(rows, dtype=np.int64)
    contains = getattr(model.args_raw, "contains", None)
    if contains is not None:  # only rows whose args name a signature (none without record_shapes) are decoded
        with_sig = np.flatnonzero(contains(b'"Input Dims"', rows) | contains(b'"Input type"', rows))
    else:
        with_sig = np.arange(len(rows))
    shapes, types = ["[]"] * len(rows), ["[]"] * len(rows)
    if not len(with_sig):
        return shapes, types
    raws = model.raw_args_of(rows[with_sig])
    try:
        parsed = _signatures_decoder.decode(json_array(raws))
        found = _dumped([bytes(p.dims) for p in parsed]), _dumped([bytes(p.types) for p in parsed])
    except (msgspec.ValidationError, msgspec.DecodeError):  # an args value that is not an object: row by row
        args = model.args_many(rows[with_sig])
        found = ([json.dumps(a.get("Input Dims", [])) for a in args],
                 [json.dumps(a.get("Input type", [])) for a in args])
    for i, shape, kind in zip(with_sig.tolist(), *found):
        shapes[i], types[i] = shape, kind
    return shapes, types


def _dumped(raw_texts: list[bytes]) -> list[str]:
    codes, uniques = factorize(raw_texts)
    text = np.array([json.dumps(msgspec.json.decode(u)) if u else "[]" for u in uniques] or [""], dtype=object)
    return text[codes].tolist()


def op_table(model: TraceModel, group_by: str = "name", times: pd.DataFrame | None = None,
             flop: pd.Series | None = None) -> pd.DataFrame:
    """Ops aggregated by ``name`` or by ``name+shapes`` (name, input shapes, dtypes); by device total, desc.

    ``times`` is :func:`op_times` when already computed; with ``flop`` (counted FLOPs per op row,
    :func:`analyzers.flops.op_flops`) the table gains ``gflop`` and ``tflops`` (achieved, over the
    device total time, or the host total on CPU)."""
    if group_by not in ("name", "name+shapes"):
        raise ValueError(f"group_by must be 'name' or 'name+shapes', not {group_by!r}")
    times = op_times(model) if times is None else times
    if not len(times):
        cols = COLUMNS + (["gflop", "tflops"] if flop is not None else []) \
            + (["input_shapes", "input_types"] if group_by != "name" else [])
        return pd.DataFrame(columns=cols)
    df = times.copy()
    df["flop"] = 0.0 if flop is None else flop.reindex(df.index).fillna(0.0).to_numpy()
    keys = ["name_id"]
    if group_by != "name":
        df["input_shapes"], df["input_types"] = input_signatures(model, df.index.to_numpy())
        keys += ["input_shapes", "input_types"]
    g = df.groupby(keys, sort=False)
    out = g.agg(calls=("host_total_ns", "size"), host_total_ns=("host_total_ns", "sum"),
                host_self_ns=("host_self_ns", "sum"), device_total_ns=("device_total_ns", "sum"),
                device_self_ns=("device_self_ns", "sum"), flop=("flop", "sum")).reset_index()
    table = np.array(model.strings, dtype=object)
    res = pd.DataFrame({"name": table[out["name_id"].to_numpy()], "calls": out["calls"].astype(np.int64)})
    for c in ("host_total", "host_self", "device_total", "device_self"):
        res[f"{c}_us"] = out[f"{c}_ns"].to_numpy() / 1e3
    res["host_mean_us"] = res["host_total_us"] / res["calls"]
    res["device_mean_us"] = res["device_total_us"] / res["calls"]
    if flop is not None:
        res["gflop"] = out["flop"].to_numpy() / 1e9
        dev, host = out["device_total_ns"].to_numpy(), out["host_total_ns"].to_numpy()
        res["tflops"] = achieved_tflops(out["flop"].to_numpy(), np.where(dev > 0, dev, host))
    if group_by != "name":
        res["input_shapes"] = out["input_shapes"].to_numpy()
        res["input_types"] = out["input_types"].to_numpy()
    res = res[~res["name"].str.startswith(STEP_PREFIX)]
    return res.sort_values(["device_total_us", "host_total_us"], ascending=False, kind="stable").reset_index(drop=True)
