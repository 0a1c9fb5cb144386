"""Colour palettes of the timeline (light and dark), per family of events.

Pure Python (RGB tuples), so the data side can stay Qt free; the widget turns
them into QColor/QBrush.
"""
from __future__ import annotations

import colorsys

from .data import (FAMILY_GPU_ANNOTATION, FAMILY_KERNEL, FAMILY_MEMCPY, FAMILY_MEMSET, FAMILY_OP,
                   FAMILY_PYTHON, FAMILY_RUNTIME, FAMILY_STEP, FAMILY_SYNC, N_FAMILIES, PALETTE_SIZE)

RGB = tuple[int, int, int]

# family -> (hue range in degrees, saturation, value) for the light theme
_FAMILY_HSV = {
    FAMILY_OP: ((195, 265), 0.42, 0.86),
    FAMILY_RUNTIME: ((22, 48), 0.55, 0.95),
    FAMILY_KERNEL: ((85, 170), 0.55, 0.78),
    FAMILY_MEMCPY: ((310, 345), 0.45, 0.90),
    FAMILY_MEMSET: ((0, 14), 0.50, 0.90),
    FAMILY_GPU_ANNOTATION: ((48, 58), 0.50, 0.95),
    FAMILY_STEP: ((205, 215), 0.25, 0.80),
    FAMILY_SYNC: ((355, 360), 0.70, 0.85),
    FAMILY_PYTHON: ((270, 300), 0.35, 0.88),
}


def _family_colors(family: int, dark: bool) -> list[RGB]:
    (h0, h1), s, v = _FAMILY_HSV.get(family, ((0, 360), 0.4, 0.85))
    out = []
    for i in range(PALETTE_SIZE):
        # spread hue with a stride so neighbouring hash slots differ visibly
        j = (i * 7) % PALETTE_SIZE
        h = (h0 + (h1 - h0) * j / max(PALETTE_SIZE - 1, 1)) % 360
        ss = s * (0.85 + 0.3 * ((i * 5) % 4) / 3)
        vv = v * (0.92 + 0.08 * ((i * 3) % 3) / 2)
        if family == FAMILY_STEP:
            ss, vv = (0.25, 0.80) if i % 2 == 0 else (0.18, 0.70)
        if dark:
            ss = min(1.0, ss * 1.05)
            vv = vv * 0.72
        r, g, b = colorsys.hsv_to_rgb(h / 360.0, min(ss, 1.0), min(vv, 1.0))
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def event_palette(theme: str) -> list[RGB]:
    """RGB per colour id (family * PALETTE_SIZE + slot)."""
    dark = theme == "dark"
    colors: list[RGB] = []
    for fam in range(N_FAMILIES):
        colors.extend(_family_colors(fam, dark))
    return colors


THEMES: dict[str, dict[str, RGB | tuple[int, int, int, int]]] = {
    "light": {
        "background": (255, 255, 255),
        "gutter": (244, 245, 247),
        "gutter_alt": (236, 238, 241),
        "band_alt": (248, 249, 251),
        "text": (32, 33, 36),
        "text_dim": (100, 104, 112),
        "axis": (90, 94, 100),
        "separator": (214, 217, 222),
        "highlight": (255, 140, 0),
        "search": (230, 60, 30),
        "selection": (20, 20, 20),
        "flow": (220, 40, 40),
        "range_fill": (255, 170, 0, 50),
        "range_edge": (230, 130, 0),
        "counter": (40, 110, 200),
        "counter_fill": (40, 110, 200, 50),
        "label_dark": (20, 20, 20),
        "label_light": (255, 255, 255),
    },
    "dark": {
        "background": (30, 31, 34),
        "gutter": (40, 42, 46),
        "gutter_alt": (46, 48, 53),
        "band_alt": (34, 35, 39),
        "text": (222, 224, 228),
        "text_dim": (150, 154, 162),
        "axis": (170, 174, 180),
        "separator": (62, 65, 71),
        "highlight": (255, 170, 40),
        "search": (255, 90, 60),
        "selection": (255, 255, 255),
        "flow": (255, 90, 90),
        "range_fill": (255, 170, 0, 45),
        "range_edge": (255, 170, 40),
        "counter": (90, 160, 255),
        "counter_fill": (90, 160, 255, 55),
        "label_dark": (15, 15, 15),
        "label_light": (245, 245, 245),
    },
}
