"""B7–B10: the paths users call, each beside its peer in the same run.

* B7  a B1 epoch (784-300-10 sigmoid, float32, |B| = 128) while another process keeps one core
      busy: each library's time, and its slowdown against the same epoch on the quiet machine.
* B8  the scikit-learn estimators: ``mlplab.sklearn.MLPClassifier`` and scikit-learn's
      ``MLPClassifier`` with the same settings, per solver (sgd, adam, lbfgs).
* B9  ``net.loss_and_grad`` per block of 128 over an epoch, beside torch forward + backward.
* B10 the CLI, ``mlplab train data.npz …`` (a fresh process), beside a fresh process running
      the torch.optim loop on the same .npz, and beside ``mlplab.train`` in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

import mlplab
from bench.core import Clock, Sizes, glorot_weights, have, measure_all
from mlplab.optim import MiniBatchSGD


def _row(case, library, timing, **extra):
    return {"case": case, "library": library, "time": timing.as_dict(), **extra}


def _skip(case, library, why):
    return {"case": case, "library": library, "skipped": why}


# --- B7 -----------------------------------------------------------------------------------


def _busy_core():
    """A process that keeps one core busy until killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def b7(sz: Sizes, data) -> list[dict]:
    """B1's epoch quiet and with one core busy, per library: the slowdown."""
    from bench import impl_mlplab as ml

    sizes, dtype = (sz.n_in, sz.hidden, 10), "float32"
    init = glorot_weights(sizes, dtype)
    order = np.random.default_rng(1).permutation(sz.S)
    args = (data, sizes, "sigmoid", init, dtype, sz.batch, sz.lr)
    runs = {"mlplab train()": lambda: ml.epoch_train(*args, seed=1),
            "mlplab train(monitor='batch')": lambda: ml.epoch_train(*args, seed=1, monitor="batch")}
    rows = []
    for lib, module in (("sklearn", "sklearn"), ("torch", "torch")):
        if not have(module):
            rows.append(_skip("B7 B1 epoch, one core busy", lib, "not installed"))
    if have("sklearn"):
        from bench import impl_sklearn

        runs["sklearn"] = lambda: impl_sklearn.epoch(*args)
    if have("torch"):
        from bench import impl_torch

        runs["torch"] = lambda: impl_torch.epoch(*args, order)
    repeats = max(1, sz.repeats // 2)
    quiet = measure_all(runs, repeats=repeats)
    busy = _busy_core()
    try:
        time.sleep(0.2)
        loaded = measure_all(runs, repeats=repeats)
    finally:
        busy.kill()
        busy.wait()
    for lib in runs:
        t_quiet, t_busy = quiet[lib][0], loaded[lib][0]
        rows.append(_row("B7 B1 epoch, one core busy", lib, t_busy, quiet_s=t_quiet.median,
                         slowdown=t_busy.median / t_quiet.median))
    return rows


# --- B8 -----------------------------------------------------------------------------------

SOLVERS = {  # solver: (extra settings, max_iter); the same for both estimators
    "sgd": ({"learning_rate_init": 0.1, "momentum": 0.0, "nesterovs_momentum": False}, 2),
    "adam": ({"learning_rate_init": 1e-3}, 2),
    "lbfgs": ({}, 30),
}


def _estimator(module, solver, hidden, batch):
    settings, max_iter = SOLVERS[solver]
    cls = (mlplab.sklearn.MLPClassifier if module == "mlplab" else
           __import__("sklearn.neural_network", fromlist=["MLPClassifier"]).MLPClassifier)
    return cls(hidden_layer_sizes=(hidden,), activation="logistic", solver=solver, batch_size=batch,
               max_iter=max_iter, alpha=0.0, tol=0.0, n_iter_no_change=10**9, random_state=0, shuffle=True,
               **settings)


def _fit(module, solver, X, y, hidden, batch):
    import mlplab.sklearn  # noqa: F401

    clf = _estimator(module, solver, hidden, batch)
    with warnings.catch_warnings(), Clock() as c:
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is small on purpose
        clf.fit(X, y)
    return c.seconds, float(clf.score(X[:5000], y[:5000]))


def b8(sz: Sizes, data) -> list[dict]:
    """Each solver of the estimators on est_S samples, float32, beside scikit-learn's."""
    d = data.head(sz.est_S)
    rows = []
    for solver, (_, max_iter) in SOLVERS.items():
        case = f"B8 MLPClassifier(solver={solver!r}, max_iter={max_iter}) S={sz.est_S}"
        runs = {"mlplab": lambda s=solver: _fit("mlplab", s, d.X, d.y, sz.hidden, sz.batch)}
        if have("sklearn"):
            runs["sklearn"] = lambda s=solver: _fit("sklearn", s, d.X, d.y, sz.hidden, sz.batch)
        else:
            rows.append(_skip(case, "sklearn", "not installed"))
        for lib, (timing, acc) in measure_all(runs, repeats=max(1, sz.repeats // 2)).items():
            rows.append(_row(case, lib, timing, train_accuracy=acc))
    return rows


# --- B9 -----------------------------------------------------------------------------------


def _loss_and_grad_mlplab(data, sizes, init, batch):
    from bench import impl_mlplab as ml

    net = ml._net(sizes, "sigmoid", init, "float32")
    X, y = data.X, data.y
    out = np.empty_like(net.params)
    with Clock() as c:
        total = 0.0
        for i in range(0, len(X), batch):
            E, _ = net.loss_and_grad(X[i:i + batch], y[i:i + batch], "cross_entropy", reduction="mean", out=out)
            total += E
    return c.seconds, total


def _loss_and_grad_torch(data, sizes, init, batch):
    import torch
    import torch.nn.functional as F

    from bench import impl_torch

    model = impl_torch._model(sizes, "sigmoid", init, torch.float32)
    params = list(model.parameters())
    X, y = torch.from_numpy(data.X), torch.from_numpy(data.y)
    with Clock() as c:
        total = 0.0
        for i in range(0, len(X), batch):
            loss = F.cross_entropy(model(X[i:i + batch]), y[i:i + batch])
            torch.autograd.grad(loss, params)
            total += float(loss.detach())
    return c.seconds, total


def b9(sz: Sizes, data) -> list[dict]:
    """E and ∇E of every block of |B| = 128 over one epoch (no step): the library's forward + backward."""
    case = f"B9 loss_and_grad per block of {sz.batch}, 784-300-10 float32"
    sizes = (sz.n_in, sz.hidden, 10)
    init = glorot_weights(sizes, "float32")
    runs = {"mlplab": lambda: _loss_and_grad_mlplab(data, sizes, init, sz.batch)}
    rows = []
    if have("torch"):
        runs["torch"] = lambda: _loss_and_grad_torch(data, sizes, init, sz.batch)
    else:
        rows.append(_skip(case, "torch", "not installed"))
    measured = measure_all(runs, repeats=sz.repeats)
    for lib, (timing, total) in measured.items():
        rows.append(_row(case, lib, timing, mean_block_loss=total / -(-sz.S // sz.batch)))
    return rows


# --- B10 ----------------------------------------------------------------------------------

_TORCH_SCRIPT = """
import sys, time
t0 = time.perf_counter()
import numpy as np, torch, torch.nn.functional as F
d = np.load(sys.argv[1]); X, y = torch.from_numpy(d["X"]), torch.from_numpy(d["y"].astype(np.int64))
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], int(sys.argv[2])), torch.nn.Sigmoid(),
                            torch.nn.Linear(int(sys.argv[2]), 10))
opt = torch.optim.SGD(model.parameters(), lr=float(sys.argv[3]))
order = torch.randperm(len(X))
for i in range(0, len(X), int(sys.argv[4])):
    idx = order[i:i + int(sys.argv[4])]
    loss = F.cross_entropy(model(X[idx]), y[idx])
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
"""


def _process(cmd):
    with Clock() as c:
        subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": _src()})
    return c.seconds, None


def _src():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.pathsep.join(p for p in (os.path.join(here, "src"), os.environ.get("PYTHONPATH")) if p)


def b10(sz: Sizes, data) -> list[dict]:
    """One epoch from an .npz of B1's data, each a fresh process (start-up and loading included)."""
    case = "B10 CLI `mlplab train data.npz` one epoch, 784-300-10 float32"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "b1.npz")
        np.savez(path, X=data.X, y=data.y)
        cli = [sys.executable, "-m", "mlplab.cli", "train", path, "--quiet", "--hidden", str(sz.hidden),
               "--activation", "sigmoid", "--loss", "cross_entropy", "--dtype", "float32",
               "--optimizer", "minibatch", "--batch-size", str(sz.batch), "--average", "--schedule", "constant",
               "--lr", str(sz.lr), "--epochs", "1", "--tol", "0", "--seed", "0", "--no-standardize",
               "--reduction", "mean"]
        runs = {"mlplab CLI": lambda: _process(cli)}

        def in_process():
            net = mlplab.MLP([sz.n_in, sz.hidden, 10], activation="sigmoid", output_activation="softmax",
                             dtype="float32", seed=0)
            with Clock() as c:
                mlplab.train(net, data.X, data.y, "cross_entropy", MiniBatchSGD(sz.batch, schedule=sz.lr),
                             epochs=1, tol=None, reduction="mean", seed=0)
            return c.seconds, None

        runs["mlplab train() in this process"] = in_process
        if have("torch"):
            script = os.path.join(tmp, "torch_epoch.py")
            with open(script, "w") as f:
                f.write(_TORCH_SCRIPT)
            runs["torch script"] = lambda: _process([sys.executable, script, path, str(sz.hidden), str(sz.lr),
                                                     str(sz.batch)])
        else:
            rows.append(_skip(case, "torch", "not installed"))
        for lib, (timing, _) in measure_all(runs, repeats=max(1, sz.repeats // 2)).items():
            rows.append(_row(case, lib, timing))
    return rows
