"""Numbers behind the pictures: loss surfaces, convergence rates, gradient flow, stationary points.

NumPy/SciPy only (no plotting): the engine's users may import this module.
Everything is in the lecture's notation (DESIGN.md): E(w) = Σ_s e^s(w), w the
flat parameter vector ``net.params``, δ^ℓ = ∂e/∂a^ℓ, V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ)).

* Surfaces: :func:`batched_loss` evaluates E at G parameter vectors at once
  (batched matrix products, no Python loop per point); :func:`param_surface`
  (E over two chosen coordinates, the slides' (w11, w12) picture),
  :func:`direction_surface` / :func:`direction_slice` (E along layer-normalised
  random directions, Li et al. 2018, or the trajectory's principal directions
  :func:`pca_directions`).
* Convergence: :func:`fit_rate` (E − E* ∼ C k^{−p}, or ∼ C q^k) and
  :func:`theory_rate` (what the lecture says for a method).
* Gradient flow: :func:`gradient_flow` (the three factors of
  ‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ^ℓ′)‖₂ ‖V^{ℓ+1}…V^L δ^L‖₂ ‖a^{ℓ−1}‖₂ per layer and
  sample, saturated units) and :func:`diagnose_gradients`.
* Where did it stop: :func:`hessian`, :func:`hvp_extremes`, :func:`stationary_point`,
  :func:`radial_minimum` (the toy problem's infimum lies at ‖w‖ → ∞).
* Trajectories: :class:`TrajectoryRecorder`, a ``train`` callback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlplab.losses import output_error
from mlplab.objective import Problem

# --- trajectories ----------------------------------------------------------------


class TrajectoryRecorder:
    """``train(..., callback=TrajectoryRecorder(net), eval_every=1)`` keeps every recorded w^k.

    ``train`` calls it at each record (reading ``net.params`` there); after
    training, :meth:`finish` appends the final w if the last record was made
    without a callback (e.g. after a failed line search).

    Attributes:
        params: list of copies of w^k, one per record.
        records: the record dicts train passed.
    """

    def __init__(self, net, stop_at_cost: int | None = None):
        self.net = net
        self.stop_at_cost = stop_at_cost
        self.params: list[np.ndarray] = []
        self.records: list[dict] = []

    def __call__(self, record: dict):
        self.params.append(self.net.params.copy())
        self.records.append(dict(record))
        return self.stop_at_cost is not None and record["cost"] >= self.stop_at_cost

    def finish(self, result) -> np.ndarray:
        """(n_records, d) array of the trajectory, matching ``result.history``."""
        if len(self.params) < len(result.history):
            self.params.append(np.array(result.params, copy=True))
        return np.array(self.params)


# --- surfaces --------------------------------------------------------------------


def batched_loss(problem: Problem, Ws: np.ndarray, max_elements: int = 1 << 18) -> np.ndarray:
    """E(w) for every row of Ws (G, d) at once, shape (G,).

    The forward pass is batched over parameter vectors: for layer ℓ,
    Z^ℓ[g] = A^{ℓ−1}[g] (W^ℓ[g])ᵀ (+ b^ℓ[g]) is one ``np.matmul`` over all g; no
    Python loop per point. Sample weights, reduction and the L2 term are those
    of ``problem``. Points are processed in chunks whose activations (points ×
    samples × widest layer) stay below ``max_elements`` numbers, to bound memory.
    """
    Ws = np.atleast_2d(np.asarray(Ws, dtype=problem.net.dtype))
    net = problem.net
    if Ws.shape[1] != net.n_params:
        raise ValueError(f"Ws must have d = {net.n_params} columns, got shape {Ws.shape}")
    S, out = problem.S, np.empty(Ws.shape[0])
    c = problem.sample_weight
    scale = (1.0 / S if problem.reduction == "mean" else 1.0)
    per_point = max(1, int(max_elements // max(S * max(net.layer_sizes), 1)))  # points per chunk
    for start in range(0, Ws.shape[0], per_point):
        Wc = Ws[start:start + per_point]
        G = Wc.shape[0]
        A = np.broadcast_to(problem.X, (G,) + problem.X.shape)
        Z = None
        for s, act in zip(net.slices, net.activations):
            W = Wc[:, s.W].reshape(G, *s.shape)  # (G, N_ℓ, N_{ℓ−1})
            Z = A @ W.transpose(0, 2, 1)  # z^ℓ = W^ℓ a^{ℓ−1} for all points and samples
            if s.b is not None:
                Z = Z + Wc[:, None, s.b]
            A = act.phi(Z)
        NL = Z.shape[-1]
        Yt = np.broadcast_to(problem.Y, (G,) + problem.Y.shape).reshape(G * S, NL)
        e, _ = output_error(problem.loss, net.activations[-1], Yt, Z.reshape(G * S, NL),
                            A.reshape(G * S, NL), need_grad=False)
        e = e.reshape(G, S)
        E = (e @ c if c is not None else e.sum(axis=1)) * scale
        if problem.l2:
            E = E + 0.5 * problem.l2 * sum((Wc[:, s.W] ** 2).sum(axis=1) for s in net.slices)
        out[start:start + G] = E
    return out


@dataclass
class Surface:
    """E on a grid of the plane w(a, b) = w0 + a·u + b·v (or two coordinates of w).

    Attributes:
        a, b: 1-D grid coordinates (n_a,), (n_b,).
        E: (n_b, n_a) values, E[j, i] = E(w(a[i], b[j])).
        w0, u, v: the plane (u, v are unit coordinate vectors for :func:`param_surface`).
        labels: axis names, e.g. ("w11", "w12").
        kind: "params", "random" or "pca".
    """

    a: np.ndarray
    b: np.ndarray
    E: np.ndarray
    w0: np.ndarray
    u: np.ndarray
    v: np.ndarray
    labels: tuple[str, str]
    kind: str

    def project(self, W: np.ndarray) -> np.ndarray:
        """Plane coordinates (n, 2) of parameter vectors W (n, d): least squares on [u v]."""
        B = np.stack([self.u, self.v], axis=1)
        coef, *_ = np.linalg.lstsq(B, (np.atleast_2d(W) - self.w0).T, rcond=None)
        return coef.T

    def E_at(self, problem: Problem, W: np.ndarray) -> np.ndarray:
        """E at the points of W projected onto the plane (what the picture shows)."""
        ab = self.project(W)
        return batched_loss(problem, self.w0 + ab[:, :1] * self.u + ab[:, 1:] * self.v)


def param_name(net, index: int) -> str:
    """Lecture name of coordinate ``index`` of w: "w11" style for W^ℓ entries, "b1_2" for biases.

    Layer 1 entries are named w_{ij} (the slides' w^1_{ij}); deeper layers W^ℓ_{ij}.
    """
    for ell, s in enumerate(net.slices, start=1):
        if s.W.start <= index < s.W.stop:
            i, j = divmod(index - s.W.start, s.shape[1])
            return f"w{i + 1}{j + 1}" if ell == 1 else f"W{ell}[{i + 1},{j + 1}]"
        if s.b is not None and s.b.start <= index < s.b.stop:
            return f"b{ell}[{index - s.b.start + 1}]"
    raise ValueError(f"index {index} is outside 0..{net.n_params - 1}")


def param_surface(problem: Problem, i: int = 0, j: int = 1, a_range=(-6.0, 6.0), b_range=(-6.0, 6.0),
                  n: int = 121, w0=None) -> Surface:
    """E over coordinates w_i, w_j of w on an n × n grid, the other coordinates fixed at w0.

    For the toy problem (``MLP([2, 1], bias=False)``) i = 0, j = 1 is the
    slides' (w11, w12) surface. Vectorised via :func:`batched_loss`.
    """
    d = problem.d
    for name, idx in (("i", i), ("j", j)):
        if not (0 <= idx < d):
            raise ValueError(f"{name} must be a coordinate of w in 0..{d - 1}, got {idx}")
    if i == j:
        raise ValueError(f"i and j must differ, got {i} and {j}")
    base = np.array(problem.net.params if w0 is None else w0, dtype=float)
    a = np.linspace(*a_range, n)
    b = np.linspace(*b_range, n)
    u, v = np.zeros(d), np.zeros(d)
    u[i], v[j] = 1.0, 1.0
    origin = base.copy()
    origin[i] = origin[j] = 0.0
    AA, BB = np.meshgrid(a, b)  # (n_b, n_a)
    Ws = np.repeat(origin[None, :], AA.size, axis=0)
    Ws[:, i], Ws[:, j] = AA.ravel(), BB.ravel()
    E = batched_loss(problem, Ws).reshape(AA.shape)
    net = problem.net
    return Surface(a, b, E, origin, u, v, (param_name(net, i), param_name(net, j)), "params")


def random_direction(net, w, seed=None, normalize: str = "filter") -> np.ndarray:
    """A Gaussian direction in parameter space, normalised layer by layer (Li et al. 2018).

    ``normalize="filter"``: each row of d's W^ℓ block (one neuron's incoming
    weights, the MLP analogue of a filter) is rescaled to the norm of the same
    row of W^ℓ; ``"layer"``: each block to ‖W^ℓ‖_F. Bias entries are set to 0
    (as in the paper). Makes slices comparable across layers whose weights have
    different scales.
    """
    if normalize not in ("filter", "layer"):
        raise ValueError(f"normalize must be 'filter' or 'layer', got {normalize!r}")
    rng = np.random.default_rng(seed)
    w = np.asarray(w, dtype=float)
    d = np.zeros_like(w)
    for s in net.slices:
        W = w[s.W].reshape(s.shape)
        D = rng.standard_normal(s.shape)
        if normalize == "filter":
            D *= np.linalg.norm(W, axis=1, keepdims=True) / (np.linalg.norm(D, axis=1, keepdims=True) + 1e-12)
        else:
            D *= np.linalg.norm(W) / (np.linalg.norm(D) + 1e-12)
        d[s.W] = D.ravel()
    return d


def pca_directions(trajectory: np.ndarray, w_end=None):
    """The trajectory's two principal directions around its end point.

    Args:
        trajectory: (n, d) iterates w^k (several runs may be stacked).
        w_end: the centre (default the last row).

    Returns:
        (u, v, explained): unit vectors (d,) and the fraction of variance each explains.
    """
    T = np.atleast_2d(np.asarray(trajectory, dtype=float))
    centre = T[-1] if w_end is None else np.asarray(w_end, dtype=float)
    M = T - centre
    _, sv, Vt = np.linalg.svd(M, full_matrices=False)
    total = float(np.sum(sv ** 2)) or 1.0
    if Vt.shape[0] < 2:  # a single direction: complete it with any orthogonal one
        extra = np.zeros(T.shape[1])
        extra[np.argmin(np.abs(Vt[0]))] = 1.0
        extra -= extra @ Vt[0] * Vt[0]
        Vt = np.vstack([Vt, extra / np.linalg.norm(extra)])
        sv = np.append(sv, 0.0)
    return Vt[0], Vt[1], (sv[:2] ** 2) / total


def direction_surface(problem: Problem, w0, u, v, a_range=(-1.0, 1.0), b_range=(-1.0, 1.0), n: int = 41,
                      kind: str = "random") -> Surface:
    """E(w0 + a·u + b·v) on an n × n grid (vectorised)."""
    w0, u, v = (np.asarray(x, dtype=float) for x in (w0, u, v))
    a = np.linspace(*a_range, n)
    b = np.linspace(*b_range, n)
    AA, BB = np.meshgrid(a, b)
    Ws = w0 + AA.reshape(-1, 1) * u + BB.reshape(-1, 1) * v
    E = batched_loss(problem, Ws).reshape(AA.shape)
    names = ("PC1", "PC2") if kind == "pca" else ("direction 1", "direction 2")
    return Surface(a, b, E, w0, u, v, names, kind)


def direction_slice(problem: Problem, w0, u, a_range=(-1.0, 1.0), n: int = 101):
    """1-D slice: (a, E(w0 + a·u)) for a on a grid of n points."""
    a = np.linspace(*a_range, n)
    return a, batched_loss(problem, np.asarray(w0, float) + a[:, None] * np.asarray(u, float))


def radial_minimum(problem: Problem, radii, n_angles: int = 720, center=None):
    """min over the circle ‖w − center‖ = r in the plane of w's first two coordinates, per radius.

    For the toy problem (d = 2, separable data) the minimum decreases
    monotonically towards 0 as r grows: E has no minimiser, its infimum 0 is
    approached only as ‖w‖ → ∞. Returns (radii, E_min (n_r,), argmin points (n_r, 2)).
    """
    if problem.d != 2:
        raise ValueError(f"radial_minimum is for two-parameter problems (d = 2), got d = {problem.d}")
    radii = np.asarray(radii, dtype=float)
    c = np.zeros(2) if center is None else np.asarray(center, float)
    theta = np.linspace(0.0, 2 * np.pi, n_angles, endpoint=False)
    circle = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    pts = c + radii[:, None, None] * circle[None]  # (n_r, n_angles, 2)
    E = batched_loss(problem, pts.reshape(-1, 2)).reshape(len(radii), n_angles)
    j = np.argmin(E, axis=1)
    return radii, E[np.arange(len(radii)), j], pts[np.arange(len(radii)), j]


# --- convergence rates -------------------------------------------------------------


@dataclass
class RateFit:
    """Empirical rate of E(w^k) − E* over a window of k.

    Attributes:
        kind: "sublinear" (E − E* ≈ C k^{−p}) or "linear" (E − E* ≈ C q^k),
            whichever straight line fits better (log-log vs semi-log R²).
        p: the fitted exponent of the power law (always computed).
        q: the fitted ratio of the geometric law (always computed).
        C: the constant of the chosen law.
        r2_power, r2_linear: R² of the two fits.
        window: (k_lo, k_hi) used.
    """

    kind: str
    p: float
    q: float
    C: float
    r2_power: float
    r2_linear: float
    window: tuple[int, int]

    def describe(self) -> str:
        if self.kind == "linear":
            return f"linear: E − E* ≈ {self.C:.2g}·{self.q:.3g}^k (R² {self.r2_linear:.3f})"
        sign = "−" if self.p >= 0 else ""  # a negative p (E growing) prints as k^(2.28), not k^(−-2.28)
        return f"E − E* ≈ {self.C:.2g}·k^({sign}{abs(self.p):.2f}) (R² {self.r2_power:.3f})"


def _r2(x, y, coef):
    resid = y - np.polyval(coef, x)
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum(resid ** 2)) / ss if ss > 0 else 1.0


def fit_rate(k, err, window=None) -> RateFit:
    """Fit E − E* ∼ C k^{−p} (straight line in log-log) and ∼ C q^k (straight line in semi-log).

    Args:
        k: iteration indices (n,).
        err: E(w^k) − E* (n,); non-positive or non-finite entries are dropped.
        window: (k_lo, k_hi) inclusive; default: the second half of the run
            (k ≥ k_max / 2), where the asymptotic rate shows.

    Returns:
        :class:`RateFit`; ``kind`` is the law whose fit has the larger R².
    """
    k = np.asarray(k, dtype=float)
    err = np.asarray(err, dtype=float)
    if k.shape != err.shape:
        raise ValueError(f"k and err must have the same shape, got {k.shape} and {err.shape}")
    if window is None:
        window = (max(1, int(np.nanmax(k) // 2)) if k.size else 1, int(np.nanmax(k)) if k.size else 1)
    lo, hi = window
    keep = (k >= max(lo, 1)) & (k <= hi) & np.isfinite(err) & (err > 0)
    if keep.sum() < 3:
        raise ValueError(f"fit_rate needs at least 3 points with k >= 1 and E - E* > 0 in the window "
                         f"{window}, got {int(keep.sum())}")
    kk, le = k[keep], np.log(err[keep])
    cp = np.polyfit(np.log(kk), le, 1)
    cl = np.polyfit(kk, le, 1)
    r2p, r2l = _r2(np.log(kk), le, cp), _r2(kk, le, cl)
    kind = "linear" if r2l > r2p else "sublinear"
    C = float(np.exp(cl[1] if kind == "linear" else cp[1]))
    return RateFit(kind, float(-cp[0]), float(np.exp(cl[0])), C, r2p, r2l, (int(lo), int(hi)))


def theory_rate(optimizer) -> str:
    """What the lecture says about the convergence of this method (a sentence)."""
    name = type(optimizer).__name__
    base = getattr(optimizer, "base", None)
    if base is not None and name in ("Momentum", "Adam"):
        return f"{name} on {theory_rate(base)} (not covered by the lecture's rates)"
    if name == "GD":
        return ("GD: E(w^k) − E* = O(1/√k) under minor assumptions if a local optimum exists; "
                "O(1/k²) possible; linear if E is strongly convex and smooth")
    sched = getattr(optimizer, "schedule", None)
    rm = getattr(sched, "robbins_monro", None)
    cond = ("γ_k satisfies Robbins–Monro (Σγ_k = ∞, Σγ_k² < ∞): asymptotic convergence"
            if rm else "γ_k does not satisfy Robbins–Monro: no convergence guarantee (noise floor)"
            if rm is False else "Robbins–Monro status of γ_k unknown")
    if name == "SGD":
        return f"SGD: O(1/k) possible for smooth E (in theory); {cond}"
    if name == "MiniBatchSGD":
        return f"mini-batch SGD: like SGD, O(1/k) for smooth E in theory; {cond}"
    return f"{name}: no rate in the lecture"


# --- gradient flow -----------------------------------------------------------------


@dataclass
class LayerFlow:
    """Layer ℓ's factors of the lecture's bound on one batch (means over its samples).

    ‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ^ℓ′)‖₂ · ‖V^{ℓ+1}…V^L δ^L‖₂ · ‖a^{ℓ−1}‖₂, with
    V^{ℓ+1}…V^L δ^L = δ^ℓ = ∂e/∂a^ℓ. For softmax the diagonal is replaced by
    the Jacobian's spectral norm.

    Attributes:
        layer: ℓ (1..L).
        dphi_norm, delta_norm, a_prev_norm: per-sample factors (S,).
        grad_norm: per-sample ‖∇_{W^ℓ} e^s‖₂ (S,) (spectral = Frobenius for this rank-1 matrix).
        bound: per-sample product of the three factors (S,).
        batch_grad_norm: ‖Σ_s ∇_{W^ℓ} e^s‖_F on the batch.
        saturated: fraction of units (over samples) with φ′(z) < 1 % of max φ′.
    """

    layer: int
    activation: str
    dphi_norm: np.ndarray
    delta_norm: np.ndarray
    a_prev_norm: np.ndarray
    grad_norm: np.ndarray
    bound: np.ndarray
    batch_grad_norm: float
    saturated: float

    @property
    def holds(self) -> bool:
        """Whether ‖∇_{W^ℓ} e^s‖₂ ≤ bound for every sample (relative slack 1e-9)."""
        return bool(np.all(self.grad_norm <= self.bound * (1 + 1e-9) + 1e-300))


@dataclass
class GradientFlow:
    layers: list[LayerFlow]
    diagnosis: "Diagnosis"

    def table(self) -> list[dict]:
        """One dict per layer with the mean factors (for reports)."""
        return [{"layer": f.layer, "activation": f.activation,
                 "||Diag(phi')||": float(f.dphi_norm.mean()), "||delta^l||": float(f.delta_norm.mean()),
                 "||a^(l-1)||": float(f.a_prev_norm.mean()), "||grad_W e||": float(f.grad_norm.mean()),
                 "bound": float(f.bound.mean()), "bound holds": f.holds,
                 "||grad_W E|| (batch)": f.batch_grad_norm, "saturated": f.saturated} for f in self.layers]


SATURATION = 0.01


def gradient_flow(net, X, Y, loss="squared", w=None, saturation: float = SATURATION) -> GradientFlow:
    """The three factors of the lecture's bound, per layer and sample, on the batch (X, Y).

    Uses the network's own batched forward pass and backward recursion
    (:meth:`mlplab.MLP.backprop`); δ^ℓ = V^{ℓ+1}…V^L δ^L is recovered as
    ∂e/∂z^{ℓ+1} W^{ℓ+1} (and δ^L = ∂e/∂ŷ). Unweighted sample errors e^s.
    """
    problem = Problem(net, X, Y, loss)
    w = net.params if w is None else np.asarray(w, dtype=net.dtype)
    Zs, As = net.forward_cache(problem.X, w)
    weights, _ = net.unpack(w)
    out_act = net.activations[-1]
    _, dz_L = output_error(problem.loss, out_act, problem.Y, Zs[-1], As[-1])
    with np.errstate(all="ignore"):
        delta_L = problem.loss.grad(problem.Y, As[-1])
    L = net.n_layers
    flows: list[LayerFlow | None] = [None] * L
    dz_next = None
    for ell, dz, a_prev in net.backprop((Zs, As), dz_L, w):
        act = net.activations[ell - 1]
        delta = delta_L if ell == L else dz_next @ weights[ell]  # δ^ℓ = V^{ℓ+1} δ^{ℓ+1}
        if act.elementwise:
            dphi = act.dphi(Zs[ell - 1], As[ell])
            dphi_norm = np.max(np.abs(dphi), axis=1)  # ‖Diag(φ′)‖₂ = max |φ′|
            sat = float(np.mean(np.abs(dphi) < saturation * act.dphi_max))
        else:  # softmax: the Jacobian Diag(a) − a aᵀ
            a = As[ell]
            J = np.einsum("si,ij->sij", a, np.eye(a.shape[1])) - a[:, :, None] * a[:, None, :]
            dphi_norm = np.linalg.norm(J, ord=2, axis=(1, 2))
            sat = float(np.mean(np.diagonal(J, axis1=1, axis2=2) < saturation * act.dphi_max))
        if ell == L and out_act.name in problem.loss.logit_forms:
            # δ^L = ∂e/∂ŷ is infinite where ŷ rounds to 0 or 1 while Diag(φ′) δ^L (from the logits)
            # is finite: there, ‖dz‖ / ‖Diag(φ′)‖ ≤ ‖δ^L‖ keeps the bound finite (and tight)
            with np.errstate(all="ignore"):
                delta_norm = np.linalg.norm(delta, axis=1)
                fallback = np.linalg.norm(dz, axis=1) / np.maximum(dphi_norm, 1e-300)
            delta_norm = np.where(np.isfinite(delta_norm), delta_norm, fallback)
        else:
            delta_norm = np.linalg.norm(delta, axis=1)
        a_norm = np.linalg.norm(a_prev, axis=1)
        g_norm = np.linalg.norm(dz, axis=1) * a_norm  # ‖dz aᵀ‖₂ = ‖dz‖ ‖a‖ (rank one)
        batch = float(np.linalg.norm(dz.T @ a_prev))
        flows[ell - 1] = LayerFlow(ell, act.name, dphi_norm, delta_norm, a_norm, g_norm,
                                   dphi_norm * delta_norm * a_norm, batch, sat)
        dz_next = dz
    return GradientFlow(flows, diagnose_gradients([f.batch_grad_norm for f in flows],
                                                  saturated=[f.saturated for f in flows]))


@dataclass
class Diagnosis:
    """Verdict on per-layer gradient norms.

    Attributes:
        kind: "vanishing", "exploding" or "healthy".
        layer: the layer named in the verdict (1-based), or None.
        ratio: ‖∇_{W^1}E‖ / ‖∇_{W^L}E‖.
        message: a sentence for people.
    """

    kind: str
    layer: int | None
    ratio: float
    message: str


def diagnose_gradients(layer_norms, threshold: float = 1e3, saturated=None, history=None) -> Diagnosis:
    """Vanishing / exploding gradients from per-layer norms ‖∇_{W^ℓ}E‖ (ℓ = 1..L).

    Vanishing: ‖∇_{W^1}E‖ is more than ``threshold`` times (three orders of
    magnitude by default) below ‖∇_{W^L}E‖; the named layer is the last one
    (closest to the output) whose gradient is already that far below.
    Exploding: the first layer's gradient is ``threshold`` times above the
    last's, or (with ``history``, a (n_records, L) array of norms over
    iterations) some layer's norm grew by more than ``threshold`` over the run
    or became non-finite.
    """
    g = np.asarray(layer_norms, dtype=float)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"layer_norms must be a non-empty list of per-layer norms, got shape {g.shape}")
    L = g.size
    last = g[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(g[0] / last) if last > 0 else (math.inf if g[0] > 0 else 1.0)
    sat = "" if saturated is None else (
        " Saturated units (φ′ < 1% of its max) per layer: "
        + ", ".join(f"{s:.0%}" for s in saturated) + ".")
    if history is not None:
        H = np.asarray(history, dtype=float)
        if H.ndim == 2 and H.shape[0] > 1:
            bad = ~np.all(np.isfinite(H), axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                growth = np.nanmax(H, axis=0) / np.maximum(H[0], 1e-300)
            for ell in range(L):
                if bad[ell] or growth[ell] > threshold:
                    return Diagnosis("exploding", ell + 1, ratio,
                                     f"Exploding gradients: ‖∇_W{ell + 1} E‖ grew by a factor "
                                     f"{growth[ell]:.3g} during training (layer {ell + 1})." + sat)
    if L == 1:
        return Diagnosis("healthy", None, 1.0, "One layer: the gradient does not flow through any hidden layer, "
                         "so it cannot vanish or explode on the way." + sat)
    if ratio < 1.0 / threshold:
        below = np.nonzero(g * threshold < last)[0]
        ell = int(below.max()) + 1
        return Diagnosis("vanishing", ell, ratio,
                         f"Vanishing gradients: ‖∇_W1 E‖ = {g[0]:.3g} is {math.log10(last / max(g[0], 1e-300)):.1f} "
                         f"orders of magnitude below ‖∇_W{L} E‖ = {last:.3g}; from layer {ell} down the "
                         f"gradient is more than {threshold:g}× smaller than at the output, so the first "
                         "layers barely learn (the product V^{ℓ+1}…V^L δ^L shrinks)." + sat)
    if ratio > threshold:
        above = np.nonzero(g > threshold * last)[0]
        ell = int(above.max()) + 1
        return Diagnosis("exploding", ell, ratio,
                         f"Exploding gradients: ‖∇_W1 E‖ = {g[0]:.3g} is {math.log10(ratio):.1f} orders of "
                         f"magnitude above ‖∇_W{L} E‖ = {last:.3g}, from layer {ell} down (the product "
                         "V^{ℓ+1}…V^L δ^L grows)." + sat)
    return Diagnosis("healthy", None, ratio,
                     f"No vanishing or exploding gradients: ‖∇_W1 E‖ / ‖∇_W{L} E‖ = {ratio:.3g}." + sat)


# --- where did it stop ------------------------------------------------------------


def hessian(problem: Problem, w, eps: float | None = None) -> np.ndarray:
    """∇²E(w) (d, d) by central differences of the exact (backprop) gradient, symmetrised.

    Column i = (∇E(w + ε e_i) − ∇E(w − ε e_i)) / 2ε; 2d gradient evaluations,
    meant for networks with up to a few thousand parameters.
    """
    w = np.asarray(w, dtype=np.float64)
    d = w.size
    if d > 5000:
        raise ValueError(f"hessian is for small networks (d <= 5000), got d = {d}; use hvp_extremes")
    eps = _fd_step(w) if eps is None else eps
    H = np.empty((d, d))
    wp = w.copy()
    for i in range(d):
        wp[i] = w[i] + eps
        gp = problem.value_and_grad(wp)[1].copy()
        wp[i] = w[i] - eps
        gm = problem.value_and_grad(wp)[1]
        H[:, i] = (gp - gm) / (2 * eps)
        wp[i] = w[i]
    return 0.5 * (H + H.T)


def _fd_step(w) -> float:
    return 1e-5 * max(1.0, float(np.linalg.norm(w)) / math.sqrt(max(w.size, 1)))


def hvp_extremes(problem: Problem, w, tol: float = 1e-6) -> tuple[float, float]:
    """(λ_min, λ_max) of ∇²E(w) from Hessian-vector products, without forming the Hessian.

    H v ≈ (∇E(w + εv) − ∇E(w − εv)) / 2ε (two backprop passes per product);
    λ_max by Lanczos (``scipy.sparse.linalg.eigsh``), λ_min as the extreme
    eigenvalue of the shifted operator H − λ_max I. For networks too large for
    :func:`hessian`.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    w = np.asarray(w, dtype=np.float64)
    d = w.size
    eps = _fd_step(w)

    def hv(v):
        v = np.asarray(v, dtype=np.float64).ravel()
        n = float(np.linalg.norm(v))
        if n == 0.0:
            return np.zeros(d)
        h = eps / n
        gp = problem.value_and_grad(w + h * v)[1].astype(np.float64, copy=True)
        gm = problem.value_and_grad(w - h * v)[1]
        return (gp - gm) / (2 * h)

    if d <= 2:  # Lanczos needs k < d: form the tiny matrix instead
        eig = np.linalg.eigvalsh(hessian(problem, w))
        return float(eig[0]), float(eig[-1])
    rng = np.random.default_rng(0)
    H = LinearOperator((d, d), matvec=hv, dtype=np.float64)
    lam_max = float(eigsh(H, k=1, which="LA", tol=tol, v0=rng.standard_normal(d), return_eigenvectors=False)[0])
    shifted = LinearOperator((d, d), matvec=lambda v: hv(v) - lam_max * np.asarray(v).ravel(), dtype=np.float64)
    low = float(eigsh(shifted, k=1, which="LM", tol=tol, v0=rng.standard_normal(d), return_eigenvectors=False)[0])
    return min(lam_max + low, lam_max), lam_max


@dataclass
class StationaryPoint:
    """Verdict on the point w where a run stopped.

    Attributes:
        loss, grad_norm: E(w), ‖∇E(w)‖₂.
        eig_min, eig_max: extreme eigenvalues of ∇²E(w).
        verdict: "local minimum", "saddle point", "flat valley", "not stationary" or
            "undetermined" (non-finite E, gradient or curvature).
        message: a sentence for people.
    """

    loss: float
    grad_norm: float
    eig_min: float
    eig_max: float
    verdict: str
    message: str


def stationary_point(problem: Problem, w, grad_tol: float = 1e-3, flat_tol: float = 1e-4) -> StationaryPoint:
    """Is w a local minimum, a saddle, a flat valley — or not stationary at all?

    The lecture's characterisation: at a local optimum ∇E(w*) = 0. The
    extreme eigenvalues come from :func:`hessian` for d ≤ 2000 and from
    :func:`hvp_extremes` above. With
    ‖∇E‖ ≤ grad_tol·max(1, E), the Hessian's eigenvalues decide: all clearly
    positive → local minimum; a clearly negative one → saddle; the smallest
    within flat_tol·max(1, |λ_max|) of zero → flat valley (a minimum only in the
    limit, e.g. E → inf as ‖w‖ → ∞, or a degenerate minimum). When E(2w) < E(w)
    the message adds that E still decreases along the ray t·w (infimum at ‖w‖ → ∞).
    """
    w = np.asarray(w, dtype=np.float64)
    E, g = problem.value_and_grad(w)
    gn = float(np.linalg.norm(g))
    if w.size <= 2000:
        H = hessian(problem, w)
        if np.all(np.isfinite(H)):  # LAPACK returns arbitrary numbers for a matrix holding NaN
            eig = np.linalg.eigvalsh(H)
            lo, hi = float(eig[0]), float(eig[-1])
        else:
            lo = hi = math.nan
    else:
        lo, hi = hvp_extremes(problem, w)
    scale = max(1.0, abs(hi))
    flat = flat_tol * scale
    if not all(math.isfinite(v) for v in (E, gn, lo, hi)):
        verdict = "undetermined"
        msg = (f"E = {E:.3g}, ‖∇E‖ = {gn:.3g}, λ_min = {lo:.3g}, λ_max = {hi:.3g}: not all finite (saturated or "
               "overflowing units), so the point cannot be classified.")
        return StationaryPoint(float(E), gn, lo, hi, verdict, msg)
    if gn > grad_tol * max(1.0, abs(E)):
        verdict = "not stationary"
        msg = (f"‖∇E‖ = {gn:.3g} is not small: the run stopped before reaching a stationary point "
               f"(λ_min = {lo:.3g}, λ_max = {hi:.3g}).")
    elif lo < -flat:
        verdict = "saddle point"
        msg = f"‖∇E‖ = {gn:.3g} ≈ 0 but ∇²E has a negative eigenvalue λ_min = {lo:.3g}: a saddle point."
    elif lo <= flat:
        verdict = "flat valley"
        msg = (f"‖∇E‖ = {gn:.3g} ≈ 0 and λ_min = {lo:.3g} ≈ 0 (λ_max = {hi:.3g}): a flat valley — "
               "E hardly changes along some directions; the infimum may lie at infinity.")
    else:
        verdict = "local minimum"
        msg = f"‖∇E‖ = {gn:.3g} ≈ 0 and all eigenvalues of ∇²E are positive (λ_min = {lo:.3g}): a local minimum."
    E2 = problem.value(2.0 * w)
    if E2 < E * (1 - 1e-3):
        msg += (f" E keeps decreasing along the ray t·w (E(2w) = {E2:.3g} < E(w) = {E:.3g}): "
                "the infimum is approached only as ‖w‖ → ∞.")
    return StationaryPoint(float(E), gn, lo, hi, verdict, msg)


# --- decision boundaries ------------------------------------------------------------


def decision_grid(net, X, n: int = 150, margin: float = 0.5, w=None):
    """Predicted output over a grid covering the 2-D inputs X.

    Returns (xs (n,), ys (n,), P (n, n)): P[j, i] is the network's output at
    (xs[i], ys[j]) — ŷ for one output unit, the probability of class 1 (last
    column) for softmax.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or net.n_inputs != 2:
        raise ValueError("decision_grid needs 2-D inputs X (S, 2) and a network with N_0 = 2")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    GX, GY = np.meshgrid(xs, ys)
    out = net.forward(np.stack([GX.ravel(), GY.ravel()], axis=1), params=w)
    return xs, ys, out[:, -1].reshape(n, n)
