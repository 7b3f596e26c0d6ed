"""HTML building blocks for the demo page. Every value goes through ``esc``; the only raw
HTML is what this module writes and what the markdown renderer produced (HTML disabled)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_HEX = re.compile(r"[0-9a-fA-F]{6}")

CSS = """
body{font:14px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;
margin:0;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:12px 24px}header a{color:#fff}
main{max-width:1012px;margin:24px auto;padding:0 16px}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
.box{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:16px 0}
.box>h2,.box>h3{margin:0;padding:8px 16px;background:#f6f8fa;border-bottom:1px solid #d0d7de;
font-size:14px}
.box>.content{padding:8px 16px}.row{padding:8px 16px;border-top:1px solid #d8dee4}
.row:first-of-type{border-top:0}
.label{display:inline-block;padding:0 7px;border-radius:2em;font-size:12px;font-weight:500;
line-height:18px;margin-right:4px;border:1px solid rgba(31,35,40,.15)}
.state{display:inline-block;padding:4px 12px;border-radius:2em;color:#fff;font-weight:500}
.open{background:#1f883d}.closed{background:#8250df}.merged{background:#8250df}
.not_planned{background:#6e7781}.muted{color:#59636e}
.markdown table{border-collapse:collapse;display:block;overflow:auto}
.markdown th,.markdown td{border:1px solid #d0d7de;padding:6px 13px}
.markdown tr:nth-child(2n){background:#f6f8fa}
.markdown code{background:rgba(175,184,193,.2);padding:.2em .4em;border-radius:6px;
font-size:85%}.markdown pre{background:#f6f8fa;padding:16px;overflow:auto;border-radius:6px}
.markdown pre code{background:none;padding:0}
.contains-task-list{list-style:none;padding-left:1.5em}
.task-list-item-checkbox{margin:0 .3em .25em -1.4em;vertical-align:middle}
pre.plain{white-space:pre-wrap;margin:0}
textarea{width:100%;font:12px ui-monospace,monospace}input[type=text]{width:20em}
table.list{border-collapse:collapse;width:100%}
table.list td{padding:6px 16px;border-top:1px solid #d8dee4;vertical-align:top}
"""

HEADERS = {
    # No script at all; styles only from this page; forms only to this page.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, *parts: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        "<header><a href=\"/\"><b>Watchkeeper demo</b></a> · simulated GitHub, read-only"
        f"</header><main>{''.join(parts)}</main></body></html>"
    )


def box(title: str, content: str, *, raw_title: bool = False) -> str:
    shown = title if raw_title else esc(title)
    return f"<div class=box><h3>{shown}</h3><div class=content>{content}</div></div>"


def label(name: str, color: str) -> str:
    background = color if _HEX.fullmatch(color) else "ededed"
    r, g, b = (int(background[i:i + 2], 16) for i in (0, 2, 4))
    ink = "#000" if (r * 299 + g * 587 + b * 114) / 1000 > 140 else "#fff"
    return (f"<span class=label style=\"background:#{background};color:{ink}\">"
            f"{esc(name)}</span>")


def state(name: str) -> str:
    css = name if name in ("open", "closed", "merged", "not_planned") else "closed"
    return f"<span class=\"state {css}\">{esc(name.replace('_', ' ').capitalize())}</span>"


def link(href: str, text: str) -> str:
    return f"<a href=\"{esc(href)}\">{esc(text)}</a>"


def rows(items: Iterable[tuple[str, ...]]) -> str:
    """A table of already-built cells (each cell is HTML this module made)."""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in items)
    return f"<table class=list>{body}</table>" if body else "<p class=muted>None.</p>"
