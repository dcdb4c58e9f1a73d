"""What a validated form builds: the train/test split, the network and its loss, the engine's
optimizer — and the method described in words and numbers for the page.

Each builder raises :class:`~mlplab.playground.config.FormError` naming the field that does not
fit (the page shows the message beside it); nothing here keeps state.
"""

from __future__ import annotations

import numpy as np

import mlplab
from mlplab.optim import method
from mlplab.optim.methods import schedule
from mlplab.playground.config import Config, FormError


def make_schedule(cfg: Config):
    """The step sizes γ_k the form names."""
    name = "exp" if cfg.schedule == "exponential" else cfg.schedule
    return schedule(name, cfg.c, power=cfg.p, factor=0.5, every=cfg.every, rate=cfg.rate)


_GD_STEPS = {"gd-exact": "exact", "gd-armijo": "armijo"}


def make_optimizer(cfg: Config, S: int):
    """The engine's optimizer for the form (mini-batch gradients are block means with reduction "mean"),
    built by :func:`mlplab.optim.method` as every front end's is."""
    if cfg.optimizer.startswith("gd-"):
        return method("gd", step=_GD_STEPS.get(cfg.optimizer, cfg.alpha),
                      alpha_max=cfg.alpha_max if cfg.optimizer == "gd-exact" else None)
    if cfg.optimizer != "sgd" and cfg.batch > S:
        raise FormError({"batch": f"|B| = {cfg.batch} is larger than the {S} samples; choose 1..{S}"})
    return method(cfg.optimizer, gamma=make_schedule(cfg), batch_size=cfg.batch, average=cfg.reduction == "mean",
                  sampling="uniform" if cfg.optimizer == "sgd" else "shuffle", beta=cfg.beta,
                  nesterov=cfg.nesterov, b1=cfg.b1, b2=cfg.b2)


def split_data(X, y, cfg: Config):
    """(X_train, y_train, X_test, y_test): ``cfg.test_fraction`` of the samples held out, drawn by the
    data seed (the same split for the same data); the test pair is None without a split."""
    if cfg.test_fraction <= 0:
        return X, y, None, None
    S = len(y)
    n_test = int(round(cfg.test_fraction * S))
    if n_test < 1 or S - n_test < 2:
        raise FormError({"test_fraction": f"{cfg.test_fraction:g} of {S} samples leaves no test sample or fewer "
                                          "than 2 to train on; choose another share (0 for none)"})
    order = np.random.default_rng([cfg.data_seed, 2]).permutation(S)
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return X[train], y[train], X[test], y[test]


def make_network(cfg: Config, task: str, n_in: int, K: int):
    """(MLP, loss) for the form and the data; FormError naming the field that does not fit."""
    if cfg.model == "toy":
        if task != "classification" or n_in != 2 or K != 2:
            raise FormError({"model": "the toy model ŷ = σ(w11 x1 + w12 x2) needs 2-D inputs and 2 classes; "
                                      "choose 'MLP' for this data"})
        if cfg.loss not in ("squared", "binary_cross_entropy"):
            raise FormError({"loss": "the toy model's output is one sigmoid: use squared or binary_cross_entropy"})
        return mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=cfg.init, seed=cfg.seed), cfg.loss
    if task == "regression":
        if cfg.loss not in ("squared", "absolute"):
            raise FormError({"loss": f"{cfg.loss} is for classes; regression takes squared or absolute"})
        out, n_out = "identity", 1
    elif K == 2:
        if cfg.loss not in ("squared", "binary_cross_entropy", "absolute"):
            raise FormError({"loss": "2 classes use one sigmoid output: squared, binary_cross_entropy or absolute"})
        out, n_out = "sigmoid", 1
    else:
        if cfg.loss != "cross_entropy":
            raise FormError({"loss": f"{K} classes use a softmax output: choose cross_entropy"})
        out, n_out = "softmax", K
    sizes = [n_in, *cfg.hidden, n_out]
    try:
        net = mlplab.MLP(sizes, activation=[*cfg.activations, out], bias=cfg.bias, init=cfg.init, seed=cfg.seed)
    except ValueError as exc:
        raise FormError({"hidden": str(exc)}) from None
    return net, cfg.loss


# --- the method in words ------------------------------------------------------------------------


def robbins_monro_text(schedule) -> str:
    """Whether γ_k meets Robbins–Monro (Σγ_k = ∞, Σγ_k² < ∞), and what that means for SGD."""
    verdict = schedule.robbins_monro
    if verdict is None:
        return "Robbins–Monro: unknown for this schedule"
    if verdict:
        return "Robbins–Monro holds (Σγ_k = ∞, Σγ_k² < ∞): SGD converges asymptotically"
    if not schedule.sum_diverges:
        return "not Robbins–Monro: Σγ_k < ∞, the steps may stop short of a stationary point"
    return "not Robbins–Monro: Σγ_k² = ∞, SGD only reaches a noise neighbourhood"


def schedule_text(cfg: Config) -> str:
    """γ_k of the form in the lecture's notation, with its numbers."""
    c = f"{cfg.c:g}"
    return {"inverse": f"γ_k = {c}/(k+1)", "constant": f"γ_k = {c}",
            "power": f"γ_k = {c}/(k+1)^{cfg.p:g}", "step": f"γ_k = {c}·0.5^⌊k/{cfg.every}⌋",
            "exponential": f"γ_k = {c}·exp(−{cfg.rate:g} k)"}.get(cfg.schedule, cfg.schedule)


def describe_regulariser(cfg: Config) -> str:
    """E with its regularisers and their numbers in plain text (the page shows it as text), e.g.
    "E = Σₛ eˢ + λ₁ Σ|Wᵢⱼ| (λ₁ = 0.01)"; "" without any. Weights only, the biases are not regularised."""
    terms, values = [], []
    if cfg.l2:
        terms.append("(λ/2) Σ‖W‖²")
        values.append(f"λ = {cfg.l2:g}")
    if cfg.l1:
        terms.append("λ₁ Σ|Wᵢⱼ|")
        values.append(f"λ₁ = {cfg.l1:g}")
    return f"E = Σₛ eˢ + {' + '.join(terms)} ({', '.join(values)})" if terms else ""


def describe_method(cfg: Config) -> str:
    """The method and its step sizes in words and numbers (never a Python repr)."""
    o = cfg.optimizer
    if o == "gd-exact":
        return f"GD, exact line search (α_max = {cfg.alpha_max:g})"
    if o == "gd-armijo":
        return "GD, Armijo backtracking"
    if o == "gd-constant":
        return f"GD, constant step α = {cfg.alpha:g}"
    if o == "sgd":
        return f"SGD (one sample per step), {schedule_text(cfg)}"
    block = f"|B| = {cfg.batch} ({'block mean' if cfg.reduction == 'mean' else 'block sum'}), {schedule_text(cfg)}"
    if o == "minibatch":
        return f"mini-batch SGD, {block}"
    if o == "momentum":
        return f"{'Nesterov' if cfg.nesterov else 'momentum'} β = {cfg.beta:g}, {block}"
    return f"Adam β₁ = {cfg.b1:g}, β₂ = {cfg.b2:g}, {block}"
