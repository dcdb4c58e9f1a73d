"""The stationary-point verdict: which rule decides, in which order, and the sentence that says why.

Every rule reads the scale-free numbers of :class:`~mlplab.analysis.stationary_measure.Measured`
and returns ``(verdict, why)`` or None; :func:`decide` tries them in the order the verdict
needs (an underflow, the ray, a gradient that is not small, then the second-order test).
NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

from mlplab.analysis.stationary_measure import Measured, relative

RAY = "the ray t·w"
NO_MINIMUM_ON_RAY = "no minimum here: E decreases along the ray t·w"


def not_finite(E: float, gn: float) -> str:
    """The "undetermined" sentence when E or ‖∇E‖ is not finite."""
    return (f"E = {E:.3g}, ‖∇E‖ = {gn:.3g}: not finite (saturated or overflowing units), so the "
            "point cannot be classified.")


def curvature_not_finite(E: float, gn: float, lo: float, hi: float) -> str:
    """The "undetermined" sentence when λ_min or λ_max is not finite."""
    return (f"E = {E:.3g}, ‖∇E‖ = {gn:.3g}, λ_min = {lo:.3g}, λ_max = {hi:.3g}: the curvature is not "
            "finite (saturated or overflowing units, or Lanczos failed), so the point cannot be "
            "classified.")


def measured_text(m: Measured) -> str:
    """The numbers quoted after every verdict ("Measured: …")."""
    text = (f"E = {m.E:.3g}; ‖∇E‖ = {m.gn:.3g} = {m.rel:.2g} × the gradient scale {m.scale:.3g} ({m.note}); "
            f"λ_min = {m.lo:.3g}, λ_max = {m.hi:.3g} (Lanczos, {m.products} Hessian-vector products)")
    if m.lo > m.flat:
        rel_dec = m.decrease / abs(m.E) if m.E else math.inf
        text += (f"; Newton distance ‖∇E‖/λ_min = {m.newton:.3g} = {m.newton / m.r:.2g} × max(1, ‖w‖); "
                 f"predicted decrease ‖∇E‖²/(2λ_min) = {m.decrease:.3g} = {rel_dec:.2g} × E")
    return text


def decide(m: Measured, grad_tol: float, flat_tol: float) -> tuple[str, str]:
    """(verdict, why) by the first rule that applies (the verdicts: :mod:`~mlplab.analysis.stationary`).

    Order: E and ∇E exactly 0.0 with E(t·w) > 0 for t < 1 is an underflow on the ray, not a
    flat valley; a gradient that is not small gives "not stationary" (a fall along the ray is then
    mentioned, not the verdict) — unless E falls along t·w at every t tested and ∇E's part across
    the ray, ‖∇E − (∇E·ŵ)ŵ‖, is small (what is left of ∇E points out towards ‖w‖ → ∞); then the
    second-order test.
    """
    return (underflow(m) or along_ray(m, grad_tol) or not_small(m, grad_tol)
            or second_order(m, flat_tol))


def _monotone(m: Measured, ray_found: list) -> bool:
    """E falls at every t of the ray tested (given a fall along it was found)."""
    return bool(ray_found) and bool(np.all(np.diff(np.concatenate([[m.E], m.ray[1]])) < 0))


def _values(pairs) -> str:
    return ", ".join(f"E({t:g}·w) = {e:.3g}" for t, e in pairs)


def underflow(m: Measured) -> tuple[str, str] | None:
    """E and ∇E exactly 0.0 while E(t·w) > 0 for t < 1: an underflow on the way to ‖w‖ → ∞."""
    if m.shrunk is None:
        return None
    pos = [(t, e) for t, e in zip(*m.shrunk) if e > 0][:4]  # the largest t with E > 0
    return NO_MINIMUM_ON_RAY, (
        f"No minimum here: E and ∇E underflowed to exactly 0.0 at this w (‖w‖ = {m.wn:.3g}), and "
        "E(t·w) = 0.0 for every t ≥ 1 tested; closer in, E(t·w) > 0 and it falls as t grows — "
        + _values(pos[::-1])
        + " — so E = 0 is reached only in the limit: E's infimum 0 is approached as ‖w‖ → ∞ "
        "along this ray (separable data), and the values here underflowed. Neither a minimum nor "
        "a flat valley.")


def along_ray(m: Measured, grad_tol: float) -> tuple[str, str] | None:
    """E falls along t·w, and ∇E is small — or small across the ray while E falls at every t tested.

    Where ∇E is not small, E falling along the ray (even all the way) says less than the
    gradient does; unless ∇E's part across the ray, ‖∇E − (∇E·ŵ)ŵ‖, is small: what is left
    of ∇E (−∇E·ŵ > 0) points out towards ‖w‖ → ∞.
    """
    ray_found = [f for f in m.found if f[0] == RAY]
    monotone = _monotone(m, ray_found)
    outward = m.wn > 0 and float(m.g @ m.w) < 0
    across = float(np.linalg.norm(m.g - (m.g @ m.w) / (m.wn * m.wn) * m.w)) if m.wn > 0 else m.gn
    rel_across = relative(across, m.scale)
    if not (ray_found and (m.small_grad or (monotone and outward and rel_across <= grad_tol))):
        return None
    ts, Er = m.ray
    t0 = 1.0 + ray_found[0][3] / m.wn
    tail = (" E falls at every t tested: its infimum is approached only as ‖w‖ → ∞." if monotone else "")
    if not m.small_grad:
        tail += (f" ‖∇E‖ is {m.rel:.2g} × the gradient scale, but across the ray only {rel_across:.2g} ×: "
                 "what is left of ∇E points out along t·w.")
    return NO_MINIMUM_ON_RAY, (
        f"No minimum here: E decreases along the ray t·w (t > 1) — E(w) = {m.E:.3g}, then "
        + _values(zip(ts, Er))
        + f" — also beyond t = {t0:.3g}, where a minimum's quadratic model would have risen again."
        + tail)


def not_small(m: Measured, grad_tol: float) -> tuple[str, str] | None:
    """‖∇E‖ above ``grad_tol`` × its scale: not stationary; a fall along the ray is only mentioned."""
    if m.small_grad:
        return None
    ray_found = [f for f in m.found if f[0] == RAY]
    extra = ""
    if m.lo > m.flat and not m.near:
        extra = f" The quadratic model puts a minimum {m.newton:.3g} away and {m.decrease:.3g} lower."
    if _monotone(m, ray_found):
        extra += (" (E also falls along the ray t·w at every t tested — " + _values(zip(*m.ray))
                  + " — so its infimum may be approached only as ‖w‖ → ∞.)")
    elif ray_found:
        extra += (f" (E also dips along the ray t·w, to {ray_found[0][2]:.3g} at t = "
                  f"{1.0 + ray_found[0][1] / m.wn:.3g}, and rises again further out.)")
    return "not stationary", (f"Not stationary: ‖∇E‖ is {m.rel:.2g} × the gradient scale (more than "
                              f"{grad_tol:g}); the run stopped before reaching a stationary point.{extra}")


def second_order(m: Measured, flat_tol: float) -> tuple[str, str]:
    """∇E ≈ 0: saddle (λ_min < −flat), a fall along ±v_min or −∇E, flat valley, minimum — or the model's minimiser far."""
    lo, rho, E = m.lo, m.rho, m.E
    if lo < -m.flat:
        vm = [f for f in m.found if f[0] in ("+v_min", "−v_min")]
        seen = (f" E falls along {vm[0][0]}: E(w {vm[0][0][0]} {vm[0][1]:.3g}·v_min) = {vm[0][2]:.3g} < E(w) = {E:.3g}."
                if vm else " (E did not measurably fall along ±v_min at the steps tried.)")
        return "saddle point", (f"Saddle point: ∇E ≈ 0 but ∇²E has a negative eigenvalue λ_min = {lo:.3g} "
                                f"({abs(lo) / rho:.2g} × the spectral radius).{seen}")
    if m.found:
        name, step, e, _ = m.found[0]
        return (f"no minimum here: E decreases along {name}",
                f"No minimum here: ∇E ≈ 0, but E falls along {name} beyond where a minimum's quadratic model "
                f"would have risen again: {step:.3g} along it, E = {e:.3g} < E(w) = {E:.3g}.")
    if lo <= m.flat:
        return "flat valley / degenerate", (
            f"Flat valley / degenerate: ∇E ≈ 0 and λ_min = {lo:.3g} ≈ 0 ({abs(lo) / rho if rho else 0:.2g} × "
            f"the spectral radius, below {flat_tol:g}), and E does not fall measurably along ±v_min or −∇E: "
            "a degenerate minimum, or the floor of a flat valley.")
    if m.near:
        return "local minimum", (
            f"Local minimum: ∇E ≈ 0, every eigenvalue of ∇²E is positive (λ_min = {lo:.3g} "
            f"= {lo / rho:.2g} × λ_max), w is within {m.newton:.3g} of the quadratic model's minimiser, and E "
            "does not fall along the ray t·w, ±v_min or −∇E.")
    return "not stationary", (f"Not stationary: ‖∇E‖ is small ({m.rel:.2g} × the gradient scale), but the "
                              f"quadratic model puts a minimum {m.newton:.3g} away ({m.newton / m.r:.2g} × max(1, ‖w‖)) "
                              f"and {m.decrease:.3g} lower ({m.decrease / abs(E) if E else math.inf:.2g} × E).")
