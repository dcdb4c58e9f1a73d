"""Numbers behind the pictures, one module per question.

NumPy/SciPy only (no plotting): the engine's users may import this package.
Everything is in the lecture's notation (DESIGN.md): E(w) = Σ_s e^s(w), w the
flat parameter vector ``net.params``, δ^ℓ = ∂e/∂a^ℓ, V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ)).

* :mod:`~mlplab.analysis.surfaces` — what does E look like? E on planes and
  lines through w (:func:`batched_loss`, :func:`param_surface`,
  :func:`direction_surface`, :func:`direction_slice`, :func:`random_direction`,
  :func:`pca_directions`), :func:`radial_minimum` (the toy problem's infimum
  lies at ‖w‖ → ∞), :func:`decision_grid`.
* :mod:`~mlplab.analysis.rates` — how fast does E(w^k) − E* fall?
  :func:`fit_rate` (C k^{−p} or C q^k) and :func:`theory_rate` (the lecture's statement).
* :mod:`~mlplab.analysis.gradflow` — do gradients vanish or explode? The
  factors of ‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ^ℓ′)‖₂ ‖V^{ℓ+1}…V^L δ^L‖₂ ‖a^{ℓ−1}‖₂ per layer and
  sample (:func:`gradient_flow`) and the verdict on them (:func:`diagnose_gradients`;
  the records in ``gradflow_records``, the rules in ``gradflow_verdict``).
* :mod:`~mlplab.analysis.curvature` — how is E curved at w? Hessian-vector products
  and ∇²E's extreme eigenvalues by Lanczos (:func:`hessian_extremes`; :func:`hessian` for small d).
* :mod:`~mlplab.analysis.stationary` — where did it stop? ∇E(w*) = 0 and the
  second-order test (:func:`stationary_point`; its numbers in ``stationary_measure``,
  its rules in ``stationary_verdict``).
* :mod:`~mlplab.analysis.trajectory` — :class:`TrajectoryRecorder`, a ``train`` callback keeping every w^k.
"""

from mlplab.analysis.gradflow import (HUGE, SATURATION, THRESHOLD, Diagnosis, FlowPoint, GradientFlow, LayerFlow,
                                      diagnose_gradients, gradient_flow, layer_flows)
from mlplab.analysis.rates import RateFit, fit_rate, theory_rate
from mlplab.analysis.stationary import (VERDICTS, Curvature, HessianVectorProduct, StationaryPoint, hessian,
                                        hessian_extremes, hvp_extremes, per_sample_grad_norms, stationary_point)
from mlplab.analysis.surfaces import (Surface, batched_loss, decision_grid, direction_slice, direction_surface,
                                      param_name, param_surface, pca_directions, radial_minimum, random_direction)
from mlplab.analysis.trajectory import TrajectoryRecorder

__all__ = [
    # surfaces
    "batched_loss", "Surface", "param_name", "param_surface", "random_direction", "pca_directions",
    "direction_surface", "direction_slice", "radial_minimum", "decision_grid",
    # rates
    "RateFit", "fit_rate", "theory_rate",
    # gradient flow
    "LayerFlow", "FlowPoint", "GradientFlow", "gradient_flow", "layer_flows", "Diagnosis", "diagnose_gradients",
    "SATURATION", "THRESHOLD", "HUGE",
    # stationary points
    "hessian", "HessianVectorProduct", "Curvature", "hessian_extremes", "hvp_extremes", "per_sample_grad_norms",
    "StationaryPoint", "stationary_point", "VERDICTS",
    # trajectories
    "TrajectoryRecorder",
]
