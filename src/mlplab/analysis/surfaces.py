"""Loss surfaces: E(w) = Σ_s e(y^s, ŷ(x^s; w)) on planes and lines through parameter space.

* :func:`batched_loss`: E(w) for G parameter vectors at once — z^ℓ = W^ℓ a^{ℓ−1} (+ b^ℓ),
  a^ℓ = φ(z^ℓ), batched over the points (one ``np.matmul`` per layer, no Python loop per point).
* :func:`param_surface`: E over two coordinates of w (the slides' (w11, w12) picture).
* :func:`direction_surface`, :func:`direction_slice`: E(w0 + a·u + b·v) along
  layer-normalised random directions (:func:`random_direction`, Li et al. 2018)
  or the trajectory's principal directions (:func:`pca_directions`).
* :func:`radial_minimum`: min_{‖w‖ = r} E(w) — for the toy problem it falls to 0 as
  r → ∞, the infimum that is never attained.
* :func:`decision_grid`: ŷ(x; w) over a grid of the 2-D input plane.

NumPy only, in the lecture's notation (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlplab.losses import output_error
from mlplab.objective import Problem


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
        if getattr(problem, "l1", 0.0):  # λ₁ Σ|W^ℓ_ij|
            E = E + problem.l1 * sum(np.abs(Wc[:, s.W]).sum(axis=1) for s in net.slices)
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
