"""How a per-step chart lays out its step axis so that it scales from 3 to hundreds of steps (no Qt)."""
from __future__ import annotations

import math
from typing import Sequence

LINE_CHART_MIN_STEPS = 40  # from this many steps on, bars become a line (area) chart
MAX_TICK_LABELS = 12


def use_line_chart(n_steps: int) -> bool:
    """Whether ``n_steps`` are drawn as a line rather than one bar each."""
    return n_steps >= LINE_CHART_MIN_STEPS


def step_ticks(labels: Sequence[str], max_labels: int = MAX_TICK_LABELS) -> list[tuple[int, str]]:
    """Every k-th (position, label) so that at most ``max_labels`` labels are drawn."""
    stride = max(1, math.ceil(len(labels) / max(1, max_labels)))
    return [(i, str(s)) for i, s in enumerate(labels)][::stride]
