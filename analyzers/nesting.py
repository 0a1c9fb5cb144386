"""Nesting depth of intervals on tracks (vectorised; used by the loader and the op table)."""
from __future__ import annotations

import numpy as np


def nesting_depth(track_id: np.ndarray, start_ns: np.ndarray, dur_ns: np.ndarray) -> np.ndarray:
    """Depth of each slice inside its track: open enclosing slices at its start (vectorised)."""
    m = len(start_ns)
    if not m:
        return np.empty(0, dtype=np.int16)
    end_ns = start_ns + dur_ns
    span = int(max(end_ns.max(), 0) - min(start_ns.min(), 0)) + 2
    base = int(min(start_ns.min(), 0))
    if span * (int(track_id.max()) + 1) >= 2**62:  # keys would overflow: one track at a time
        depth = np.zeros(m, dtype=np.int16)
        for t in np.unique(track_id):
            rows = np.flatnonzero(track_id == t)
            depth[rows] = nesting_depth(np.zeros(len(rows), dtype=track_id.dtype), start_ns[rows], dur_ns[rows])
        return depth
    tkey = track_id.astype(np.int64) * span
    skey = tkey + (start_ns - base)
    ekey = tkey + (end_ns - base)
    by_start = np.lexsort((-dur_ns, skey))
    rank = np.empty(m, dtype=np.int64)
    rank[by_start] = np.arange(m)
    # starts before me on my track = my rank - index of my track's first start
    first_of_track = np.searchsorted(skey[by_start], tkey, side="left")
    starts_before = rank - first_of_track
    ends_sorted = np.sort(ekey)
    ends_before = np.searchsorted(ends_sorted, skey, side="right") - np.searchsorted(ends_sorted, tkey, side="left")
    ends_before -= (dur_ns == 0)  # my own end counted when I have zero length
    depth = starts_before - ends_before
    return np.clip(depth, 0, 32767).astype(np.int16)
