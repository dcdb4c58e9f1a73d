"""What the stationary-point verdict is decided from: the gradient's scale, the quadratic model, E along directions.

* The gradient's scale: Σ_s ‖c_s ρ ∇e^s(w)‖₂, the size ∇E would have if the
  samples' gradients did not cancel (:func:`per_sample_grad_norms`), or the
  gradient ρ_H·max(1, ‖w‖) a displacement of size max(1, ‖w‖) along the
  stiffest direction would produce (ρ_H the spectral radius of ∇²E).
* The quadratic model for λ_min > 0: Newton distance ‖∇E‖/λ_min and predicted
  decrease ‖∇E‖²/(2λ_min).
* Along a unit direction u with curvature κ_u = uᵀ∇²E u > 0, the 1-D model
  E + s ∇Eᵀu + ½ κ_u s² is back above E(w) for s ≥ s₀(u) = 2 max(−∇Eᵀu, 0) / κ_u;
  E lower than E(w) beyond s₀ — along the ray t·w (t > 1), ±v_min or −∇E —
  refutes a minimum (for an exact quadratic this can never happen).

NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlplab.analysis.curvature import Curvature, HessianVectorProduct
from mlplab.losses import output_error
from mlplab.objective import Problem

RAY_T = (1.001, 1.01, 1.1, 1.5, 2.0, 4.0, 8.0)
STEPS = (1e-4, 1e-3, 1e-2, 1e-1, 0.5)
SHRINK_T = tuple(10.0 ** -k for k in range(1, 13))


@dataclass
class Measured:
    """The numbers at w that :func:`~mlplab.analysis.stationary.stationary_point` decides from.

    Attributes:
        w (d,), E = E(w), g = ∇E(w) (d,), gn = ‖∇E‖₂, wn = ‖w‖₂, r = max(1, ‖w‖).
        lo, hi: λ_min, λ_max of ∇²E(w); rho = max(|λ_min|, |λ_max|); flat = flat_tol·ρ.
        scale, note: the gradient scale and where it came from; rel = ‖∇E‖ / scale; small_grad: rel ≤ grad_tol.
        newton, decrease, near: the quadratic model's distance and decrease, and whether w is close.
        ray: (t, E(t·w)) for t in :data:`RAY_T` (None when w = 0); shrunk: :func:`underflowed_ray`'s answer.
        descent: direction name → (steps s, E(w + s·u)); found: (name, s, E, s₀) of each direction E falls along.
        products: Hessian-vector products used.
    """

    w: np.ndarray
    E: float
    g: np.ndarray
    gn: float
    wn: float
    r: float
    lo: float
    hi: float
    rho: float
    flat: float
    scale: float
    note: str
    rel: float
    small_grad: bool
    newton: float
    decrease: float
    near: bool
    ray: tuple | None
    shrunk: tuple | None
    descent: dict
    found: list
    products: int


def value_and_gradient(problem: Problem, w: np.ndarray) -> tuple[float, np.ndarray, float, float]:
    """(E(w), ∇E(w) (d,) in float64, ‖∇E‖₂, ‖w‖₂); overflow gives non-finite numbers, not warnings."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is the "undetermined" verdict, not a warning
        E, g = problem.value_and_grad(w)
        E = float(E)
        g = np.asarray(g, dtype=np.float64)
        gn = float(np.linalg.norm(g))
        wn = float(np.linalg.norm(w))
    return E, g, gn, wn


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


def gradient_scale(problem: Problem, w: np.ndarray, stiff: float, given: float | None, given_name: str
                   ) -> tuple[float, str]:
    """(scale, its name): ``given`` when finite and > 0, else max(Σ_s ‖c_s ρ ∇e^s‖ (+ l2·‖W‖), ``stiff``).

    ``stiff`` = ρ_H·max(1, ‖w‖); the l2 term is the regulariser's gradient ‖l2·W‖ over the weights W^ℓ.
    """
    if given is not None and math.isfinite(given) and given > 0:
        return float(given), given_name
    per_sample = float(np.sum(per_sample_grad_norms(problem, w)))
    if problem.l2:
        per_sample += problem.l2 * float(np.sqrt(sum(np.sum(w[s.W] ** 2) for s in problem.net.slices)))
    if getattr(problem, "l1", 0.0):  # the L1 term's (sub)gradient λ₁ sign(W): its norm
        per_sample += problem.l1 * float(np.sqrt(sum(np.count_nonzero(w[s.W]) for s in problem.net.slices)))
    scale = max(per_sample, stiff)
    return scale, "Σ_s ‖∇e^s(w)‖" if per_sample >= stiff else "ρ(∇²E)·max(1, ‖w‖)"


def relative(x: float, scale: float) -> float:
    """x / scale, with 0 for x = 0 and inf for a zero scale."""
    return 0.0 if x == 0.0 else (x / scale if scale > 0 else math.inf)


def ambiguous(c: Curvature, flat: float) -> bool:
    """Whether λ_min's residual leaves its class (negative / ≈ 0 / positive) open."""
    return any(abs(c.lam_min - edge) <= c.res_min for edge in (-flat, flat))


# --- the quadratic model -----------------------------------------------------------------------


def quadratic_model(E: float, gn: float, lo: float, flat: float, r: float, step_tol: float,
                    decrease_tol: float) -> tuple[float, float, bool]:
    """(‖∇E‖/λ_min, ‖∇E‖²/(2λ_min), near): Newton distance and predicted decrease (inf unless λ_min > flat).

    near: the distance ≤ ``step_tol``·r or the decrease ≤ ``decrease_tol``·|E|.
    """
    if lo > flat:
        newton, decrease = gn / lo, gn * gn / (2.0 * lo)
    else:
        newton = decrease = math.inf
    return newton, decrease, newton <= step_tol * r or decrease <= decrease_tol * abs(E)


# --- E along directions ------------------------------------------------------------------------


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


def _probe(problem: Problem, w, E: float, g, u, steps_rel, s_unit: float, hv: HessianVectorProduct, flat: float,
           drop: float, noise: float):
    """(steps s, E(w + s·u), the first fall (s, E, s₀) or None) along the unit direction u (d,).

    Steps: ``steps_rel``·``s_unit`` beyond s₀, and 1.05, 2 and 4 × s₀ — just beyond the turning
    point, where a minimum's model has risen back to E(w).
    """
    kappa = float(u @ hv(u))
    s0 = _model_restart(float(g @ u), kappa, flat)
    steps = {s for s in (x * s_unit for x in steps_rel) if s >= s0}
    if s0 > 0:
        steps |= {1.05 * s0, 2.0 * s0, 4.0 * s0}
    steps = sorted(steps)
    with np.errstate(over="ignore", invalid="ignore"):  # far out E may overflow: that is no descent
        Es = np.array([problem.value(w + s * u) for s in steps])
    i = _falls(E, Es, drop, noise)
    return np.array(steps), Es, None if i is None else (steps[i], float(Es[i]), s0)


def direction_tests(problem: Problem, w, E: float, g, gn: float, wn: float, r: float, v_min, hv: HessianVectorProduct,
                    flat: float, decrease_tol: float) -> tuple[dict, list, tuple | None]:
    """(descent, found, ray): E along the ray t·w, ±v_min and −∇E beyond each 1-D model's turning point s₀.

    A fall counts when E drops below E(w) by more than ``decrease_tol``·|E| with no rise above
    E(w)·(1 + 1e-9) before it. descent: name → (steps, E); found: (name, s, E, s₀) per fall;
    ray: (t, E(t·w)) for t in :data:`RAY_T`, None when w = 0.
    """
    drop = max(decrease_tol * abs(E), 1e-300)
    noise = 1e-9 * abs(E) + 1e-300
    descent, found = {}, []

    def direction(name, u, steps_rel, s_unit):
        steps, Es, fall = _probe(problem, w, E, g, u, steps_rel, s_unit, hv, flat, drop, noise)
        descent[name] = (steps, Es)
        if fall is not None:
            found.append((name, *fall))

    ray = None
    if wn > 0:
        direction("the ray t·w", w / wn, [t - 1.0 for t in RAY_T], wn)
        with np.errstate(over="ignore", invalid="ignore"):
            ray = (np.array(RAY_T), np.array([problem.value(t * w) for t in RAY_T]))
    if v_min is not None and np.all(np.isfinite(v_min)):
        direction("+v_min", v_min, STEPS, r)
        direction("−v_min", -v_min, STEPS, r)
    if gn > 0:
        direction("−∇E", -g / gn, STEPS, r)
    return descent, found, ray


def underflowed_ray(problem: Problem, w, E_ray) -> tuple | None:
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
