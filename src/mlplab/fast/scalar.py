"""One-sample SGD steps on tiny networks, in Python floats: the lecture's component formulas.

On a network like a 2-2-1 sigmoid net without biases (d = 6 weights; the
slides' backprop network is 2-2-2-1, d = 10), a single NumPy call
costs more than the whole arithmetic of a step, and a step of the array code
(:meth:`mlplab.objective.Problem.sgd_step`) makes about 25 of them. So for
float64 networks of at most :data:`TINY` parameters, :func:`sgd_steps` runs
the step with the per-component formulas of the backpropagation slides,

    z_i^ℓ = Σ_j w_ij^ℓ a_j^{ℓ−1} + b_i^ℓ,    a_i^ℓ = φ(z_i^ℓ)
    dz_i^L = φ′(z_i^L) ∂e/∂ŷ_i               (or the loss's logit form)
    dz_j^{ℓ−1} = φ′(z_j^{ℓ−1}) Σ_i w_ij^ℓ dz_i^ℓ
    w_ij^ℓ ← (1 − γρλ) w_ij^ℓ − γ dz_i^ℓ a_j^{ℓ−1},    b_i^ℓ ← b_i^ℓ − γ dz_i^ℓ

on Python floats (IEEE float64, like the array code: the results agree to
rounding), about six times faster on such a 2-2-1 net. Every activation and
loss below has a scalar form next to the array one it mirrors; softmax and
cross-entropy (whose outputs are coupled) have none, and such networks keep
the array code. ``tests/test_fast_paths.py`` checks each form against the
array version and whole runs against ``Problem.sgd_step``.
"""

from __future__ import annotations

import math
from operator import mul

import numpy as np

from mlplab import activations, losses
from mlplab.activations import LEAKY_RELU_SLOPE, log_sigmoid_scalar, sigmoid_scalar

TINY = 128  # at most this many parameters (measured: the array step is as fast from d ≈ 150–200 on)
_SAFE = 0.25 * float(np.finfo(np.float64).max)  # as Problem.sgd_step: step entries below this


# --- activations: φ(z) and φ′(z) given a = φ(z) (mlplab.activations) -----------


_EXP_FLOOR = activations._exp_floor(np.float64)  # as the array softplus: exp never goes subnormal
_EXP_CEILING = float(np.log(np.finfo(np.float64).max)) - 1.0  # as the array exp: e^z stays finite


def _softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(max(-abs(z), _EXP_FLOOR)))


def _dsigmoid(z, a):
    return a * sigmoid_scalar(-z)  # σ′ = σ(z) σ(−z): σ(−z) from z, not 1 − a (cancels where a ≈ 1)


ACTIVATIONS = {
    "sigmoid": (sigmoid_scalar, _dsigmoid),
    "tanh": (math.tanh, lambda z, a: 1.0 - a * a),
    # `not z <= 0` lets a NaN through, as NumPy's maximum / where do
    "relu": (lambda z: z if not z <= 0 else 0.0, lambda z, a: 1.0 if z > 0 else 0.0),
    "leaky_relu": (lambda z: z if not z <= 0 else LEAKY_RELU_SLOPE * z,
                   lambda z, a: 1.0 if z > 0 else LEAKY_RELU_SLOPE),
    "identity": (lambda z: z, lambda z, a: 1.0),
    "softplus": (_softplus, lambda z, a: sigmoid_scalar(z)),
    # e^z with the exponent clipped as the array form's (finite and normal for every finite z)
    "exp": (lambda z: math.exp(min(max(z, _EXP_FLOOR), _EXP_CEILING)), lambda z, a: a),
}


# --- losses: e and ∂e/∂ŷ for one output unit, summed over units (mlplab.losses) -----


LOSSES = {
    "squared": (lambda y, a: (y - a) * (y - a), lambda y, a: 2.0 * (a - y)),
    "absolute": (lambda y, a: abs(y - a), lambda y, a: 1.0 if a > y else (-1.0 if a < y else 0.0)),
    "perceptron": (lambda y, a: max(-y * a, 0.0), lambda y, a: -y if y * a <= 0 else 0.0),
}


def _sigmoid_residual(y, z):
    # r = y − σ(z) without cancellation, as in losses._squared_sigmoid: (y − 1) + σ(−z) where y ≥ ½
    return (y - 1.0) + sigmoid_scalar(-z) if y >= 0.5 else y - sigmoid_scalar(z)


def _squared_sigmoid(y, z):
    r = _sigmoid_residual(y, z)
    return r * r


# (loss, output activation) pairs computed from the logit z^L: (e(y, z), ∂e/∂z(y, z, a))
LOGIT_FORMS = {
    # e = (y − σ(z))², ∂e/∂z = σ′(z) · 2(ŷ − y) = −2 r σ(z) σ(−z): the exact chain rule
    ("squared", "sigmoid"): (_squared_sigmoid, lambda y, z, a: -2.0 * _sigmoid_residual(y, z) * _dsigmoid(z, a)),
    ("binary_cross_entropy", "sigmoid"): (
        lambda y, z: -(y * log_sigmoid_scalar(z) + (1.0 - y) * log_sigmoid_scalar(-z)),
        lambda y, z, a: a - y,
    ),
}


def supports(problem) -> bool:
    """Does :func:`sgd_steps` cover this problem (float64, ≤ TINY parameters, scalar forms known)?

    The output error must be computed the way the array code computes it: from the
    logits where :mod:`mlplab.losses` declares a logit form, by the chain rule elsewhere.
    """
    net = problem.net
    names = [act.name for act in net.activations]
    loss = problem.loss
    # the built-in records (or copies of them, e.g. unpickled), not look-alikes that share a name
    if losses.LOSSES.get(loss.name) != loss or any(
            activations.ACTIVATIONS.get(act.name) != act for act in net.activations):
        return False
    if names[-1] in loss.logit_forms:
        output_known = (loss.name, names[-1]) in LOGIT_FORMS
    else:
        output_known = loss.name in LOSSES
    return (net.dtype == np.float64 and net.n_params <= TINY and output_known
            and all(name in ACTIVATIONS for name in names))


def sgd_steps(problem, w: np.ndarray, js, gammas) -> int:
    """Steps w ← w − γ_k ∇E_{j_k}(w) for j_k, γ_k in zip(js, gammas), in place.

    E_j is the one-sample objective of ``Problem.value_and_grad(w, j)``
    (sample weight, reduction and regulariser included). Stops before the
    first step whose E_j is not finite, whose size could overflow
    (γ Σ_ℓ Σ|dz^ℓ| (1 + Σ|a^{ℓ−1}|) ≥ 2^1021, a bound on every entry), or whose
    regulariser factor |1 − γρλ| exceeds 1; returns the number of steps taken.
    """
    net = problem.net
    weights, biases = net.unpack(w)
    layers = [(W.tolist(), None if biases is None else biases[ell].tolist()) for ell, W in enumerate(weights)]
    acts = [ACTIVATIONS[a.name] for a in net.activations]
    loss_name, out_name = problem.loss.name, net.activations[-1].name
    logit = LOGIT_FORMS.get((loss_name, out_name))
    e_unit, de_unit = LOSSES.get(loss_name, (None, None))
    rows = np.asarray(js, dtype=np.intp)
    X, Y = problem.X[rows].tolist(), problem.Y[rows].tolist()
    C = [1.0] * len(X) if problem.sample_weight is None else problem.sample_weight[rows].tolist()
    rho_lam = problem._reg_weight(1) * problem.l2  # ρ λ for a block of one sample
    L = len(layers)
    taken = 0
    for x, y, c, gamma in zip(X, Y, C, gammas):
        # forward: z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ, a^ℓ = φ(z^ℓ)
        a, zs, As = x, [], [x]
        for (W, b), (phi, _) in zip(layers, acts):
            z = ([sum(map(mul, row, a)) for row in W] if b is None
                 else [sum(map(mul, row, a), bi) for row, bi in zip(W, b)])
            a = list(map(phi, z))
            zs.append(z)
            As.append(a)
        # the output error e and dz^L = ∂e/∂z^L
        z = zs[-1]
        if logit is not None:
            e = sum(map(logit[0], y, z))
            dz = list(map(logit[1], y, z, a))
        else:
            dphi = acts[-1][1]
            e = sum(map(e_unit, y, a))
            dz = list(map(mul, map(de_unit, y, a), map(dphi, z, a)))
        E = c * e
        if c != 1.0:
            dz = [c * d for d in dz]  # c_s ∂e/∂z
        if rho_lam:
            E += 0.5 * rho_lam * sum(v * v for W, _ in layers for row in W for v in row)
        # backward, every dz^ℓ before any W^ℓ changes: dz^{ℓ−1} = φ′(z^{ℓ−1}) ⊙ (W^ℓ)ᵀ dz^ℓ
        dzs = [dz]
        for ell in range(L - 1, 0, -1):  # ℓ = L−1 … 1; layers[ell] holds W^{ℓ+1}
            dphi = acts[ell - 1][1]
            delta = [sum(map(mul, column, dz)) for column in zip(*layers[ell][0])]  # δ^ℓ = (W^{ℓ+1})ᵀ dz^{ℓ+1}
            dz = list(map(mul, delta, map(dphi, zs[ell - 1], As[ell])))
            dzs.append(dz)
        dzs.reverse()
        # Σ_ℓ Σ|dz^ℓ| (1 + Σ|a^{ℓ−1}|) ≥ every |entry| of the step / γ, weights and biases;
        # sums, not maxima, so that a NaN fails the test
        bound = 0.0
        for dz_l, a_prev in zip(dzs, As):
            bound += sum(map(abs, dz_l)) * (1.0 + sum(map(abs, a_prev)))
        shrink = 1.0 - gamma * rho_lam  # the regulariser's −γρλ w_ij
        if not (math.isfinite(E) and gamma * bound < _SAFE and abs(shrink) <= 1.0):
            break
        for (W, b), dz_l, a_prev in zip(layers, dzs, As):
            for i, (row, d) in enumerate(zip(W, dz_l)):
                g = gamma * d
                W[i] = ([shrink * v - g * ap for v, ap in zip(row, a_prev)] if shrink != 1.0
                        else [v - g * ap for v, ap in zip(row, a_prev)])
            if b is not None:
                for i, d in enumerate(dz_l):
                    b[i] -= gamma * d
        taken += 1
    for (W, b), Wv, ell in zip(layers, weights, range(L)):
        Wv[...] = W
        if b is not None:
            biases[ell][...] = b
    return taken
