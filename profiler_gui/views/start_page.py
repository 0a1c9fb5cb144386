"""Start page: recent traces, Open trace..., Profile a workload..., bundled samples."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                               QWidget)

from ..samples import find_samples, samples_root


def sample_label(path: str) -> str:
    """The bundle's folder name, its workload and its knob settings (from its run.json)."""
    from analyzers.bundle_reader import read_run_info
    from analyzers.errors import TraceLoadError

    try:
        info = read_run_info(path)
    except TraceLoadError:  # an unreadable run.json: the folder name alone still tells the sample apart
        return os.path.basename(path)
    settings = info.get("settings") if isinstance(info.get("settings"), dict) else {}
    readme = f"{info.get('workload', '')}" + (f"  ({', '.join(f'{k}={v}' for k, v in settings.items())})"
                                              if settings else "")
    return f"{os.path.basename(path)}" + (f"  -  {readme}" if readme else "")


class StartPage(QWidget):
    openPath = Signal(str)
    openDialog = Signal()
    profileDialog = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 30, 40, 30)
        title = QLabel("<h1>TorchScope</h1><p>Find what slows your PyTorch training step, apply the fix, "
                       "and prove the gain.</p>")
        title.setTextFormat(Qt.RichText)
        outer.addWidget(title)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open trace...")
        self.profile_button = QPushButton("Profile a workload...")
        for b in (self.open_button, self.profile_button):
            b.setMinimumHeight(36)
            b.setMinimumWidth(200)
            buttons.addWidget(b)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        hint = QLabel("Opens Kineto JSON traces (.json, .json.gz), TensorBoard log folders, rank folders and "
                      "TorchScope run bundles. You can also drop one onto this window.")
        hint.setWordWrap(True)
        outer.addWidget(hint)
        lists = QHBoxLayout()
        self.recent_box = QGroupBox("Recent traces")
        rl = QVBoxLayout(self.recent_box)
        self.recent = QListWidget()
        rl.addWidget(self.recent)
        lists.addWidget(self.recent_box, 1)
        self.samples_box = QGroupBox("Bundled samples")
        sl = QVBoxLayout(self.samples_box)
        self.samples = QListWidget()
        sl.addWidget(self.samples)
        lists.addWidget(self.samples_box, 1)
        outer.addLayout(lists, 1)
        self.open_button.clicked.connect(self.openDialog)
        self.profile_button.clicked.connect(self.profileDialog)
        for lst in (self.recent, self.samples):
            lst.itemActivated.connect(lambda item: self.openPath.emit(item.data(Qt.UserRole)))
            lst.itemDoubleClicked.connect(lambda item: self.openPath.emit(item.data(Qt.UserRole)))
        self.refresh_samples()

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(p if os.path.exists(p) else f"{p}  (missing)")
            item.setData(Qt.UserRole, p)
            item.setToolTip(p)
            self.recent.addItem(item)
        if not paths:
            item = QListWidgetItem("No recent traces yet.")
            item.setFlags(Qt.NoItemFlags)
            self.recent.addItem(item)

    def refresh_samples(self, root: str | None = None) -> list[str]:
        self.samples.clear()
        root = root if root is not None else str(samples_root() or "the sample_traces package")
        found = find_samples(root)
        for p in found:
            item = QListWidgetItem(sample_label(p))
            item.setData(Qt.UserRole, p)
            item.setToolTip(p)
            self.samples.addItem(item)
        if not found:
            item = QListWidgetItem(f"No sample bundles in {root}.")
            item.setFlags(Qt.NoItemFlags)
            self.samples.addItem(item)
        return found
