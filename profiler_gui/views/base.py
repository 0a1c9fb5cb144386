"""The one interface every tab implements: :class:`SessionView`.

A view shows one rank of an :class:`~analyzers.session.AnalysisSession`:
``show_rank(session, rank)`` reads what it needs from ``session.rank(rank)``
(already computed in the worker; a failed analysis raises its one-line
:class:`~analyzers.errors.AnalysisError`, which the view shows in place of
its content).  ``set_theme(theme)`` restyles it.  Views never compute an
analysis and never know about each other; the window wires their signals.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from analyzers.session import AnalysisSession


@runtime_checkable
class SessionView(Protocol):
    """What the window calls on each tab (see :data:`profiler_gui.views.registry.VIEWS`)."""

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        """Show ``session.rank(rank)`` (and, where the view lists them, findings of every rank)."""

    def set_theme(self, theme: Any) -> None:
        """Restyle plots for ``theme`` (a :class:`profiler_gui.theme.Theme`)."""
