"""Persistent settings: recent traces, window layout, theme (QSettings('TorchScope', 'TorchScope'))."""
from __future__ import annotations

import os

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10


class Settings:
    """Thin typed wrapper over QSettings."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings("TorchScope", "TorchScope")

    # recent traces
    def recent(self) -> list[str]:
        value = self.q.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        items = [p for p in self.recent() if p != path]
        self.q.setValue("recent", [path, *items][:MAX_RECENT])

    def clear_recent(self) -> None:
        self.q.setValue("recent", [])

    # theme
    def theme(self) -> str:
        value = str(self.q.value("theme", "light"))
        return value if value in ("light", "dark") else "light"

    def set_theme(self, name: str) -> None:
        self.q.setValue("theme", name)

    # window layout
    def geometry(self) -> QByteArray | None:
        v = self.q.value("window/geometry")
        return v if isinstance(v, QByteArray) else None

    def state(self) -> QByteArray | None:
        v = self.q.value("window/state")
        return v if isinstance(v, QByteArray) else None

    def save_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def last_dir(self) -> str:
        return str(self.q.value("last_dir", os.getcwd()))

    def set_last_dir(self, path: str) -> None:
        self.q.setValue("last_dir", path)

    def sync(self) -> None:
        self.q.sync()
