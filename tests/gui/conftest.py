"""Fixtures for the GUI tests (pytest-qt, offscreen): a main window with throw-away settings."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def settings(tmp_path: Path):
    """QSettings in a temporary ini file, so tests never touch the user's settings."""
    from PySide6.QtCore import QSettings

    from profiler_gui.settings import Settings

    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture
def win(qtbot, settings):
    """A shown 1400x900 main window; a task still running at the end is cancelled."""
    from profiler_gui.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    if w.task is not None:
        w.task.cancel()
        w.task.wait(30)


@pytest.fixture
def widget(qtbot):
    """A shown 1400x700 timeline widget with no trace yet."""
    from profiler_gui.timeline.widget import TimelineWidget

    w = TimelineWidget()
    qtbot.addWidget(w)
    w.resize(1400, 700)
    w.show()
    qtbot.waitExposed(w)
    return w
