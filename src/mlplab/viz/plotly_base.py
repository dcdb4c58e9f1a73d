"""The look every Plotly figure of a comparison shares: layout, log axes, equal axes, compact arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["layout", "log_ticks", "equal_axes", "f32"]


def layout(fig, title, **kw):
    """Title, white template, the legend under the plot, whole names in hovers; powers of ten on both axes."""
    fig.update_layout(title=dict(text=title, font=dict(size=15)), template="plotly_white",
                      margin=dict(l=60, r=20, t=60, b=50),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0),
                      hoverlabel=dict(namelength=-1, align="left"), **kw)  # whole names in hovers, not 15 chars
    fig.update_xaxes(exponentformat="power")
    fig.update_yaxes(exponentformat="power")
    return fig


def log_ticks(fig, **where):
    """Log axes labelled at the decades only (no printed minor labels)."""
    fig.update_yaxes(dtick=1, minor=dict(showgrid=False), **where)


def equal_axes(fig):
    """One unit as long on both axes; the plot area shrinks to fit (the ranges stay those asked for)."""
    fig.update_xaxes(constrain="domain")
    fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain")


def f32(a):
    """float32 grids: half the bytes in the page, far below what a colour can show."""
    return np.asarray(a, dtype=np.float32)
