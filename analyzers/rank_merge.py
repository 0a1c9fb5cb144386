"""Several ranks on one clock: a merged model of every rank's device streams and collectives.

For the merged timeline: each rank keeps its device tracks (GPU streams) and
the host tracks that run its collectives (gloo's worker threads on CPU), one
group per (rank, track) labelled ``rank R: ...``, shifted onto the earliest
rank's epoch origin so the same instant lines up across ranks.  Host ops,
flows, memory and counters are left out (each rank's own timeline has them).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .cross_rank import collective_rows
from .trace_model import Flows, MemoryEvents, SourceInfo, TraceModel, Tracks

SLICE_COLUMNS = ("dur_ns", "kind", "device", "stream", "depth", "correlation", "external_id", "blocks_per_sm",
                 "occupancy_pct", "registers_per_thread", "shared_mem_bytes", "grid_blocks", "block_threads",
                 "bytes")


@dataclass
class RankTracks(Tracks):
    """Tracks of a merged model: each knows its rank, and says it in its label."""

    rank: np.ndarray | None = None  # int64 per track

    def label(self, track_id: int) -> str:
        base = super().label(track_id)
        return f"rank {int(self.rank[track_id])}: {base}" if self.rank is not None else base


def merged_rows(model: TraceModel) -> np.ndarray:
    """Rows a rank contributes: its device work and its collectives (sorted)."""
    device = model.tracks.is_device[model.track_id] if len(model) else np.zeros(0, bool)
    rows, _ = collective_rows(model)
    return np.union1d(np.flatnonzero(device), rows).astype(np.int64)


def _empty_memory() -> MemoryEvents:
    z = np.zeros(0, np.int64)
    return MemoryEvents(z, z, z, z.astype(np.int8), z.astype(np.int16), z, z)


def merge_ranks(models: list[TraceModel]) -> TraceModel:
    """One model holding every rank's device streams and collectives on the earliest rank's clock."""
    origins = [m.origin_abs_ns for m in models if m.origin_abs_ns is not None]
    origin = min(origins) if len(origins) == len(models) and origins else None
    strings: dict[str, int] = {}
    parts: dict[str, list[np.ndarray]] = {c: [] for c in ("start_ns", "name_id", "cat_id", "track_id", *SLICE_COLUMNS)}
    args: list = []
    track_cols: dict[str, list] = {f.name: [] for f in fields(Tracks)}
    track_rank: list[int] = []
    for m in models:
        r = int(m.rank if m.rank is not None else len(track_rank))
        rows = merged_rows(m)
        shift = int(m.origin_abs_ns - origin) if origin is not None else 0
        remap = np.array([strings.setdefault(s, len(strings)) for s in m.strings], dtype=np.int32)
        used, new_track = np.unique(m.track_id[rows], return_inverse=True)
        base = len(track_rank)
        parts["start_ns"].append(m.start_ns[rows] + shift)
        parts["name_id"].append(remap[m.name_id[rows]] if len(rows) else np.zeros(0, np.int32))
        parts["cat_id"].append(remap[m.cat_id[rows]] if len(rows) else np.zeros(0, np.int32))
        parts["track_id"].append((new_track + base).astype(np.int32))
        for c in SLICE_COLUMNS:
            parts[c].append(getattr(m, c)[rows])
        args.extend(m.args_raw[int(i)] for i in rows)
        for t in used.tolist():
            for f in fields(Tracks):
                col = getattr(m.tracks, f.name)
                track_cols[f.name].append(col[t])
            track_rank.append(r)
        track_cols["sort_index"][base:] = [r * (1 << 32) + int(s) for s in track_cols["sort_index"][base:]]
    return _assemble(models, strings, parts, args, track_cols, track_rank, origin)


def _assemble(models: list[TraceModel], strings: dict[str, int], parts: dict[str, list[np.ndarray]], args: list,
              track_cols: dict[str, list], track_rank: list[int], origin: int | None) -> TraceModel:
    """Concatenate the ranks' parts, sort by start and build the model."""
    cols = {c: np.concatenate(v) if v else np.zeros(0) for c, v in parts.items()}
    order = np.lexsort((-cols["dur_ns"], cols["start_ns"]))  # parents before children on ties
    cols = {c: v[order] for c, v in cols.items()}
    tracks = RankTracks(
        pid=list(track_cols["pid"]), tid=list(track_cols["tid"]), process_name=list(track_cols["process_name"]),
        thread_name=list(track_cols["thread_name"]), device=np.asarray(track_cols["device"], np.int32),
        stream=np.asarray(track_cols["stream"], np.int64), is_device=np.asarray(track_cols["is_device"], bool),
        sort_index=np.asarray(track_cols["sort_index"], np.int64), rank=np.asarray(track_rank, np.int64))
    z = np.zeros(0, np.int64)
    first = models[0].source if models else SourceInfo("", "rank-folder")
    return TraceModel(
        source=SourceInfo(first.path, "merged-ranks", first.schema), strings=list(strings), **cols,
        args_raw=[args[int(i)] for i in order], tracks=tracks, flows=Flows(z, z, z.astype(np.int8)),
        memory=_empty_memory(), counters=[], device_properties=[], rank=None, world_size=len(models),
        origin_abs_ns=origin)
