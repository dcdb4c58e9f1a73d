"""What the figures of a :class:`mlplab.compare.Comparison` show: their data, styles and words.

The data flows one way: runs → :class:`mlplab.compare.Comparison` (numbers) →
this module (what to draw: thinned curves, the surface with the paths, the
iterate snapshots a report's slider steps through, the decision boundary, the
gradient-flow lines, captions) → :mod:`mlplab.plots` (matplotlib PNGs) or
:mod:`mlplab.report` (the Plotly page). Neither plotting library is imported
here, and no module imports one that uses it.

* :func:`thin_indices`: the records drawn — log-spaced over the run plus every
  record of its last 5 %, so a 100,000-step run draws a few thousand points.
* :func:`snapshot_indices`: about 30 log-spaced iterates per run, aligned on
  the cost axis, for the report's iteration slider.
* :func:`comparison_surface`: the loss surface zoomed to the paths (and a full
  view), with each path's hover data (k, E, ‖∇E‖, α/γ) and its true loss.
* :func:`decision_data`, :func:`hidden_maps`: the playground views for 2-D inputs.
* :func:`flow_lines`: the gradient-flow numbers against depth.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from mlplab import analysis
from mlplab.compare import COST_LABEL, Comparison

__all__ = ["COST_LABEL", "thin_indices", "snapshot_indices", "SurfaceView", "PathData", "comparison_surface",
           "infimum_curve", "decision_view", "decision_data", "hidden_maps", "flow_lines", "figure_plan",
           "pretty", "run_color", "run_dash", "run_marker", "longest_run", "step_symbol", "CAPTIONS", "log_levels",
           "gap_split", "reference_margin", "unit_range", "unit_ranges"]

# --- styles --------------------------------------------------------------------------------------

RUN_COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
RUN_DASHES = [("-", "solid"), ("--", "dash"), (":", "dot"), ("-.", "dashdot"), ((0, (5, 1, 1, 1, 1, 1)), "longdashdot"),
              ((0, (8, 3)), "longdash")]
RUN_MARKERS = [("o", "circle"), ("s", "square"), ("^", "triangle-up"), ("D", "diamond"), ("v", "triangle-down"),
               ("x", "x"), ("P", "cross"), ("*", "star")]
FEW_POINTS = 30  # a run with at most this many records gets a marker on every point
N_SNAPSHOTS = 30  # iterates per run the report's slider steps through


def run_color(i: int) -> str:
    """The colour of run i in every figure (matplotlib and Plotly alike)."""
    return RUN_COLORS[i % len(RUN_COLORS)]


def run_dash(i: int, plotly: bool = False):
    """The line style of run i (matplotlib ``linestyle``, or Plotly ``dash`` name)."""
    return RUN_DASHES[i % len(RUN_DASHES)][1 if plotly else 0]


def run_marker(i: int, plotly: bool = False) -> str:
    """The marker of run i (matplotlib marker, or Plotly ``symbol`` name)."""
    return RUN_MARKERS[i % len(RUN_MARKERS)][1 if plotly else 0]


def longest_run(comp: Comparison) -> int:
    """Index of the run with the most records."""
    return int(np.argmax([len(r.history) for r in comp.runs]))


def step_symbol(run) -> str:
    """'α' for a step found by a line search (α^k), 'γ' for a schedule's or a constant step (γ_k)."""
    return "α" if getattr(run.optimizer, "uses_line_search", False) else "γ"


# --- text ---------------------------------------------------------------------------------------------

_SUP = {"0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹",
        "k": "ᵏ", "L": "ᴸ", "ℓ": "ˡ", "+": "⁺", "−": "⁻", "-": "⁻", "T": "ᵀ", "*": "*", "n": "ⁿ"}
_SUB = {"k": "ₖ", "0": "₀", "1": "₁", "2": "₂", "i": "ᵢ", "j": "ⱼ"}


def pretty(text: str) -> str:
    """The lecture's ASCII notation in Unicode: 'γ_k' → 'γₖ', 'w^0' → 'w⁰', 'V^{ℓ+1}' → 'Vˡ⁺¹'."""
    def sup(m):
        body = m.group(1) or m.group(2)
        return "".join(_SUP.get(c, c) for c in body) if all(c in _SUP for c in body) else m.group(0)

    def sub(m):
        body = m.group(1) or m.group(2)
        return "".join(_SUB.get(c, c) for c in body) if all(c in _SUB for c in body) else m.group(0)

    text = re.sub(r"\bgamma_", "γ_", re.sub(r"\balpha\^", "α^", str(text)))  # the CLI's ASCII names
    text = re.sub(r"\^\{([^}]*)\}|\^([0-9]+|[kLℓT*n])(?![A-Za-z0-9])", sup, str(text))
    return re.sub(r"_\{([^}]*)\}|_([k0-2ij])(?![A-Za-z0-9])", sub, text)


# --- which records are drawn ----------------------------------------------------------------------

THIN_ABOVE = 800  # runs with more records than this are thinned for drawing
N_LOG = 400  # log-spaced records kept
TAIL = 0.05  # ... plus every record of the last 5 %


def thin_indices(n: int, n_log: int = N_LOG, tail: float = TAIL, keep_all: int = THIN_ABOVE) -> np.ndarray:
    """Indices of the records of an n-record run that are drawn.

    Up to ``keep_all`` records: all. Beyond: about ``n_log`` indices log-spaced over
    1…n (dense at the start, where E changes fastest on a log axis), and every
    record of the last ``tail`` fraction (where the runs are compared), the first
    and the last always included. Sorted and unique.
    """
    if n <= keep_all:
        return np.arange(n)
    logs = np.unique(np.round(np.geomspace(1, n, n_log)).astype(int) - 1)
    last = np.arange(int(math.floor(n * (1 - tail))), n)
    return np.unique(np.concatenate([[0], logs, last, [n - 1]]))


def snapshot_indices(comp: Comparison, m: int = N_SNAPSHOTS) -> tuple[list[np.ndarray], list[str], str]:
    """(per run, m record indices; m slider labels; the axis they are aligned on).

    The m positions are log-spaced on the cost axis (sample-gradient equivalents)
    from 0 to the largest cost any run reached; at each, every run shows its last
    record at or below that cost — all runs having spent the same. Runs that
    record no cost (a saved history without it) are aligned on k instead.
    """
    ges = [np.asarray(r.history.grad_equivalents, dtype=float) for r in comp.runs]
    on = "cost" if max((g[-1] for g in ges if g.size), default=0.0) > 0 else "k"
    axes = ges if on == "cost" else [np.asarray(r.history.k, dtype=float) for r in comp.runs]
    top = max((a[-1] for a in axes if a.size), default=0.0)
    firsts = [a[a > 0][0] for a in axes if np.any(a > 0)]
    low = min(firsts) if firsts else 1.0
    if top <= 0:
        targets = np.zeros(m)
    else:
        low = min(max(low, top * 1e-6), top)
        targets = np.concatenate([[0.0], np.geomspace(low, top, m - 1)]) if m > 1 else np.array([top])
    out = []
    for a in axes:
        idx = np.searchsorted(a, targets * (1 + 1e-12), side="right") - 1
        out.append(np.clip(idx, 0, max(len(a) - 1, 0)))
    word = "cost" if on == "cost" else "k"
    labels = [f"{word} ≤ {t:,.4g}" if j else f"start ({word} = 0)" for j, t in enumerate(targets)]
    return out, labels, on


# --- the loss surface --------------------------------------------------------------------------------


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


def comparison_surface(comp: Comparison, n: int = 101, seed: int = 0, snapshots=None) -> SurfaceView:
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


def infimum_curve(comp: Comparison, radii=None):
    """For d = 2: (r, min_{‖w‖=r} E) — decreasing to 0, so the infimum lies at ‖w‖ → ∞. None otherwise."""
    if comp.problem.d != 2:
        return None
    radii = np.geomspace(0.25, 16.0, 30) if radii is None else radii
    r, Emin, _ = analysis.radial_minimum(comp.problem, radii)
    return r, Emin


# --- the playground views (2-D inputs) ------------------------------------------------------------


def decision_view(comp: Comparison, run_index: int | None = None):
    """(run, xs, ys, P) at the final w of the run ``run_index`` (default: the lowest final E); None unless N_0 = 2."""
    if comp.problem.net.n_inputs != 2:
        return None
    if run_index is None:
        run_index = int(np.argmin([r.result.loss for r in comp.runs]))
    run = comp.runs[run_index]
    return (run, *analysis.decision_grid(run.net, comp.problem.X))


def _is_classification(Y) -> bool:
    Y = np.asarray(Y, dtype=float)
    return bool(np.all((Y == 0) | (Y == 1)))


def accuracy(net, X, Y, w=None) -> float | None:
    """Training accuracy of ŷ ≥ 0.5 (one output) or argmax (several); None for non-0/1 targets."""
    if not _is_classification(Y):
        return None
    out = net.forward(X, params=w)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    if out.shape[1] == 1:
        return float(np.mean((out[:, 0] >= 0.5) == (Y[:, 0] >= 0.5)))
    return float(np.mean(out.argmax(axis=1) == Y.argmax(axis=1)))


def constant_text(P) -> str | None:
    """'the network outputs ≈ 0.4988 everywhere' when ŷ varies by less than 10⁻³ over the plane, else None."""
    P = np.asarray(P, dtype=float)
    if P.size and np.isfinite(P).all() and np.ptp(P) < 1e-3:
        return f"the network outputs ≈ {float(np.mean(P)):.4g} everywhere"
    return None


@dataclass
class DecisionData:
    """The decision boundary of one run: ŷ over the input plane at the final w and at the snapshots.

    Attributes:
        run_index, run: which run.
        xs, ys: grid coordinates; P: ŷ at the final w (n, n).
        acc: training accuracy at the final w (None for non-0/1 targets).
        constant: a sentence when ŷ is constant over the plane, else None.
        snaps: per slider position, (P, acc, constant) at that iterate — None when the run's
            iterates were not recorded.
        X, y: the data (y: the target column drawn as classes).
    """

    run_index: int
    run: object
    xs: np.ndarray
    ys: np.ndarray
    P: np.ndarray
    acc: float | None
    constant: str | None
    snaps: list | None
    X: np.ndarray
    y: np.ndarray

    def title(self, P=None, acc=None, constant=None, where: str = "final w") -> str:
        acc = self.acc if P is None else acc
        constant = self.constant if P is None else constant
        parts = [f"Decision boundary of {pretty(self.run.name)} at the {where}"]
        if acc is not None:
            parts.append(f"training accuracy {acc:.1%}")
        if constant:
            parts.append(constant)
        return " — ".join(parts)


def decision_data(comp: Comparison, run_index: int | None = None, snapshots=None, n: int = 61,
                  n_snap: int = 41) -> DecisionData | None:
    """The decision boundary of the run with the lowest final E (or ``run_index``); None unless N_0 = 2."""
    net0 = comp.problem.net
    if net0.n_inputs != 2:
        return None
    if run_index is None:
        run_index = int(np.argmin([r.result.loss for r in comp.runs]))
    run = comp.runs[run_index]
    X, Y = comp.problem.X, comp.problem.Y
    xs, ys, P = analysis.decision_grid(run.net, X, n=n)
    acc = accuracy(run.net, X, Y)
    snaps = None
    if snapshots is not None and len(run.trajectory) == len(run.history) and len(run.history):
        gx, gy = np.linspace(xs[0], xs[-1], n_snap), np.linspace(ys[0], ys[-1], n_snap)
        GX, GY = np.meshgrid(gx, gy)
        grid = np.stack([GX.ravel(), GY.ravel()], axis=1)
        snaps = []
        for i in snapshots[run_index]:
            w = np.asarray(run.trajectory[i])
            Ps = run.net.forward(grid, params=w)[:, -1].reshape(n_snap, n_snap)
            snaps.append((Ps, accuracy(run.net, X, Y, w), constant_text(Ps)))
        snaps = {"xs": gx, "ys": gy, "frames": snaps}
    y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    y = y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1).astype(float)
    return DecisionData(run_index, run, xs, ys, P, acc, constant_text(P), snaps, X, y)


MAX_HIDDEN_MAPS = 64


def hidden_maps(comp: Comparison, run_index: int, n: int = 41, max_units: int = MAX_HIDDEN_MAPS):
    """What each hidden unit computes over the input plane, as TensorFlow Playground shows it.

    Returns (xs, ys, [(ℓ, i, A)]) — A (n, n) is a^ℓ_i(x) at the run's final w for
    every unit i of every hidden layer ℓ — or None when N_0 ≠ 2, there is no hidden
    layer, or the net has more than ``max_units`` hidden units.
    """
    net = comp.problem.net
    sizes = list(net.layer_sizes)
    if net.n_inputs != 2 or len(sizes) < 3 or sum(sizes[1:-1]) > max_units:
        return None
    run = comp.runs[run_index]
    X = comp.problem.X
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    GX, GY = np.meshgrid(xs, ys)
    _, As = run.net.forward_cache(np.stack([GX.ravel(), GY.ravel()], axis=1), run.result.params)
    maps = []
    for ell in range(1, len(sizes) - 1):
        A = np.asarray(As[ell])
        for i in range(A.shape[1]):
            maps.append((ell, i + 1, A[:, i].reshape(n, n)))
    return xs, ys, maps


HIDDEN_MAP_COLUMNS = 8

# the activations' own ranges: every map of such a unit is painted on this one fixed scale
BOUNDED_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
NONNEGATIVE = frozenset({"relu", "softplus", "exp"})
# blue (low) … white (the middle of the range) … red (high), the same for Plotly and matplotlib ("RdBu_r")
UNIT_COLORSCALE = [[0.0, "#2166ac"], [0.25, "#67a9cf"], [0.5, "#f7f7f7"], [0.75, "#ef8a62"], [1.0, "#b2182b"]]


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


# non-negative activations (ReLU, softplus): 0 is white, the largest value red
UNIT_COLORSCALE_POSITIVE = [[0.0, "#f7f7f7"], [0.5, "#ef8a62"], [1.0, "#b2182b"]]


def unit_colorscale(lo: float, hi: float):
    """The colour scale of a unit range: blue … white … red, or white … red for a range from 0."""
    return UNIT_COLORSCALE_POSITIVE if lo == 0.0 else UNIT_COLORSCALE


def unit_ranges(activations, maps) -> dict[str, tuple[float, float]]:
    """{activation: (lo, hi)} for maps given as (ℓ, i, A) with ``activations[ℓ − 1]`` the layer's φ."""
    names = {}
    for ell, _, A in maps:
        names.setdefault(activations[ell - 1], []).append(A)
    return {name: unit_range(name, arrs) for name, arrs in names.items()}


def hidden_map_grid(comp: Comparison, decision: DecisionData | None):
    """:func:`hidden_maps` of the run the decision boundary shows, laid out for a figure:
    (xs, ys, maps, rows, cols), or None where there are no maps to draw."""
    if decision is None:
        return None
    hm = hidden_maps(comp, decision.run_index)
    if hm is None:
        return None
    xs, ys, maps = hm
    cols = min(HIDDEN_MAP_COLUMNS, len(maps))
    return xs, ys, maps, math.ceil(len(maps) / cols), cols


# --- E − E* where E* is the runs' own best E --------------------------------------------------------

SET_BY_REFERENCE = 10.0  # E − E* below this many Δ = E_best − E* is set by the choice of E*, not by the run


def reference_margin(comp: Comparison) -> float | None:
    """Δ = E_best − E* when E* was taken from the runs themselves (E_best − Δ, :mod:`mlplab.compare`),
    else None (E* given or a known infimum: every E − E* is a true gap)."""
    if not str(comp.E_ref_note).startswith("E* = E_best"):
        return None
    best = [float(np.nanmin(np.asarray(r.history.loss, dtype=float))) for r in comp.runs if len(r.history)]
    best = [b for b in best if math.isfinite(b)]
    if not best:
        return None
    delta = min(best) - comp.E_ref
    return delta if delta > 0 else None


def gap_split(comp: Comparison, err) -> tuple[np.ndarray, np.ndarray]:
    """(measured, set_by_reference): E − E* split into the records where it measures the run's
    progress and those within :data:`SET_BY_REFERENCE`·Δ of E* taken from the runs' own best E,
    where the curve would plunge only because E* sits just below the run's own end (NaN elsewhere)."""
    err = np.asarray(err, dtype=float)
    delta = reference_margin(comp)
    if delta is None:
        return err, np.full_like(err, np.nan)
    low = err < SET_BY_REFERENCE * delta
    return np.where(low, np.nan, err), np.where(low, err, np.nan)


# --- gradient flow against depth ----------------------------------------------------------------


@dataclass
class FlowLines:
    """Per-sample medians against the layer ℓ at the point the verdict is about.

    Attributes:
        run: the run the flow is of (the first); point: where ("the final w", ...).
        layers: ℓ = 1…L.
        delta, grad, bound, dphi, a_prev: medians over the samples of ‖δ^ℓ‖, ‖∇_{W^ℓ} e‖,
            the lecture's bound, ‖Diag(φ′)‖ and ‖a^{ℓ−1}‖.
        quarter: for sigmoid hidden layers, median ‖δ^L‖ · (¼)^(L−ℓ) — what σ′ ≤ ¼ alone
            allows through L − ℓ layers with unit weights; None otherwise.
        saturation: per layer, the % of units with φ′ < 1 % of its max.
        output_harmless: the output layer's saturation does not shrink δ (its loss and
            activation pair cancel φ′, e.g. sigmoid + cross-entropy).
        verdict: the diagnosis message; kind: "vanishing", "exploding" or "healthy".
        n_samples: how many samples the medians are over.
    """

    run: object
    point: str
    layers: np.ndarray
    delta: np.ndarray
    grad: np.ndarray
    bound: np.ndarray
    dphi: np.ndarray
    a_prev: np.ndarray
    quarter: np.ndarray | None
    saturation: list
    output_harmless: bool
    verdict: str
    kind: str
    named: tuple
    n_samples: int

    def saturation_text(self) -> str:
        """'saturated units (φ′ < 1 % of its max): layer 1: 0 %, …, output layer 2: 12 % (harmless: …)'."""
        parts = []
        L = len(self.layers)
        for ell, s in zip(self.layers, self.saturation):
            txt = f"layer {ell}: {s:.0f} %"
            if ell == L:
                txt = f"output layer {ell}: {s:.0f} %"
                if s > 0:
                    txt += (" (harmless: with this loss and output the gradient at the output is ŷ − y, "
                            "φ′ cancels)" if self.output_harmless else
                            " (not harmless: with this loss and output ∂e/∂z^L = Diag(φ′(z^L)) δ^L, so a "
                            "saturated output passes almost no gradient back even where ŷ is wrong)")
            parts.append(txt)
        return "saturated units (φ′ < 1 % of its max): " + ", ".join(parts)


# (loss, output activation) pairs whose ∂e/∂z^L = ŷ − y: the output's φ′ cancels (canonical links). The
# lecture's sigmoid + squared error is not one of them: there ∂e/∂z^L = 2(ŷ − y) σ′(z^L) (mlplab.losses).
CANONICAL_PAIRS = frozenset({("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax"), ("poisson", "exp"),
                             ("squared", "identity")})


def output_saturation_harmless(loss: str, output_activation: str) -> bool:
    """Whether a saturated output unit leaves the gradient alone: only for the canonical pairs, where
    ∂e/∂z^L = ŷ − y does not pass through φ′ (not for sigmoid + squared error)."""
    return (loss, output_activation) in CANONICAL_PAIRS


def flow_lines(comp: Comparison) -> FlowLines | None:
    """The gradient-flow figure's numbers (the same the verdict is decided from); None without a flow."""
    flow = comp.gradient_flow
    if flow is None or not flow.layers:
        return None
    fl = flow.layers
    ell = np.array([f.layer for f in fl])
    med = {attr: np.array([f.median(attr) for f in fl], dtype=float)
           for attr in ("delta_norm", "grad_norm", "bound", "dphi_norm", "a_prev_norm")}
    net = comp.problem.net
    acts = [a.name for a in net.activations]
    L = len(fl)
    quarter = None
    if L > 1 and all(a == "sigmoid" for a in acts[:-1]):
        quarter = med["delta_norm"][-1] * 0.25 ** (L - ell)
    harmless = output_saturation_harmless(comp.problem.loss.name, acts[-1])
    d = flow.diagnosis
    return FlowLines(comp.runs[comp.flow_run], d.point, ell, med["delta_norm"], med["grad_norm"], med["bound"], med["dphi_norm"],
                     med["a_prev_norm"], quarter, [100 * f.saturated for f in fl], harmless, d.message, d.kind,
                     tuple(d.layers), fl[-1].n_used)


# --- words --------------------------------------------------------------------------------------------

CAPTIONS = {
    "surface_3d": "Drag to rotate; the slider moves each run's ● along its path; hover a path point for k, E, ‖∇E‖ "
                  "and the step size.",
    "contour": "Hover a path point for k, E, ‖∇E‖ and the step size; arrows show the direction of travel; the slider "
               "moves each run's large marker.",
    "slice_1d": "E along the first direction of the plane through the final w (a = 0): its curvature there.",
    "infimum": "The smallest E on each circle ‖w‖ = r keeps falling as r grows: E has no minimiser, only the "
               "infimum 0 at ‖w‖ → ∞; ★ each run's final w.",
    "convergence_cost": "E − E* on log axes (left, 1 + cost so the start shows) and semi-log (right); the slider "
                        "moves the cursors.",
    "budget": " The dashed vertical line is the budget every run is held to.",
    "convergence_k": "E − E* over the iterations; wide faint lines are fitted rates (only on ≥ 5 points and only "
                     "where a law fits); a straight line is linear convergence on the right, a power law on the "
                     "left. Where E* is the runs' own best E, the last records within 10 Δ of E* are drawn "
                     "faint: there the gap is set by E*, not by the run.",
    "grad_norm": "‖∇E(wᵏ)‖ on all samples at each record; it need not fall monotonically for SGD.",
    "step_sizes": "The step taken from wᵏ: αᵏ found by the line search, γₖ from the schedule; identical schedules "
                  "overlap — told apart by dash and marker.",
    "layer_bars": "The gradient norm of each layer's weights, ‖∂E/∂Wˡ‖ at wᵏ (all samples), at the slider's iterate.",
    "layer_grad_norms": "The gradient norm of each layer's weights, ‖∂E/∂Wˡ‖, over the iterations of the run this "
                        "section is about.",
    "layer_heatmap": "The same per-layer gradient norms as colours: a dark band at the first layers is a "
                     "vanishing gradient.",
    "gradient_flow": "Per-sample medians against depth on a log axis — the numbers the verdict above is decided "
                     "from; a line falling to the left is a vanishing gradient.",
    "decision_boundary": "Background ŷ(x) (blue 0 … red 1), the black line ŷ = 0.5, data coloured by class; the "
                         "slider shows the boundary at that iterate.",
    "hidden_units": "What each hidden unit aˡᵢ computes over the input plane at the final w (as TensorFlow "
                    "Playground shows it); every map of one activation on that activation's one fixed scale "
                    "(its colour bar: tanh −1 … 1, sigmoid 0 … 1).",
}

HISTORY_FIGURES = ("convergence_cost", "convergence_k", "grad_norm", "step_sizes", "layer_grad_norms",
                   "layer_heatmap")


def figure_plan(comp: Comparison, view: SurfaceView | None = None) -> list[tuple[str, str, tuple]]:
    """(figure name, plotting function name, arguments after ``comp``) of every figure that applies.

    Shared by :func:`mlplab.plots.figures` (matplotlib) and :func:`mlplab.report.figures`
    (Plotly), which define functions of these names. A comparison whose runs each
    recorded a single point (a saved model without history) gets no curves over
    the iterations.
    """
    view = comparison_surface(comp) if view is None else view
    plan = [("surface_3d", "surface_3d", (view,)), ("contour", "contour", (view,)),
            ("slice_1d", "slice_1d", (view,)), ("infimum", "infimum", ()),
            ("convergence_cost", "convergence", ("cost",)), ("convergence_k", "convergence", ("k",)),
            ("grad_norm", "grad_norms", ()), ("step_sizes", "step_sizes", ()),
            ("layer_grad_norms", "layer_grad_norms", ()), ("layer_heatmap", "layer_heatmap", ()),
            ("gradient_flow", "bound_factors", ()), ("decision_boundary", "decision_boundary", ()),
            ("hidden_units", "hidden_units", ())]
    if not any(len(r.history) >= 2 for r in comp.runs):
        plan = [step for step in plan if step[0] not in HISTORY_FIGURES]
    return plan
