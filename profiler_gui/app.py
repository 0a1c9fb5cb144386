"""Entry point of the desktop app: ``run_gui(path=None) -> exit code``."""
from __future__ import annotations

import os
import sys


def make_app(argv: list[str] | None = None):  # -> QApplication
    """The QApplication (created once), with names set for QSettings."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setOrganizationName("TorchScope")
    app.setApplicationName("TorchScope")
    return app


def run_gui(path: str | None = None) -> int:
    """Open the window (on ``path`` when given) and run the event loop; returns the exit code."""
    app = make_app()
    from .main_window import MainWindow

    win = MainWindow()
    win.show()
    if path:
        if not os.path.exists(path):
            win.show_error(f"{path}: no such file or folder")
        else:
            win.open_path(path)
    return int(app.exec())


def main() -> int:  # python -m profiler_gui.app [PATH]
    return run_gui(sys.argv[1] if len(sys.argv) > 1 else None)


if __name__ == "__main__":
    raise SystemExit(main())
