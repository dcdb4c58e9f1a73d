"""What the page draws of a session at w^k: one JSON-ready frame, figures included.

A frame holds the session's status (:meth:`Session.status`), the iterate shown (live w^k or a
snapshot while scrubbing) with E and ‖∇E‖, and the panels: convergence and step sizes from the
(thinned) records, the decision boundary or fitted curve, the hidden units a^ℓ_i over the input
plane, the gradient flow per layer, the loss surface and φ(α) (:mod:`.landscape`), and the
network diagram. Plotly figure dicts come from :mod:`mlplab.playground.figures`.
"""

from __future__ import annotations

import math

import numpy as np

from mlplab.analysis.gradflow import diagnose_gradients, layer_flows
from mlplab.optim import GD
from mlplab.playground import figures
from mlplab.playground.config import OPTIMIZERS
from mlplab.playground.history import spread
from mlplab.playground.landscape import phi_panel, surface_figure

GRID = 41  # decision boundary grid (per axis)
MAP_GRID = 24  # hidden-unit maps
MAX_MAPS = 128  # hidden-unit maps drawn (the figure says how many more there are)
PLOT_POINTS = 400  # history points drawn (evenly over the kept records; the latest always)
MAX_EDGES = 400  # weights drawn in the network diagram: the largest |w| when there are more


def build_frame(s, view_k: int | None = None, surface: bool = True) -> dict:
    """Everything the page draws of session ``s``, at w^k (live) or at the snapshot at or before ``view_k``."""
    live = view_k is None or view_k >= s.k
    k, w = (s.k, s.w) if live else s.snapshots.at_or_before(int(view_k))
    rec = s.records.get(k)
    if rec is None:
        E, g = s.problem.value_and_grad(w)
        E, gn = float(E), float(np.linalg.norm(g))
    else:
        E, gn = rec["loss"], rec["grad_norm"]
    out = s.status()
    out.update({"type": "frame", "k": k, "live": live, "live_k": s.k, "loss": E, "grad_norm": gn,
                "snapshots": s.snapshots.ks()})
    if s.test_problem is not None:
        out["test_loss"] = rec["test_loss"] if rec is not None else s.test_loss(w)
        out["S_test"] = s.test_problem.S
    figs = curve_figures(s, k, live, out["robbins_monro"])
    figs.update(data_figures(s.net, s.X, s.y, s.K, w))
    figs["gradients"], out["flow"] = flow_figure(s, w)
    if surface:
        figs["surface"] = surface_figure(s, w, k)
    phi = phi_panel(s, live, k)
    out["phi"] = phi
    if phi is not None:
        figs["line_search"] = figures.line_search(
            phi["alpha"], phi["value"], phi["alpha_k"], phi["phi_k"], k=phi["k"], rule=phi["rule"],
            phi0=phi["phi0"], slope0=phi["slope0"], note=phi["note"])
    out["figures"] = figures.htmlize(figs)
    out["diagram"] = network_diagram(s.net, w)
    return out


def curve_figures(s, k: int, live: bool, note: str) -> dict:
    """The convergence panel (E, ‖∇E‖, the test loss, the compared methods up to k) and the step sizes."""
    rows = spread([r for _, r in s.records.rows], PLOT_POINTS)
    others = []
    for o in s.others:
        orows = spread([r for kk, r in o.records.rows if kk <= k], PLOT_POINTS)
        others.append((OPTIMIZERS[o.cfg.optimizer], [r["k"] for r in orows], [r["cost"] for r in orows],
                       [r["loss"] for r in orows], [r["grad_norm"] for r in orows]))
    test = s.test_problem
    conv = figures.convergence(
        [r["k"] for r in rows], [r["cost"] for r in rows], [r["loss"] for r in rows], [r["grad_norm"] for r in rows],
        x=s.view["x"], log=s.view["log"], marker_k=None if live else k,
        label=OPTIMIZERS[s.cfg.optimizer] if s.others else None, others=others,
        test_loss=None if test is None else [r["test_loss"] for r in rows],
        test_label=None if test is None else f"test E·S/S_{{test}} ({test.S} held out)")
    stepped = [r for r in rows if not math.isnan(r["step_size"])]
    steps = figures.step_sizes([r["k"] for r in stepped], [r["step_size"] for r in stepped],
                               label="α^k" if isinstance(s.optimizer, GD) else "γ_k", note=note, log=s.view["log"])
    return {"convergence": conv, "step_size": steps}


def data_figures(net, X, y, K: int, w) -> dict:
    """The decision boundary (2-D inputs) or the fitted curve (1-D), and the hidden units a^ℓ_i(x)."""
    figs = {}
    if X.shape[1] == 1:
        lo, hi = float(X.min()), float(X.max())
        pad = 0.1 * (hi - lo or 1.0)
        xg = np.linspace(lo - pad, hi + pad, 200)
        figs["boundary"] = figures.regression_fit(xg, net.forward(xg[:, None], params=w)[:, 0], X[:, 0], y)
        mx, my = xg[::4], np.array([0.0, 1.0])
        pts = mx[:, None]
    else:
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = 0.15 * np.maximum(hi - lo, 1.0)
        xs, ys = np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID), np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID)
        GX, GY = np.meshgrid(xs, ys)
        out = net.forward(np.column_stack([GX.ravel(), GY.ravel()]), params=w)
        P = out[:, 0].reshape(GRID, GRID) if out.shape[1] == 1 else out.reshape(GRID, GRID, -1)
        figs["boundary"] = figures.decision_boundary(xs, ys, P, X, y, n_classes=K)
        mx, my = np.linspace(xs[0], xs[-1], MAP_GRID), np.linspace(ys[0], ys[-1], MAP_GRID)
        GX, GY = np.meshgrid(mx, my)
        pts = np.column_stack([GX.ravel(), GY.ravel()])
    if net.n_layers == 1:
        figs["activations"] = figures.activation_maps([], [], [], [],
                                                      title="hidden units: none (one layer, ŷ = φ(W x))")
        return figs
    # hidden-unit maps a^ℓ_i over the input plane (or line)
    maps, labels, acts, layers = [], [], [], []
    _, As = net.forward_cache(pts, w)
    total = sum(As[ell].shape[1] for ell in range(1, net.n_layers))
    for ell in range(1, net.n_layers):
        for i in range(As[ell].shape[1]):
            if len(maps) >= MAX_MAPS:
                break
            a = As[ell][:, i]
            maps.append(a.reshape(len(my), len(mx)) if X.shape[1] == 2 else np.vstack([a, a]))
            labels.append(f"a^{ell}_{i + 1}")
            acts.append(net.activations[ell - 1].name)
            layers.append(ell)
    figs["activations"] = figures.activation_maps(mx, my, maps, labels, activations=acts, layers=layers, total=total)
    return figs


def flow_figure(s, w):
    """The gradient flow per layer at w: ‖∇_{W^ℓ}E‖, the per-sample medians of ‖Diag φ′‖, ‖δ^ℓ‖,
    ‖a^{ℓ−1}‖ and ‖∇e‖, and the project's verdict (vanishing, exploding, healthy); (figure, numbers)."""
    net = s.net
    flows = layer_flows(net, s.problem, w)
    g = s.g if w is s.w else s.problem.value_and_grad(w)[1]
    gn = [float(np.linalg.norm(g[sl.W])) for sl in net.slices]
    med = {name: [float(f.median(name)) for f in flows] for name in ("dphi_norm", "delta_norm", "a_prev_norm")}
    chain = [float(f.median("chain")) for f in flows]
    sample = [float(f.median_grad) for f in flows]
    diag = diagnose_gradients(flows)  # the project's verdict: per-sample medians, the lecture's bound
    numbers = ", ".join(f"{v:.2g}" for v in sample)
    if diag.kind == "healthy" or not diag.layers:
        verdict = f"gradient flow: {diag.kind} (median ‖∇e‖ per layer: {numbers})"
    else:
        verdict = (f"gradient flow: {diag.kind} in layer{'s' if len(diag.layers) > 1 else ''} "
                   + ", ".join(str(ell) for ell in diag.layers) + f" (median ‖∇e‖ per layer: {numbers})")
    fig = figures.layer_gradients(list(range(1, net.n_layers + 1)), gn, med["dphi_norm"], med["delta_norm"],
                                  med["a_prev_norm"], verdict=verdict, sample_grad=sample)
    return fig, {"grad_norm": gn, "sample_grad": sample, "dphi": med["dphi_norm"], "delta": med["delta_norm"],
                 "a_prev": med["a_prev_norm"], "chain": chain, "verdict": diag.kind, "message": diag.message,
                 "layers": list(diag.layers)}


def network_diagram(net, w, max_edges: int = MAX_EDGES) -> dict:
    """The network as nodes and weighted edges for the page's diagram: ``sizes`` (units per layer,
    inputs first), ``edges`` as ``[ℓ, i, j, w]`` (the weight W^ℓ_{ij} from unit j of layer ℓ−1 to
    unit i of layer ℓ), the ``max_edges`` largest |w| when there are more, ``n_edges`` the total."""
    weights = [np.asarray(w[sl.W]).reshape(sl.shape) for sl in net.slices]
    n_edges = int(sum(W.size for W in weights))
    ell = np.concatenate([np.full(W.size, i + 1) for i, W in enumerate(weights)])
    ii = np.concatenate([np.repeat(np.arange(W.shape[0]), W.shape[1]) for W in weights])
    jj = np.concatenate([np.tile(np.arange(W.shape[1]), W.shape[0]) for W in weights])
    vals = np.concatenate([W.ravel() for W in weights])
    keep = np.arange(n_edges)
    if n_edges > max_edges:
        mag = np.where(np.isfinite(vals), np.abs(vals), np.inf)
        keep = np.sort(np.argpartition(-mag, max_edges - 1)[:max_edges])
    rounded = figures.clean(vals[keep], 6)
    edges = [[int(ell[t]), int(ii[t]), int(jj[t]), v] for t, v in zip(keep, rounded)]
    return {"sizes": [int(n) for n in net.layer_sizes], "edges": edges, "n_edges": n_edges}
