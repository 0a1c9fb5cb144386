"""Render a report dict (analyzers.report.build_report) as Markdown or HTML.  No Qt imports.

The renderer is generic: top-level keys become sections, dicts become
key/value tables, lists of dicts become tables, findings get their own
layout.  It only needs JSON-like data.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
from typing import Any

TITLE = "TorchScope report"


def _scalar(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:,.3f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, (list, tuple)) and all(not isinstance(x, (dict, list)) for x in v):
        text = ", ".join(_scalar(x) for x in v[:20])
        return text + (f", ... ({len(v)} items)" if len(v) > 20 else "")
    if isinstance(v, (dict, list, tuple)):
        text = json.dumps(v, default=str)
        return text if len(text) < 300 else text[:300] + "..."
    return str(v)


def _is_records(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _title(key: str) -> str:
    return str(key).replace("_", " ").strip().capitalize()


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _md_table(rows: list[dict[str, Any]], limit: int = 50) -> list[str]:
    cols: list[str] = []
    for r in rows[:limit]:
        for k, v in r.items():
            if k not in cols and not isinstance(v, (dict,)) and not _is_records(v):
                cols.append(k)
    out = ["| " + " | ".join(_md_cell(_title(c)) for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows[:limit]:
        out.append("| " + " | ".join(_md_cell(_scalar(r.get(c))) for c in cols) + " |")
    if len(rows) > limit:
        out.append(f"\n_{len(rows) - limit} more rows not shown._")
    return out


def _is_finding(d: Any) -> bool:
    return isinstance(d, dict) and "title" in d and ("rule" in d or "severity" in d)


def to_markdown(report: dict[str, Any], title: str = TITLE) -> str:
    lines = [f"# {title}", "", f"_Generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}_", ""]

    def section(key: str, value: Any, level: int) -> None:
        h = "#" * min(level, 6)
        if _is_records(value) and all(_is_finding(x) for x in value):
            lines.extend([f"{h} {_title(key)}", ""])
            for i, f in enumerate(value, 1):
                gain = f.get("gain_ms")
                lines.append(f"{h}# {i}. {f.get('title')}" + (f" (est. gain {gain:.2f} ms/step)" if isinstance(gain, (int, float)) else ""))
                lines.append("")
                lines.append(f"**Severity:** {f.get('severity', '')}  **Rule:** `{f.get('rule', '')}`")
                lines.append("")
                if f.get("summary"):
                    lines.extend([str(f["summary"]), ""])
                if f.get("evidence"):
                    lines.append("**Evidence:**")
                    lines.append("")
                    ev = f["evidence"]
                    if isinstance(ev, dict):
                        lines.extend(f"- {_title(k)}: {_scalar(v)}" for k, v in ev.items())
                    else:
                        lines.append(_scalar(ev))
                    lines.append("")
                if f.get("fix"):
                    lines.extend([f"**Fix:** {f['fix']}", ""])
                if f.get("fix_snippet"):
                    lines.extend(["```python", str(f["fix_snippet"]).rstrip(), "```", ""])
                if f.get("caveats"):
                    lines.extend(["**Caveats:**", ""] + [f"- {c}" for c in f["caveats"]] + [""])
            return
        if isinstance(value, dict):
            simple = {k: v for k, v in value.items() if not isinstance(v, dict) and not _is_records(v)}
            nested = {k: v for k, v in value.items() if k not in simple}
            lines.extend([f"{h} {_title(key)}", ""])
            if simple:
                lines.extend(["| | |", "|---|---|"] + [f"| {_md_cell(_title(k))} | {_md_cell(_scalar(v))} |"
                                                       for k, v in simple.items()])
                lines.append("")
            for k, v in nested.items():
                section(k, v, level + 1)
            return
        if _is_records(value):
            lines.extend([f"{h} {_title(key)}", ""] + _md_table(value) + [""])
            return
        lines.extend([f"**{_title(key)}:** {_scalar(value)}", ""])

    for key, value in report.items():
        section(key, value, 2)
    return "\n".join(lines).rstrip() + "\n"


CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #1d2330; padding: 0 1em; }
h1 { border-bottom: 2px solid #2f6fd6; padding-bottom: .3em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #d9dde5; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 13px; }
th, td { border: 1px solid #d9dde5; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f2f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f4f5f7; padding: .8em; overflow-x: auto; border-radius: 4px; }
.finding { border: 1px solid #d9dde5; border-left: 4px solid #e0823d; padding: .4em 1em; margin: 1em 0; border-radius: 4px; }
.sev { font-weight: bold; text-transform: uppercase; font-size: 12px; color: #c8473e; }
.muted { color: #5b6475; }
"""


def _td(v: Any) -> str:
    cls = " class='num'" if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
    return f"<td{cls}>{html.escape(_scalar(v))}</td>"


def _html_table(rows: list[dict[str, Any]], limit: int = 50) -> str:
    cols: list[str] = []
    for r in rows[:limit]:
        for k, v in r.items():
            if k not in cols and not isinstance(v, dict) and not _is_records(v):
                cols.append(k)
    head = "".join(f"<th>{html.escape(_title(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(_td(r.get(c)) for c in cols) + "</tr>" for r in rows[:limit])
    more = f"<p class='muted'>{len(rows) - limit} more rows not shown.</p>" if len(rows) > limit else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def to_html(report: dict[str, Any], title: str = TITLE) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
             f"<p class='muted'>Generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}</p>"]

    def section(key: str, value: Any, level: int) -> None:
        h = f"h{min(level, 6)}"
        if _is_records(value) and all(_is_finding(x) for x in value):
            parts.append(f"<{h}>{html.escape(_title(key))}</{h}>")
            for i, f in enumerate(value, 1):
                gain = f.get("gain_ms")
                parts.append("<div class='finding'>")
                parts.append(f"<h3>{i}. {html.escape(str(f.get('title')))}</h3>")
                parts.append(f"<p><span class='sev'>{html.escape(str(f.get('severity', '')))}</span> "
                             + (f"&middot; est. gain <b>{gain:.2f} ms</b> per step " if isinstance(gain, (int, float)) else "")
                             + f"&middot; rule <code>{html.escape(str(f.get('rule', '')))}</code></p>")
                if f.get("summary"):
                    parts.append(f"<p>{html.escape(str(f['summary']))}</p>")
                ev = f.get("evidence")
                if isinstance(ev, dict) and ev:
                    parts.append("<table>" + "".join(f"<tr><th>{html.escape(_title(k))}</th>{_td(v)}</tr>"
                                                     for k, v in ev.items()) + "</table>")
                if f.get("fix"):
                    parts.append(f"<p><b>Fix:</b> {html.escape(str(f['fix']))}</p>")
                if f.get("fix_snippet"):
                    parts.append(f"<pre><code>{html.escape(str(f['fix_snippet']))}</code></pre>")
                if f.get("caveats"):
                    parts.append("<ul>" + "".join(f"<li>{html.escape(str(c))}</li>" for c in f["caveats"]) + "</ul>")
                parts.append("</div>")
            return
        if isinstance(value, dict):
            simple = {k: v for k, v in value.items() if not isinstance(v, dict) and not _is_records(v)}
            nested = {k: v for k, v in value.items() if k not in simple}
            parts.append(f"<{h}>{html.escape(_title(key))}</{h}>")
            if simple:
                parts.append("<table>" + "".join(f"<tr><th>{html.escape(_title(k))}</th>{_td(v)}</tr>"
                                                 for k, v in simple.items()) + "</table>")
            for k, v in nested.items():
                section(k, v, level + 1)
            return
        if _is_records(value):
            parts.append(f"<{h}>{html.escape(_title(key))}</{h}>{_html_table(value)}")
            return
        parts.append(f"<p><b>{html.escape(_title(key))}:</b> {html.escape(_scalar(value))}</p>")

    for key, value in report.items():
        section(key, value, 2)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: dict[str, Any], path: str, title: str = TITLE) -> str:
    """Write ``report`` as HTML (.html/.htm) or Markdown (anything else); returns the path."""
    text = to_html(report, title) if path.lower().endswith((".html", ".htm")) else to_markdown(report, title)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
