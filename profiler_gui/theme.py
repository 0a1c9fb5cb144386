"""Light and dark themes: a Qt palette, pyqtgraph colours and the chart colour cycle."""
from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    button: str
    highlight: str
    plot_bg: str
    plot_fg: str
    banner_error: str
    banner_info: str
    series: tuple[str, ...]


LIGHT = Theme("light", "#f4f5f7", "#ffffff", "#f0f2f5", "#1d2330", "#5b6475", "#e8eaef", "#2f6fd6",
              "#ffffff", "#30384a", "#fde2e1", "#e3eefc",
              ("#2f6fd6", "#e0823d", "#3aa162", "#c8473e", "#8a63c9", "#8c6d4e", "#d466b0", "#7f8794", "#b9b42f",
               "#26a8bb"))
DARK = Theme("dark", "#1e2128", "#15171c", "#23262e", "#e3e6ec", "#9aa3b2", "#2c3039", "#4f8ff7",
             "#15171c", "#c9ced8", "#5a2628", "#1f3552",
             ("#5b9cff", "#f39a55", "#55c27e", "#ef6a61", "#a986e6", "#c29b76", "#ee86cc", "#a6adba", "#d8d35a",
              "#4cc6d6"))
THEMES = {"light": LIGHT, "dark": DARK}


def get(name: str) -> Theme:
    return THEMES.get(name, LIGHT)


def apply(app: QApplication, name: str) -> Theme:
    """Apply a theme to the whole application (palette + pyqtgraph defaults)."""
    t = get(name)
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.Window: t.window, QPalette.WindowText: t.text, QPalette.Base: t.base,
        QPalette.AlternateBase: t.alt_base, QPalette.Text: t.text, QPalette.Button: t.button,
        QPalette.ButtonText: t.text, QPalette.Highlight: t.highlight, QPalette.HighlightedText: "#ffffff",
        QPalette.ToolTipBase: t.base, QPalette.ToolTipText: t.text, QPalette.PlaceholderText: t.muted,
        QPalette.Link: t.highlight,
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    pal.setColor(QPalette.Disabled, QPalette.Text, QColor(t.muted))
    pal.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(t.muted))
    app.setPalette(pal)
    pg.setConfigOptions(background=t.plot_bg, foreground=t.plot_fg, antialias=True)
    return t


def style_plot(plot: pg.PlotWidget, t: Theme) -> None:
    """Restyle an existing PlotWidget (pyqtgraph config only affects new widgets)."""
    plot.setBackground(t.plot_bg)
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        ax = item.getAxis(name)
        ax.setPen(pg.mkPen(t.plot_fg))
        ax.setTextPen(pg.mkPen(t.plot_fg))
    if item.titleLabel is not None:
        item.titleLabel.setAttr("color", t.plot_fg)
