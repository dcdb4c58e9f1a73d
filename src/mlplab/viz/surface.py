"""The loss surface of a comparison, zoomed to the optimizer paths, with the paths in its plane.

:func:`comparison_surface` chooses the plane (the whole (w_1, w_2) space for the
toy, else the paths' principal directions or random filter-normalised ones),
evaluates E on it (vectorised over the grid) and projects every path; the
Plotly and matplotlib surface figures draw the :class:`SurfaceView` it returns.
:func:`log_levels` spaces the contours; :func:`infimum_curve` is min E on circles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlplab import analysis
from mlplab.viz.iterates import snapshot_indices, thin_indices

__all__ = ["PathData", "SurfaceView", "comparison_surface", "log_levels", "infimum_curve"]


@dataclass
class PathData:
    """One run's path on the drawn plane, at the drawn records ``idx``.

    Attributes:
        idx: record indices drawn (into the run's history and trajectory).
        a, b: plane coordinates.
        z: E at the projected point — the height on the drawn surface (equal to E for d = 2).
        E: the run's true loss E(w^k) at those records.
        k, grad, step: k, ‖∇E(w^k)‖ and the step size taken from w^k.
        snap: the slider's record indices (into the history) and their (a, b, z, E).
    """

    idx: np.ndarray
    a: np.ndarray
    b: np.ndarray
    z: np.ndarray
    E: np.ndarray
    k: np.ndarray
    grad: np.ndarray
    step: np.ndarray
    snap_a: np.ndarray | None = None
    snap_b: np.ndarray | None = None
    snap_z: np.ndarray | None = None


@dataclass
class SurfaceView:
    """A loss surface with the runs' paths in its plane.

    Attributes:
        surface: :class:`mlplab.analysis.Surface` zoomed to the paths (what is shown first).
        full: the same plane over a wider range (the toy: [−6, 6]² and every path), or None.
        paths: per run, a :class:`PathData` (None for a run whose trajectory is not
            aligned with its history).
        note: how the plane was chosen.
        caption: one line saying how to read the surface figures.
        slice_1d: (a, E) along the first direction through the centre (None for d = 2).
        equal_axes: both axes are weights in the same units (draw them equally scaled).
        projected: the plane is a projection of a larger parameter space (d > 2).
    """

    surface: analysis.Surface
    full: analysis.Surface | None
    paths: list
    note: str
    caption: str
    slice_1d: tuple[np.ndarray, np.ndarray] | None
    equal_axes: bool
    projected: bool

    @property
    def start(self):
        """(a, b, z, E) of the first run's first point."""
        p = next((p for p in self.paths if p is not None), None)
        return None if p is None else (p.a[0], p.b[0], p.z[0], p.E[0])


def _box(ab: np.ndarray, pad: float, min_size: float):
    lo, hi = ab.min(axis=0), ab.max(axis=0)
    size = np.maximum(hi - lo, min_size)
    centre = (lo + hi) / 2
    half = size / 2 * (1 + 2 * pad)
    return (centre[0] - half[0], centre[0] + half[0]), (centre[1] - half[1], centre[1] + half[1])


def _square(ra, rb):
    """Ranges widened to a square (equal scaling: one unit is as long on both axes)."""
    ca, cb = sum(ra) / 2, sum(rb) / 2
    h = max(ra[1] - ra[0], rb[1] - rb[0]) / 2
    return (ca - h, ca + h), (cb - h, cb + h)


def comparison_surface(comp, n: int = 101, seed: int = 0, snapshots=None) -> SurfaceView:
    """The surface to draw for a comparison, zoomed to the paths, vectorised over the grid.

    d = 2 (the toy problem): E over (w_1, w_2), zoomed to a square around every
    path, and the full view over [−6, 6]² and the paths. Larger nets: the plane
    through the first run's final w spanned by the principal directions of all
    (thinned) paths (PCA), and a full view three times as wide; with no path (a
    single point), two random filter-normalised directions (Li et al. 2018).
    Paths are drawn at their thinned records only (:func:`thin_indices`); their
    true loss E(w^k) comes from the history (no extra evaluation of E).
    """
    problem = comp.problem
    if snapshots is None:
        snapshots = snapshot_indices(comp)[0]
    aligned = [len(r.trajectory) == len(r.history) and len(r.history) > 0 for r in comp.runs]
    thin = [thin_indices(len(r.trajectory)) for r in comp.runs]
    drawn = [np.asarray(r.trajectory)[ix] for r, ix in zip(comp.runs, thin)]
    stacked = np.vstack(drawn)
    if problem.d == 2:
        ra, rb = _square(*_box(stacked, 0.12, 0.05))
        full_pts = np.vstack([stacked, [[-6.0, -6.0], [6.0, 6.0]]])
        fa, fb = _square(*_box(full_pts, 0.04, 0.05))
        surf = analysis.param_surface(problem, 0, 1, ra, rb, n=n, w0=np.zeros(2))
        full = analysis.param_surface(problem, 0, 1, fa, fb, n=n, w0=np.zeros(2))
        note = "E over the whole parameter space (w11, w12), as on the slides"
        caption = ("Contours are log-spaced; both axes are weights, drawn to the same scale (GD's exact-line-search "
                   "steps meet at right angles); ● start, ★ end; the ‘Full view’ button shows [−6, 6]².")
        equal, projected = True, False
    else:
        centre = comp.runs[0].result.params
        if len(stacked) >= 3 and np.ptp(stacked, axis=0).max() > 0:
            u, v, expl = analysis.pca_directions(stacked, centre)
            kind = "pca"
            note = (f"E on the plane through the final w of {comp.runs[0].name} spanned by the paths' two "
                    f"principal directions (explaining {expl[0]:.0%} and {expl[1]:.0%} of their variance)")
            tmp = analysis.Surface(np.zeros(1), np.zeros(1), np.zeros((1, 1)), centre, u, v, ("", ""), kind)
            ab = tmp.project(stacked)
            ra, rb = _square(*_box(ab, 0.15, 1e-3))
            half = (ra[1] - ra[0]) * 1.5
            fa = (sum(ra) / 2 - half, sum(ra) / 2 + half)
            fb = (sum(rb) / 2 - half, sum(rb) / 2 + half)
            equal = True  # orthonormal directions: a and b are distances in w
        else:
            net = comp.runs[0].net
            u = analysis.random_direction(net, centre, seed)
            v = analysis.random_direction(net, centre, seed + 1)
            kind, ra, rb, fa, fb = "random", (-1.0, 1.0), (-1.0, 1.0), (-3.0, 3.0), (-3.0, 3.0)
            note = "E along two random filter-normalised directions (Li et al. 2018) through the final w"
            equal = False
        # E over a d > 2 net costs a forward pass of all S samples per grid point: a coarser grid (contours
        # are interpolated) keeps the report's cost well below the training's
        n = min(n, 51)
        surf = analysis.direction_surface(problem, centre, u, v, ra, rb, n=n, kind=kind)
        full = analysis.direction_surface(problem, centre, u, v, fa, fb, n=25, kind=kind)
        caption = ("The surface is E on the plane — the loss of the projection of w onto it, not the run's loss; "
                   "path points are coloured by the run's true E(wᵏ) on the same scale. ● start, ★ end.")
        projected = True
    paths = []
    for run, ix, pts, ok, snap in zip(comp.runs, thin, drawn, aligned, snapshots):
        h = run.history
        if not ok:
            ix = np.array([len(h) - 1 if len(h) else 0])
            pts = np.atleast_2d(run.trajectory[-1])
        ab = surf.project(pts)
        E = _true_loss(problem, h, ix, pts) if len(h) else surf.E_at(problem, pts)
        z = E if not projected else surf.E_at(problem, pts)
        p = PathData(ix, ab[:, 0], ab[:, 1], z, E, np.asarray([h.k[i] for i in ix] if len(h) else [0]),
                     np.asarray([h.grad_norm[i] for i in ix] if len(h) else [np.nan], dtype=float),
                     np.asarray([h.step_size[i] for i in ix] if len(h) else [np.nan], dtype=float))
        if ok:
            sp = np.asarray(run.trajectory)[snap]
            sab = surf.project(sp)
            p.snap_a, p.snap_b = sab[:, 0], sab[:, 1]
            p.snap_z = (np.asarray(h.loss, dtype=float)[snap] if not projected else surf.E_at(problem, sp))
        paths.append(p)
    sa = None if problem.d == 2 else analysis.direction_slice(problem, surf.w0, surf.u, (surf.a[0], surf.a[-1]), n=101)
    return SurfaceView(surf, full, paths, note, caption, sa, equal, projected)


def _true_loss(problem, h, ix, pts) -> np.ndarray:
    """E(w^k) at the drawn records: the history's where it is exact, evaluated where it holds a block
    estimate (``History.exact`` False: ``train``'s monitor between the ends of a stochastic run)."""
    E = np.asarray([h.loss[i] for i in ix], dtype=float)
    exact = getattr(h, "exact", None)
    if exact is not None and len(exact) == len(h) and len(pts) == len(ix):
        est = ~np.asarray([bool(exact[i]) for i in ix])
        if est.any():
            E[est] = analysis.batched_loss(problem, np.asarray(pts)[est])
    return E


def log_levels(E: np.ndarray, n: int = 25) -> tuple[np.ndarray, float]:
    """(levels, floor): ``n`` log-spaced contour levels of E − floor over its finite range.

    floor is 0 when E > 0 everywhere (the levels are E's own), else a little below
    min E; log spacing shows the low-loss region, where the paths run, in detail.
    """
    f = np.asarray(E, dtype=float)
    f = f[np.isfinite(f)]
    lo, hi = float(f.min()), float(f.max())
    floor = 0.0 if lo > 0 else lo - 1e-3 * max(hi - lo, 1e-12)
    a, b = max(lo - floor, (hi - floor) * 1e-8), hi - floor
    if not b > a:
        b = a * 10
    return np.geomspace(a, b, n), floor


def infimum_curve(comp, radii=None):
    """For d = 2: (r, min_{‖w‖=r} E) — decreasing to 0, so the infimum lies at ‖w‖ → ∞. None otherwise."""
    if comp.problem.d != 2:
        return None
    radii = np.geomspace(0.25, 16.0, 30) if radii is None else radii
    r, Emin, _ = analysis.radial_minimum(comp.problem, radii)
    return r, Emin

