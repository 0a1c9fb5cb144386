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

import math
from dataclasses import dataclass

import numpy as np

from .data import Lane, Level, visible_slice

EMPTY = -1  # colour index of an empty pixel (the LUT's last entry: transparent)
#: draw from the coarsest pyramid level whose buckets are at most this many pixels (as the old
#: per-frame fold of slices narrower than 2 px): half the entries of a 1-pixel level, same look
DRAW_BUCKET_PX = 2.0


def draw_level(lane: Lane, ns_per_px: float) -> Level:
    """The level of ``lane`` that frames (and click-to-select) use at ``ns_per_px``."""
    return lane.level_for(ns_per_px * DRAW_BUCKET_PX)


@dataclass
class GroupFrame:
    """What one group shows in one frame: pixel rows plus the entries (for labels)."""

    pixels: np.ndarray  # int32 (n_lanes, width_px): colour index, EMPTY where nothing is drawn
    owners: np.ndarray  # int64 (n_lanes, width_px): entry drawn in each pixel, -1 where none
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
    owners = np.full(len(levels) * width_px, -1, dtype=np.int64)
    n = len(xs)
    if n:
        ps = np.clip(np.ceil(xs - 0.5), 0, width_px - 1).astype(np.int64)  # first pixel centre inside
        pe = np.clip(np.ceil(xe - 0.5), 0, width_px).astype(np.int64)
        pe = np.maximum(pe, ps + 1)  # the 1-pixel minimum
        base = lane.astype(np.int64) * width_px
        _fill(owners, base + ps, base + pe)
    pixels = np.where(owners >= 0, color[np.maximum(owners, 0)] if n else EMPTY, EMPTY).astype(np.int32)
    x_left = np.maximum(xs, -2.0)
    w = np.maximum(np.minimum(xe, width_px + 2.0) - x_left, 1.0)
    shape = (len(levels), width_px)
    return GroupFrame(pixels.reshape(shape), owners.reshape(shape), lane, x_left, w, color, row)


def row_drawn_at(level: Level, t0: float, ns_per_px: float, t: float) -> int:
    """Model row of the entry of ``level`` drawn in the pixel holding time ``t`` of a frame starting at
    ``t0`` (the same pixel grid as :func:`rasterize`); -1 when that pixel is empty."""
    px = math.floor((t - t0) / ns_per_px)
    frame = rasterize([level], t0 + (px - 2) * ns_per_px, ns_per_px, 5)
    entry = int(frame.owners[0, 2])
    return int(frame.row[entry]) if entry >= 0 else -1


def _fill(owners: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> None:
    """Mark in the flat ``owners`` the entry drawn in each pixel of [fs, fe) (entries sorted by fs)."""
    n = len(fs)
    idx = np.arange(n, dtype=np.int64)
    owner = np.full(len(owners), -1, dtype=np.int64)
    owner[fs] = idx  # equal starts: the last entry wins
    owner = np.maximum.accumulate(owner)
    pos = np.arange(len(owners), dtype=np.int64)
    o = np.maximum(owner, 0)
    own = (owner >= 0) & (fe[o] > pos)
    owners[own] = o[own]
    if n > 1 and bool(np.any(fe[:-1] > fs[1:])):
        # an entry reaching past the next one's start keeps covering after that one ends
        reach_key = np.maximum.accumulate(fe * (n + 1) + idx)
        reach_end, reach_idx = reach_key // (n + 1), reach_key % (n + 1)
        longer = (owner >= 0) & ~own & (reach_end[o] > pos)
        owners[longer] = reach_idx[o[longer]]
