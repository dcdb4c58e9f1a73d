"""Gradient flow: the lecture's bound on each layer's weight gradient, sample by sample.

For one sample (x, y), with δ^ℓ = ∂e/∂a^ℓ and V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ)):

    ∇_{W^ℓ} e = Diag(φ′(z^ℓ)) δ^ℓ (a^{ℓ−1})ᵀ,      δ^ℓ = V^{ℓ+1} ⋯ V^L δ^L,
    ‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ′(z^ℓ))‖₂ · ‖V^{ℓ+1} ⋯ V^L δ^L‖₂ · ‖a^{ℓ−1}‖₂.

"If V^{ℓ+1} ⋯ V^L δ^L leads to large values, ∇_{W^ℓ} e can become large
(exploding gradients); if it leads to small values, ∇_{W^ℓ} e can approach zero
(vanishing gradients)." :func:`gradient_flow` computes the three factors, the
gradient norm and the chain ratio

    c^ℓ = ‖V^{ℓ+1} ⋯ V^L δ^L‖₂ / ‖δ^L‖₂ = ‖δ^ℓ‖₂ / ‖δ^L‖₂

for every layer and every sample; :func:`diagnose_gradients` decides from
robust statistics of these per-sample numbers (medians over the samples) —
not from the summed gradient Σ_s ∇e^s, in which the samples' gradients cancel
near a stationary point while each sample's gradient still shows the decay.
The results are :mod:`~mlplab.analysis.gradflow_records`'s, the verdict
:mod:`~mlplab.analysis.gradflow_verdict`'s. NumPy only.
"""

from __future__ import annotations

import numpy as np

from mlplab.analysis.gradflow_records import HUGE, SATURATION, THRESHOLD, Diagnosis, FlowPoint, GradientFlow, LayerFlow
from mlplab.analysis.gradflow_verdict import combine_points, diagnose_flows, diagnose_gradients
from mlplab.losses import output_error
from mlplab.objective import Problem

__all__ = ["LayerFlow", "FlowPoint", "GradientFlow", "Diagnosis", "layer_flows", "gradient_flow", "diagnose_gradients",
           "SATURATION", "THRESHOLD", "HUGE"]


def layer_flows(net, problem: Problem, w, saturation: float = SATURATION) -> list[LayerFlow]:
    """The factors of the bound for every layer and sample of ``problem`` at w (unweighted e^s).

    Uses the network's own batched forward pass and backward recursion
    (:meth:`mlplab.MLP.backprop`); δ^ℓ = V^{ℓ+1}…V^L δ^L is recovered as
    ∂e/∂z^{ℓ+1} W^{ℓ+1} (and δ^L = ∂e/∂ŷ).
    """
    w = np.asarray(w, dtype=net.dtype)
    with np.errstate(all="ignore"):  # overflow is reported (non-finite norms), not raised
        Zs, As = net.forward_cache(problem.X, w)
        weights, _ = net.unpack(w)
        out_act = net.activations[-1]
        _, dz_L = output_error(problem.loss, out_act, problem.Y, Zs[-1], As[-1])
        delta_L = problem.loss.grad(problem.Y, As[-1])
        L = net.n_layers
        flows: list[LayerFlow | None] = [None] * L
        dz_next = None
        delta_L_norm = None
        dz_L_norm = np.linalg.norm(dz_L, axis=1)
        form = problem.loss.logit_forms.get(out_act.name)
        errors = np.asarray(form.value(problem.Y, Zs[-1]) if form is not None else problem.loss.value(problem.Y, As[-1]),
                            dtype=float).reshape(-1)
        zok = np.isfinite(dz_L_norm) & (dz_L_norm > 0)
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
                delta_norm = np.linalg.norm(delta, axis=1)
                fallback = np.linalg.norm(dz, axis=1) / np.maximum(dphi_norm, 1e-300)
                delta_norm = np.where(np.isfinite(delta_norm), delta_norm, fallback)
            else:
                delta_norm = np.linalg.norm(delta, axis=1)
            if ell == L:
                delta_L_norm = delta_norm
            ok = np.isfinite(delta_L_norm) & (delta_L_norm > 0)
            chain = np.where(ok, delta_norm / np.where(ok, delta_L_norm, 1.0), np.nan)  # ‖δ^ℓ‖ / ‖δ^L‖
            active = delta_L_norm != 0  # samples with an error signal (non-finite ones included)
            a_norm = np.linalg.norm(a_prev, axis=1)
            g_norm = np.linalg.norm(dz, axis=1) * a_norm  # ‖dz aᵀ‖₂ = ‖dz‖ ‖a‖ (rank one)
            batch = float(np.linalg.norm(dz.T @ a_prev))
            hidden = (np.ones_like(dz_L_norm) if ell == L else
                      np.where(zok, delta_norm / np.where(zok, dz_L_norm, 1.0), np.nan))  # ‖δ^ℓ‖ / ‖∂e/∂z^L‖
            flows[ell - 1] = LayerFlow(ell, act.name, dphi_norm, delta_norm, a_norm, g_norm,
                                       dphi_norm * delta_norm * a_norm, batch, sat, chain, active, hidden, errors)
            dz_next = dz
    return flows


def _pick_rows(n: int, max_points: int) -> list[int]:
    """Rows of a trajectory to examine: the first (w^0), the last, and evenly spaced ones between."""
    if n <= 1 or max_points <= 1:
        return [n - 1]
    return sorted(set(np.linspace(0, n - 1, min(n, max(2, max_points))).round().astype(int).tolist()))


def gradient_flow(net, X, Y, loss="squared", w=None, saturation: float = SATURATION, *, trajectory=None,
                  history=None, max_points: int = 2, threshold: float = THRESHOLD, huge: float = HUGE,
                  ks=None) -> GradientFlow:
    """The three factors of the lecture's bound, per layer and sample, and the verdict on them.

    Args:
        net: the network; X (S, N_0), Y: the batch; loss: its name.
        w: the point (default ``net.params``; with ``trajectory``: its last row).
        saturation: φ′ below this fraction of max φ′ counts as saturated.
        trajectory: optional (n_records, d) iterates w^0 … w^K of the run (e.g.
            :meth:`TrajectoryRecorder.finish`); w^0, the final w and up to
            ``max_points`` − 2 evenly spaced records between are examined.
        history: optional (n_records, L) recorded norms ‖∇_{W^ℓ}E(w^k)‖ of the
            summed gradient (``result.history.layer_grad_norms``): a layer whose
            norm became non-finite or grew by more than ``threshold`` counts as exploding.
        threshold, huge: see :func:`diagnose_gradients`.
        ks: iteration numbers k of the trajectory's rows (for the labels).

    Returns:
        :class:`GradientFlow`: the factors at the point the verdict is about
        (the final w, unless only an earlier point shows the problem), the
        verdict, and every examined point.
    """
    problem = Problem(net, X, Y, loss)
    if trajectory is None:
        W = np.atleast_2d(np.asarray(net.params if w is None else w, dtype=net.dtype))
        labels, rows = ["w"], [None]
    else:
        T = np.atleast_2d(np.asarray(trajectory, dtype=net.dtype))
        if T.shape[1] != net.n_params:
            raise ValueError(f"trajectory must have d = {net.n_params} columns, got shape {T.shape}")
        if w is not None:
            T = np.vstack([T, np.asarray(w, dtype=net.dtype)[None]])
        rows = _pick_rows(len(T), max_points)
        W = T[rows]
        labels = []
        for r in rows:
            if r == len(T) - 1:
                labels.append("the final w" if len(T) > 1 else "w")
            elif r == 0:
                labels.append("w^0")
            else:
                labels.append(f"w^{ks[r]}" if ks is not None and r < len(ks) else f"record {r} of the trajectory")
    points = []
    for label, row, wi in zip(labels, rows, W):
        flows = layer_flows(net, problem, wi, saturation)
        points.append(FlowPoint(label, row, flows, diagnose_flows(flows, threshold, huge, label)))
    diag, shown = combine_points(points, history, threshold)
    return GradientFlow(shown.layers, diag, points)
