"""The window's menus, actions and keyboard shortcuts (the actions call the window's methods)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut

TIMELINE_KEYS = ("w", "a", "s", "d", "f", "/")
SHORTCUTS_TEXT = ("W/S zoom in/out, A/D pan, F fit the selection, / search (all go to the timeline); "
                  "Ctrl+O open, Ctrl+Q quit, Ctrl+1..7 switch tabs.")


def build_file_menu(win: Any) -> None:
    fm = win.menuBar().addMenu("&File")
    win.act_open = fm.addAction("&Open trace...", win.open_dialog)
    win.act_open.setShortcut(QKeySequence.Open)
    win.act_open_folder = fm.addAction("Open &folder (TensorBoard logs, ranks, run bundle)...", win.open_folder_dialog)
    win.recent_menu = fm.addMenu("Open &recent")
    win.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(win))
    win.act_compare = fm.addAction("&Compare with...", win.compare.compare_dialog)
    win.act_profile = fm.addAction("&Profile a workload...", win.profile_dialog)
    fm.addSeparator()
    em = fm.addMenu("&Export")
    win.act_export_html = em.addAction("Report as &HTML...", lambda: win.exports.report_dialog("html"))
    win.act_export_md = em.addAction("Report as &Markdown...", lambda: win.exports.report_dialog("md"))
    win.act_export_ops = em.addAction("&Operators table as CSV...", lambda: win.exports.csv_dialog("operators"))
    win.act_export_kernels = em.addAction("&Kernels table as CSV...", lambda: win.exports.csv_dialog("kernels"))
    win.act_export_png = em.addAction("&Timeline as PNG...", win.exports.png_dialog)
    win.export_menu = em
    fm.addSeparator()
    win.act_close = fm.addAction("Close trace", win.show_start_page)
    win.act_quit = fm.addAction("&Quit", win.close)
    win.act_quit.setShortcut(QKeySequence("Ctrl+Q"))


def build_view_menu(win: Any, tab_names: list[str]) -> None:
    vm = win.menuBar().addMenu("&View")
    vm.addAction("Start page", win.show_start_page)
    vm.addSeparator()
    group = QActionGroup(win)
    win.theme_actions = {}
    for name, label in (("light", "Light theme"), ("dark", "Dark theme")):
        act = QAction(label, win, checkable=True)
        act.triggered.connect(lambda _=False, n=name: win.apply_theme(n))
        group.addAction(act)
        vm.addAction(act)
        win.theme_actions[name] = act
    vm.addSeparator()
    for i, name in enumerate(tab_names):
        act = vm.addAction(name.capitalize(), lambda n=name: win.show_tab(n))
        act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
    hm = win.menuBar().addMenu("&Help")
    hm.addAction("Keyboard shortcuts", lambda: win.show_info(SHORTCUTS_TEXT))


def build_shortcuts(win: Any) -> None:
    win.timeline_shortcuts = []
    for key in TIMELINE_KEYS:
        sc = QShortcut(QKeySequence(key.upper() if key != "/" else "/"), win)
        sc.setContext(Qt.WindowShortcut)
        sc.activated.connect(lambda k=key: win.timeline_key(k))
        win.timeline_shortcuts.append(sc)


def update_actions(win: Any) -> None:
    has = win.opened is not None
    for act in (win.act_compare, win.act_export_html, win.act_export_md, win.act_export_ops,
                win.act_export_kernels, win.act_export_png, win.act_close):
        act.setEnabled(has)


def fill_recent_menu(win: Any) -> None:
    menu, recent = win.recent_menu, win.settings.recent()
    menu.clear()
    for p in recent:
        menu.addAction(p, lambda p=p: win.open_path(p))
    if not recent:
        menu.addAction("(none)").setEnabled(False)
    else:
        menu.addSeparator()
        menu.addAction("Clear", win.settings.clear_recent)
