"""File > Export: report (HTML / Markdown), tables (CSV), timeline (PNG)."""
from __future__ import annotations

import pandas as pd

from .analysis import Analysis, report_dict
from .report_export import write_report


def export_report(a: Analysis, path: str) -> str:
    return write_report(report_dict(a), path, title=f"TorchScope report: {a.path}")


def export_csv(df: pd.DataFrame | None, path: str) -> str:
    (df if df is not None else pd.DataFrame()).to_csv(path, index=False)
    return path
