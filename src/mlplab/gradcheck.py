"""Gradient check: backpropagation against central finite differences.

For every parameter w_i the derivative ∂E/∂w_i is estimated, in float64, by the
fourth-order central difference

    ĝ_i = [E(w − 2h e_i) − 8 E(w − h e_i) + 8 E(w + h e_i) − E(w + 2h e_i)] / (12 h)

(truncation error O(h⁴), so a moderate h keeps the rounding error small too),
or with ``order=2`` the classic [E(w + h e_i) − E(w − h e_i)] / (2h). The step is
h_i = eps · max(1, |w_i|).

The error reported for layer ℓ (its W^ℓ and b^ℓ together) is

    err_ℓ = max_i |g_i − ĝ_i| / max(max_i |g_i|, max_i |ĝ_i|, floor)

— the largest deviation relative to the layer's gradient scale, which stays
meaningful for entries that are (nearly) zero. The floor (default
1e-5 · max(1, |E(w)|)) sits well above the differences' rounding noise
(≈ 1e-16 |E| / h): a layer whose true gradient is zero (dead ReLUs) is judged by
its absolute error, not by the ratio of two noise values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlplab._checks import check_real


@dataclass
class GradCheck:
    """Result of :func:`gradcheck`.

    Attributes:
        per_layer: err_ℓ for ℓ = 1..L (list of floats).
        max_error: max_ℓ err_ℓ.
        analytic: backprop gradient g (d,), float64.
        numeric: finite-difference gradient ĝ (d,), float64.
    """

    per_layer: list[float]
    analytic: np.ndarray
    numeric: np.ndarray

    @property
    def max_error(self) -> float:
        return max(self.per_layer)

    def ok(self, tol: float = 1e-6) -> bool:
        return self.max_error <= tol

    def __iter__(self):
        return iter(self.per_layer)

    def __getitem__(self, i):
        return self.per_layer[i]

    def __len__(self):
        return len(self.per_layer)

    def __str__(self) -> str:
        rows = [f"  layer {ell}: max relative error {err:.3e}" for ell, err in enumerate(self.per_layer, 1)]
        return "gradient check (backprop vs central differences, float64)\n" + "\n".join(rows)


def gradcheck(net, X, Y, loss="squared", *, l2=0.0, reduction="sum", sample_weight=None,
              eps: float = 1e-4, order: int = 4, floor: float | None = None) -> GradCheck:
    """Compare ∇E(w) from backpropagation with central differences, layer by layer.

    Runs in float64 on a copy of ``net`` (a float32 network is promoted), so the
    network itself is not changed. Cost: ``order`` evaluations of E per parameter.

    Args:
        net: the :class:`mlplab.MLP` to check, at its current parameters.
        X, Y, loss, l2, reduction, sample_weight: the objective, as in
            :meth:`mlplab.MLP.loss_and_grad`.
        eps: relative finite-difference step.
        order: 4 (default, five-point stencil) or 2 (three-point).
        floor: lower bound of the error's denominator (default 1e-5 · max(1, |E(w)|)).

    Returns:
        :class:`GradCheck` with the max relative error per layer.
    """
    from mlplab.objective import Problem

    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    eps = check_real("eps", eps, low=0.0, high=1.0, low_open=True, high_open=True)
    net64 = net.copy(dtype="float64")
    problem = Problem(net64, np.asarray(X, dtype=np.float64), Y, loss, l2=l2,
                      reduction=reduction, sample_weight=sample_weight)
    w = net64.params.copy()
    E0, g = problem.value_and_grad(w)
    g = g.copy()
    floor = 1e-5 * max(1.0, abs(E0)) if floor is None else check_real("floor", floor, low=0.0, low_open=True)
    num = np.empty_like(w)
    trial = w.copy()
    E = problem.value
    for i in range(w.size):
        h = eps * max(1.0, abs(w[i]))
        def at(t):
            trial[i] = w[i] + t * h
            return E(trial)
        if order == 2:
            num[i] = (at(1) - at(-1)) / (2 * h)
        else:
            num[i] = (at(-2) - 8 * at(-1) + 8 * at(1) - at(2)) / (12 * h)
        trial[i] = w[i]
    errors = []
    for s in net64.slices:
        a, b = g[s.all], num[s.all]
        scale = max(np.max(np.abs(a)), np.max(np.abs(b)), floor)
        errors.append(float(np.max(np.abs(a - b)) / scale))
    return GradCheck(per_layer=errors, analytic=g, numeric=num)
