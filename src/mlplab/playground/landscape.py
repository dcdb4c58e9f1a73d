"""E around the run: the loss surface with the path of iterates on it, and φ(α) along a GD step.

* The surface: for the toy model ŷ = σ(w11 x1 + w12 x2) the exact E over the (w11, w12) plane;
  for a larger network E on a plane through w^k spanned by the path's two principal directions
  (:func:`principal_plane`), the path projected onto it and drawn at its true E(w^k).
* φ(α) = E(w^j + α d^j) of the line-search step j = k − 1 that led to w^k, with α_j marked.
"""

from __future__ import annotations

import math

import numpy as np

from mlplab.analysis.surfaces import batched_loss
from mlplab.optim import GD
from mlplab.optim.linesearch import Armijo
from mlplab.playground import figures
from mlplab.playground.config import OPTIMIZERS

SURFACE_GRID = 31  # the toy model's exact (w11, w12) surface
PLANE_GRID = 25  # a plane through the trajectory of a larger network (S samples per point)
PHI_POINTS = 121


def surface_figure(s, w, k) -> dict:
    """The loss surface of session ``s`` around w = w^k, with its path (and the compared methods') up to k."""
    rows = [(kk, snap) for kk, snap in s.snapshots.rows if kk <= k]
    traj = np.array([snap for _, snap in rows])
    others = [(OPTIMIZERS[o.cfg.optimizer], np.array([snap for kk, snap in o.snapshots.rows if kk <= k]))
              for o in s.others]
    if s.cfg.model == "toy":
        return _toy_surface(s.problem, traj, others)
    P, centre = s.problem, w
    if len(traj) >= 3 and np.ptp(traj, axis=0).max() > 0:
        u, v, explained = principal_plane(traj, centre)
        note = (f"plane through w^k along the path's 2 principal directions "
                f"({100 * explained[0]:.0f}% + {100 * explained[1]:.0f}% of its variance); path projected")
    else:
        rng = np.random.default_rng(0)
        u, v = rng.standard_normal(P.d), rng.standard_normal(P.d)
        u /= np.linalg.norm(u)
        v -= (v @ u) * u
        v /= np.linalg.norm(v)
        note = "plane through w^k along two random directions (too few iterates yet)"
    B = np.stack([u, v], axis=1)
    coords = (traj - centre) @ B
    other_coords = [(label, (p - centre) @ B) for label, p in others]  # projected onto this run's plane
    span = max(max(np.abs(c).max() for c in [coords] + [c for _, c in other_coords]) * 1.3,
               0.25 * max(np.linalg.norm(centre), 1.0))
    a = np.linspace(-span, span, PLANE_GRID)
    AA, BB = np.meshgrid(a, a)
    Ws = centre + AA.reshape(-1, 1) * u + BB.reshape(-1, 1) * v
    E = batched_loss(P, Ws).reshape(AA.shape)
    if other_coords:
        note += "; other methods' paths projected onto it"
    # the path at its true E(w^k) (recorded, or evaluated for the snapshots without a record)
    path_E = np.array([r["loss"] if (r := s.records.get(kk)) is not None else math.nan for kk, _ in rows])
    missing = ~np.isfinite(path_E)
    if missing.any():
        path_E[missing] = batched_loss(P, traj[missing])
    return figures.loss_surface(a, a, E, coords[:, 0], coords[:, 1], labels=("direction 1", "direction 2"),
                                exact=False, note=note, path_E=path_E,
                                others=[(label, c[:, 0], c[:, 1]) for label, c in other_coords])


def _toy_surface(P, traj, others) -> dict:
    """The toy model's exact E(w11, w12) on a grid around every path (at least [−6, 6]²)."""
    every = np.vstack([traj] + [p for _, p in others])
    lo = np.minimum(every.min(axis=0), -6.0)
    hi = np.maximum(every.max(axis=0), 6.0)
    pad = 0.1 * (hi - lo)
    a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], SURFACE_GRID)
    b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], SURFACE_GRID)
    AA, BB = np.meshgrid(a, b)
    E = batched_loss(P, np.column_stack([AA.ravel(), BB.ravel()])).reshape(AA.shape)
    return figures.loss_surface(a, b, E, traj[:, 0], traj[:, 1], labels=("w11", "w12"), exact=True,
                                others=[(label, p[:, 0], p[:, 1]) for label, p in others])


def principal_plane(traj: np.ndarray, centre: np.ndarray, max_points: int = 200):
    """The two principal directions of the iterates around ``centre`` (unit vectors, orthogonal) and
    the fraction of the variance each explains, from the Gram matrix of at most ``max_points``
    iterates (cheap for any number d of weights)."""
    if len(traj) > max_points:
        traj = traj[np.unique(np.linspace(0, len(traj) - 1, max_points).round().astype(int))]
    M = traj - centre
    lam, V = np.linalg.eigh(M @ M.T)
    order = np.argsort(lam)[::-1]
    total = float(lam.clip(0).sum()) or 1.0
    dirs, shares = [], []
    for i in order:
        u = M.T @ V[:, i]
        for prev in dirs:
            u = u - (u @ prev) * prev
        nu = np.linalg.norm(u)
        if nu > 1e-12 * max(1.0, np.abs(M).max()):
            dirs.append(u / nu)
            shares.append(max(float(lam[i]), 0.0) / total)
        if len(dirs) == 2:
            break
    while len(dirs) < 2:  # a straight path: complete with a coordinate direction orthogonal to it
        e = np.zeros(M.shape[1])
        e[int(np.argmin(np.abs(dirs[0]))) if dirs else 0] = 1.0
        for prev in dirs:
            e = e - (e @ prev) * prev
        dirs.append(e / np.linalg.norm(e))
        shares.append(0.0)
    return dirs[0], dirs[1], shares


def phi_panel(s, live: bool, k: int):
    """φ(α) = E(w^j + α d^j) of the GD step j = k − 1 that led to w^k, with α_j marked (None without one).

    w^j is the snapshot and α_j its record's step size; GD is deterministic, so d^j = −∇E(w^j)
    is evaluated again. Whether the step was capped at α_max is known for the latest step only."""
    opt = s.optimizer
    if not (isinstance(opt, GD) and opt.uses_line_search) or k == 0:
        return None
    j = k - 1
    wj, rec = s.snapshots.get(j), s.records.get(j)
    if wj is None or rec is None or math.isnan(rec["step_size"]):
        return None
    alpha = rec["step_size"]
    E0, g = s.problem.value_and_grad(wj)
    d = -g.copy()
    slope0 = -float(g @ g)
    info = s.step_info(j) if live else None
    phi = s.problem.value_along(wj, d)
    capped = bool(info is not None and info.capped)
    unbounded = bool(info is not None and info.unbounded)
    hi = alpha * (1.0 if capped else 2.0) if alpha > 0 else 1.0
    grid = np.linspace(0.0, hi, PHI_POINTS)
    values = [phi(float(a)) for a in grid]
    phi_k = phi(float(alpha))
    rule = "armijo" if isinstance(opt.step, Armijo) else "exact"
    if rule == "exact":
        note = ("α^k = argmin over (0, α_max] of φ" if not capped else
                ("capped at α_max: E still falls along d^k there (no minimiser on the ray)" if unbounded
                 else "capped at α_max"))
    else:
        note = "Armijo: the first α (backtracking) with φ(α) ≤ φ(0) + c₁ α φ′(0)"
    c1 = getattr(opt.step, "c1", 1e-4)
    return {"k": j, "alpha": grid.tolist(), "value": figures.clean(values), "alpha_k": float(alpha),
            "phi_k": float(phi_k), "phi0": float(E0), "slope0": float(slope0), "rule": rule, "capped": capped,
            "unbounded": unbounded, "note": note, "c1": c1}
