"""The mails: an alert's notice, and a subscription's report (a table of numbers per insight, a
bar chart and a link), each as HTML with a plain-text alternative.

The chart is an HTML bar chart made of table cells (``width``/``bgcolor`` attributes), not a PNG:
mail clients block remote images and many hide inline (cid) ones until the reader allows them,
while a table renders everywhere, needs no image library, and keeps the numbers selectable. Mails
are not pages: the site's Content-Security-Policy does not apply to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.html import escape

from reporting.insights.tables import insight_table

Row = list[Any]
BAR_COLOUR = "#4f46e5"
MAX_ROWS = 60  # per table; a report is a summary, the link opens the rest


@dataclass(frozen=True)
class Section:
    """One insight of a report: its name, its numbers and the dates they cover."""

    name: str
    kind: str
    date_from: str
    date_to: str
    header: list[str]
    rows: list[Row]
    error: str = ""


def result_table(kind: str, result: dict[str, Any]) -> tuple[list[str], list[Row]]:
    """An insight's answer as a header and rows: the CSV export's table (reporting/insights/tables.py),
    except for trends, shown wide (a row per date, a column per series) because people read it."""
    if kind == "trends":
        columns = [*(result.get("series") or []), *(result.get("formula") or [])]
        dates = [p["date"] for p in columns[0]["data"]] if columns else []
        header = ["date", *(_label(c) for c in columns)]
        return header, [[day, *(c["data"][i]["value"] for c in columns)] for i, day in enumerate(dates)]
    return insight_table(kind, result)


def _label(column: dict[str, Any]) -> str:
    breakdown = column.get("breakdown_value")
    return f"{column['label']} ({breakdown})" if breakdown is not None else str(column["label"])


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def _chart_html(section: Section) -> str:
    """Bars of the first numeric column, by row: cell widths in percent of the largest value."""
    column = next(
        (i for i in range(1, len(section.header)) if all(isinstance(r[i], int | float) for r in section.rows)), None
    )
    if column is None or not section.rows:
        return ""
    top = max((float(r[column]) for r in section.rows), default=0.0) or 1.0
    lines = []
    for row in section.rows[:MAX_ROWS]:
        width = max(1, round(float(row[column]) / top * 100))
        lines.append(
            f'<tr><td width="90">{escape(str(row[0]))}</td><td width="400">'
            f'<table width="{width}%" cellpadding="0" cellspacing="0"><tr><td bgcolor="{BAR_COLOUR}" height="10">'
            f"</td></tr></table></td><td>{escape(_number(row[column]))}</td></tr>"
        )
    return f'<p>{escape(section.header[column])}</p><table cellpadding="2" cellspacing="0">{"".join(lines)}</table>'


def _table_html(section: Section) -> str:
    head = "".join(f"<th align='left'>{escape(h)}</th>" for h in section.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_number(v))}</td>" for v in row) + "</tr>" for row in section.rows[:MAX_ROWS]
    )
    return f'<table border="1" cellpadding="4" cellspacing="0"><tr>{head}</tr>{body}</table>'


def _table_text(section: Section) -> str:
    lines = [" | ".join(section.header)]
    lines += [" | ".join(_number(v) for v in row) for row in section.rows[:MAX_ROWS]]
    return "\n".join(lines)


def report_email(*, title: str, url: str, sections: list[Section]) -> dict[str, str]:
    """A subscription's mail: subject, text and html."""
    html_parts = [f"<h1>{escape(title)}</h1>", f'<p><a href="{escape(url)}">Open in eventbase</a></p>']
    text_parts = [title, "=" * len(title), f"Open in eventbase: {url}", ""]
    for section in sections:
        dates = f"{section.date_from} to {section.date_to}"
        html_parts.append(f"<h2>{escape(section.name)}</h2><p>{escape(dates)}</p>")
        text_parts += [section.name, "-" * len(section.name), dates]
        if section.error:
            html_parts.append(f"<p>Could not be computed: {escape(section.error)}</p>")
            text_parts += [f"Could not be computed: {section.error}", ""]
            continue
        html_parts += [_chart_html(section), _table_html(section)]
        text_parts += [_table_text(section), ""]
    return {
        "subject": f"[eventbase] {title}",
        "text": "\n".join(text_parts),
        "html": "<html><body>" + "".join(html_parts) + "</body></html>",
    }


def alert_email(payload: dict[str, Any]) -> dict[str, str]:
    """An alert's notice, from its webhook payload (the same facts in both channels)."""
    alert, insight = payload["alert"], payload["insight"]
    verb = "is firing" if payload["state"] == "firing" else "has resolved"
    previous = payload.get("previous_value")
    facts = [
        ("Insight", insight["name"]),
        ("Interval starting", payload["interval_start"]),
        ("Value", _number(payload["value"])),
        ("Previous interval", _number(previous) if previous is not None else "none"),
        ("Condition", f"{alert['condition']} {_number(payload['threshold'])}"),
    ]
    text = "\n".join([f"Alert {alert['name']!r} {verb}.", *(f"{k}: {v}" for k, v in facts), f"Open: {payload['url']}"])
    rows = "".join(f"<tr><th align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    html = (
        f"<html><body><p>Alert <b>{escape(alert['name'])}</b> {verb}.</p><table>{rows}</table>"
        f'<p><a href="{escape(payload["url"])}">Open in eventbase</a></p></body></html>'
    )
    return {"subject": f"[eventbase] {alert['name']} {verb}", "text": text, "html": html}
