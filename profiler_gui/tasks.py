"""The window's background jobs: status-bar progress, Cancel, and exactly one outcome per task."""
from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from .workers import Task


class TaskRunner(QObject):
    """Runs one :class:`Task` at a time for ``win`` (the newest request wins) and reports it in the status bar."""

    def __init__(self, win: Any) -> None:
        super().__init__(win)
        self.win = win
        self.task: Task | None = None
        self.status_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        bar = win.statusBar()
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        self.set_busy(False)

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.progress.setValue(0)
            self.status_label.setText(message)

    def is_busy(self) -> bool:
        return self.task is not None and self.task.is_running()

    def start(self, task: Task, on_done: Callable[[Any], None], message: str) -> Task:
        if self.is_busy():
            self.task.cancel()
        self.task = task
        task.setParent(self)
        task.progress.connect(lambda msg, frac: self._on_progress(task, msg, frac))
        task.done.connect(lambda result: self._done(task, on_done, result))
        task.failed.connect(lambda msg: self._failed(task, msg))
        task.cancelled.connect(lambda: self._cancelled(task))
        self.win.banner.hide()
        self.set_busy(True, message)
        task.start()
        return task

    def _on_progress(self, task: Task, message: str, fraction: float) -> None:
        if task is self.task:
            self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
            self.status_label.setText(message)

    def _done(self, task: Task, on_done: Callable[[Any], None], result: Any) -> None:
        if task is not self.task:
            return
        self.set_busy(False)
        try:
            on_done(result)
        except Exception as exc:  # noqa: BLE001 - a view bug shows as a message
            traceback.print_exc()
            self.win.show_error(f"internal error while showing the result ({type(exc).__name__}: {exc})")
            self.win.taskFinished.emit("failed")
            return
        self.win.taskFinished.emit("done")

    def _failed(self, task: Task, message: str) -> None:
        if task is self.task:
            self.set_busy(False)
            self.win.show_error(f"{task.title.capitalize()} failed: {message}")
            self.win.taskFinished.emit("failed")

    def _cancelled(self, task: Task) -> None:
        if task is self.task:
            self.set_busy(False)
            self.status_label.setText(f"{task.title.capitalize()} cancelled.")
            self.win.taskFinished.emit("cancelled")

    def cancel(self) -> None:
        if self.is_busy():
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling...")
