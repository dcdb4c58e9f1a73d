"""Curvature at w: ∇²E(w) from Hessian-vector products, and its extreme eigenpairs by Lanczos.

At w, the quadratic model of E is E(w + p) ≈ E(w) + ∇E(w)ᵀ p + ½ pᵀ ∇²E(w) p; its curvature
is all that the second-order test of a stationary point needs.

* ∇²E(w) v ≈ (∇E(w + εv) − ∇E(w − εv)) / 2ε, ‖v‖ = 1, by two backprop passes (the
  Hessian is never formed); ε = u^{1/3} · max(1, rms(w)), u the unit round-off of the
  network's dtype: the truncation error O(ε²) balances the rounding error O(u/ε).
* λ_min, λ_max of ∇²E(w) (d, d) and their eigenvectors (d,) by Lanczos,
  ``scipy.sparse.linalg.eigsh`` on a ``LinearOperator`` of those products.
* :func:`hessian`: the full (d, d) matrix, for small d (tests, teaching).

NumPy/SciPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlplab.objective import Problem


def _fd_step(w, dtype=np.float64) -> float:
    """ε = u^{1/3} · max(1, rms(w)): central differences' truncation O(ε²) against rounding O(u/ε)."""
    w = np.asarray(w)
    u = float(np.finfo(np.dtype(dtype)).eps)
    rms = float(np.linalg.norm(w)) / math.sqrt(max(w.size, 1))
    return u ** (1.0 / 3.0) * max(1.0, rms)


def hessian(problem: Problem, w, eps: float | None = None) -> np.ndarray:
    """∇²E(w) (d, d) by central differences of the exact (backprop) gradient, symmetrised.

    Column i = (∇E(w + ε e_i) − ∇E(w − ε e_i)) / 2ε; 2d gradient evaluations,
    meant for networks with up to a few thousand parameters (tests, teaching).
    :func:`stationary_point` never forms it: it uses :func:`hessian_extremes`.
    """
    w = np.asarray(w, dtype=np.float64)
    d = w.size
    if d > 5000:
        raise ValueError(f"hessian is for small networks (d <= 5000), got d = {d}; use hessian_extremes")
    eps = _fd_step(w, problem.net.dtype) if eps is None else eps
    H = np.empty((d, d))
    wp = w.copy()
    for i in range(d):
        wp[i] = w[i] + eps
        gp = problem.value_and_grad(wp)[1].astype(np.float64, copy=True)
        wp[i] = w[i] - eps
        gm = problem.value_and_grad(wp)[1]
        H[:, i] = (gp - gm) / (2 * eps)
        wp[i] = w[i]
    return 0.5 * (H + H.T)


class HessianVectorProduct:
    """v ↦ ∇²E(w) v ≈ (∇E(w + εv̂) − ∇E(w − εv̂)) / 2ε · ‖v‖ (two backprop passes; v̂ = v/‖v‖).

    Attributes:
        eps: the step ε along the unit vector v̂.
        count: products computed so far.
    """

    def __init__(self, problem: Problem, w, eps: float | None = None):
        self.problem = problem
        self.w = np.asarray(w, dtype=np.float64)
        self.eps = _fd_step(self.w, problem.net.dtype) if eps is None else float(eps)
        self.count = 0
        self._wp = np.empty_like(self.w)

    def __call__(self, v) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64).ravel()
        n = float(np.linalg.norm(v))
        if n == 0.0:
            return np.zeros_like(self.w)
        self.count += 1
        h = self.eps / n
        np.multiply(v, h, out=self._wp)
        self._wp += self.w
        gp = self.problem.value_and_grad(self._wp)[1].astype(np.float64, copy=True)
        np.multiply(v, -h, out=self._wp)
        self._wp += self.w
        gm = self.problem.value_and_grad(self._wp)[1]
        gp -= gm
        gp /= 2 * h
        return gp

    def operator(self, shift: float = 0.0, sign: float = 1.0):
        """``scipy.sparse.linalg.LinearOperator`` of sign·(∇²E − shift·I)."""
        from scipy.sparse.linalg import LinearOperator

        d = self.w.size

        def mv(v):
            v = np.asarray(v, dtype=np.float64).ravel()
            out = self(v)
            if shift:
                out -= shift * v
            return out if sign == 1.0 else sign * out

        return LinearOperator((d, d), matvec=mv, dtype=np.float64)


@dataclass
class Curvature:
    """Extreme eigenpairs of ∇²E(w) from Lanczos on Hessian-vector products.

    Attributes:
        lam_min, lam_max: the extreme eigenvalues (Rayleigh quotients of the returned vectors).
        v_min, v_max: unit eigenvectors (d,).
        res_min, res_max: residuals ‖∇²E v − λ v‖ (an eigenvalue lies within this of λ).
        products: Hessian-vector products used (each = 2 gradient evaluations).
        eps: the finite-difference step.
        converged: whether both Lanczos runs met their tolerance.
    """

    lam_min: float
    lam_max: float
    v_min: np.ndarray
    v_max: np.ndarray
    res_min: float
    res_max: float
    products: int
    eps: float
    converged: bool = True


def _top(op, d, which, tol, ncv, maxiter, v0):
    """One extreme eigenpair of op by ARPACK's Lanczos (eigsh, k = 1); None if nothing converged."""
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

    ncv = min(d, 20 if ncv is None else max(ncv, 3))
    try:
        with np.errstate(all="ignore"):
            val, vec = eigsh(op, k=1, which=which, tol=tol, ncv=ncv, maxiter=maxiter, v0=v0)
        return float(val[0]), vec[:, 0], True
    except ArpackNoConvergence as exc:
        if len(exc.eigenvalues):
            return float(exc.eigenvalues[0]), exc.eigenvectors[:, 0], False
        return None
    except (ArpackError, ValueError):  # e.g. NaN products: nothing to report
        return None


def hessian_extremes(problem: Problem, w, *, tol: float = 1e-2, ncv: int | None = 10, maxiter: int | None = 60,
                     eps: float | None = None, seed: int = 0) -> Curvature:
    """λ_min, λ_max of ∇²E(w) and their eigenvectors, from Hessian-vector products only.

    Two Lanczos runs (``eigsh``, k = 1), each on an operator whose wanted
    eigenvalue is its largest and is at least the spectral radius ρ, so that
    ARPACK's relative tolerance (‖r‖ ≤ tol·|θ|) means an absolute accuracy of
    about tol·ρ for both ends — even when λ_min ≈ 0:

    1. the eigenvalue θ of largest magnitude (|θ| = ρ) of ∇²E;
    2. for θ > 0 (θ = λ_max): the largest eigenvalue θ − λ_min of θI − ∇²E;
       for θ < 0 (θ = λ_min): the largest eigenvalue λ_max − θ of ∇²E − θI.

    The returned values are Rayleigh quotients of the Ritz vectors, with the
    residuals measured by one more product each. ``tol``, ``ncv`` (Lanczos
    basis size) and ``maxiter`` (restarts) trade accuracy for time: the verdict
    needs signs and magnitudes, not many digits.
    """
    w = np.asarray(w, dtype=np.float64)
    hv = HessianVectorProduct(problem, w, eps)
    d = w.size
    if d == 1:
        lam = float(hv(np.ones(1))[0])
        one = np.ones(1)
        return Curvature(lam, lam, one, one, 0.0, 0.0, hv.count, hv.eps)
    rng = np.random.default_rng(seed)
    v0 = rng.standard_normal(d)
    first = _top(hv.operator(), d, "LM", tol, ncv, maxiter, v0)
    if first is None:
        v0 /= np.linalg.norm(v0)
        if not np.any(hv(v0)):  # ∇²E v0 = 0 exactly: ∇E does not change at all (e.g. every unit saturated)
            return Curvature(0.0, 0.0, v0, v0, 0.0, 0.0, hv.count, hv.eps, True)
        nan = math.nan
        return Curvature(nan, nan, np.full(d, nan), np.full(d, nan), nan, nan, hv.count, hv.eps, False)
    theta, u, ok1 = first
    if theta == 0.0:  # ρ = 0: ∇²E vanishes (to the differences' accuracy)
        return Curvature(0.0, 0.0, u, u, 0.0, 0.0, hv.count, hv.eps, ok1)
    second = _top(hv.operator(shift=theta, sign=-1.0 if theta > 0 else 1.0), d, "LA", tol, ncv, maxiter,
                  rng.standard_normal(d))
    if second is None:
        v, ok2 = u, False
    else:
        _, v, ok2 = second
    (v_min, v_max) = (v, u) if theta > 0 else (u, v)

    def rayleigh(x):
        x = x / np.linalg.norm(x)
        Hx = hv(x)
        lam = float(x @ Hx)
        return lam, x, float(np.linalg.norm(Hx - lam * x))

    nan = math.nan
    known_min, known_max = second is not None or theta < 0, second is not None or theta > 0  # the ends found
    lam_min, v_min, r_min = rayleigh(v_min) if known_min else (nan, v_min, nan)
    lam_max, v_max, r_max = rayleigh(v_max) if known_max else (nan, v_max, nan)
    return Curvature(lam_min, lam_max, v_min, v_max, r_min, r_max, hv.count, hv.eps, ok1 and ok2)


def hvp_extremes(problem: Problem, w, tol: float = 1e-6) -> tuple[float, float]:
    """(λ_min, λ_max) of ∇²E(w) from Hessian-vector products (see :func:`hessian_extremes`)."""
    c = hessian_extremes(problem, w, tol=tol, maxiter=None)
    return c.lam_min, c.lam_max
