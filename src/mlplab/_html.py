"""Small HTML pieces for Jupyter's rich display (``_repr_html_``): tables and inline SVG sparklines.

Standard library and NumPy only (the engine's classes use it; no plotting library is imported).
Every value is escaped; a sparkline is a hand-drawn SVG polyline, so a result renders in a
notebook, on GitHub and in the documentation site without JavaScript.
"""

from __future__ import annotations

import html
import math

import numpy as np

# colours of the sparklines' curves (matplotlib's tab10)
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")

_STYLE = ("border-collapse:collapse;font-size:12px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;"
          "margin:2px 0")
_CELL = "padding:1px 6px;text-align:left;border-bottom:1px solid #ddd;vertical-align:top"


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def num(v, digits: int = 4) -> str:
    """A number as a table shows it: ints plainly, floats to ``digits`` significant digits."""
    if v is None:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "–"
    return f"{f:.{digits}g}"


def array(a, precision: int = 4, max_items: int = 12) -> str:
    """A small array in one line (numpy's print, summarised beyond ``max_items``)."""
    a = np.asarray(a)
    with np.printoptions(precision=precision, threshold=max_items, edgeitems=3, suppress=False, linewidth=10**6):
        return np.array2string(a, separator=", ").replace("\n", " ")


def table(rows, header=None, title: str | None = None) -> str:
    """An HTML table: ``rows`` a list of lists of already formatted cells (escaped here)."""
    out = [f'<div style="overflow-x:auto;max-width:100%"><table style="{_STYLE}">']
    if title:
        out.append(f'<caption style="text-align:left;font-weight:bold;padding:2px 0">{esc(title)}</caption>')
    if header:
        out.append("<tr>" + "".join(f'<th style="{_CELL};font-weight:bold">{esc(h)}</th>' for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f'<td style="{_CELL}">{esc(c)}</td>' for c in row) + "</tr>")
    out.append("</table></div>")
    return "".join(out)


def pairs(items, title: str | None = None) -> str:
    """A two-column table of (name, value) pairs."""
    return table([[k, v] for k, v in items], title=title)


def sparkline(series, *, log: bool = True, width: int = 260, height: int = 70, label: str = "",
              xlabel: str = "k", max_points: int = 120) -> str:
    """An inline SVG of one or more curves: ``series`` is a list of (name, x, y).

    With ``log`` the y axis is log10 (non-positive values dropped). Returns "" when nothing is drawable.
    """
    curves = []
    for name, x, y in series:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        if log:
            ok &= y > 0
        x, y = x[ok], y[ok]
        if x.size > max_points:  # evenly spaced records, the last one kept
            keep = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
            x, y = x[keep], y[keep]
        if x.size:
            curves.append((name, x, np.log10(y) if log else y))
    if not curves or sum(c[1].size for c in curves) < 2:
        return ""
    xs = np.concatenate([c[1] for c in curves])
    ys = np.concatenate([c[2] for c in curves])
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1
    pad_l, pad_b, pad_t, pad_r = 4, 14, 12, 4
    w, h = width - pad_l - pad_r, height - pad_b - pad_t
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'style="background:#fafafa;border:1px solid #ddd;font:10px sans-serif">']
    for i, (name, x, y) in enumerate(curves):
        px = pad_l + (x - x0) / (x1 - x0) * w
        py = pad_t + (1 - (y - y0) / (y1 - y0)) * h
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))
        parts.append(f'<polyline fill="none" stroke="{COLORS[i % len(COLORS)]}" stroke-width="1.5" points="{pts}">'
                     f"<title>{esc(name)}</title></polyline>")
    top = f"{10 ** y1:.3g}" if log else f"{y1:.3g}"
    bottom = f"{10 ** y0:.3g}" if log else f"{y0:.3g}"
    parts.append(f'<text x="{pad_l + 2}" y="10" fill="#555">{esc(label)} {esc(top)}</text>')
    parts.append(f'<text x="{pad_l + 2}" y="{height - 3}" fill="#555">{esc(bottom)}</text>')
    parts.append(f'<text x="{width - pad_r - 2}" y="{height - 3}" fill="#555" text-anchor="end">'
                 f"{esc(xlabel)} {num(x0, 3)}–{num(x1, 3)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def side_by_side(*pieces: str) -> str:
    shown = [p for p in pieces if p]
    return ('<div style="display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap">'
            + "".join(f'<div style="min-width:0;max-width:100%">{p}</div>' for p in shown) + "</div>")
