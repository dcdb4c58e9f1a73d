"""The cases written with PyTorch on the CPU (the idiomatic loop: autograd + torch.optim.SGD)."""

from __future__ import annotations

import numpy as np

from bench.core import Clock


def _model(sizes, activation, init, dtype, bias=True, output=None):
    import torch

    act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}[activation]
    layers = []
    for ell, (W, b) in enumerate(init):
        lin = torch.nn.Linear(W.shape[1], W.shape[0], bias=bias, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
            if bias:
                lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if ell < len(init) - 1:
            layers.append(act())
        elif output == "sigmoid":
            layers.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


def _layers(model):
    lins = [m for m in model if hasattr(m, "weight")]
    return [(m.weight.detach().numpy().copy(),
             m.bias.detach().numpy().copy() if m.bias is not None else np.zeros(m.weight.shape[0]))
            for m in lins]


def _dtype(dtype):
    import torch

    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[np.dtype(dtype)]


def epoch(data, sizes, activation, init, dtype, batch_size, lr, order):
    import torch
    import torch.nn.functional as F

    tdt = _dtype(dtype)
    model = _model(sizes, activation, init, tdt)
    X, y = torch.from_numpy(data.X), torch.from_numpy(data.y)
    order = torch.from_numpy(order)
    with Clock() as c:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0)
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(X[idx]), y[idx])  # mean over the block
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return c.seconds, _layers(model)


def sgd(X, y, sizes, activation, output, loss, bias, init, n_steps, seed):
    """|B| = 1, γ_k = 1/(k+1), j_k uniform; the update written out (faster than torch.optim)."""
    import torch
    import torch.nn.functional as F

    model = _model(sizes, activation, init, _dtype(X.dtype), bias=bias, output=output)
    params = list(model.parameters())
    Xt = torch.from_numpy(X)
    if loss == "squared":
        Yt = torch.from_numpy(np.asarray(y, dtype=X.dtype).reshape(len(X), -1))
        error = lambda out, j: ((out - Yt[j:j + 1]) ** 2).sum()  # e = Σ (y − ŷ)²
    else:
        Yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
        error = lambda out, j: F.cross_entropy(out, Yt[j:j + 1], reduction="sum")
    js = np.random.default_rng(seed).integers(0, len(X), size=n_steps).tolist()
    with Clock() as c:
        for k, j in enumerate(js):
            e = error(model(Xt[j:j + 1]), j)
            grads = torch.autograd.grad(e, params)
            with torch.no_grad():
                gamma = 1.0 / (k + 1)
                for p, g in zip(params, grads):
                    p.sub_(g, alpha=gamma)
    return c.seconds, n_steps


def sgd_optim(X, y, sizes, activation, output, loss, bias, init, n_steps, seed):
    """The same steps with torch.optim.SGD and a LambdaLR schedule (the textbook PyTorch loop)."""
    import torch
    import torch.nn.functional as F

    model = _model(sizes, activation, init, _dtype(X.dtype), bias=bias, output=output)
    Xt = torch.from_numpy(X)
    if loss == "squared":
        Yt = torch.from_numpy(np.asarray(y, dtype=X.dtype).reshape(len(X), -1))
        error = lambda out, j: ((out - Yt[j:j + 1]) ** 2).sum()
    else:
        Yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
        error = lambda out, j: F.cross_entropy(out, Yt[j:j + 1], reduction="sum")
    js = np.random.default_rng(seed).integers(0, len(X), size=n_steps).tolist()
    with Clock() as c:
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 / (k + 1))
        for j in js:
            e = error(model(Xt[j:j + 1]), j)
            opt.zero_grad(set_to_none=True)
            e.backward()
            opt.step()
            schedule.step()
    return c.seconds, n_steps


def gd_exact(data, sizes, activation, init, dtype, n_iter):
    """Full-batch GD; α^k from mlplab's own ExactLineSearch, φ(α) evaluated by torch."""
    import torch
    import torch.nn.functional as F

    from mlplab.optim import ExactLineSearch

    model = _model(sizes, activation, init, _dtype(dtype))
    params = list(model.parameters())
    X, y = torch.from_numpy(data.X), torch.from_numpy(data.y)
    search, alpha, evals = ExactLineSearch(), 1.0, []
    with Clock() as c:
        for _ in range(n_iter):
            E = F.cross_entropy(model(X), y, reduction="sum")
            grads = torch.autograd.grad(E, params)
            w0 = [p.detach().clone() for p in params]
            slope = -float(sum((g * g).sum() for g in grads))  # ⟨∇E, d⟩ with d = −∇E

            @torch.no_grad()
            def phi(a):
                for p, p0, g in zip(params, w0, grads):
                    torch.add(p0, g, alpha=-a, out=p)
                return float(F.cross_entropy(model(X), y, reduction="sum"))

            alpha, info = search(phi, float(E.detach()), slope, alpha)
            evals.append(info.n_evals)
            with torch.no_grad():
                for p, p0, g in zip(params, w0, grads):
                    torch.add(p0, g, alpha=-alpha, out=p)
        with torch.no_grad():
            E = float(F.cross_entropy(model(X), y, reduction="sum"))
    return c.seconds, {"loss": E, "ls_evals": float(np.mean(evals))}


def per_sample_grads(data, sizes, activation, init, dtype):
    """torch.func.vmap(grad(e)) over the samples: a dict of (S, …) gradients per parameter."""
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call, grad, vmap

    model = _model(sizes, activation, init, _dtype(dtype))
    params = {k: v.detach() for k, v in model.named_parameters()}
    X, y = torch.from_numpy(data.X), torch.from_numpy(data.y)

    def e(p, x, t):  # e^s for one sample
        return F.cross_entropy(functional_call(model, p, (x[None],)), t[None], reduction="sum")

    with Clock() as c:
        G = vmap(grad(e), in_dims=(None, 0, 0))(params, X, y)
    return c.seconds, G
