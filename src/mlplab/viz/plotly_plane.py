"""The input plane of a 2-D problem as Plotly figures: the decision boundary (moving with the slider)
and each hidden unit's activation over the plane."""

from __future__ import annotations

import html

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mlplab.viz.notation import html_math, pretty
from mlplab.viz.plane import decision, unit_maps
from mlplab.viz.plotly_base import f32, layout
from mlplab.viz.style import CLASS_COLORS, UNIT_COLORSCALE, unit_colorscale
from mlplab.viz.words import unit_label

__all__ = ["decision_boundary", "hidden_units"]


def decision_boundary(comp, run_index: int | None = None):
    """ŷ over the 2-D input plane (moving with the slider, with the accuracy in the title), the line ŷ = 0.5
    and the data coloured by class; None unless N_0 = 2. A constant output is said in words."""
    dd = decision(comp, run_index)
    if dd is None:
        return None
    snaps = dd.snaps
    # with the slider, the background ŷ(x) and the line ŷ = 0.5 are both drawn at the slider's iterate (the
    # snapshot grid, the final iterate first) and move with it, with the title's accuracy
    if snaps is not None:
        gx, gy, P0, link = snaps["xs"], snaps["ys"], snaps["frames"][-1][0], dict(link="decision", run=dd.run_index)
    else:
        gx, gy, P0, link = dd.xs, dd.ys, dd.P, None
    fig = go.Figure([go.Heatmap(x=gx, y=gy, z=f32(P0), colorscale=UNIT_COLORSCALE, zmin=0, zmax=1, meta=link,
                                opacity=0.55,  # light enough for the data's class colours to stand out
                                name="ŷ(x)", colorbar=dict(title="ŷ"),
                                hovertemplate="x₁ = %{x:.3g}<br>x₂ = %{y:.3g}<br>ŷ = %{z:.4g}<extra></extra>")])
    if dd.constant is None or snaps is not None:
        fig.add_trace(go.Contour(x=gx, y=gy, z=f32(P0), contours=dict(start=0.5, end=0.5, size=1, coloring="lines"),
                                 line=dict(color="black", width=2.5), colorscale=[[0, "black"], [1, "black"]],
                                 showscale=False, name="ŷ = 0.5", hoverinfo="skip", meta=link,
                                 showlegend=True))
    classes = sorted(set(dd.y.tolist()))
    for c in classes:
        sel = dd.y == c
        col = CLASS_COLORS[int(c) % len(CLASS_COLORS)]
        fig.add_trace(go.Scatter(x=dd.X[sel, 0], y=dd.X[sel, 1], mode="markers", name=f"class y = {c:g}",
                                 marker=dict(size=9 if len(dd.X) > 50 else 14, color=col,
                                             symbol="circle" if c else "x", line=dict(color="white", width=1)),
                                 hovertemplate=f"y = {c:g}<br>x₁ = %{{x:.3g}}<br>x₂ = %{{y:.3g}}<extra></extra>"))
    titles = None
    if snaps is not None:
        titles = [dd.title(P, a, c, where="slider's iterate") for P, a, c in snaps["frames"]]
    fig = layout(fig, dd.title(), xaxis_title="x₁", yaxis_title="x₂", height=560)
    fig.update_layout(meta=dict(titles=titles) if titles else None)
    fig.update_xaxes(range=[dd.xs[0], dd.xs[-1]], constrain="domain")
    fig.update_yaxes(range=[dd.ys[0], dd.ys[-1]], scaleanchor="x", scaleratio=1, constrain="domain")
    if dd.constant and snaps is None:  # (with the slider, the title says it, iterate by iterate)
        fig.add_annotation(text=dd.constant.capitalize(), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(size=18, color="black"), bgcolor="rgba(255,255,255,0.85)")
    return fig


def hidden_units(comp):
    """What each hidden unit a^ℓ_i computes over the input plane at the final w (nets up to 64 hidden units),
    every map of one activation on that activation's one fixed colour scale, with its colour bar."""
    um = unit_maps(comp, decision(comp))
    if um is None:
        return None
    xs, ys, maps, rows, cols, acts, ranges = um.xs, um.ys, um.maps, um.rows, um.cols, um.activations, um.ranges
    axis_of = {name: "coloraxis" if k == 0 else f"coloraxis{k + 1}" for k, name in enumerate(ranges)}
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[html_math(unit_label(ell, i)) for ell, i, _ in maps],
                        horizontal_spacing=0.02, vertical_spacing=0.06 if rows > 1 else 0.1)
    for j, (ell, i, A) in enumerate(maps):
        fig.add_trace(go.Heatmap(x=xs, y=ys, z=f32(A), coloraxis=axis_of[acts[ell - 1]],
                                 hovertemplate=html_math(unit_label(ell, i)) + " = %{z:.3g}<extra></extra>"),
                      row=j // cols + 1, col=j % cols + 1)
    for k, (name, (lo, hi)) in enumerate(ranges.items()):  # one fixed scale per activation, with its colour bar
        fig.layout[axis_of[name]] = dict(cmin=lo, cmax=hi, colorscale=unit_colorscale(lo, hi),
                                         colorbar=dict(title=dict(text=f"{name}: a", side="right"), len=0.9,
                                                       x=1.02 + 0.12 * k, thickness=12))
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, constrain="domain")
    for j in range(len(maps)):  # square cells: x₁ and x₂ drawn to the same scale
        fig.layout[f"yaxis{j + 1 if j else ''}"].update(scaleanchor=f"x{j + 1 if j else ''}", scaleratio=1)
    layout(fig, f"Hidden units of {html.escape(pretty(um.run.name))} over the input plane at the final w",
            height=150 + 140 * rows, showlegend=False)
    fig.update_layout(margin=dict(r=60 + 70 * len(ranges)))
    return fig

