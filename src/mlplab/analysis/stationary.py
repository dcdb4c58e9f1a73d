"""Where did it stop? The lecture's characterisation of a local optimum, ∇E(w*) = 0, and the second-order test.

At w, the quadratic model of E is

    E(w + p) ≈ E(w) + ∇E(w)ᵀ p + ½ pᵀ ∇²E(w) p.

* Hessian-vector products by central differences of backprop gradients (the
  Hessian is never formed):  ∇²E(w) v ≈ (∇E(w + εv) − ∇E(w − εv)) / 2ε, ‖v‖ = 1,
  ε = u^{1/3} · max(1, rms(w)) (u the unit round-off of the network's dtype:
  the truncation error O(ε²) balances the rounding error O(u/ε)).
* λ_min, λ_max of ∇²E(w) (and the eigenvector v_min of λ_min) by Lanczos,
  ``scipy.sparse.linalg.eigsh`` on a ``LinearOperator`` of those products.
* For λ_min > 0 the model has its minimum at p* = −∇²E⁻¹∇E, with
  Newton distance ‖p*‖ ≤ ‖∇E‖ / λ_min and predicted decrease
  ½ ∇Eᵀ∇²E⁻¹∇E ≤ ‖∇E‖² / (2 λ_min).
* Along a unit direction u with curvature κ_u = uᵀ∇²E u > 0, the model
  E + s ∇Eᵀu + ½ κ_u s² is back above E(w) for s ≥ s₀(u) = 2 max(−∇Eᵀu, 0) / κ_u.
  E lower than E(w) there — along the ray t·w (t > 1), along ±v_min or along
  −∇E — means E keeps falling where a minimum's model would rise again: no
  minimum here (for an exact quadratic this can never happen).

:func:`stationary_point` decides from these scale-free numbers. :func:`hessian`
(the full matrix, for small d) is kept as a helper for tests and teaching.
NumPy/SciPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mlplab.losses import output_error
from mlplab.objective import Problem

#: the verdicts :func:`stationary_point` gives (the "no minimum here" one names its direction)
VERDICTS = ("local minimum", "saddle point", "flat valley / degenerate", "no minimum here: E decreases along …",
            "not stationary", "undetermined")


# --- Hessian-vector products ---------------------------------------------------------------------


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


# --- the gradient's scale ----------------------------------------------------------------------


def per_sample_grad_norms(problem: Problem, w, chunk: int = 512) -> np.ndarray:
    """‖c_s ρ ∇e^s(w)‖₂ for every sample s (S,), without forming the (S, d) per-sample gradients.

    ∇_{W^ℓ} e^s = dz^ℓ_s (a^{ℓ−1}_s)ᵀ is rank one, so ‖∇e^s‖² = Σ_ℓ ‖dz^ℓ_s‖² (‖a^{ℓ−1}_s‖² + [bias]);
    c_s are the sample weights, ρ = 1/S for ``reduction="mean"``. Computed ``chunk`` rows at a time.
    """
    net = problem.net
    w = np.asarray(w, dtype=net.dtype)
    out = np.empty(problem.S)
    bias = 1.0 if net.bias else 0.0
    with np.errstate(all="ignore"):
        for start in range(0, problem.S, chunk):
            rows = slice(start, min(start + chunk, problem.S))
            cache = net.forward_cache(problem.X[rows], w)
            _, dz_L = output_error(problem.loss, net.activations[-1], problem.Y[rows], cache[0][-1], cache[1][-1])
            sq = np.zeros(rows.stop - rows.start)
            for _, dz, a_prev in net.backprop(cache, dz_L, w):
                sq += np.einsum("ij,ij->i", dz, dz) * (np.einsum("ij,ij->i", a_prev, a_prev) + bias)
            out[rows] = np.sqrt(sq)
    c = np.ones(problem.S) if problem.sample_weight is None else np.abs(problem.sample_weight)
    return out * c / (problem.S if problem.reduction == "mean" else 1.0)


# --- the verdict ----------------------------------------------------------------------------------


@dataclass
class StationaryPoint:
    """Verdict on the point w where a run stopped.

    Verdicts (``verdict``):

    * ``"local minimum"``: ‖∇E‖ is small against the gradient scale, λ_min > 0
      clearly (above ``flat_tol``·ρ), w is close to the quadratic model's
      minimiser (Newton distance ≤ ``step_tol``·max(1, ‖w‖), or its predicted
      decrease ≤ ``decrease_tol``·E), and E does not decrease along the ray t·w,
      ±v_min or −∇E beyond where the model rises again.
    * ``"saddle point"``: ‖∇E‖ small, λ_min < −``flat_tol``·ρ (a direction of
      negative curvature: E falls along ±v_min).
    * ``"flat valley / degenerate"``: ‖∇E‖ small, |λ_min| ≤ ``flat_tol``·ρ, and
      E does not measurably decrease along the flat direction or −∇E (a
      degenerate minimum, or a valley whose floor is flat to this accuracy).
    * ``"no minimum here: E decreases along the ray t·w"`` (or ``"… along
      ±v_min"``, ``"… along −∇E"``): E is lower by more than
      ``decrease_tol``·E beyond the step where a minimum's quadratic model
      would rise again — e.g. the lecture's toy problem, whose infimum is
      approached only as ‖w‖ → ∞. Also where E and ∇E underflowed to exactly
      0.0 (saturated units far out on that ray) while E(t·w) > 0 for t < 1.
    * ``"not stationary"``: ‖∇E‖ is not small against the gradient scale, or the
      quadratic model's minimiser is still far (in w and in E). This comes
      first: E falling along the ray is then only mentioned in the message.
    * ``"undetermined"``: E, ∇E or the curvature is not finite.

    ρ = max(|λ_min|, |λ_max|) is the spectral radius of ∇²E(w).

    Attributes:
        loss, grad_norm: E(w), ‖∇E(w)‖₂.
        eig_min, eig_max: extreme eigenvalues of ∇²E(w) (Lanczos).
        verdict: one of the above.
        message: a sentence for people, quoting the numbers it was decided from.
        grad_scale: the scale ‖∇E‖ was compared with; grad_scale_note: where it came from.
        rel_grad: ‖∇E‖ / grad_scale.
        newton_distance, predicted_decrease: ‖∇E‖/λ_min and ‖∇E‖²/(2λ_min) (inf unless λ_min > 0).
        v_min: unit eigenvector of λ_min (d,).
        descent: direction name → (steps s, E(w + s·u)) of the direction tests.
        ray: (t, E(t·w)) along the ray.
        products: Hessian-vector products used.
    """

    loss: float
    grad_norm: float
    eig_min: float
    eig_max: float
    verdict: str
    message: str
    grad_scale: float = math.nan
    grad_scale_note: str = ""
    rel_grad: float = math.nan
    newton_distance: float = math.inf
    predicted_decrease: float = math.inf
    v_min: np.ndarray | None = None
    descent: dict = field(default_factory=dict)
    ray: tuple | None = None
    products: int = 0

    def _repr_html_(self) -> str:
        from mlplab import _html

        items = [("verdict", self.verdict), ("E(w)", _html.num(self.loss, 6)),
                 ("‖∇E(w)‖", f"{_html.num(self.grad_norm)} = {_html.num(self.rel_grad, 3)} × {self.grad_scale_note or 'the gradient scale'}"),
                 ("λ_min, λ_max of ∇²E", f"{_html.num(self.eig_min)}, {_html.num(self.eig_max)}"),
                 ("Hessian-vector products", _html.num(self.products)), ("why", self.message)]
        return _html.pairs(items, title="StationaryPoint")


RAY_T = (1.001, 1.01, 1.1, 1.5, 2.0, 4.0, 8.0)
STEPS = (1e-4, 1e-3, 1e-2, 1e-1, 0.5)


def _model_restart(slope: float, kappa: float, flat: float) -> float:
    """s₀: where the 1-D quadratic model E + s·slope + ½κs² is back at E (0 unless κ > flat and slope < 0)."""
    return 2.0 * max(-slope, 0.0) / kappa if kappa > flat else 0.0


def _falls(E0: float, Es, drop: float, noise: float) -> int | None:
    """Index of the first value below E0 − drop, provided none before it rose above E0 + noise."""
    for i, e in enumerate(Es):
        if not math.isfinite(e):
            return None
        if e < E0 - drop:
            return i
        if e > E0 + noise:
            return None
    return None


SHRINK_T = tuple(10.0 ** -k for k in range(1, 13))


def _underflowed_ray(problem: Problem, w, E_ray) -> tuple | None:
    """(t, E(t·w)) for t = 0.1 … 1e-12 when E(w) = 0 exactly is an underflow on the way to ‖w‖ → ∞, else None.

    That is: E(t·w) = 0.0 at every t ≥ 1 tested, but E(t·w) > 0 for some t < 1, never rising as t grows —
    E = 0 is approached along the ray and reached only in the limit (a minimum with E = 0 at a finite w
    has E(t·w) > 0 on both sides of t = 1).
    """
    if E_ray is None or np.any(np.asarray(E_ray) != 0.0):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        Es = np.array([problem.value(t * w) for t in SHRINK_T])
    if not (np.all(np.isfinite(Es)) and np.any(Es > 0) and np.all(np.diff(Es) >= 0)):  # falls as t grows
        return None
    return np.array(SHRINK_T), Es


def _ambiguous(c: Curvature, flat: float) -> bool:
    """Whether λ_min's residual leaves its class (negative / ≈ 0 / positive) open."""
    return any(abs(c.lam_min - edge) <= c.res_min for edge in (-flat, flat))


def stationary_point(problem: Problem, w, grad_tol: float = 1e-3, flat_tol: float = 1e-4, *,
                     grad_scale: float | None = None, grad_scale_name: str = "given", step_tol: float = 1e-3,
                     decrease_tol: float = 1e-3, lanczos_tol: float = 1e-2,
                     curvature: Curvature | None = None) -> StationaryPoint:
    """Is w a local minimum, a saddle, a flat valley — or no minimum at all? (see :class:`StationaryPoint`)

    The lecture's characterisation: at a local optimum ∇E(w*) = 0. Every test is scale-free:

    * ‖∇E‖ relative to ``grad_scale`` (pass the run's ‖∇E(w^0)‖, and its name as
      ``grad_scale_name`` for the message; default
      max(Σ_s ‖c_s ρ ∇e^s(w)‖, ρ_H·max(1, ‖w‖)) — the size ∇E would have if the
      samples' gradients did not cancel, and the gradient a displacement of size
      max(1, ‖w‖) along the stiffest direction would produce; ρ_H the Hessian's
      spectral radius): small when ≤ ``grad_tol``.
    * λ_min relative to ρ_H (``flat_tol``) and to ‖∇E‖: Newton distance
      ‖∇E‖/λ_min relative to max(1, ‖w‖) (``step_tol``), predicted decrease
      ‖∇E‖²/(2λ_min) relative to E (``decrease_tol``).
    * E along the ray t·w (t = 1.001 … 8), along ±v_min and along −∇E, at steps
      beyond the 1-D model's turning point s₀ (module docstring): a drop by
      more than ``decrease_tol``·E with no rise before it refutes a minimum.
    * Order: a gradient that is not small gives "not stationary" first (a fall along
      the ray is then mentioned, not the verdict) — unless E falls along t·w at every
      t tested and ∇E's part across the ray, ‖∇E − (∇E·ŵ)ŵ‖, is small (what is left
      of ∇E points out towards ‖w‖ → ∞). E and ∇E exactly 0.0 with E(t·w) > 0 for
      t < 1 is an underflow on that ray, not a flat valley.

    The extreme eigenvalues come from :func:`hessian_extremes` (Lanczos on
    Hessian-vector products, tolerance ``lanczos_tol``; refined to 1e-5 when the
    gradient is small and λ_min's residual leaves its sign open), or from ``curvature``.
    """
    w = np.asarray(w, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is the "undetermined" verdict, not a warning
        E, g = problem.value_and_grad(w)
        E = float(E)
        g = np.asarray(g, dtype=np.float64)
        gn = float(np.linalg.norm(g))
        wn = float(np.linalg.norm(w))
    r = max(1.0, wn)
    if not (math.isfinite(E) and math.isfinite(gn)):
        return StationaryPoint(E, gn, math.nan, math.nan, "undetermined",
                               f"E = {E:.3g}, ‖∇E‖ = {gn:.3g}: not finite (saturated or overflowing units), so the "
                               "point cannot be classified.")
    curv = hessian_extremes(problem, w, tol=lanczos_tol) if curvature is None else curvature
    products = curv.products
    lo, hi = curv.lam_min, curv.lam_max
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return StationaryPoint(E, gn, lo, hi, "undetermined",
                               f"E = {E:.3g}, ‖∇E‖ = {gn:.3g}, λ_min = {lo:.3g}, λ_max = {hi:.3g}: the curvature is not "
                               "finite (saturated or overflowing units, or Lanczos failed), so the point cannot be "
                               "classified.", products=products)
    rho = max(abs(lo), abs(hi))
    hv = HessianVectorProduct(problem, w, curv.eps)

    # the gradient's scale
    if grad_scale is not None and math.isfinite(grad_scale) and grad_scale > 0:
        scale, note = float(grad_scale), grad_scale_name
    else:
        per_sample = float(np.sum(per_sample_grad_norms(problem, w)))
        if problem.l2:
            per_sample += problem.l2 * float(np.sqrt(sum(np.sum(w[s.W] ** 2) for s in problem.net.slices)))
        stiff = rho * r
        scale = max(per_sample, stiff)
        note = "Σ_s ‖∇e^s(w)‖" if per_sample >= stiff else "ρ(∇²E)·max(1, ‖w‖)"
    rel = 0.0 if gn == 0.0 else (gn / scale if scale > 0 else math.inf)
    small_grad = rel <= grad_tol
    if curvature is None and small_grad and _ambiguous(curv, flat_tol * rho) and lanczos_tol > 1e-5:
        finer = hessian_extremes(problem, w, tol=1e-5, ncv=20, maxiter=300)  # the verdict hinges on λ_min's sign
        products += finer.products
        if math.isfinite(finer.lam_min) and math.isfinite(finer.lam_max):
            curv = finer
            lo, hi = curv.lam_min, curv.lam_max
            rho = max(abs(lo), abs(hi))
    flat = flat_tol * rho

    # the quadratic model
    if lo > flat:
        newton, decrease = gn / lo, gn * gn / (2.0 * lo)
    else:
        newton = decrease = math.inf
    near = newton <= step_tol * r or decrease <= decrease_tol * abs(E)

    # direction tests: E beyond the 1-D model's turning point s0 along each direction
    drop = max(decrease_tol * abs(E), 1e-300)
    noise = 1e-9 * abs(E) + 1e-300
    descent, found = {}, []

    def direction(name, u, steps_rel, s_unit):
        kappa = float(u @ hv(u))
        s0 = _model_restart(float(g @ u), kappa, flat)
        steps = {s for s in (x * s_unit for x in steps_rel) if s >= s0}
        if s0 > 0:  # just beyond the turning point, where a minimum's model has risen back to E(w)
            steps |= {1.05 * s0, 2.0 * s0, 4.0 * s0}
        steps = sorted(steps)
        with np.errstate(over="ignore", invalid="ignore"):  # far out E may overflow: that is no descent
            Es = np.array([problem.value(w + s * u) for s in steps])
        descent[name] = (np.array(steps), Es)
        i = _falls(E, Es, drop, noise)
        if i is not None:
            found.append((name, steps[i], float(Es[i]), s0))

    ray = None
    if wn > 0:
        direction("the ray t·w", w / wn, [t - 1.0 for t in RAY_T], wn)
        with np.errstate(over="ignore", invalid="ignore"):
            ray = (np.array(RAY_T), np.array([problem.value(t * w) for t in RAY_T]))
    if curv.v_min is not None and np.all(np.isfinite(curv.v_min)):
        direction("+v_min", curv.v_min, STEPS, r)
        direction("−v_min", -curv.v_min, STEPS, r)
    if gn > 0:
        direction("−∇E", -g / gn, STEPS, r)
    products += hv.count

    measured = (f"E = {E:.3g}; ‖∇E‖ = {gn:.3g} = {rel:.2g} × the gradient scale {scale:.3g} ({note}); "
                f"λ_min = {lo:.3g}, λ_max = {hi:.3g} (Lanczos, {products} Hessian-vector products)")
    if lo > flat:
        rel_dec = decrease / abs(E) if E else math.inf
        measured += (f"; Newton distance ‖∇E‖/λ_min = {newton:.3g} = {newton / r:.2g} × max(1, ‖w‖); "
                     f"predicted decrease ‖∇E‖²/(2λ_min) = {decrease:.3g} = {rel_dec:.2g} × E")
    base = dict(grad_scale=scale, grad_scale_note=note, rel_grad=rel, newton_distance=newton,
                predicted_decrease=decrease, v_min=curv.v_min, descent=descent, ray=ray, products=products)

    def result(verdict, why):
        return StationaryPoint(E, gn, lo, hi, verdict, f"{why} Measured: {measured}.", **base)

    if E == 0.0 and gn == 0.0 and wn > 0:  # E and ∇E exactly 0: a true zero, or saturated units' underflow?
        shrunk = _underflowed_ray(problem, w, ray[1])
        if shrunk is not None:
            pos = [(t, e) for t, e in zip(*shrunk) if e > 0][:4]  # the largest t with E > 0
            return result("no minimum here: E decreases along the ray t·w",
                          f"No minimum here: E and ∇E underflowed to exactly 0.0 at this w (‖w‖ = {wn:.3g}), and "
                          "E(t·w) = 0.0 for every t ≥ 1 tested; closer in, E(t·w) > 0 and it falls as t grows — "
                          + ", ".join(f"E({t:g}·w) = {e:.3g}" for t, e in pos[::-1])
                          + " — so E = 0 is reached only in the limit: E's infimum 0 is approached as ‖w‖ → ∞ "
                          "along this ray (separable data), and the values here underflowed. Neither a minimum nor "
                          "a flat valley.")
    ray_found = [f for f in found if f[0] == "the ray t·w"]
    monotone = ray_found and bool(np.all(np.diff(np.concatenate([[E], ray[1]])) < 0))
    # "not stationary" comes first: where ∇E is not small, E falling along the ray (even all the way) says less
    # than the gradient does. The ray leads where ∇E ≈ 0 — or where E falls along it all the way and ∇E is
    # small once its part along the ray (−∇E·ŵ > 0: the descent towards ‖w‖ → ∞) is taken out
    outward = wn > 0 and float(g @ w) < 0
    across = float(np.linalg.norm(g - (g @ w) / (wn * wn) * w)) if wn > 0 else gn
    rel_across = 0.0 if across == 0.0 else (across / scale if scale > 0 else math.inf)
    if ray_found and (small_grad or (monotone and outward and rel_across <= grad_tol)):
        ts, Er = ray
        t0 = 1.0 + ray_found[0][3] / wn
        tail = (" E falls at every t tested: its infimum is approached only as ‖w‖ → ∞." if monotone else "")
        if not small_grad:
            tail += (f" ‖∇E‖ is {rel:.2g} × the gradient scale, but across the ray only {rel_across:.2g} ×: "
                     "what is left of ∇E points out along t·w.")
        return result("no minimum here: E decreases along the ray t·w",
                      f"No minimum here: E decreases along the ray t·w (t > 1) — E(w) = {E:.3g}, then "
                      + ", ".join(f"E({t:g}·w) = {e:.3g}" for t, e in zip(ts, Er))
                      + f" — also beyond t = {t0:.3g}, where a minimum's quadratic model would have risen again."
                      + tail)
    if not small_grad:
        extra = ""
        if lo > flat and not near:
            extra = f" The quadratic model puts a minimum {newton:.3g} away and {decrease:.3g} lower."
        if monotone:
            extra += (" (E also falls along the ray t·w at every t tested — "
                      + ", ".join(f"E({t:g}·w) = {e:.3g}" for t, e in zip(*ray))
                      + " — so its infimum may be approached only as ‖w‖ → ∞.)")
        elif ray_found:
            extra += (f" (E also dips along the ray t·w, to {ray_found[0][2]:.3g} at t = "
                      f"{1.0 + ray_found[0][1] / wn:.3g}, and rises again further out.)")
        return result("not stationary", f"Not stationary: ‖∇E‖ is {rel:.2g} × the gradient scale (more than "
                      f"{grad_tol:g}); the run stopped before reaching a stationary point.{extra}")
    if lo < -flat:
        vm = [f for f in found if f[0] in ("+v_min", "−v_min")]
        seen = (f" E falls along {vm[0][0]}: E(w {vm[0][0][0]} {vm[0][1]:.3g}·v_min) = {vm[0][2]:.3g} < E(w) = {E:.3g}."
                if vm else " (E did not measurably fall along ±v_min at the steps tried.)")
        return result("saddle point", f"Saddle point: ∇E ≈ 0 but ∇²E has a negative eigenvalue λ_min = {lo:.3g} "
                      f"({abs(lo) / rho:.2g} × the spectral radius).{seen}")
    if found:
        name, step, e, _ = found[0]
        return result(f"no minimum here: E decreases along {name}",
                      f"No minimum here: ∇E ≈ 0, but E falls along {name} beyond where a minimum's quadratic model "
                      f"would have risen again: {step:.3g} along it, E = {e:.3g} < E(w) = {E:.3g}.")
    if lo <= flat:
        return result("flat valley / degenerate",
                      f"Flat valley / degenerate: ∇E ≈ 0 and λ_min = {lo:.3g} ≈ 0 ({abs(lo) / rho if rho else 0:.2g} × "
                      f"the spectral radius, below {flat_tol:g}), and E does not fall measurably along ±v_min or −∇E: "
                      "a degenerate minimum, or the floor of a flat valley.")
    if near:
        return result("local minimum", f"Local minimum: ∇E ≈ 0, every eigenvalue of ∇²E is positive (λ_min = {lo:.3g} "
                      f"= {lo / rho:.2g} × λ_max), w is within {newton:.3g} of the quadratic model's minimiser, and E "
                      "does not fall along the ray t·w, ±v_min or −∇E.")
    return result("not stationary", f"Not stationary: ‖∇E‖ is small ({rel:.2g} × the gradient scale), but the "
                  f"quadratic model puts a minimum {newton:.3g} away ({newton / r:.2g} × max(1, ‖w‖)) and "
                  f"{decrease:.3g} lower ({decrease / abs(E) if E else math.inf:.2g} × E).")
