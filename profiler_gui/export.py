"""File > Export: report (HTML / Markdown, with the session's ``errors``), tables (CSV), timeline (PNG)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from .analysis import Opened, report_dict
from .report_export import write_report


def export_report(opened: Opened, rank: int, path: str) -> str:
    return write_report(report_dict(opened, rank), path, title=f"TorchScope report: {opened.path}")


def export_csv(df: pd.DataFrame | None, path: str) -> str:
    (df if df is not None else pd.DataFrame()).to_csv(path, index=False)
    return path


class Exports:
    """The window's File > Export actions (Qt dialogs; the writing is above)."""

    def __init__(self, win: Any) -> None:
        self.win = win

    def report_dialog(self, fmt: str) -> None:
        from PySide6.QtWidgets import QFileDialog

        if self.win.opened is None:
            return
        filt = "HTML (*.html)" if fmt == "html" else "Markdown (*.md)"
        path, _ = QFileDialog.getSaveFileName(self.win, "Export report", f"torchscope-report.{fmt}", filt)
        if path:
            self.report(path)

    def report(self, path: str) -> str | None:
        try:
            export_report(self.win.opened, self.win.rank, path)
        except Exception as exc:  # noqa: BLE001 - shown as a message
            import traceback
            traceback.print_exc()
            self.win.show_error(f"Export failed: {exc}")
            return None
        self.win.tasks.status_label.setText(f"Report written to {path}")
        return path

    def csv_dialog(self, which: str) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self.win, f"Export {which}", f"{which}.csv", "CSV (*.csv)")
        if path:
            self.csv(which, path)

    def csv(self, which: str, path: str) -> str | None:
        view = self.win.views["operators" if which == "operators" else "kernels"]
        try:
            export_csv(view.visible_frame(), path)
        except OSError as exc:
            self.win.show_error(f"Export failed: {exc}")
            return None
        self.win.tasks.status_label.setText(f"{which.capitalize()} written to {path}")
        return path

    def png_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self.win, "Export timeline", "timeline.png", "PNG (*.png)")
        if path:
            self.png(path)

    def png(self, path: str) -> str | None:
        timeline = self.win.timeline
        if not timeline.available:
            self.win.show_error("Timeline export: the timeline is not available.")
            return None
        if not timeline.export_png(path):
            self.win.show_error(f"Timeline export failed: could not write {path}")
            return None
        self.win.tasks.status_label.setText(f"Timeline written to {path}")
        return path
