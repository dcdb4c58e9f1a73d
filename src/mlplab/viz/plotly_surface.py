"""The loss surface as Plotly figures: E in 3-D and as contours with the optimizer paths, a 1-D slice,
and min E on circles ‖w‖ = r (the toy's infimum at ‖w‖ → ∞).

What is drawn comes from :func:`mlplab.viz.surface.comparison_surface`; each path
point's hover says k, E, ‖∇E‖ and the step size. The slider's cursor on each path
carries ``meta = {"link": "plane" | "plane3d", "run": i}``.
"""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go

from mlplab.viz.iterates import step_label
from mlplab.viz.notation import html_math, pretty
from mlplab.viz.plotly_base import equal_axes, f32, layout, log_ticks
from mlplab.viz.style import FEW_POINTS, run_color, run_dash, run_marker
from mlplab.viz.surface import comparison_surface, infimum_curve, log_levels

__all__ = ["surface_3d", "contour", "slice_1d", "infimum"]


def _hover(run):
    """A path point's hover: k, E, ‖∇E‖ and the step size α_k or γ_k (from the point's customdata)."""
    return ("k = %{customdata[0]}<br>E = %{customdata[1]:.6g}<br>‖∇E‖ = %{customdata[2]:.4g}<br>"
            + html_math(step_label(run)) + " = %{customdata[3]:.4g}<extra>" + html.escape(pretty(run.name)) + "</extra>")


def _custom(p):
    """(n, 4) customdata of a path: k, E, ‖∇E‖, step size."""
    return np.column_stack([p.k.astype(float), p.E, p.grad, p.step])


def _logz(E, floor):
    """log10(E − floor): the colour of E on log-spaced levels."""
    return np.log10(np.maximum(np.asarray(E, dtype=float) - floor, 1e-300))


def _colorbar(levels, floor):
    """A colour bar over log10(E − floor), labelled with E − floor itself."""
    lo, hi = math.log10(levels[0]), math.log10(levels[-1])
    ticks = np.linspace(lo, hi, 6)
    return dict(title="E" if floor == 0 else f"E − ({floor:.3g})", tickvals=ticks,
                ticktext=[f"{10 ** t:.3g}" for t in ticks])


def surface_3d(comp, view=None) -> go.Figure:
    """E over the plane as a 3-D surface (log-scaled colours) with every run's path and the slider's cursor."""
    view = comparison_surface(comp) if view is None else view
    s = view.surface
    levels, floor = log_levels(s.E)
    cmin, cmax = math.log10(levels[0]), math.log10(levels[-1])
    fig = go.Figure([go.Surface(x=s.a, y=s.b, z=f32(s.E), surfacecolor=f32(_logz(s.E, floor)), cmin=cmin, cmax=cmax,
                                colorscale="Viridis", opacity=0.85, name="E on the plane" if view.projected else "E(w)",
                                colorbar=_colorbar(levels, floor), hoverinfo="skip")])
    lift = 0.005 * float(np.ptp(s.E[np.isfinite(s.E)]) or 1.0)  # a path drawn exactly on the surface flickers
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if p is None or len(p.a) < 2:
            continue
        marker = dict(size=2.5, color=run_color(i))
        if view.projected:
            marker = dict(size=3, color=f32(_logz(p.E, floor)), colorscale="Viridis", cmin=cmin, cmax=cmax,
                          line=dict(color=run_color(i), width=1))
        fig.add_trace(go.Scatter3d(x=f32(p.a), y=f32(p.b), z=f32(p.z + lift), mode="lines+markers", name=pretty(run.name),
                                   line=dict(color=run_color(i), width=5), marker=marker,
                                   customdata=f32(_custom(p)), hovertemplate=_hover(run)))
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):  # the slider's cursor
        if p is None or p.snap_a is None or len(p.a) < 2:
            continue
        fig.add_trace(go.Scatter3d(x=[p.snap_a[-1]], y=[p.snap_b[-1]], z=[p.snap_z[-1] + lift], mode="markers",
                                   name=f"{pretty(run.name)}: slider", showlegend=False, hoverinfo="skip",
                                   marker=dict(size=7, color=run_color(i), line=dict(color="black", width=2)),
                                   meta=dict(link="plane3d", run=i, lift=lift)))
    st = view.start
    if st is not None:
        fig.add_trace(go.Scatter3d(x=[st[0]], y=[st[1]], z=[st[2] + lift], mode="markers", name=pretty(comp.start_label),
                                   marker=dict(size=6, color="white", line=dict(color="black", width=2)),
                                   hovertemplate=f"{html.escape(pretty(comp.start_label))}<br>E = {st[3]:.6g}<extra></extra>"))
    title = ("Loss surface E(w) with the optimizer paths" if not view.projected else
             "E on a plane through w (the loss of the projection) with the paths")
    return layout(fig, title, height=650,
                   scene=dict(xaxis_title=pretty(s.labels[0]), yaxis_title=pretty(s.labels[1]), zaxis_title="E",
                              aspectmode="manual", aspectratio=dict(x=1, y=1, z=0.7),
                              camera=dict(eye=dict(x=-1.2, y=-1.6, z=1.1))))


def _arrows(fig, p, color, n=6):
    """Arrowheads along a path (annotations in data coordinates), log-spaced so the early steps get some."""
    m = len(p.a)
    if m < 2:
        return
    picks = np.unique(np.round(np.geomspace(1, m - 1, n)).astype(int))
    for j in picks:
        if (p.a[j], p.b[j]) == (p.a[j - 1], p.b[j - 1]):
            continue
        fig.add_annotation(x=p.a[j], y=p.b[j], ax=p.a[j - 1], ay=p.b[j - 1], xref="x", yref="y", axref="x",
                           ayref="y", showarrow=True, arrowhead=2, arrowsize=1.3, arrowwidth=1.6, arrowcolor=color,
                           text="")


def contour(comp, view=None) -> go.Figure:
    """Log-spaced contours zoomed to the paths (a button shows the full view), arrows along each path,
    start ● and end ★, equal axes where both are weights."""
    view = comparison_surface(comp) if view is None else view
    s, full = view.surface, view.full
    levels, floor = log_levels(s.E if full is None else np.concatenate([s.E.ravel(), full.E.ravel()]))
    cmin, cmax = math.log10(levels[0]), math.log10(levels[-1])
    zl, zlevels = log_levels(s.E)
    common = dict(colorscale="Viridis", zmin=cmin, zmax=cmax, hoverinfo="skip")
    lz, lzh = math.log10(zl[0]), math.log10(zl[-1])
    fig = go.Figure([go.Contour(x=s.a, y=s.b, z=f32(_logz(s.E, floor)), name="E (zoomed)", colorbar=_colorbar(levels, floor),
                                contours=dict(start=lz, end=lzh, size=(lzh - lz) / 24), **common)])
    n_bg = 1
    if full is not None:
        fig.add_trace(go.Contour(x=full.a, y=full.b, z=f32(_logz(full.E, floor)), name="E (full view)", visible=False,
                                 showscale=False, contours=dict(start=cmin, end=cmax, size=(cmax - cmin) / 24), **common))
        n_bg = 2
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if p is None or len(p.a) < 2:  # one point is no path (a saved model without history)
            continue
        few = len(p.a) <= FEW_POINTS
        marker = dict(size=6 if few else 3, color=run_color(i), symbol=run_marker(i, plotly=True))
        if view.projected:
            marker.update(color=f32(_logz(p.E, floor)), colorscale="Viridis", cmin=cmin, cmax=cmax, size=7 if few else 5,
                          line=dict(color=run_color(i), width=1.5))
        fig.add_trace(go.Scatter(x=f32(p.a), y=f32(p.b), mode="lines+markers", name=pretty(run.name),
                                 line=dict(color=run_color(i), dash=run_dash(i, plotly=True), width=2), marker=marker,
                                 customdata=f32(_custom(p)), hovertemplate=_hover(run)))
        fig.add_trace(go.Scatter(x=[p.a[-1]], y=[p.b[-1]], mode="markers", showlegend=False,
                                 name=f"{pretty(run.name)}: end", customdata=_custom(p)[-1:], hovertemplate=_hover(run),
                                 marker=dict(size=16, symbol="star", color=run_color(i), line=dict(color="black", width=1))))
        _arrows(fig, p, run_color(i))
    for i, (run, p) in enumerate(zip(comp.runs, view.paths)):
        if p is None or p.snap_a is None or len(p.a) < 2:
            continue
        fig.add_trace(go.Scatter(x=[p.snap_a[-1]], y=[p.snap_b[-1]], mode="markers", showlegend=False,
                                 name=f"{pretty(run.name)}: slider", hoverinfo="skip", meta=dict(link="plane", run=i),
                                 marker=dict(size=13, color=run_color(i), line=dict(color="white", width=2.5))))
    st = view.start
    if st is not None:
        fig.add_trace(go.Scatter(x=[st[0]], y=[st[1]], mode="markers", name=pretty(comp.start_label),
                                 hovertemplate=f"{html.escape(pretty(comp.start_label))}<br>E = {st[3]:.6g}<extra></extra>",
                                 marker=dict(size=12, color="white", line=dict(color="black", width=2))))
    zoom = dict(xaxis=dict(range=[s.a[0], s.a[-1]]), yaxis=dict(range=[s.b[0], s.b[-1]]))
    title = "Contours of E(w) with the optimizer paths" if not view.projected else \
        "Contours of E on the plane (the loss of the projection); paths coloured by their true E"
    layout(fig, title, height=620, xaxis_title=pretty(s.labels[0]), yaxis_title=pretty(s.labels[1]),
            xaxis_range=[s.a[0], s.a[-1]], yaxis_range=[s.b[0], s.b[-1]])
    if view.equal_axes:
        equal_axes(fig)
    if full is not None:
        n = len(fig.data)
        vis_zoom = [True] + ([False] if n_bg == 2 else []) + [True] * (n - n_bg)
        vis_full = [False, True] + [True] * (n - n_bg)
        fig.update_layout(updatemenus=[dict(
            type="buttons", direction="right", x=1.0, xanchor="right", y=1.08, yanchor="bottom", showactive=True,
            buttons=[dict(label="Zoom to the paths", method="update",
                          args=[{"visible": vis_zoom}, {"xaxis.range": zoom["xaxis"]["range"],
                                                         "yaxis.range": zoom["yaxis"]["range"]}]),
                     dict(label="Full view", method="update",
                          args=[{"visible": vis_full}, {"xaxis.range": [full.a[0], full.a[-1]],
                                                         "yaxis.range": [full.b[0], full.b[-1]]}])])])
    return fig


def slice_1d(comp, view=None):
    """E along the first direction of the plane through its centre (None for d = 2)."""
    view = comparison_surface(comp) if view is None else view
    if view.slice_1d is None:
        return None
    a, E = view.slice_1d
    fig = go.Figure([go.Scatter(x=a, y=E, mode="lines", name="E(w + a·u)", line=dict(color="black"))])
    fig.add_vline(x=0.0, line_dash="dot", line_color="grey")
    return layout(fig, "1-D slice of E through the final w", xaxis_title=f"a along {view.surface.labels[0]}",
                   yaxis_title="E(w + a·u)", height=380)


def infimum(comp):
    """For d = 2: min over the circle ‖w‖ = r of E against r (log-log), each run's final w marked."""
    curve = infimum_curve(comp)
    if curve is None:
        return None
    r, Emin = curve
    fig = go.Figure([go.Scatter(x=r, y=np.maximum(Emin, 1e-300), mode="lines+markers", name="min E on ‖w‖ = r",
                                line=dict(color="black"))])
    for i, run in enumerate(comp.runs):
        fig.add_trace(go.Scatter(x=[float(np.linalg.norm(run.result.params))], y=[run.result.loss], mode="markers",
                                 name=pretty(run.name), marker=dict(size=12, symbol="star", color=run_color(i))))
    fig = layout(fig, "E has no minimiser: its infimum 0 is approached only as ‖w‖ → ∞",
                  xaxis_title="r = ‖w‖", yaxis_title="min E on the circle ‖w‖ = r", xaxis_type="log",
                  yaxis_type="log", height=420)
    log_ticks(fig)
    return fig
