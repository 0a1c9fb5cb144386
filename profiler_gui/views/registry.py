"""The tabs, in order: (name, view class).  Adding a view: its own module plus one line here."""
from __future__ import annotations

from .compare import CompareView
from .critical_path import CriticalPathView
from .distributed import DistributedView
from .findings import FindingsView
from .flame import FlameView
from .memory import MemoryView
from .modules import ModulesView
from .overview import OverviewView
from .tables import KernelsView, OperatorsView
from .timeline_host import TimelineHost

VIEWS: list[tuple[str, type]] = [
    ("overview", OverviewView),
    ("timeline", TimelineHost),
    ("operators", OperatorsView),
    ("kernels", KernelsView),
    ("modules", ModulesView),
    ("flame", FlameView),
    ("memory", MemoryView),
    ("distributed", DistributedView),
    ("findings", FindingsView),
    ("compare", CompareView),
    ("critical path", CriticalPathView),  # last: the Ctrl+N shortcuts of the others stay
]


def build_views() -> dict[str, object]:
    """One instance of every view, by name, in tab order."""
    return {name: cls() for name, cls in VIEWS}


def label(name: str) -> str:
    return name.capitalize()
