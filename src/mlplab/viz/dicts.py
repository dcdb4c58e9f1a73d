"""The playground's figures as plain Plotly dicts (``{"data": [...], "layout": {...}}``) built from arrays.

Data in, figure out: no server, session or network object is needed, only
arrays, so ``plotly.io.to_html`` or ``go.Figure(fig)`` accept these dicts as they
are. Every function returns JSON-able values: NumPy arrays become lists and
non-finite numbers become None (a gap in the curve). Labels are written in the
lecture's notation; :func:`mlplab.viz.notation.htmlize` turns a figure's labels
into Plotly's HTML. The styles (class colours, the hidden units' colour scale
per activation) are :mod:`mlplab.viz.style`'s.
"""

from __future__ import annotations

import numpy as np

from mlplab.viz.style import OTHER_STYLES, TAB10, unit_colorscale, unit_range

__all__ = ["clean", "convergence", "step_sizes", "decision_boundary", "regression_fit", "activation_maps",
           "layer_gradients", "loss_surface", "line_search"]

_MARGIN = {"l": 55, "r": 15, "t": 40, "b": 45}


def clean(a, digits: int | None = None):
    """A list (nested for 2-D) of floats with None for non-finite entries; rounded to ``digits`` if given."""
    arr = np.asarray(a, dtype=np.float64)
    if digits is not None:
        with np.errstate(all="ignore"):
            arr = np.round(arr, digits)
    finite = np.isfinite(arr)
    if finite.all():
        return arr.tolist()
    obj = arr.astype(object)
    obj[~finite] = None
    return obj.tolist()


def _yaxis(title: str, values, log: bool, **kw) -> dict:
    """A y axis; on a log scale its labels are readable at any span: one per decade, written 10ⁿ, when the
    values span a decade or more; otherwise about five values between the smallest and the largest,
    each written out with 3 significant digits (Plotly's own labels of a short log axis are its minor
    ticks' digits "2 5 2 5", which overprint and cannot be read without the decade)."""
    axis = {"title": {"text": title}, "type": "log" if log else "linear", "exponentformat": "power", **kw}
    if log:
        v = np.asarray([x for x in values if x is not None], dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        span = float(np.log10(v.max() / v.min())) if v.size else 0.0
        if span >= 1.0 or not v.size:  # (no values yet: decades, not Plotly's "2 5 2 5")
            axis["dtick"] = 1
        elif v.size:
            lo, hi = float(v.min()), float(v.max())
            ticks = (np.unique([float(f"{t:.2g}") for t in np.geomspace(lo, hi, 5)]) if hi > lo * 1.01
                     else np.array([float(f"{lo:.3g}")]))  # one value: one label
            axis.update(tickmode="array", tickvals=ticks.tolist(), ticktext=[f"{t:.3g}" for t in ticks])
    return axis


def _layout(title: str, **kw) -> dict:
    out = {"title": {"text": title, "font": {"size": 14}}, "margin": dict(_MARGIN), "showlegend": True,
           "legend": {"orientation": "h", "y": -0.25, "font": {"size": 11}}, "uirevision": "keep",
           # hovers show the whole trace name (Plotly cuts names at 15 characters) and stay inside the panel
           "hoverlabel": {"namelength": -1, "align": "left", "font": {"size": 11}}, "hovermode": "closest"}
    out.update(kw)
    return out



def convergence(k, cost, loss, grad_norm, *, x: str = "iteration", log: bool = True, marker_k=None,
                label: str | None = None, others=(), test_loss=None, test_label: str = "test E") -> dict:
    """E(w^k) and ‖∇E(w^k)‖ over the iteration k or the cost (sample-gradient equivalents).

    Two rows sharing the x axis; ``log`` puts both y axes on a log scale (the
    lecture's linear/sublinear rates are straight lines there). ``marker_k``: a
    vertical line at that iteration (the one shown when scrubbing). ``others``: more runs drawn
    side by side, each ``(label, k, cost, loss, grad_norm)``; ``label`` names the main run then.
    ``test_loss``: the loss on held-out samples at the same iterates, drawn dashed beside E
    (named ``test_label``)."""
    xs = np.asarray(k if x == "iteration" else cost, dtype=float)
    xlabel = "iteration k" if x == "iteration" else "cost (sample-gradient equivalents)"
    data = [
        {"type": "scatter", "mode": "lines", "name": "E(w^k)", "x": clean(xs), "y": clean(loss),
         "line": {"color": "#1f77b4"}, "xaxis": "x", "yaxis": "y"},
        {"type": "scatter", "mode": "lines", "name": "‖∇E(w^k)‖", "x": clean(xs), "y": clean(grad_norm),
         "line": {"color": "#d62728"}, "xaxis": "x", "yaxis": "y2"},
    ]
    if label:
        data[0]["name"], data[1]["name"] = f"E — {label}", f"‖∇E‖ — {label}"
        data[1]["line"] = {"color": "#1f77b4", "dash": "solid", "width": 1}
    if test_loss is not None:
        data.append({"type": "scatter", "mode": "lines", "name": test_label, "x": clean(xs), "y": clean(test_loss),
                     "line": {"color": "#ff7f0e", "dash": "dash"}, "xaxis": "x", "yaxis": "y"})
    for i, (olabel, ok, ocost, oloss, ograd) in enumerate(others):
        color, dash = OTHER_STYLES[i % len(OTHER_STYLES)]
        ox = clean(ok if x == "iteration" else ocost)
        data += [{"type": "scatter", "mode": "lines", "name": f"E — {olabel}", "x": ox, "y": clean(oloss),
                  "line": {"color": color, "dash": dash}, "xaxis": "x", "yaxis": "y"},
                 {"type": "scatter", "mode": "lines", "name": f"‖∇E‖ — {olabel}", "x": ox, "y": clean(ograd),
                  "line": {"color": color, "dash": dash, "width": 1}, "xaxis": "x", "yaxis": "y2",
                  "showlegend": False}]
    every_E = [v for t in data if t["yaxis"] == "y" for v in t["y"]]
    every_g = [v for t in data if t["yaxis"] == "y2" for v in t["y"]]
    layout = _layout("E and ‖∇E‖", xaxis={"title": {"text": xlabel}, "anchor": "y2"},
                     yaxis=_yaxis("E", every_E, log, domain=[0.55, 1.0]),
                     yaxis2=_yaxis("‖∇E‖", every_g, log, domain=[0.0, 0.45]))
    if marker_k is not None and len(xs):
        kk = np.asarray(k)
        i = int(np.argmin(np.abs(kk - marker_k)))
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": float(xs[i]), "x1": float(xs[i]),
                             "y0": 0, "y1": 1, "line": {"dash": "dot", "color": "#555"}}]
    return {"data": data, "layout": layout}


def step_sizes(k, step_size, *, label: str = "α^k", note: str = "", log: bool = True) -> dict:
    """The step size taken from each w^k (α_k of GD, γ_k of SGD); ``note`` is a caption (e.g. Robbins–Monro)."""
    data = [{"type": "scatter", "mode": "lines+markers" if len(k) <= 60 else "lines", "name": label,
             "x": clean(k), "y": clean(step_size), "line": {"color": "#2ca02c"}, "marker": {"size": 4}}]
    layout = _layout(f"step size {label}", xaxis={"title": {"text": "iteration k"}},
                     yaxis=_yaxis(label, data[0]["y"], log), showlegend=False)
    if note:
        layout["annotations"] = [{"text": note, "xref": "paper", "yref": "paper", "x": 0, "y": 1.0,
                                  "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                                  "font": {"size": 10, "color": "#444"}}]
    return {"data": data, "layout": layout}


def _scatter_classes(X, y, n_classes):
    traces = []
    for c in range(max(n_classes, 1)):
        m = y == c
        traces.append({"type": "scatter", "mode": "markers", "name": f"class {c}", "x": clean(X[m, 0]),
                       "y": clean(X[m, 1]), "marker": {"color": TAB10[c % 10], "size": 7,
                                                        "line": {"color": "white", "width": 1}}})
    return traces


def decision_boundary(xs, ys, P, X, y, *, n_classes: int = 2, title: str = "decision boundary") -> dict:
    """The network's output over the plane with the data on top.

    ``P``: (n_y, n_x) — the probability of class 1 for one output unit (0.5
    contour drawn), or (n_y, n_x, K) class probabilities for softmax (the arg-max
    class coloured, its probability as the shade)."""
    X, y, P = np.asarray(X, float), np.asarray(y), np.asarray(P, float)
    if P.ndim == 2:
        data = [{"type": "heatmap", "x": clean(xs, 4), "y": clean(ys, 4), "z": clean(P, 3), "zmin": 0, "zmax": 1,
                 "colorscale": [[0, "#c6dbef"], [0.5, "#ffffff"], [1, "#fcbba1"]], "showscale": False,
                 "hoverinfo": "skip", "name": "ŷ"},
                {"type": "contour", "x": clean(xs, 4), "y": clean(ys, 4), "z": clean(P, 3), "showscale": False,
                 "contours": {"start": 0.5, "end": 0.5, "size": 1, "coloring": "none"},
                 "line": {"color": "black", "width": 2}, "name": "ŷ = 0.5", "hoverinfo": "skip",
                 "showlegend": True}]
    else:
        cls = P.argmax(axis=2)
        conf = P.max(axis=2)
        K = P.shape[2]
        # one colour band per class, shaded by confidence: value = class + confidence
        z = cls + np.clip(conf, 0, 0.999)
        scale = []
        for c in range(K):
            col = TAB10[c % 10]
            scale += [[c / K, "#ffffff"], [(c + 1) / K - 1e-6, col]]
        scale[-1][0] = 1.0
        data = [{"type": "heatmap", "x": clean(xs, 5), "y": clean(ys, 5), "z": clean(z, 3), "zmin": 0, "zmax": K,
                 "colorscale": scale, "opacity": 0.45, "showscale": False, "hoverinfo": "skip", "name": "arg max"}]
    data += _scatter_classes(X, y, n_classes)
    layout = _layout(title, xaxis={"title": {"text": "x1"}, "range": [float(xs[0]), float(xs[-1])], "zeroline": False,
                                   "constrain": "domain"},
                     yaxis={"title": {"text": "x2"}, "range": [float(ys[0]), float(ys[-1])], "zeroline": False,
                            "scaleanchor": "x", "scaleratio": 1, "constrain": "domain"})
    return {"data": data, "layout": layout}


def regression_fit(x_grid, y_grid, x, y, *, title: str = "fitted curve") -> dict:
    """A 1-D regression: the data and the network's curve ŷ(x)."""
    data = [{"type": "scatter", "mode": "markers", "name": "data", "x": clean(x), "y": clean(y),
             "marker": {"color": "#1f77b4", "size": 6}},
            {"type": "scatter", "mode": "lines", "name": "ŷ(x)", "x": clean(x_grid), "y": clean(y_grid),
             "line": {"color": "#d62728", "width": 3}}]
    return {"data": data, "layout": _layout(title, xaxis={"title": {"text": "x"}}, yaxis={"title": {"text": "y"}})}


def activation_maps(xs, ys, maps, labels, *, columns: int = 8, title: str = "hidden units a^ℓ_i(x)",
                    activations=None, layers=None, total: int | None = None) -> dict:
    """Small heat maps, one per hidden unit: its activation over the input plane.

    ``maps``: list of (n_y, n_x) arrays; ``labels``: their titles (e.g. "a^1_3"); ``activations``: each
    map's φ name and ``layers``: each map's layer ℓ. Every map of one activation is painted on that
    activation's one fixed scale (:func:`mlplab.viz.style.unit_range`: tanh −1…1, sigmoid 0…1), shown
    by one colour bar; each layer starts a new row. ``total``: how many hidden units the network has
    (the title says how many are not drawn when that is more than ``len(maps)``)."""
    n = len(maps)
    if n == 0:
        return {"data": [], "layout": _layout(title + " — no hidden layer", showlegend=False,
                                              xaxis={"visible": False}, yaxis={"visible": False})}
    activations = list(activations) if activations is not None else ["identity"] * n
    layers = list(layers) if layers is not None else [1] * n
    if total is not None and total > n:
        title += f" — the first {n} of {total} units drawn ({total - n} not shown)"
    else:
        title += f" — all {n} units"
    # one colour axis per activation, its fixed range
    ranges = {}
    for name in dict.fromkeys(activations):
        ranges[name] = unit_range(name, [m for m, a in zip(maps, activations) if a == name])
    axis_of = {name: "coloraxis" if k == 0 else f"coloraxis{k + 1}" for k, name in enumerate(ranges)}
    # rows: each layer's units in rows of `columns`
    slots, r = [], -1
    prev_layer, c = None, columns
    for ell in layers:
        if ell != prev_layer or c == columns:
            r, c = r + 1, 0
        slots.append((r, c))
        c += 1
        prev_layer = ell
    rows = r + 1
    cols = columns  # a fixed grid: a layer of 2 units is not stretched across the panel
    bars = len(ranges)
    right = 0.1 * bars  # room for the colour bars
    gap = 0.015
    w = (1 - right - gap * (cols - 1)) / cols
    cell_px = 88
    height = 50 + rows * (cell_px + 18)
    h = cell_px / (height - 50)
    hgap = 18 / (height - 50)
    data, layout = [], _layout(title, showlegend=False, height=height,
                               margin={"l": 10, "r": 10, "t": 40, "b": 10})
    annotations = []
    for i, (m, lab, act) in enumerate(zip(maps, labels, activations)):
        r, c = slots[i]
        ax = "" if i == 0 else str(i + 1)
        x0, y1 = c * (w + gap), 1 - r * (h + hgap) - hgap * 0.9
        data.append({"type": "heatmap", "x": clean(xs, 3), "y": clean(ys, 3), "z": clean(m, 3),
                     "coloraxis": axis_of[act], "name": lab,
                     "hovertemplate": f"{lab} = %{{z:.3g}} ({act})<extra></extra>",
                     "xaxis": "x" + ax, "yaxis": "y" + ax})
        layout["xaxis" + ax] = {"domain": [x0, x0 + w], "visible": False, "anchor": "y" + ax}
        layout["yaxis" + ax] = {"domain": [max(y1 - h, 0.0), y1], "visible": False, "anchor": "x" + ax}
        annotations.append({"text": lab, "xref": "paper", "yref": "paper", "x": x0 + w / 2, "y": y1,
                            "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 10}})
    for k, (name, (lo, hi)) in enumerate(ranges.items()):
        layout[axis_of[name]] = {"cmin": lo, "cmax": hi, "colorscale": unit_colorscale(lo, hi),
                                 "colorbar": {"title": {"text": f"{name}", "side": "right"}, "thickness": 10,
                                              "len": min(1.0, max(0.3, 220 / height)), "y": 1.0, "yanchor": "top",
                                              "x": 1 - right + 0.1 * k + 0.01, "xanchor": "left"}}
    layout["annotations"] = annotations
    return {"data": data, "layout": layout}


def layer_gradients(layers, grad_norm, dphi, delta, a_prev, *, verdict: str = "", sample_grad=None) -> dict:
    """Per layer ℓ: the numbers the gradient-flow verdict is decided from, and ‖∇_{W^ℓ}E‖_F.

    ``sample_grad``: the medians over the samples of ‖∇_{W^ℓ} e^s‖ — the verdict's basis, drawn as the
    bars (then ‖∇_{W^ℓ}E‖ of the summed gradient is drawn as diamonds beside them); without it the bars
    are ‖∇_{W^ℓ}E‖. Also the medians of the lecture's bound factors ‖Diag(φ′(z^ℓ))‖,
    ‖V^{ℓ+1}⋯V^L δ^L‖ = ‖δ^ℓ‖ and ‖a^{ℓ−1}‖ (log scale: vanishing or exploding gradients show as a
    slope across layers)."""
    names = [f"ℓ={ell}" for ell in layers]
    if sample_grad is not None:
        data = [{"type": "bar", "name": "median ‖∇_{W^ℓ} e^s‖ (the verdict's numbers)", "x": names,
                 "y": clean(sample_grad), "marker": {"color": "#d62728"},
                 "hovertemplate": "%{x}: median ‖∇e‖ = %{y:.3g}<extra></extra>"},
                {"type": "scatter", "mode": "markers", "name": "‖∇_{W^ℓ}E‖ (all samples summed)", "x": names,
                 "y": clean(grad_norm), "marker": {"symbol": "diamond", "size": 10, "color": "#7f7f7f"},
                 "hovertemplate": "%{x}: ‖∇E‖ = %{y:.3g}<extra></extra>"}]
    else:
        data = [{"type": "bar", "name": "‖∇_{W^ℓ}E‖", "x": names, "y": clean(grad_norm),
                 "marker": {"color": "#d62728"}}]
    data += [{"type": "scatter", "mode": "lines+markers", "name": "‖Diag φ′(z^ℓ)‖ (median)", "x": names,
              "y": clean(dphi), "line": {"dash": "dot"}},
             {"type": "scatter", "mode": "lines+markers", "name": "‖δ^ℓ‖ = ‖V^{ℓ+1}⋯V^L δ^L‖ (median)", "x": names,
              "y": clean(delta)},
             {"type": "scatter", "mode": "lines+markers", "name": "‖a^{ℓ−1}‖ (median)", "x": names,
              "y": clean(a_prev), "line": {"dash": "dash"}}]
    layout = _layout("gradient flow per layer", yaxis={"type": "log", "exponentformat": "power"},
                     xaxis={"title": {"text": "layer"}})
    if verdict:
        layout["annotations"] = [{"text": verdict, "xref": "paper", "yref": "paper", "x": 0, "y": 1.0,
                                  "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                                  "font": {"size": 10, "color": "#444"}}]
    return {"data": data, "layout": layout}


def loss_surface(a, b, E, path_a, path_b, *, labels=("w11", "w12"), exact: bool = True, note: str = "",
                 others=(), path_E=None) -> dict:
    """E over a plane of weight space (contours, log-spaced) with the path of the iterates on it.

    ``exact``: the plane holds every weight (the toy model's (w11, w12)); otherwise it is a
    plane through the trajectory — the contours are then the loss of the projection onto the
    plane, not the run's E, and ``path_E`` (the true E(w^k) of each path point) colours the path's
    markers on the contours' own scale, so a point whose true E differs from the contour under it
    shows it (and its hover says both)."""
    E = np.asarray(E, float)
    with np.errstate(all="ignore"):
        logE = np.log10(np.maximum(E, 1e-300))
    title = ("loss surface E(w11, w12) — exact" if exact
             else "E on a plane through w^k: the loss of the projection (a slice); path at its true E")
    finite = logE[np.isfinite(logE)]
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    path_marker = {"size": 4, "color": "white"}
    path_hover = None
    custom = None
    if path_E is not None and not exact:
        with np.errstate(all="ignore"):
            lp = np.log10(np.maximum(np.asarray(path_E, float), 1e-300))
        zmin, zmax = min(zmin, float(np.nanmin(lp))), max(zmax, float(np.nanmax(lp)))
        path_marker = {"size": 7, "color": clean(lp, 4), "colorscale": "Viridis", "cmin": zmin, "cmax": zmax,
                       "line": {"color": "white", "width": 1.5}}
        custom = clean(np.asarray(path_E, float))
        path_hover = "true E(w) = %{customdata:.6g} (the contours show the projection's E)<extra></extra>"
    data = [{"type": "contour", "x": clean(a, 6), "y": clean(b, 6), "z": clean(logE, 4), "ncontours": 25,
             "zmin": zmin, "zmax": zmax, "zauto": False,
             "colorscale": "Viridis", "colorbar": {"title": {"text": "log10 E"}, "thickness": 12},
             "name": "log10 E" if exact else "log10 E of the projection",
             "hovertemplate": "%{x:.3g}, %{y:.3g}: log10 E = %{z:.3g}" + ("" if exact else " (projection)")
                              + "<extra></extra>"},
            {"type": "scatter", "mode": "lines+markers", "name": "w^0 … w^k" + ("" if exact else " (true E)"),
             "x": clean(path_a), "y": clean(path_b), "line": {"color": "white", "width": 2}, "marker": path_marker}]
    if custom is not None:
        data[1]["customdata"] = custom
        data[1]["hovertemplate"] = path_hover
    data.append({"type": "scatter", "mode": "markers", "name": "w^k", "x": clean(path_a[-1:]), "y": clean(path_b[-1:]),
                 "marker": {"size": 11, "color": "#d62728", "symbol": "x"}})
    for i, (olabel, oa, ob) in enumerate(others):  # more runs' paths: (label, a, b)
        color, dash = OTHER_STYLES[i % len(OTHER_STYLES)]
        data.append({"type": "scatter", "mode": "lines+markers", "name": olabel, "x": clean(oa), "y": clean(ob),
                     "line": {"color": color, "width": 2, "dash": dash}, "marker": {"size": 3, "color": color}})
    layout = _layout(title, xaxis={"title": {"text": labels[0]}}, yaxis={"title": {"text": labels[1]}})
    if note:
        layout["annotations"] = [{"text": note, "xref": "paper", "yref": "paper", "x": 0, "y": 1.0,
                                  "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                                  "font": {"size": 10, "color": "#444"}}]
    return {"data": data, "layout": layout}


def line_search(alpha, phi, alpha_k, phi_k, *, k: int, rule: str = "exact", phi0: float | None = None,
                slope0: float | None = None, c1: float = 1e-4, note: str = "") -> dict:
    """The lecture's φ(α) = E(w^k + α d^k) over α with the chosen step α_k marked.

    For Armijo the sufficient-decrease line φ(0) + c₁ α φ′(0) is drawn too."""
    data = [{"type": "scatter", "mode": "lines", "name": "φ(α) = E(w^k + α d^k)", "x": clean(alpha),
             "y": clean(phi), "line": {"color": "#1f77b4", "width": 2}},
            {"type": "scatter", "mode": "markers", "name": f"α^{k} = {alpha_k:.4g}", "x": [alpha_k],
             "y": clean([phi_k]), "marker": {"size": 12, "color": "#d62728", "symbol": "circle"}}]
    if rule == "armijo" and phi0 is not None and slope0 is not None:
        al = np.asarray(alpha, float)
        data.append({"type": "scatter", "mode": "lines", "name": "φ(0) + c₁ α φ′(0)", "x": clean(al),
                     "y": clean(phi0 + c1 * al * slope0), "line": {"dash": "dash", "color": "#7f7f7f"}})
    layout = _layout(f"line search of step {k}: φ(α) with α^{k} marked",
                     xaxis={"title": {"text": "α"}}, yaxis={"title": {"text": "φ(α)"}, "exponentformat": "e"})
    if note:
        layout["annotations"] = [{"text": note, "xref": "paper", "yref": "paper", "x": 0, "y": 1.0,
                                  "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                                  "font": {"size": 10, "color": "#444"}}]
    return {"data": data, "layout": layout}
