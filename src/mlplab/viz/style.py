"""One set of styles: each run's colour, dash and marker, the class colours, the colour scales.

Every style is given for both drawing libraries (matplotlib name, Plotly name), so a
run looks the same in a PNG, on the report page and in the playground.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RUN_COLORS", "RUN_DASHES", "RUN_MARKERS", "FEW_POINTS", "run_color", "run_dash", "run_marker",
           "CLASS_COLORS", "TAB10", "OTHER_STYLES", "VERDICT_SHADES", "BOUNDED_RANGES", "NONNEGATIVE",
           "UNIT_COLORSCALE", "UNIT_COLORSCALE_POSITIVE", "unit_range", "unit_ranges", "unit_colorscale", "unit_cmap"]

RUN_COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
RUN_DASHES = [("-", "solid"), ("--", "dash"), (":", "dot"), ("-.", "dashdot"), ((0, (5, 1, 1, 1, 1, 1)), "longdashdot"),
              ((0, (8, 3)), "longdash")]
RUN_MARKERS = [("o", "circle"), ("s", "square"), ("^", "triangle-up"), ("D", "diamond"), ("v", "triangle-down"),
               ("x", "x"), ("P", "cross"), ("*", "star")]
FEW_POINTS = 30  # a run with at most this many records gets a marker on every point


def run_color(i: int) -> str:
    """The colour of run i in every figure (matplotlib and Plotly alike)."""
    return RUN_COLORS[i % len(RUN_COLORS)]


def run_dash(i: int, plotly: bool = False):
    """The line style of run i (matplotlib ``linestyle``, or Plotly ``dash`` name)."""
    return RUN_DASHES[i % len(RUN_DASHES)][1 if plotly else 0]


def run_marker(i: int, plotly: bool = False) -> str:
    """The marker of run i (matplotlib marker, or Plotly ``symbol`` name)."""
    return RUN_MARKERS[i % len(RUN_MARKERS)][1 if plotly else 0]


# the classes of 2-D data in the report and the PNGs (y = 0 blue, y = 1 red, ...)
CLASS_COLORS = ["#1f5fbf", "#c8302b", "#2a9d3a", "#8e44ad", "#e67e22"]
# matplotlib's tab10: the playground's classes (up to 10)
TAB10 = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
# the playground's other runs drawn beside the main one: (colour, Plotly dash)
OTHER_STYLES = [("#2ca02c", "dash"), ("#9467bd", "dot")]
# the layers a gradient-flow verdict names, shaded in its colour
VERDICT_SHADES = {"vanishing": "#1f77b4", "exploding": "#d62728"}

# --- hidden units: one fixed colour scale per activation ------------------------------------------

BOUNDED_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
NONNEGATIVE = frozenset({"relu", "softplus", "exp"})
# blue (low) … white (the middle of the range) … red (high), the same for Plotly and matplotlib ("RdBu_r")
UNIT_COLORSCALE = [[0.0, "#2166ac"], [0.25, "#67a9cf"], [0.5, "#f7f7f7"], [0.75, "#ef8a62"], [1.0, "#b2182b"]]
# non-negative activations (ReLU, softplus): 0 is white, the largest value red ("Reds")
UNIT_COLORSCALE_POSITIVE = [[0.0, "#f7f7f7"], [0.5, "#ef8a62"], [1.0, "#b2182b"]]


def unit_range(activation: str, arrays) -> tuple[float, float]:
    """The one colour range every hidden-unit map of ``activation`` is painted on.

    The activation's own range where it is bounded (sigmoid [0, 1], tanh [−1, 1]), so a unit stuck
    at +1 and one stuck at −1 get the two ends of the scale and 0.92 is read as nearly +1; otherwise
    the range of all maps of that activation together: from 0 for non-negative activations (ReLU,
    softplus), symmetric about 0 for the others — never one range per map."""
    if activation in BOUNDED_RANGES:
        return BOUNDED_RANGES[activation]
    vals = [np.asarray(a, dtype=float) for a in arrays]
    finite = np.concatenate([v[np.isfinite(v)].ravel() for v in vals]) if vals else np.zeros(0)
    top = float(np.max(np.abs(finite))) if finite.size else 1.0
    top = top if top > 0 else 1.0
    return (0.0, top) if activation in NONNEGATIVE else (-top, top)


def unit_ranges(activations, maps) -> dict[str, tuple[float, float]]:
    """{activation: (lo, hi)} for maps given as (ℓ, i, A) with ``activations[ℓ − 1]`` the layer's φ."""
    names = {}
    for ell, _, A in maps:
        names.setdefault(activations[ell - 1], []).append(A)
    return {name: unit_range(name, arrs) for name, arrs in names.items()}


def unit_colorscale(lo: float, hi: float):
    """The Plotly colour scale of a unit range: blue … white … red, or white … red for a range from 0."""
    return UNIT_COLORSCALE_POSITIVE if lo == 0.0 else UNIT_COLORSCALE


def unit_cmap(lo: float, hi: float) -> str:
    """The same scale as a matplotlib colour map name."""
    return "Reds" if lo == 0.0 else "RdBu_r"
