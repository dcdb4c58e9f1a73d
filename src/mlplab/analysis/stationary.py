"""Where did it stop? The lecture's characterisation of a local optimum, ∇E(w*) = 0, and the second-order test.

At w, the quadratic model of E is

    E(w + p) ≈ E(w) + ∇E(w)ᵀ p + ½ pᵀ ∇²E(w) p.

* λ_min, λ_max of ∇²E(w) (and the eigenvector v_min of λ_min) by Lanczos on
  Hessian-vector products (:mod:`~mlplab.analysis.curvature`).
* For λ_min > 0 the model has its minimum at p* = −∇²E⁻¹∇E, with
  Newton distance ‖p*‖ ≤ ‖∇E‖ / λ_min and predicted decrease
  ½ ∇Eᵀ∇²E⁻¹∇E ≤ ‖∇E‖² / (2 λ_min).
* Along a unit direction u with curvature κ_u = uᵀ∇²E u > 0, the model
  E + s ∇Eᵀu + ½ κ_u s² is back above E(w) for s ≥ s₀(u) = 2 max(−∇Eᵀu, 0) / κ_u.
  E lower than E(w) there — along the ray t·w (t > 1), along ±v_min or along
  −∇E — means E keeps falling where a minimum's model would rise again: no
  minimum here (for an exact quadratic this can never happen).

The verdicts (:data:`VERDICTS`), with ρ = max(|λ_min|, |λ_max|) the spectral radius of ∇²E(w):

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

:func:`stationary_point` measures these scale-free numbers
(:mod:`~mlplab.analysis.stationary_measure`) and decides from them
(:mod:`~mlplab.analysis.stationary_verdict`). NumPy/SciPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mlplab import _html
from mlplab.analysis import stationary_verdict as verdicts
from mlplab.analysis.curvature import Curvature, HessianVectorProduct, hessian, hessian_extremes, hvp_extremes
from mlplab.analysis.stationary_measure import (RAY_T, SHRINK_T, STEPS, Measured, ambiguous, direction_tests,
                                                gradient_scale, per_sample_grad_norms, quadratic_model, relative,
                                                underflowed_ray, value_and_gradient)
from mlplab.objective import Problem

__all__ = ["VERDICTS", "StationaryPoint", "stationary_point", "hessian", "HessianVectorProduct", "Curvature",
           "hessian_extremes", "hvp_extremes", "per_sample_grad_norms", "RAY_T", "STEPS", "SHRINK_T"]

#: the verdicts :func:`stationary_point` gives (the "no minimum here" one names its direction)
VERDICTS = ("local minimum", "saddle point", "flat valley / degenerate", "no minimum here: E decreases along …",
            "not stationary", "undetermined")


@dataclass
class StationaryPoint:
    """Verdict on the point w where a run stopped.

    Attributes:
        loss, grad_norm: E(w), ‖∇E(w)‖₂.
        eig_min, eig_max: extreme eigenvalues of ∇²E(w) (Lanczos).
        verdict: one of :data:`VERDICTS` (the module docstring says when).
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
        items = [("verdict", self.verdict), ("E(w)", _html.num(self.loss, 6)),
                 ("‖∇E(w)‖", f"{_html.num(self.grad_norm)} = {_html.num(self.rel_grad, 3)} × {self.grad_scale_note or 'the gradient scale'}"),
                 ("λ_min, λ_max of ∇²E", f"{_html.num(self.eig_min)}, {_html.num(self.eig_max)}"),
                 ("Hessian-vector products", _html.num(self.products)), ("why", self.message)]
        return _html.pairs(items, title="StationaryPoint")


def stationary_point(problem: Problem, w, grad_tol: float = 1e-3, flat_tol: float = 1e-4, *,
                     grad_scale: float | None = None, grad_scale_name: str = "given", step_tol: float = 1e-3,
                     decrease_tol: float = 1e-3, lanczos_tol: float = 1e-2,
                     curvature: Curvature | None = None) -> StationaryPoint:
    """Is w (d,) a local minimum, a saddle, a flat valley — or no minimum at all? (see :class:`StationaryPoint`)

    The lecture's characterisation: at a local optimum ∇E(w*) = 0. Every test is scale-free:

    * ‖∇E‖ ≤ ``grad_tol`` × the gradient scale: ``grad_scale`` (e.g. the run's ‖∇E(w^0)‖, named
      ``grad_scale_name`` in the message), by default max(Σ_s ‖c_s ρ ∇e^s(w)‖, ρ_H·max(1, ‖w‖)) —
      ∇E if the samples' gradients did not cancel, or what a displacement max(1, ‖w‖) along the
      stiffest direction gives (ρ_H the spectral radius of ∇²E).
    * λ_min against ``flat_tol``·ρ_H; Newton distance ‖∇E‖/λ_min against ``step_tol``·max(1, ‖w‖),
      predicted decrease ‖∇E‖²/(2λ_min) against ``decrease_tol``·E.
    * E along t·w (t = 1.001 … 8), ±v_min and −∇E beyond the 1-D model's turning point s₀ (module
      docstring): a drop by more than ``decrease_tol``·E with no rise before it refutes a minimum.

    The verdicts' order is :func:`~mlplab.analysis.stationary_verdict.decide`'s. λ_min, λ_max come from
    ``curvature`` or :func:`hessian_extremes` (tolerance ``lanczos_tol``; refined to 1e-5 when ‖∇E‖ is
    small and λ_min's residual leaves its sign open).
    """
    w = np.asarray(w, dtype=np.float64)
    E, g, gn, wn = value_and_gradient(problem, w)
    if not (math.isfinite(E) and math.isfinite(gn)):
        return StationaryPoint(E, gn, math.nan, math.nan, "undetermined", verdicts.not_finite(E, gn))
    curv = hessian_extremes(problem, w, tol=lanczos_tol) if curvature is None else curvature
    if not (math.isfinite(curv.lam_min) and math.isfinite(curv.lam_max)):
        return StationaryPoint(E, gn, curv.lam_min, curv.lam_max, "undetermined",
                               verdicts.curvature_not_finite(E, gn, curv.lam_min, curv.lam_max), products=curv.products)
    r = max(1.0, wn)
    hv = HessianVectorProduct(problem, w, curv.eps)  # the directions' curvatures κ_u, with the first run's ε
    scale, note = gradient_scale(problem, w, _spectral_radius(curv) * r, grad_scale, grad_scale_name)
    rel = relative(gn, scale)
    products = curv.products
    if curvature is None and rel <= grad_tol and lanczos_tol > 1e-5:
        curv, more = _refined(problem, w, curv, flat_tol)
        products += more
    lo, hi, rho = curv.lam_min, curv.lam_max, _spectral_radius(curv)
    flat = flat_tol * rho
    newton, decrease, near = quadratic_model(E, gn, lo, flat, r, step_tol, decrease_tol)
    descent, found, ray = direction_tests(problem, w, E, g, gn, wn, r, curv.v_min, hv, flat, decrease_tol)
    shrunk = underflowed_ray(problem, w, ray[1]) if E == 0.0 and gn == 0.0 and wn > 0 else None
    m = Measured(w, E, g, gn, wn, r, lo, hi, rho, flat, scale, note, rel, rel <= grad_tol, newton, decrease, near,
                 ray, shrunk, descent, found, products + hv.count)
    verdict, why = verdicts.decide(m, grad_tol, flat_tol)
    return StationaryPoint(E, gn, lo, hi, verdict, f"{why} Measured: {verdicts.measured_text(m)}.",
                           grad_scale=scale, grad_scale_note=note, rel_grad=rel, newton_distance=newton,
                           predicted_decrease=decrease, v_min=curv.v_min, descent=descent, ray=ray,
                           products=m.products)


def _spectral_radius(c: Curvature) -> float:
    """ρ_H = max(|λ_min|, |λ_max|) of ∇²E(w)."""
    return max(abs(c.lam_min), abs(c.lam_max))


def _refined(problem: Problem, w, curv: Curvature, flat_tol: float) -> tuple[Curvature, int]:
    """(curvature, products spent): Lanczos again at tol 1e-5 when λ_min's residual leaves its sign open.

    The verdict hinges on λ_min's class (negative / ≈ 0 / positive); a refinement that is not
    finite keeps the first curvature.
    """
    if not ambiguous(curv, flat_tol * _spectral_radius(curv)):
        return curv, 0
    finer = hessian_extremes(problem, w, tol=1e-5, ncv=20, maxiter=300)
    if math.isfinite(finer.lam_min) and math.isfinite(finer.lam_max):
        return finer, finer.products
    return curv, finer.products
