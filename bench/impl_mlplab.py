"""The cases written with mlplab's public API.

Each function builds what it needs, then times only the training itself and
returns (seconds, result).
"""

from __future__ import annotations

import numpy as np

import mlplab
from bench.core import Clock
from mlplab.objective import Problem
from mlplab.optim import GD, SGD, MiniBatchSGD


def _net(sizes, activation, init, dtype, bias=True, output="softmax"):
    flat = [(W, b) for W, b in init] if bias else [W for W, _ in init]
    return mlplab.MLP(list(sizes), activation=activation, output_activation=output, bias=bias,
                      init=flat, dtype=dtype)


def _layers(net):
    return [(W.copy(), b.copy()) for W, b in zip(net.weights, net.biases)]


def epoch(data, sizes, activation, init, dtype, batch_size, lr, order):
    """One epoch of mini-batch SGD with ``Problem.sgd_step`` (the step ``train`` takes).

    w ← w − γ ∇(1/|B|) Σ_{j∈B} e^j on the blocks order[0:128], order[128:256], …, each W^ℓ
    updated in place by the GEMM that computes its gradient. Problem construction (input
    validation) is inside the timed region.
    """
    net = _net(sizes, activation, init, dtype)
    with Clock() as c:
        problem = Problem(net, data.X, data.y, "cross_entropy", reduction="mean")
        w = net.params
        for start in range(0, problem.S, batch_size):
            _, taken = problem.sgd_step(w, order[start:start + batch_size], lr)
            assert taken
    return c.seconds, _layers(net)


def epoch_steps(data, sizes, activation, init, dtype, batch_size, lr, order):
    """One epoch of mini-batch SGD as the optimizer API's own loop (what the peers run).

    w ← w − γ ∇(1/|B|) Σ_{j∈B} e^j on the blocks order[0:128], order[128:256], …
    Problem construction (input validation) is inside the timed region.
    """
    net = _net(sizes, activation, init, dtype)
    with Clock() as c:
        problem = Problem(net, data.X, data.y, "cross_entropy", reduction="mean")
        opt = MiniBatchSGD(batch_size, schedule=lr)
        w, state = net.params, opt.init(net.params)
        g = np.empty_like(w)
        for start in range(0, problem.S, batch_size):
            E, _ = problem.value_and_grad(w, order[start:start + batch_size], out=g)
            step, state, _ = opt.update(g, state, w, loss=E)
            w += step
    return c.seconds, _layers(net)


def epoch_train(data, sizes, activation, init, dtype, batch_size, lr, seed, monitor="auto"):
    """The same epoch through ``mlplab.train`` with default settings (``monitor="auto"``: exact
    E and ∇E on all samples at w^0 and at the end, block estimates between), or another monitor
    ("batch": block estimates only after w^0)."""
    net = _net(sizes, activation, init, dtype)
    with Clock() as c:
        mlplab.train(net, data.X, data.y, "cross_entropy", MiniBatchSGD(batch_size, schedule=lr),
                     epochs=1, tol=None, reduction="mean", seed=seed, monitor=monitor)
    return c.seconds, _layers(net)


def sgd(X, y, sizes, activation, output, loss, bias, init, n_steps, seed):
    """The lecture's SGD, γ_k = 1/(k+1), j_k uniform, through ``train`` (records at start and end only)."""
    net = _net(sizes, activation, init, X.dtype, bias=bias, output=output)
    with Clock() as c:
        res = mlplab.train(net, X, y, loss, SGD(), max_iter=n_steps, tol=None,
                           eval_every=n_steps, seed=seed)
    return c.seconds, res


def gd_exact(data, sizes, activation, init, dtype, n_iter):
    """Full-batch GD with the exact line search (the lecture's), ``n_iter`` steps."""
    net = _net(sizes, activation, init, dtype)
    with Clock() as c:
        res = mlplab.train(net, data.X, data.y, "cross_entropy", GD("exact"), max_iter=n_iter, tol=None)
    evals = [n for n in res.history.ls_evals if n]
    return c.seconds, {"loss": res.loss, "ls_evals": float(np.mean(evals)) if evals else 0.0}


def per_sample_grads(data, sizes, activation, init, dtype):
    """Row s = ∇_w e^s for every sample, (S, d)."""
    net = _net(sizes, activation, init, dtype)
    with Clock() as c:
        G = net.per_sample_grads(data.X, data.y, loss="cross_entropy")
    return c.seconds, G
