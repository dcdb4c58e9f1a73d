"""What every matplotlib figure of a comparison shares: the caption under it, decade-labelled log axes.

Figures are built without pyplot (``matplotlib.figure.Figure``: no global
state, no GUI backend; ``fig.savefig`` renders with Agg).
"""

from __future__ import annotations

import math
import textwrap

from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

from mlplab.viz.words import CAPTIONS

__all__ = ["caption", "log_axis", "decade_ticks"]


def caption(fig: Figure, name: str, text: str | None = None, offset: float = 0) -> None:
    """The one-line caption under the figure, saying how to read it."""
    text = CAPTIONS.get(name, "") if text is None else text
    if not text or not fig.axes:
        return
    width = max(60, int(fig.get_figwidth() * 15))  # characters per line at this font size
    style = dict(ha="center", va="top", fontsize=7.5, color="#444", style="italic")
    if name == "hidden_units":  # a grid of small maps: under the whole figure
        fig.text(0.5, 0.0, textwrap.fill(text, width), **style)
        return
    ax = fig.axes[0]
    two = name.startswith("convergence")  # two panels side by side: centred under both
    ax.annotate(textwrap.fill(text, width), xy=(1.1 if two else 0.5, 0), xycoords="axes fraction",
                xytext=(0, -(38 + offset)), textcoords="offset points", annotation_clip=False, **style)


def log_axis(ax, which="y"):
    """Decade labels only: minor ticks unlabelled unless the axis spans less than a decade."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = (ax.get_ylim() if which == "y" else ax.get_xlim())
    axis.set_major_locator(LogLocator(base=10, numticks=12))
    if lo > 0 and hi / lo > 10:
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def decade_ticks(cb, levels) -> None:
    """Colour-bar ticks at the decades (and the ends) of log-spaced levels, labelled 10⁻³ style."""
    lo, hi = math.log10(levels[0]), math.log10(levels[-1])
    ticks = [10.0 ** e for e in range(math.ceil(lo), math.floor(hi) + 1)]
    if len(ticks) < 3:
        ticks = sorted(set(ticks) | {float(f"{levels[0]:.2g}"), float(f"{levels[-1]:.2g}")})
    cb.set_ticks(ticks)
    cb.set_ticklabels([LogFormatterSciNotation()(t) if math.log10(t).is_integer() else f"{t:.2g}" for t in ticks])
    cb.ax.minorticks_off()

