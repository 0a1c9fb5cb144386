"""One frame of a track group as pixels: every visible lane rasterized by numpy in one pass.

Instead of one ``drawRects`` call per colour (and a per-lane fold of
sub-pixel slices), each frame turns the visible entries of all lanes of a
group into one row of colour indices per lane, ``width_px`` wide.  Each entry
covers the pixels whose centres it spans and at least one (the 1-pixel
minimum); where several entries share a pixel the last-starting one wins, and
pixels inside a longer entry that started earlier keep that entry's colour.
The painter then draws one image row per lane, stretched to the lane height.
Hit testing never looks at these pixels: click-to-select reads the events.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Level, visible_slice

EMPTY = -1  # colour index of an empty pixel (the LUT's last entry: transparent)


@dataclass
class GroupFrame:
    """What one group shows in one frame: pixel rows plus the entries (for labels)."""

    pixels: np.ndarray  # int32 (n_lanes, width_px): colour index, EMPTY where nothing is drawn
    lane_pos: np.ndarray  # int32: lane index of each entry (position in the ``levels`` list)
    x_px: np.ndarray  # float64: left edge of each entry, px from the view's left edge
    w_px: np.ndarray  # float64: width, px (>= 1)
    color: np.ndarray  # int16
    row: np.ndarray  # int64: model row (longest slice of a merged entry)

    def __len__(self) -> int:
        return len(self.x_px)


def _collect(levels: list[Level], t0: float, t1: float) -> tuple[np.ndarray, ...]:
    """Visible entries of every lane, concatenated in lane order: start, end, colour, row, lane."""
    parts: list[tuple[np.ndarray, ...]] = []
    for li, lvl in enumerate(levels):
        lo, hi = visible_slice(lvl, t0, t1)
        if hi > lo:
            parts.append((lvl.start[lo:hi], lvl.end[lo:hi], lvl.color[lo:hi], lvl.row[lo:hi],
                          np.full(hi - lo, li, dtype=np.int32)))
    if not parts:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0, np.int16), e, np.empty(0, np.int32)
    return tuple(np.concatenate(col) for col in zip(*parts))


def rasterize(levels: list[Level], t0: float, ns_per_px: float, width_px: int) -> GroupFrame:
    """The pixels of ``levels`` (one per lane, already chosen for this zoom) in the view [t0, t0 + width * ns]."""
    width_px = max(int(width_px), 1)
    start, end, color, row, lane = _collect(levels, t0, t0 + ns_per_px * width_px)
    keep = end >= t0
    if not keep.all():
        start, end, color, row, lane = start[keep], end[keep], color[keep], row[keep], lane[keep]
    inv = 1.0 / ns_per_px
    xs = (start - t0) * inv
    xe = (end - t0) * inv
    pixels = np.full(len(levels) * width_px, EMPTY, dtype=np.int32)
    n = len(xs)
    if n:
        ps = np.clip(np.floor(xs + 0.5), 0, width_px - 1).astype(np.int64)
        pe = np.clip(np.floor(xe + 0.5), 0, width_px).astype(np.int64)
        pe = np.maximum(pe, ps + 1)  # the 1-pixel minimum
        base = lane.astype(np.int64) * width_px
        _fill(pixels, base + ps, base + pe, color)
    x_left = np.maximum(xs, -2.0)
    w = np.maximum(np.minimum(xe, width_px + 2.0) - x_left, 1.0)
    return GroupFrame(pixels.reshape(len(levels), width_px), lane, x_left, w, color, row)


def _fill(pixels: np.ndarray, fs: np.ndarray, fe: np.ndarray, color: np.ndarray) -> None:
    """Paint [fs, fe) of the flat ``pixels`` with ``color`` (entries sorted by fs), vectorized."""
    n = len(fs)
    idx = np.arange(n, dtype=np.int64)
    owner = np.full(len(pixels), -1, dtype=np.int64)
    owner[fs] = idx  # equal starts: the last entry wins
    owner = np.maximum.accumulate(owner)
    # the entry reaching furthest so far (an earlier long entry still covering later pixels)
    reach_key = np.maximum.accumulate(fe * (n + 1) + idx)
    reach_end, reach_idx = reach_key // (n + 1), reach_key % (n + 1)
    has = owner >= 0
    o = np.where(has, owner, 0)
    pos = np.arange(len(pixels), dtype=np.int64)
    own = has & (fe[o] > pos)
    longer = has & ~own & (reach_end[o] > pos)
    pixels[own] = color[o[own]]
    pixels[longer] = color[reach_idx[o[longer]]]
